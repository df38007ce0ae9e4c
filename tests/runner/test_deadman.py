"""The guardian and the parent-death signal on a miniature orchestrator (mini_orchestrator.py):
real processes, no stack, a few seconds each."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from harness.faults import FaultClient
from harness.ports import free_port
from harness.processes import (
    Spawned,
    add_spawn_listener,
    die_with_parent,
    remove_spawn_listener,
)
from harness.proxy import EmbeddedProxy, run_in_thread
from harness.stack.redis_server import RedisServer

from .ports import port_free

MINI = Path(__file__).with_name("mini_orchestrator.py")
PROJECT = Path(__file__).resolve().parents[2]
DEADLINE = 5.0


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_until(what: str, check: Callable[[], object], timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f}s")
        time.sleep(0.05)


@contextlib.contextmanager
def mini(run_dir: Path, mode: str, api: str | None = None) -> Iterator[tuple[subprocess.Popen, dict]]:
    """The miniature orchestrator, once it has started its children; they are killed after."""
    args = [sys.executable, str(MINI), str(run_dir), mode] + ([api] if api else [])
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, cwd=PROJECT,
                            env=dict(os.environ, PYTHONPATH=str(PROJECT)))
    assert proc.stdout is not None
    children = json.loads(proc.stdout.readline() or "{}")
    try:
        assert children, f"the miniature orchestrator failed (status {proc.wait(30)})"
        yield proc, children
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait(30)
        for pid in (children.get("mortal"), children.get("stubborn")):
            if pid and alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[EmbeddedProxy]:
    monkeypatch.setenv("STAMPEDE_STATE_DIR", str(tmp_path / "state"))
    with run_in_thread() as server:
        FaultClient(server.api_url).create_proxy("redis", f"127.0.0.1:{free_port()}",
                                                 "127.0.0.1:9")
        yield server


def summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def test_guardian_cleans_up_after_a_sigkill(tmp_path: Path, proxy: EmbeddedProxy) -> None:
    run_dir = tmp_path / "run"
    client = FaultClient(proxy.api_url)
    with mini(run_dir, "guarded", proxy.api_url) as (proc, children):
        assert client.toxics("redis"), "the toxic was never applied"
        proc.kill()
        proc.wait(10)
        wait_until("toxic removed", lambda: client.toxics("redis") == [])
        wait_until("children gone", lambda: not alive(children["mortal"])
                   and not alive(children["stubborn"]))  # the stubborn one needs SIGKILL
        wait_until("port free", lambda: port_free(children["port"]))
        wait_until("summary marked", lambda: summary(run_dir)["status"] == "failed")
    assert summary(run_dir)["error"] == "orchestrator killed"
    assert not (tmp_path / "state" / "active-faults.json").exists()
    log = (run_dir / "logs" / "guardian.log").read_text()
    assert "killing stubborn" in log and "2 of 2 processes stopped" in log, log


def test_guardian_stands_down_after_a_clean_exit(tmp_path: Path, proxy: EmbeddedProxy) -> None:
    run_dir = tmp_path / "run"
    with mini(run_dir, "stand-down") as (proc, _):
        assert proc.stdout is not None
        assert json.loads(proc.stdout.readline()) == {"stand_down": None}
        assert proc.wait(30) == 0
    assert summary(run_dir)["status"] == "running"  # the orchestrator's to write, not ours
    log = (run_dir / "logs" / "guardian.log").read_text()
    assert "stood down" in log and "orchestrator killed" not in log, log


def test_without_a_guardian_only_the_mortal_child_dies_with_the_parent(tmp_path: Path) -> None:
    with mini(tmp_path / "run", "unguarded") as (proc, children):
        proc.kill()
        proc.wait(10)
        wait_until("the child started with die_with_parent gone",
                   lambda: not alive(children["mortal"]))
        assert alive(children["stubborn"]), "a child without the parent-death signal died too"


def test_a_restarted_redis_is_announced_again(tmp_path: Path) -> None:
    """The schedule's restart_redis makes a new process: the guardian must hear of it."""
    seen: list[Spawned] = []
    listener = seen.append
    add_spawn_listener(listener)
    try:
        with RedisServer(workdir=tmp_path / "redis") as server:
            first = server.proc.pid if server.proc else None
            server.restart()
            second = server.proc.pid if server.proc else None
    finally:
        remove_spawn_listener(listener)
    assert [(s.name, s.pid, s.ports) for s in seen] == [
        ("redis-server", first, (server.port,)), ("redis-server", second, (server.port,))]
    assert first != second


def test_no_parent_death_signal_for_children_of_other_threads() -> None:
    """The kernel signals when the forking thread ends, not the process: main thread only."""
    found: list[object] = []
    thread = threading.Thread(target=lambda: found.append(die_with_parent()))
    thread.start()
    thread.join(10)
    assert found == [None]
    assert callable(die_with_parent())
