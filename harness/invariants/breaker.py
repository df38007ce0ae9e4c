"""Circuit breaker invariants, read from the signals `breaker_open` and `breaker_half_open`.

Each is non-zero while the breaker is in that state (harness.signals; by default the
shop's `stampede_circuit_state` gauge, 1 open and 2 half-open). Half-open counts as opened
(it follows open); closed is neither.
"""

from __future__ import annotations

import numpy as np

from harness.invariants.params import CircuitBreakerCloses, CircuitBreakerOpens
from harness.invariants.verdict import Verdict, fmt, heal_label, outcome
from harness.results.faults import FaultWindow
from harness.results.run_result import RunResult, Window

SCRAPE_GRACE = 1.5  # the gauge is scraped about once a second: an opening at heal shows up late
Breaker = CircuitBreakerOpens | CircuitBreakerCloses


def _fault_for(result: RunResult, p: Breaker) -> FaultWindow | None:
    """The named fault, else the first fault on the proxy named like the dependency."""
    if p.fault:
        return result.fault(p.fault)
    for f in result.faults:
        if f.proxy == p.dependency:
            return f
    return None


def _which(p: Breaker, fault: FaultWindow) -> str:
    """When the fault was picked by default, say so: the user may have meant another one."""
    if p.fault:
        return ""
    return f"; judged the first fault on proxy {p.dependency}, name another with fault:"


def _gauge(result: RunResult, p: Breaker) -> tuple[np.ndarray, np.ndarray] | None:
    return result.breaker_state(p.dependency)


def _missing(result: RunResult, p: Breaker, bound: float, label: str) -> Verdict:
    expr = result.signal_expression("breaker_open", dependency=p.dependency)
    return outcome(False, None, bound, "s", label,
                   f"signal breaker_open for {p.dependency} ({expr}) matched no series in the "
                   "whole run: nothing to judge (check the expression in target.signals."
                   f"breaker_open.{p.dependency} against the service's metrics)")


def circuit_breaker_opens(result: RunResult, p: CircuitBreakerOpens) -> Verdict:
    bound = p.within
    fault = _fault_for(result, p)
    if fault is None:
        return outcome(False, None, bound, "s", "-",
                       f"no fault on proxy {p.dependency!r} in this run: nothing to open the breaker")
    label = Window(f"during:{fault.name}", fault.onset, fault.heal).label()
    series = _gauge(result, p)
    if series is None:
        return _missing(result, p, bound, label)
    t, v = series
    until = fault.heal + SCRAPE_GRACE
    seen = (t >= fault.onset) & (t <= until) & ~np.isnan(v)
    if not seen.any():
        return outcome(False, None, bound, "s", label,
                       f"no breaker sample for {p.dependency} between onset {fault.onset:.1f}s "
                       f"and {until:.1f}s: nothing to judge{result.signal_gaps(fault.onset, until)}")
    opened = seen & (v >= 1)
    if not opened.any():
        return outcome(False, None, bound, "s", label,
                       f"breaker for {p.dependency} never opened between onset of {fault.name} at "
                       f"{fault.onset:.1f}s and heal at {fault.heal:.1f}s "
                       f"({int(seen.sum())} samples, all closed){_which(p, fault)}"
                       f"{result.signal_gaps(fault.onset, until)}")
    measured = float(t[opened][0] - fault.onset)
    passed = measured <= bound
    verb = "within" if passed else "later than"
    return outcome(passed, measured, bound, "s", label,
                   f"breaker for {p.dependency} opened {fmt(measured, 's')} after onset of "
                   f"{fault.name} at {fault.onset:.1f}s, {verb} {fmt(bound, 's')}"
                   f"{result.signal_precision()}")


def circuit_breaker_closes(result: RunResult, p: CircuitBreakerCloses) -> Verdict:
    bound = p.within
    fault = _fault_for(result, p)
    if fault is None:
        return outcome(False, None, bound, "s", "-",
                       f"no fault on proxy {p.dependency!r} in this run: nothing to heal from")
    label = heal_label(fault)
    series = _gauge(result, p)
    if series is None:
        return _missing(result, p, bound, label)
    t, v = series
    valid = ~np.isnan(v)
    during = valid & (t >= fault.onset) & (t <= fault.heal)
    if not (during & (v >= 1)).any():
        return outcome(False, None, bound, "s", label,
                       f"breaker for {p.dependency} never opened during {fault.name}: "
                       f"nothing to close, nothing to judge{_which(p, fault)}")
    after = valid & (t >= fault.heal)
    closed = after & (v == 0)
    if not closed.any():
        last = f"; last state {v[after][-1]:g}" if after.any() else ""
        return outcome(False, None, bound, "s", label,
                       f"breaker for {p.dependency} never closed after heal of {fault.name} at "
                       f"{fault.heal:.1f}s ({int(after.sum())} samples to run end{last})"
                       f"{result.signal_gaps(fault.heal, result.duration)}")
    measured = float(t[closed][0] - fault.heal)
    passed = measured <= bound
    verb = "within" if passed else "later than"
    return outcome(passed, measured, bound, "s", label,
                   f"breaker for {p.dependency} closed {fmt(measured, 's')} after heal of "
                   f"{fault.name} at {fault.heal:.1f}s, {verb} {fmt(bound, 's')}"
                   f"{result.signal_precision()}")
