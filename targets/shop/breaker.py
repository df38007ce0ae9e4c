"""Circuit breaker that trips on errors and on sustained latency (the chapter's "slow cache" rule).

Single event loop, so no locks: state changes happen between awaits.
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable

CLOSED, OPEN, HALF_OPEN = 0, 1, 2


class CircuitBreaker:
    """closed -> open after `failures` consecutive failures spread over at least `span` seconds,
    or when the median of the last `window` latency samples exceeds `latency`; open ->
    half-open after `cooldown`; one probe in half-open decides closed or open again.

    Latency samples come from a probe outside the event loop (`observe_latency`), not from
    request-path calls: those also measure the loop's own queueing, and a busy worker would
    then open its breaker on a healthy Redis.

    The span keeps one burst of simultaneous timeouts (every in-flight call timing out in the
    same event-loop stall) from opening the breaker: the failure has to last.
    """

    def __init__(
        self,
        name: str,
        *,
        failures: int = 5,
        span: float = 0.0,
        latency: float | None = None,
        window: int = 8,
        cooldown: float = 3.0,
        enabled: bool = True,
        on_change: Callable[[str, int], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.failures = failures
        self.span = span
        self.first_failure = 0.0
        self.latency = latency
        self.cooldown = cooldown
        self.enabled = enabled
        self.on_change = on_change
        self.clock = clock
        self.state = CLOSED
        self.consecutive = 0
        self.durations: deque[float] = deque(maxlen=window)
        self.opened_at = 0.0
        self.probing = False
        self.probe_started = 0.0
        self.reason = ""

    def allow(self) -> bool:
        """May a call go to the dependency now? In half-open only one probe at a time."""
        if not self.enabled or self.state == CLOSED:
            return True
        if self.state == OPEN:
            if self.clock() - self.opened_at < self.cooldown:
                return False
            self._set(HALF_OPEN)
        now = self.clock()
        if self.probing and now - self.probe_started < self.cooldown:
            return False  # a probe is out; a lost one (cancelled call) is replaced after a cool-down
        self.probing = True
        self.probe_started = now
        return True

    def success(self) -> None:
        self.probing = False
        self.consecutive = 0
        if self.state == HALF_OPEN:
            self.durations.clear()
            self._set(CLOSED)

    def observe_latency(self, seconds: float) -> None:
        """One latency sample of the dependency (see the class docstring)."""
        if self.state != CLOSED:
            return
        self.durations.append(seconds)
        if self._too_slow():
            self._open(f"median latency {statistics.median(self.durations) * 1000:.0f} ms over "
                       f"{len(self.durations)} samples > {self.latency * 1000:.0f} ms")

    def failure(self) -> None:
        self.probing = False
        now = self.clock()
        if self.consecutive == 0:
            self.first_failure = now
        self.consecutive += 1
        if self.state == HALF_OPEN:
            self._open("half-open probe failed")
        elif self.consecutive >= self.failures and now - self.first_failure >= self.span:
            self._open(f"{self.consecutive} consecutive failures in {now - self.first_failure:.3f}s")

    def _too_slow(self) -> bool:
        if self.latency is None or len(self.durations) < self.durations.maxlen:
            return False
        return statistics.median(self.durations) > self.latency

    def _open(self, reason: str) -> None:
        if not self.enabled:
            return
        self.reason = reason
        self.opened_at = self.clock()
        self.consecutive = 0
        self.durations.clear()
        self._set(OPEN)

    def _set(self, state: int) -> None:
        if state != self.state:
            self.state = state
            if self.on_change:
                self.on_change(self.name, state)
