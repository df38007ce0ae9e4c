"""Why a running experiment stops early: halt conditions, a Halt request, a lost worker.

The runner polls `Halts.check` a few times a second; each source is read from the
results folder as the run appends to it, so the same rules hold for local and remote
workers and for a Halt clicked in the live view on another machine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.experiment.model import HaltCondition
from harness.histogram import percentile
from harness.live.control import WorkersLost, halt_requested
from harness.results import files
from harness.results.tail import LineCount, RequestTail


def halt_reason(conditions: Sequence[HaltCondition], tail: RequestTail,
                violations: int) -> str | None:
    """The first halt condition that held for its whole `for` span, as a sentence; else None."""
    if not tail.seconds and not violations:
        return None
    last = max(tail.seconds) if tail.seconds else 0
    for cond in conditions:
        if cond.metric == "violations":
            if violations > cond.above:
                return f"violations {violations} > {cond.above:g}"
            continue
        span = max(1, round(cond.for_))
        window = [tail.seconds.get(t) for t in range(last - span + 1, last + 1)]
        seconds = [sec for sec in window if sec is not None and sec.count]
        if len(seconds) < len(window):
            continue
        if cond.metric == "error_rate":
            values = [sec.failures / sec.count for sec in seconds]
            if all(v > cond.above for v in values):
                return (f"error rate {min(values):.0%} > {cond.above:.0%} for {span}s "
                        f"(t={last - span + 1}..{last})")
        elif cond.metric == "p99_ms":
            values = [percentile(sec.hist, 0.99) or 0.0 for sec in seconds]
            if all(v > cond.above for v in values):
                return (f"p99 {min(values):.0f} ms > {cond.above:g} ms for {span}s "
                        f"(t={last - span + 1}..{last})")
    return None


@dataclass
class WorkerLoss:
    """A worker the master saw go while the load still ran."""

    worker: str
    how: str


class Halts:
    """Every reason to stop a run early, read from its folder; `check` returns the first."""

    def __init__(self, results_dir: Path, conditions: Sequence[HaltCondition],
                 halt_on_worker_loss: bool) -> None:
        self.dir = results_dir
        self.conditions = conditions
        self.halt_on_worker_loss = halt_on_worker_loss
        self.tail = RequestTail(results_dir / files.REQUESTS)
        self.violations = LineCount(results_dir / files.VIOLATIONS)
        self.workers_lost = WorkersLost(results_dir)

    def new_worker_losses(self) -> list[WorkerLoss]:
        return [WorkerLoss(str(rec["worker"]), str(rec["how"])) for rec in self.workers_lost.poll()]

    def check(self, on_worker_loss: Callable[[WorkerLoss], bool]) -> str | None:
        """The halt reason, if any. `on_worker_loss` records a loss and says whether it counts
        (a worker that goes as the load winds down is no loss)."""
        self.tail.poll()
        for loss in self.new_worker_losses():
            if on_worker_loss(loss) and self.halt_on_worker_loss:
                return f"worker {loss.worker} lost (load.halt_on_worker_loss)"
        return halt_requested(self.dir) or halt_reason(self.conditions, self.tail,
                                                       self.violations.poll())
