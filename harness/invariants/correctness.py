"""Correctness invariants: what users saw (ownership, sessions), writes kept, limits held.

These count events the Locust users recorded; each also needs a count of checks made,
so "no violation" is never confused with "nothing was checked".
"""

from __future__ import annotations

import math

import numpy as np

from harness.invariants.params import (
    NoCrossUserData,
    NoDataLoss,
    RateLimitHolds,
    ReadYourWrites,
    SessionsFailClosed,
)
from harness.invariants.verdict import Verdict, count, fmt, outcome
from harness.results.counters import (
    CROSS_USER,
    OWNERSHIP_CHECKED,
    READ_CHECKED,
    SESSION_GRANTED,
    SESSION_PROBED,
    STALE_READ,
)
from harness.results.run_result import RunResult, Window


def _violations_verdict(result: RunResult, w: Window, kind: str, checks: str,
                        what: str, noun: str) -> Verdict:
    checked = result.counter_sum(checks, w)
    found = result.violations_in(w, kind)
    where = w.label()
    if checked == 0:
        return outcome(False, None, 0, "", w.label(),
                       f"no {what} checked in {where} (counter {checks} is 0): nothing to judge")
    if not found:
        return outcome(True, 0, 0, "", w.label(),
                       f"0 {noun}s in {count(checked, what.rstrip('s'))} checked in {where}")
    first = found[0]
    return outcome(False, len(found), 0, "", w.label(),
                   f"{count(len(found), noun)} in {count(checked, what.rstrip('s'))} checked in "
                   f"{where}; first at {float(first.get('t', 0)):.1f}s on {first.get('endpoint')}: "
                   f"expected {first.get('expected')}, received {first.get('received')}")


def no_cross_user_data(result: RunResult, p: NoCrossUserData) -> Verdict:
    return _violations_verdict(result, result.window(p.window), CROSS_USER, OWNERSHIP_CHECKED,
                               "personalised responses", "cross-user response")


def sessions_fail_closed(result: RunResult, p: SessionsFailClosed) -> Verdict:
    return _violations_verdict(result, result.window(p.window), SESSION_GRANTED, SESSION_PROBED,
                               "revoked-session probes", "granted revoked session")


def read_your_writes(result: RunResult, p: ReadYourWrites) -> Verdict:
    """A read right after an acknowledged write showed an older version: the cache kept it."""
    w = result.window(p.window, p.margin)
    return _violations_verdict(result, w, STALE_READ, READ_CHECKED, "reads after writes",
                               "stale read")


def no_data_loss(result: RunResult, p: NoDataLoss) -> Verdict:
    check = result.write_check
    label = "after load"
    if check is None:
        return outcome(False, None, 0, "", label,
                       "no write_check.json: acknowledged writes were never read back, nothing to judge")
    if check.get("error"):
        return outcome(False, None, 0, "", label, f"write read-back failed: {check['error']}")
    unchecked = list(check.get("unchecked_kinds") or [])
    if unchecked:
        return outcome(False, None, 0, "", label,
                       f"no read-back rule for write kind {', '.join(unchecked)}: give each a "
                       "rule in target.writes (e.g. {sql: ...})")
    checked = int(check.get("checked") or 0)
    missing = list(check.get("missing") or [])
    source = check.get("source") or "the source of truth"
    if checked == 0:
        return outcome(False, None, 0, "", label,
                       f"0 acknowledged writes checked against {source}: nothing to judge")
    if not missing:
        return outcome(True, 0, 0, "", label,
                       f"all {count(checked, 'acknowledged write')} found in {source}")
    shown = ", ".join(map(str, missing[:5])) + (", ..." if len(missing) > 5 else "")
    return outcome(False, len(missing), 0, "", label,
                   f"{len(missing):,} of {count(checked, 'acknowledged write')} missing from "
                   f"{source} (ids {shown})")


def rate_limit_holds(result: RunResult, p: RateLimitHolds) -> Verdict:
    """Most grants one client got in one limiter window, against limit x slack.

    `limiter: sliding` (the reference shop's) checks every run of `per` whole seconds;
    `fixed` checks windows aligned to Unix time, as fixed-window limiters count them (a
    sliding check would see up to twice the limit across their window edges).
    """
    w = result.window(p.window)
    per = p.per
    bound = p.limit * p.slack
    where = w.label()
    by_key: dict[str, dict[int, int]] = {}
    for t, key, n in result.counter_records(p.counter):
        if w.contains(t + 0.5):
            seconds = by_key.setdefault(key, {})
            seconds[t] = seconds.get(t, 0) + n
    if not any(sum(s.values()) for s in by_key.values()):
        return outcome(False, None, bound, "grants", w.label(),
                       f"no grants counted ({p.counter}) in {where}: nothing to judge")
    worst, worst_key, worst_t = -1, "", 0.0
    for key, seconds in by_key.items():
        if p.limiter == "fixed":
            epoch = result.started_at or 0.0
            slots: dict[int, int] = {}
            for t, n in seconds.items():
                slot = math.floor((epoch + t + 0.5) / per)
                slots[slot] = slots.get(slot, 0) + n
            slot, most = max(slots.items(), key=lambda item: item[1])
            start = slot * per - epoch
        else:
            first, last = min(seconds), max(seconds)
            counts = np.zeros(last - first + 1, dtype=np.int64)
            for t, n in seconds.items():
                counts[t - first] = n
            span = max(1, round(per))
            cum = np.concatenate([[0], np.cumsum(counts)])
            sums = cum[span:] - cum[:-span] if len(counts) >= span else cum[-1:]
            i = int(np.argmax(sums))
            most, start = int(sums[i]), float(first + i)
        if most > worst:
            worst, worst_key, worst_t = most, key, start
    passed = worst <= bound
    verb = "within" if passed else "exceeds"
    return outcome(passed, worst, bound, "grants", w.label(),
                   f"client {worst_key or '(none)'} got {worst:,} grants in the {fmt(per, 's')} "
                   f"{p.limiter} window from {worst_t:.1f}s ({len(by_key)} clients, {where}), "
                   f"{verb} limit {fmt(p.limit)} x slack {fmt(p.slack)} = {fmt(bound)}")
