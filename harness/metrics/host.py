"""How busy the machine is with work that is not the run's: the noise a verdict must not blame.

A nightly job shares its machine: a compile, a backup or another job that starts after
the steady window slows the service for reasons no fault caused. Once a second this
source records the CPU the whole machine used and the part the run's own processes (the
orchestrator and every descendant: stack, target, Locust) used; the rest is `foreign`.
The recovery rule leaves out the seconds when foreign work took a core's worth or more.
A process of the run that ends between two samples takes its last second of CPU with
it, which then counts as foreign: the error is toward leaving a second out, never
toward blaming the service.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import psutil

ProcessKey = tuple[int, float]  # pid, create time: a recycled pid is another process


class HostCpu:
    """Cores used per second by the machine, by the run's process tree, and by the rest."""

    def __init__(self, root_pid: int | None = None) -> None:
        self.root = psutil.Process(root_pid or os.getpid())
        self.cores = psutil.cpu_count() or 1
        self._busy = self._machine_busy()
        self._at = time.monotonic()
        self._seen: dict[ProcessKey, float] = self._tree_cpu()

    @staticmethod
    def _machine_busy() -> float:
        times = psutil.cpu_times()
        return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))

    def _tree_cpu(self) -> dict[ProcessKey, float]:
        cpu: dict[ProcessKey, float] = {}
        for proc in [self.root, *self.root.children(recursive=True)]:
            try:
                with proc.oneshot():
                    t = proc.cpu_times()
                    cpu[(proc.pid, proc.create_time())] = t.user + t.system
            except psutil.Error:  # gone between listing and reading
                continue
        return cpu

    def sample(self) -> dict[str, float]:
        """Cores used since the last sample: `busy_cores`, `run_cores`, `foreign_cores`."""
        now, busy, tree = time.monotonic(), self._machine_busy(), self._tree_cpu()
        elapsed = max(now - self._at, 1e-3)
        # a process not in the tree at the last sample started since: all its CPU is new
        run = sum(used - self._seen.get(key, 0.0) for key, used in tree.items())
        busy_cores = (busy - self._busy) / elapsed
        run_cores = run / elapsed
        self._at, self._busy, self._seen = now, busy, tree
        return {"busy_cores": round(busy_cores, 3), "run_cores": round(run_cores, 3),
                "foreign_cores": round(max(0.0, busy_cores - run_cores), 3)}


def host_source(root_pid: int | None = None) -> Callable[[], dict[str, float]]:
    """A collector scrape function over `HostCpu`."""
    return HostCpu(root_pid).sample
