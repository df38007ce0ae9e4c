"""Invariants on the load itself: error rate, latency and recovery time, from request buckets."""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from harness import histogram
from harness.invariants.params import BoundedErrorRate, LatencyBounded, RecoveryTime
from harness.invariants.verdict import Verdict, count, fmt, heal_label, outcome
from harness.results.faults import FaultWindow
from harness.results.run_result import RunResult, Window


def _scope(p: BoundedErrorRate | LatencyBounded) -> str:
    return f" for {p.endpoint}" if p.endpoint else ""


def _where(result: RunResult, w: Window, p: BoundedErrorRate | LatencyBounded) -> str:
    return w.label(count(result.requests(w, p.endpoint), "request")) + _scope(p)


def bounded_error_rate(result: RunResult, p: BoundedErrorRate) -> Verdict:
    w = result.window(p.window, p.margin)
    bound = p.max * 100
    rate = result.error_rate(w, p.endpoint)
    if rate is None:
        return outcome(False, None, bound, "%", w.label(),
                       f"no requests in {_where(result, w, p)}: nothing to judge")
    measured = rate * 100
    passed = measured <= bound
    verb = "within" if passed else "exceeds"
    return outcome(passed, measured, bound, "%", w.label(),
                   f"error rate {fmt(measured, '%')} in {_where(result, w, p)} {verb} {fmt(bound, '%')}")


def latency_bounded(result: RunResult, p: LatencyBounded) -> Verdict:
    w = result.window(p.window, p.margin)
    q = p.quantile
    bound = p.max_ms
    name = f"p{q * 100:g}"
    value = result.percentile(q, w, p.endpoint)
    if value is None:
        return outcome(False, None, bound, "ms", w.label(),
                       f"no requests in {_where(result, w, p)}: nothing to judge")
    passed = value <= bound
    verb = "within" if passed else "exceeds"
    return outcome(passed, value, bound, "ms", w.label(),
                   f"{name} latency {fmt(value, 'ms')} in {_where(result, w, p)} {verb} {fmt(bound, 'ms')}")


def recovery_time(result: RunResult, p: RecoveryTime) -> Verdict:
    """Heal to the start of the first stretch of `stable` seconds back at the steady baseline.

    Baseline: error rate e0 and p99 l0 of the baseline window. Each second s after heal is
    good when the rolling window (the `rolling` seconds ending at s, never reaching back
    before heal) has requests, error rate <= e0 + error_tolerance and p99 <= p99_factor x l0
    (or l0 + p99_slack_ms if larger: a fast baseline's p99 is noisy at low request rates).
    Recovery needs `stable` good seconds in a row inside the run; the time reported runs
    from heal to the start of the first good second's rolling window.
    """
    fault = result.fault(p.fault) if p.fault else _last_fault(result)
    bound = p.max
    ep = p.endpoint
    if fault is None:
        return outcome(False, None, bound, "s", "-", "the run has no fault: nothing to recover from")
    base = result.window(p.baseline)
    heal = fault.heal
    label = heal_label(fault)
    e0 = result.error_rate(base, ep)
    l0 = result.percentile(0.99, base, ep)
    if e0 is None or l0 is None:
        return outcome(False, None, bound, "s", label,
                       f"no requests in baseline {base.label()}: no baseline to recover to")
    err_max = e0 + p.error_tolerance
    p99_max = max(p.p99_factor * l0, l0 + p.p99_slack_ms)
    rolling = max(1, round(p.rolling))
    stable = max(1, round(p.stable))

    series = result.per_second(ep)
    hists = result.second_histograms(ep)
    last = min(len(series["t"]), hists.shape[0], math.ceil(result.duration - 0.5))
    first = max(0, math.ceil(heal - 0.5))
    targets = f"error rate <= {fmt(err_max * 100, '%')} and p99 <= {fmt(p99_max, 'ms')}"
    if first >= last:
        return outcome(False, None, bound, "s", label, f"the run ended at heal: no time to recover ({targets})")
    noisy = _noisy_seconds(result, base, p.noise_cores, len(series["t"]))
    find = partial(_first_stable_stretch, series["count"], series["failures"], hists,
                   range(first, last), rolling, stable, err_max, p99_max)
    start_s, good, seen = find(noisy)
    left_out = int(noisy[first:last].sum())
    noise = (f"; {count(left_out, 'noisy second')} left out: work outside the run used "
             f"{fmt(p.noise_cores, '')} more cores than in the baseline") if left_out else ""
    if start_s is None and not seen and left_out:  # noise left nothing: judge as if quiet
        noisy[:] = False
        start_s, good, seen = find(noisy)
        noise = (f"; the quiet seconds after heal had no requests, so the {left_out} noisy "
                 "ones were judged too")
    if start_s is not None:
        skipped = int(noisy[first:start_s].sum())  # time the machine, not the service, took
        measured = max(0.0, start_s - heal - skipped)
        passed = measured <= bound
        verb = "within" if passed else "exceeds"
        return outcome(passed, measured, bound, "s", label,
                       f"recovered {fmt(measured, 's')} after heal of {fault.name} at {heal:.1f}s "
                       f"({targets} for {stable}s from {start_s}s) {verb} {fmt(bound, 's')}"
                       f"{noise}")
    if not seen:
        return outcome(False, None, bound, "s", label,
                       f"no requests after heal of {fault.name} at {heal:.1f}s: nothing to judge")
    return outcome(False, None, bound, "s", label,
                   f"never recovered after heal of {fault.name} at {heal:.1f}s before the run ended "
                   f"at {result.duration:.1f}s (needed {targets} for {stable}s; "
                   f"best stretch {_longest(good)}s{noise})")


def _first_stable_stretch(counts: np.ndarray, failures: np.ndarray, hists: np.ndarray,
                          after_heal: range, rolling: int, stable: int, err_max: float,
                          p99_max: float, noisy: np.ndarray) -> tuple[int | None, np.ndarray, bool]:
    """Where the first rolling window of `stable` good seconds in a row begins (None: none),
    the good flags of the quiet seconds, and whether any request was seen. A noisy second is
    neither good nor bad, and its requests count in no rolling window."""
    quiet = ~noisy[: len(counts)]
    seconds = np.array([s for s in after_heal if quiet[s]], dtype=int)
    if not len(seconds):
        return None, np.zeros(0, dtype=bool), False
    starts = np.maximum(after_heal.start, seconds - rolling + 1)
    hists = hists[: len(quiet)]
    rows_quiet = quiet[: hists.shape[0], None]
    c_cum = np.concatenate([[0.0], np.cumsum(np.where(quiet, counts, 0))])
    f_cum = np.concatenate([[0.0], np.cumsum(np.where(quiet, failures, 0))])
    h_cum = np.vstack([np.zeros((1, hists.shape[1])), np.cumsum(hists * rows_quiet, axis=0)])
    n = c_cum[seconds + 1] - c_cum[starts]
    errors = f_cum[seconds + 1] - f_cum[starts]
    p99 = _row_p99(h_cum[seconds + 1] - h_cum[starts])
    with np.errstate(invalid="ignore", divide="ignore"):
        good = (n > 0) & (errors / np.where(n > 0, n, 1) <= err_max + 1e-12) & (p99 <= p99_max)
    run = 0
    for i, ok in enumerate(good):
        run = run + 1 if ok else 0
        if run == stable:
            return int(starts[i - stable + 1]), good, True
    return None, good, bool(n.sum())


def _noisy_seconds(result: RunResult, baseline: Window, excess: float, seconds: int) -> np.ndarray:
    """Per run second: did work outside the run use `excess` cores more than it did during the
    baseline? (metrics/host.py; all False without host samples or with `excess` 0)."""
    noisy = np.zeros(seconds + 1, dtype=bool)
    series = result.metric("foreign_cores", source="host") if excess > 0 else None
    if series is None:
        return noisy
    t, cores = series
    in_base = np.array([baseline.contains(x) for x in t], dtype=bool) & ~np.isnan(cores)
    calm = float(np.median(cores[in_base])) if in_base.any() else 0.0
    for at, used in zip(t, cores, strict=True):
        if used >= calm + excess:  # the sample covers the second before `at`: mark both it
            for s in (int(at) - 1, int(at)):  # and the one it ends in
                if 0 <= s <= seconds:
                    noisy[s] = True
    return noisy


def _row_p99(rows: np.ndarray) -> np.ndarray:
    totals = rows.sum(axis=1)
    rank = np.maximum(1.0, np.ceil(0.99 * totals))
    idx = np.argmax(np.cumsum(rows, axis=1) >= rank[:, None], axis=1)
    uppers = np.array([histogram.upper_ms(i) for i in range(rows.shape[1])])
    return np.where(totals > 0, uppers[idx], np.inf)


def _longest(good: np.ndarray) -> int:
    best = run = 0
    for ok in good:
        run = run + 1 if ok else 0
        best = max(best, run)
    return best


def _last_fault(result: RunResult) -> FaultWindow | None:
    return max(result.faults, key=lambda f: f.heal) if result.faults else None
