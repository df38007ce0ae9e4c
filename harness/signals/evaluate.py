"""Signal values from the service's own /metrics, one scrape at a time (the default source).

Stateful only for event-counter breakers, whose "open now" is a difference of two
counters since the run began; the Prometheus source feeds the same `EventBreakerState`
step by step, so both sources agree on what open means.
"""

from __future__ import annotations

from collections.abc import Mapping

from harness.signals.exposition import Sample, parse_exposition
from harness.signals.model import EventBreaker, Expression
from harness.signals.promql import Selector, parse_selector


class CounterIncrease:
    """How much a counter rose since its first reading; a drop (a restart) counts from 0."""

    def __init__(self) -> None:
        self.last: float | None = None
        self.total = 0.0

    def update(self, value: float) -> float:
        if self.last is not None:
            self.total += value - self.last if value >= self.last else value
        self.last = value
        return self.total


class EventBreakerState:
    """Open (1.0) while openings counted since the first reading outnumber leavings."""

    def __init__(self) -> None:
        self.opens = CounterIncrease()
        self.leaves = CounterIncrease()

    def update(self, opens: float, leaves: float) -> float:
        return 1.0 if self.opens.update(opens) > self.leaves.update(leaves) else 0.0


class ScrapeEvaluator:
    """Series key -> value for each scrape body.

    A signal is left out until its expression first matches a series; from then on, a
    scrape where nothing matches reads 0 (a counter that has not counted). A signal never
    matched in a whole run is absent from it, so a verdict can say the expression is wrong.
    """

    def __init__(self, series: Mapping[str, Expression]) -> None:
        self.matched: set[str] = set()
        self._plain: dict[str, Selector] = {}
        self._events: dict[str, tuple[Selector, Selector, EventBreakerState]] = {}
        for key, expr in series.items():
            if isinstance(expr, EventBreaker):
                self._events[key] = (parse_selector(expr.opens), parse_selector(expr.leaves),
                                     EventBreakerState())
            else:
                self._plain[key] = parse_selector(expr)

    def evaluate_text(self, text: str) -> dict[str, float]:
        return self.evaluate(parse_exposition(text))

    def evaluate(self, samples: list[Sample]) -> dict[str, float]:
        out: dict[str, float] = {}
        for key, sel in self._plain.items():
            value, matched = sel.evaluate_matched(samples)
            self._keep(out, key, value, matched)
        for key, (opens, leaves, state) in self._events.items():
            o, o_matched = opens.evaluate_matched(samples)
            lv, l_matched = leaves.evaluate_matched(samples)
            self._keep(out, key, state.update(o, lv), o_matched or l_matched)
        return out

    def _keep(self, out: dict[str, float], key: str, value: float, matched: bool) -> None:
        if matched:
            self.matched.add(key)
        if key in self.matched:
            out[key] = value
