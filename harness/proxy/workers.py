"""The API process's side of `-workers N`: start N-1 worker processes, push every change
to them, sum their byte counters for /metrics, stop them. See worker.py for the protocol."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from typing import Any

log = logging.getLogger("harness.proxy")

MAX_DEFAULT_WORKERS = 4
REPLY_TIMEOUT = 10.0  # seconds a worker may take to apply a change


def default_workers() -> int:
    """The cores this process may run on, at most 4."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_DEFAULT_WORKERS))


class WorkerPool:
    """Worker processes that mirror the API process's proxies on shared ports."""

    def __init__(self, count: int, seed: int | None = None) -> None:
        self.count = count
        self.seed = seed
        self.procs: list[asyncio.subprocess.Process] = []
        self.lock = asyncio.Lock()  # one request/reply exchange at a time

    async def start(self) -> None:
        for number in range(1, self.count + 1):
            seed = [] if self.seed is None else [str(self.seed + number)]
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "harness.proxy.worker", *seed,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=64 * 1024 * 1024,
            )
            self.procs.append(proc)
        log.info("%d worker processes started (pids %s)", self.count, " ".join(str(p.pid) for p in self.procs))

    async def _ask(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        line = json.dumps(request).encode() + b"\n"
        async with self.lock:
            for proc in self.procs:
                if proc.stdin is not None:
                    proc.stdin.write(line)
            replies: list[dict[str, Any]] = []
            for proc in self.procs:
                if proc.stdin is None or proc.stdout is None:  # never: both are pipes
                    continue
                try:
                    await proc.stdin.drain()
                    raw = await asyncio.wait_for(proc.stdout.readline(), REPLY_TIMEOUT)
                    replies.append(json.loads(raw) if raw else {"error": f"worker {proc.pid} is gone"})
                except (TimeoutError, ConnectionError, ValueError) as exc:
                    replies.append({"error": f"worker {proc.pid}: {exc!r}"})
        return replies

    async def push(self, state: list[dict[str, Any]]) -> None:
        """Every worker takes the new state; a worker's failure is logged, not raised."""
        for reply in await self._ask({"op": "state", "proxies": state}):
            if "error" in reply:
                log.warning("worker: %s", reply["error"])

    async def counts(self) -> list[dict[str, dict[str, list[int]]]]:
        return [reply.get("counts", {}) for reply in await self._ask({"op": "counts"})]

    async def close(self, timeout: float = 5.0) -> None:
        """EOF on stdin ends a worker (closing its listeners); kill any that lingers."""
        for proc in self.procs:
            if proc.stdin is not None:
                proc.stdin.close()
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        self.procs.clear()
