"""A run's child processes: stopping them for sure, telling a watcher, dying with the parent.

Three lines of defence keep a run from leaving processes behind: the orchestrator stops
its children on every exit path it survives; a guardian process (harness.guardian),
told of every child through `announce`, stops them when the orchestrator is killed;
and on Linux, children that need no orderly shutdown die with it (`die_with_parent`).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import cast

import psutil

PR_SET_PDEATHSIG = 1  # linux/prctl.h


@dataclass(frozen=True)
class Spawned:
    """A child as a watcher needs it: who (pid and start time: a reused pid is another
    process), what it is, the ports it listens on, and the signal that stops it cleanly."""

    pid: int
    create_time: float
    name: str
    ports: tuple[int, ...] = ()
    stop_signal: int = signal.SIGTERM
    needed_for_rollback: bool = False  # the fault proxy: stopped only once faults are undone


@dataclass(frozen=True)
class TempFolder:
    """A temporary folder of the run (database files, the Redis password), to remove once
    the processes using it are gone."""

    path: str


@dataclass(frozen=True)
class SavedRedisConfig:
    """Config values a run changed on a Redis it did not start (set_maxmemory on a team's
    Redis), as they were before, to put back if the run dies; empty once put back. The URL
    may hold a password: it goes down the guardian's pipe, never to disk."""

    url: str
    config: tuple[tuple[str, str], ...]


Announced = Spawned | TempFolder | SavedRedisConfig
SpawnListener = Callable[[Announced], None]
_listeners: list[SpawnListener] = []
_listeners_lock = threading.Lock()


def add_spawn_listener(listener: SpawnListener) -> None:
    """Call `listener` for every child and temporary folder announced from now on (the
    guardian's feed)."""
    with _listeners_lock:
        _listeners.append(listener)


def remove_spawn_listener(listener: SpawnListener) -> None:
    with _listeners_lock:
        if listener in _listeners:
            _listeners.remove(listener)


def _tell(item: Announced) -> None:
    with _listeners_lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(item)


def announce_folder(path: str | os.PathLike[str]) -> None:
    """Tell the listeners about a temporary folder the run made and removes when it ends."""
    _tell(TempFolder(os.fspath(path)))


def announce_redis_config(url: str, saved: dict[str, str]) -> None:
    """Tell the listeners what to put back on that Redis (nothing, once it is put back)."""
    _tell(SavedRedisConfig(url, tuple(saved.items())))


def announce(proc: subprocess.Popen[bytes], name: str, ports: Iterable[int] = (),
             stop_signal: int = signal.SIGTERM, needed_for_rollback: bool = False) -> None:
    """Tell the listeners a child started; a child already gone is not announced."""
    try:
        created = psutil.Process(proc.pid).create_time()
    except psutil.NoSuchProcess:
        return
    _tell(Spawned(proc.pid, created, name, tuple(p for p in ports if p), int(stop_signal),
                  needed_for_rollback))


def _libc_prctl() -> Callable[..., int] | None:
    """libc's prctl, resolved once here: the child only calls it, between fork and exec."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
    prctl.restype = ctypes.c_int
    return cast(Callable[..., int], prctl)


_prctl = _libc_prctl()


def die_with_parent(signum: int = signal.SIGKILL) -> Callable[[], None] | None:
    """A `preexec_fn` that makes the child get `signum` when this process dies (Linux
    PR_SET_PDEATHSIG), or None where that is not possible.

    The kernel sends the signal when the *thread* that forked the child ends, so only
    children started from the main thread get it (a child started by the fault schedule's
    thread would die with that thread). It is meant for children whose abrupt end loses
    nothing: the load and the target. The fault proxy must outlive the orchestrator until
    the guardian has undone the faults through its API, and the databases get their own
    clean shutdown from the guardian, so those are not started with it.
    """
    if _prctl is None or threading.current_thread() is not threading.main_thread():
        return None
    parent, prctl = os.getpid(), _prctl

    def preexec() -> None:  # in the forked child, before exec: no allocation-heavy work
        prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request took effect
            os.kill(os.getpid(), signum)

    return preexec


def stop_process(proc: subprocess.Popen[bytes] | None, timeout: float = 5.0) -> None:
    """Stop a child politely, then firmly; never leave it running or unreaped."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
