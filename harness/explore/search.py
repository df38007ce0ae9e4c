"""Which value to probe next: bisection on a grid, with the bracket's ends probed again.

The search assumes the outcome is monotonic in the value: everything up to some value
passes and everything above it fails (more latency, a longer outage, more users only make
things worse). It keeps a bracket, the largest passing value below the smallest failing
one, and halves it until its ends are one `resolution` step apart.

One probe can lie: a run that fails by bad luck far below the breaking point would, in
plain bisection, become the bracket's failing end and drag the margin down with it. So
each end of the final bracket is probed twice, and a third time when the two disagree
(best of three). A lying probe always ends up as an end of the bracket (it is then the
smallest failing or the largest passing value), so it is repeated and outvoted, and the
search resumes from the next value that holds. Two agreeing probes per end, not three,
because two already outvote one liar and a probe costs a whole load window; the third is
spent only where the two disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

CONFIRMATIONS = 2  # probes that must agree at each end of the final bracket


@dataclass
class Search:
    """The grid `start, start + resolution, ..., stop` and the outcomes probed on it so far."""

    start: float
    stop: float
    resolution: float
    max_probes: int
    outcomes: dict[int, list[bool]] = field(default_factory=dict)  # grid step -> pass/fail
    probes: int = 0

    @property
    def last_step(self) -> int:
        return max(1, math.ceil((self.stop - self.start) / self.resolution - 1e-9))

    def value(self, step: int) -> float:
        """The value of a grid step (the last step is `stop` itself, off the grid or not)."""
        if step >= self.last_step:
            return self.stop
        return round(self.start + step * self.resolution, 9)

    def step_of(self, value: float) -> int:
        return min(self.last_step, max(0, round((value - self.start) / self.resolution)))

    def record(self, step: int, passed: bool) -> None:
        self.outcomes.setdefault(step, []).append(passed)
        self.probes += 1

    def verdict(self, step: int) -> bool | None:
        """The majority of the probes at this step; None when untried or tied."""
        results = self.outcomes.get(step, [])
        passes = sum(results)
        if passes * 2 == len(results):
            return None
        return passes * 2 > len(results)

    def bracket(self) -> tuple[int | None, int | None]:
        """(largest passing step below the smallest failing one, smallest failing step)."""
        failing = [s for s in self.outcomes if self.verdict(s) is False]
        high = min(failing) if failing else None
        passing = [s for s in self.outcomes if self.verdict(s) is True
                   and (high is None or s < high)]
        return (max(passing) if passing else None), high

    def confirmed(self, step: int) -> bool:
        return len(self.outcomes.get(step, [])) >= CONFIRMATIONS and self.verdict(step) is not None

    def next_step(self) -> int | None:
        """The step to probe next, or None when the answer stands or the budget is spent."""
        if self.probes >= self.max_probes:
            return None
        tied = [s for s, r in self.outcomes.items() if r and self.verdict(s) is None]
        if tied:
            return min(tied)  # best of three: settle it before anything rests on it
        low, high = self.bracket()
        if high == 0:  # even `from` fails: nothing passes
            return None if self.confirmed(0) else 0
        if low == self.last_step:  # even `to` passes
            return None if self.confirmed(low) else low
        lo = 0 if low is None else low
        hi = self.last_step if high is None else high
        if hi - lo > 1:
            return lo + (hi - lo) // 2
        for end in sorted((lo, hi), key=lambda s: len(self.outcomes.get(s, []))):
            if not self.confirmed(end):
                return end  # an untried end first: it may move the bracket
        return None

    def resolved(self) -> bool:
        """The bracket is one step wide (or pinned to an end of the range) and both ends held."""
        low, high = self.bracket()
        if high == 0:
            return self.confirmed(0)
        if low == self.last_step:
            return self.confirmed(low)
        if low is None or high is None or high - low > 1:
            return False
        return self.confirmed(low) and self.confirmed(high)

    def not_monotonic(self) -> list[tuple[float, float]]:
        """(passing value, smaller failing value) pairs: the assumption the search rests on broke."""
        _, high = self.bracket()
        if high is None:
            return []
        return [(self.value(s), self.value(high)) for s in sorted(self.outcomes)
                if s > high and self.verdict(s) is True]
