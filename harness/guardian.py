"""The dead-man's switch: a process that cleans up after an orchestrator that was killed.

A SIGKILL, the OOM killer or a crash in C code gives the orchestrator no chance to roll
back, and its children (each in its own session) live on. So before it starts any
process or applies any fault, the runner starts `python -m harness.guardian` in its own
session (a terminal's signals and a kill of the orchestrator's group miss it), with a
pipe on its stdin whose write end only the orchestrator holds. The orchestrator writes
one JSON line per child it starts (`harness.processes.announce`: pid, start time,
ports, how to stop it) and `{"stand_down": true}` once it has cleaned up itself.

End of file on the pipe without that line means the orchestrator is dead: the kernel
closed its end. Within about two seconds the guardian then undoes the faults the state
file holds for that process, stops the run's processes (the fault proxy last, once the
faults are undone through its API), puts back Redis config the run changed on a team's
Redis (set_maxmemory), checks their ports are free, and marks summary.json
`failed` with the error `orchestrator killed`; the run's temporary folders go too. What
it cannot undo stays in the state file for the next run or `stampede faults clear`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import psutil

from harness.faults.rollback import RollbackReport, undo_runs
from harness.faults.state import StateFile
from harness.masking import mask_secrets
from harness.ports import LOOPBACK
from harness.processes import (
    Announced,
    SavedRedisConfig,
    Spawned,
    TempFolder,
    add_spawn_listener,
    remove_spawn_listener,
)
from harness.results import files
from harness.results.tail import RequestTail
from harness.results.writer import write_json

KILLED = "orchestrator killed"
STAND_DOWN = {"stand_down": True}
API_TIMEOUT = 1.0  # per fault proxy call: a hung API must not eat the whole budget
GRACE = 1.0  # seconds from the stop signal to SIGKILL
SETTLE = 0.4  # after SIGKILL: for the kernel to reap and release ports
PROJECT_ROOT = Path(__file__).resolve().parents[1]


# the orchestrator's side ---------------------------------------------------------------
class Guardian:
    """The orchestrator's handle on its guardian: feeds it children, stands it down."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self._lock = threading.Lock()
        self._lost = False

    @classmethod
    def start(cls, run_dir: Path, state_dir: Path | str | None = None,
              log_path: Path | None = None) -> Guardian:
        """Start the guardian of the run in `run_dir` and hear of every child from now on.

        `stampede up` has no run folder: it passes its logs folder, and the guardian only
        stops its processes (there is no summary to mark)."""
        me = psutil.Process()
        cmd = [sys.executable, "-m", "harness.guardian", "--run-dir", str(run_dir),
               "--pid", str(me.pid), "--create-time", repr(me.create_time()),
               "--state-dir", str(StateFile(state_dir).dir)]
        with open(log_path or Path(run_dir) / files.LOGS / "guardian.log", "ab") as log:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=log,
                                    stderr=subprocess.STDOUT, cwd=PROJECT_ROOT,
                                    start_new_session=True)
        guardian = cls(proc)
        add_spawn_listener(guardian.watch)
        return guardian

    def _send(self, message: Mapping[str, object]) -> None:
        with self._lock:
            if self._lost or self.proc.stdin is None:
                return
            try:
                self.proc.stdin.write(json.dumps(message).encode() + b"\n")
                self.proc.stdin.flush()
            except (OSError, ValueError):  # it died: the run goes on, unguarded
                self._lost = True

    def watch(self, item: Announced) -> None:
        """Add a child to what the guardian stops, a folder to what it removes, or Redis
        config to what it puts back, if this process dies."""
        if isinstance(item, TempFolder):
            self._send({"folder": item.path})
        elif isinstance(item, SavedRedisConfig):
            self._send({"redis_config": {"url": item.url, "config": dict(item.config)}})
        else:
            self._send({"process": asdict(item)})

    def stand_down(self, timeout: float = 5.0) -> str | None:
        """The run cleaned up itself: let the guardian go. A problem to report, or None."""
        remove_spawn_listener(self.watch)
        self._send(STAND_DOWN)
        with self._lock, contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=timeout)
            return "the guardian did not stand down in time and was killed"
        return None if code == 0 and not self._lost else \
            f"the guardian exited early (status {code}); the run was unguarded"


# the guardian's side -----------------------------------------------------------------
def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} guardian[{os.getpid()}]: {message}", flush=True)


@dataclass
class Orchestrator:
    """What the guardian watches: the process (to match its state-file entries) and its run."""

    pid: int
    create_time: float
    run_dir: Path
    state_dir: Path
    children: dict[tuple[int, float], Spawned] = field(default_factory=dict)
    folders: list[Path] = field(default_factory=list)
    redis_configs: dict[str, dict[str, str]] = field(default_factory=dict)  # url -> to put back


def read_pipe(pipe: IO[bytes], orchestrator: Orchestrator) -> bool:
    """Take in announced children until the pipe ends; True if told to stand down."""
    while line := pipe.readline():
        try:
            message = json.loads(line)
        except ValueError:
            log(f"ignored a garbled line: {line[:80]!r}")
            continue
        if message == STAND_DOWN:
            return True
        if isinstance(message, dict) and isinstance(message.get("folder"), str):
            orchestrator.folders.append(Path(message["folder"]))
            continue
        if isinstance(message, dict) and isinstance(message.get("redis_config"), dict):
            saved = message["redis_config"]
            orchestrator.redis_configs[str(saved.get("url"))] = dict(saved.get("config") or {})
            continue
        if isinstance(message, dict) and isinstance(message.get("process"), dict):
            try:
                child = Spawned(**{**message["process"],
                                   "ports": tuple(message["process"].get("ports", ()))})
            except TypeError as exc:
                log(f"ignored a process it cannot read: {exc}")
                continue
            orchestrator.children[(child.pid, child.create_time)] = child
            log(f"watching {child.name} (pid {child.pid}, ports {list(child.ports)})")
    return False


def same_process(child: Spawned) -> psutil.Process | None:
    """The child if it still runs (not a zombie, not a recycled pid)."""
    try:
        proc = psutil.Process(child.pid)
        if abs(proc.create_time() - child.create_time) < 0.5 and \
                proc.status() != psutil.STATUS_ZOMBIE:
            return proc
    except psutil.Error:
        pass
    return None


def signal_children(children: list[Spawned], signum: int | None = None) -> None:
    for child in children:
        if same_process(child) is None:
            continue
        sig = child.stop_signal if signum is None else signum
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if signum == signal.SIGKILL and os.getpgid(child.pid) == child.pid:
                os.killpg(child.pid, sig)  # a session leader: its helpers (backends) too
            else:
                os.kill(child.pid, sig)


def wait_gone(children: list[Spawned], until: float) -> list[Spawned]:
    """Wait (bounded) for the children to end; those still running."""
    while True:
        left = [c for c in children if same_process(c) is not None]
        if not left or time.monotonic() >= until:
            return left
        time.sleep(0.02)


def roll_back(orchestrator: Orchestrator) -> RollbackReport:
    """Undo the dead orchestrator's entries in the state file; keep what could not be undone."""
    def its_own(entry: dict[str, Any]) -> bool:
        return entry.get("pid") == orchestrator.pid and \
            abs(float(entry.get("create_time", 0.0)) - orchestrator.create_time) < 1.0

    return undo_runs(StateFile(orchestrator.state_dir), its_own, API_TIMEOUT)


def restore_redis_configs(orchestrator: Orchestrator) -> list[str]:
    """Put back what the run's actions changed on Redis servers it did not start; what could
    not be put back, as lines."""
    import redis

    failed = []
    for url, config in orchestrator.redis_configs.items():
        try:
            with redis.Redis.from_url(url, socket_timeout=API_TIMEOUT,
                                      socket_connect_timeout=API_TIMEOUT) as r:
                for key, value in config.items():
                    r.config_set(key, value)
                    log(f"{mask_secrets(url)}: Redis {key} restored to {value}")
        except redis.RedisError as exc:
            failed.append(f"{mask_secrets(url)}: Redis config not restored ({exc}): "
                          f"set {config} by hand")
    return failed


def busy_ports(ports: set[int], until: float) -> set[int]:
    """Ports nobody may bind yet (bounded wait: a killed listener is freed as it is reaped)."""
    while True:
        busy = set()
        for port in ports:
            with socket.socket() as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind((LOOPBACK, port))
                except OSError:
                    busy.add(port)
        if not busy or time.monotonic() >= until:
            return busy
        time.sleep(0.05)


def mark_killed(run_dir: Path) -> bool:
    """summary.json `failed` with `orchestrator killed`, and a closing timeline record; only
    if the run was still `running` (a status the orchestrator wrote itself is kept)."""
    path = run_dir / files.SUMMARY
    if not path.exists():  # `stampede up`: processes only, no run
        return False
    try:
        summary = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        log(f"cannot read {path}: {exc}")
        return False
    if summary.get("status") != "running":
        return False
    tail = RequestTail(run_dir / files.REQUESTS)
    with contextlib.suppress(OSError, ValueError, KeyError):
        tail.poll()
    now = time.time()
    try:
        t0: float | None = float(json.loads((run_dir / files.LOAD_START).read_text())["ts"])
    except (OSError, ValueError, KeyError):
        t0 = None
    summary.update(status="failed", ended_at=now, duration=round(now - t0, 3) if t0 else 0.0,
                   requests=tail.requests, failures=tail.failures, error=KILLED)
    write_json(path, summary)
    record = {"t": round(now - t0, 4) if t0 else 0.0, "ts": round(now, 4), "kind": "run_end",
              "status": "failed", "error": KILLED}
    with open(run_dir / files.TIMELINE, "a", encoding="utf-8") as timeline:
        timeline.write(json.dumps(record, separators=(",", ":")) + "\n")
    return True


def clean_up(orchestrator: Orchestrator) -> bool:
    """Everything the dead orchestrator would have done on its way out; True if all done."""
    begin = time.monotonic()
    children = list(orchestrator.children.values())
    proxies = [c for c in children if c.needed_for_rollback]
    others = [c for c in children if not c.needed_for_rollback]
    signal_children(others)  # load, target, databases: nothing the rollback needs
    report = roll_back(orchestrator)
    for line in report.undone:
        log(line)
    for line in report.failed:
        log(f"could not undo ({line}); left in the state file for the next run")
    not_restored = restore_redis_configs(orchestrator)
    for line in not_restored:
        log(line)
    signal_children(proxies)
    left = wait_gone(children, begin + GRACE)
    if left:
        log(f"killing {', '.join(f'{c.name} ({c.pid})' for c in left)}")
        signal_children(left, signal.SIGKILL)
        left = wait_gone(left, time.monotonic() + SETTLE)
    busy = busy_ports({p for c in children for p in c.ports}, time.monotonic() + SETTLE)
    marked = mark_killed(orchestrator.run_dir)
    for folder in orchestrator.folders if not left else []:  # nothing uses them any more
        shutil.rmtree(folder, ignore_errors=True)
        log(f"removed {folder}")
    log(f"cleaned up in {time.monotonic() - begin:.2f}s: {len(children) - len(left)} of "
        f"{len(children)} processes stopped, ports busy: {sorted(busy) or 'none'}, "
        f"summary {'marked failed' if marked else 'left as it was'}")
    return report.ok and not not_restored and not left and not busy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.guardian",
                                     description="Clean up after a run whose orchestrator dies.")
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--create-time", type=float, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, signal.SIG_IGN)  # only the pipe, or a SIGTERM/SIGKILL, ends it
    orchestrator = Orchestrator(args.pid, args.create_time, args.run_dir, args.state_dir)
    log(f"guarding run {args.run_dir.name} of pid {args.pid}")
    if read_pipe(sys.stdin.buffer, orchestrator):
        log("stood down: the run cleaned up itself")
        return 0
    log(f"{KILLED}: the pipe closed without a stand-down")
    return 0 if clean_up(orchestrator) else 1


if __name__ == "__main__":
    sys.exit(main())
