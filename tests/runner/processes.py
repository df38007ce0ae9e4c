"""Running `stampede` as a user would, in a subprocess, and watching its process tree."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return [p for p in psutil.Process(pid).children(recursive=True)
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    except psutil.NoSuchProcess:
        return []


EXPERIMENTS = Path(__file__).parent / "experiments"


class StampedeProcess:
    """`python -m harness ARGS` in a subprocess; remembers every descendant it ever had."""

    def __init__(self, args: list[str], state_dir: Path, cwd: Path | None = None) -> None:
        env = dict(os.environ, STAMPEDE_STATE_DIR=str(state_dir), PYTHONUNBUFFERED="1")
        # its own process group, like a command started from a shell: a test can send a
        # terminal's Ctrl-C (SIGINT to the whole group) without hitting pytest
        self.proc = subprocess.Popen([sys.executable, "-m", "harness", *args], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     cwd=cwd or Path(__file__).resolve().parents[2],
                                     process_group=0)
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        while not self._stop.is_set() and self.proc.poll() is None:
            for child in descendants(self.proc.pid):
                with contextlib.suppress(psutil.NoSuchProcess):
                    self.seen.setdefault(child.pid, child.create_time())
            time.sleep(0.1)

    def wait(self, timeout: float) -> tuple[int, str]:
        out, _ = self.proc.communicate(timeout=timeout)
        self._stop.set()
        return self.proc.returncode, out.decode(errors="replace")

    def alive_descendants(self) -> list[psutil.Process]:
        alive = []
        for pid, created in self.seen.items():
            try:
                p = psutil.Process(pid)
                if p.create_time() == created and p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(p)
            except psutil.NoSuchProcess:
                pass
        return alive

    def kill_leftovers(self) -> None:
        for p in self.alive_descendants():
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()


def run_dir(out: Path) -> Path:
    """The single run folder `stampede run --out OUT` made."""
    dirs = [p for p in out.iterdir() if p.is_dir()]
    assert len(dirs) == 1, dirs
    return dirs[0]


def wait_for_timeline(out: Path, kind: str, timeout: float = 90.0) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dirs = [p for p in out.iterdir() if p.is_dir()] if out.exists() else []
        if dirs and (dirs[0] / "timeline.jsonl").exists() and \
                f'"kind":"{kind}"' in (dirs[0] / "timeline.jsonl").read_text():
            return dirs[0]
        time.sleep(0.1)
    raise AssertionError(f"no {kind} event within {timeout}s")


_ADDED = re.compile(r"toxic (\S+) added to (\S+):")
_REMOVED = re.compile(r"toxic (\S+) removed from (\S+)")
_ENABLED = re.compile(r"proxy (\S+) (?:created|updated) .* enabled=(true|false)")


def proxy_faults_left(proxy_log: Path) -> tuple[set[tuple[str, str]], set[str]]:
    """Toxics and disabled proxies at the end of the proxy's own log (its record of changes)."""
    toxics: set[tuple[str, str]] = set()
    disabled: set[str] = set()
    changes = 0
    for line in proxy_log.read_text().splitlines():
        if m := _ADDED.search(line):
            toxics.add((m[2], m[1]))
            changes += 1
        elif m := _REMOVED.search(line):
            toxics.discard((m[2], m[1]))
        elif m := _ENABLED.search(line):
            (disabled.add if m[2] == "false" else disabled.discard)(m[1])
            changes += m[2] == "false"
    assert changes, f"no fault was ever applied according to {proxy_log}"
    return toxics, disabled
