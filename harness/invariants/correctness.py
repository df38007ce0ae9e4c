"""Correctness invariants: what users saw (ownership, sessions), writes kept, limits held.

These count events the Locust users recorded; each also needs a count of checks made,
so "no violation" is never confused with "nothing was checked".
"""

from __future__ import annotations

import math
from typing import Any

from harness.invariants.verdict import Verdict, count, fmt, outcome
from harness.load.checks import OWNERSHIP_CHECKED, SESSION_PROBED
from harness.results.run_result import RunResult, parse_duration


def _violations_verdict(result: RunResult, p: dict[str, Any], kind: str, checks: str,
                        what: str, noun: str) -> Verdict:
    w = result.window(p["window"])
    checked = result.counter_sum(checks, w)
    found = result.violations_in(w, kind)
    where = f"{w.name} ({w.start:.1f}s-{w.end:.1f}s)"
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


def no_cross_user_data(result: RunResult, p: dict[str, Any]) -> Verdict:
    return _violations_verdict(result, p, "cross_user", OWNERSHIP_CHECKED,
                               "personalised responses", "cross-user response")


def sessions_fail_closed(result: RunResult, p: dict[str, Any]) -> Verdict:
    return _violations_verdict(result, p, "session_granted", SESSION_PROBED,
                               "revoked-session probes", "granted revoked session")


def no_data_loss(result: RunResult, p: dict[str, Any]) -> Verdict:
    check = result.write_check
    label = "after load"
    if check is None:
        return outcome(False, None, 0, "", label,
                       "no write_check.json: acknowledged writes were never read back, nothing to judge")
    if check.get("error"):
        return outcome(False, None, 0, "", label, f"write read-back failed: {check['error']}")
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


def rate_limit_holds(result: RunResult, p: dict[str, Any]) -> Verdict:
    """Grants per client key per limiter window, windows aligned to Unix time (as limiters are)."""
    w = result.window(p["window"])
    per = parse_duration(p["per"])
    bound = float(p["limit"]) * float(p["slack"])
    epoch = result.started_at or 0.0
    grants: dict[tuple[str, int], int] = {}
    for t, key, n in result.counter_records(p["counter"]):
        if w.contains(t + 0.5):
            slot = math.floor((epoch + t + 0.5) / per)
            grants[(key, slot)] = grants.get((key, slot), 0) + n
    where = f"{w.name} ({w.start:.1f}s-{w.end:.1f}s)"
    if not grants or not sum(grants.values()):
        return outcome(False, None, bound, "grants", w.label(),
                       f"no grants counted ({p['counter']}) in {where}: nothing to judge")
    (key, slot), worst = max(grants.items(), key=lambda item: item[1])
    clients = len({k for k, _ in grants})
    slot_t = slot * per - epoch
    passed = worst <= bound
    verb = "within" if passed else "exceeds"
    return outcome(passed, worst, bound, "grants", w.label(),
                   f"client {key or '(none)'} got {worst:,} grants in the {fmt(per, 's')} window at "
                   f"{slot_t:.1f}s ({clients} clients, {where}), {verb} limit "
                   f"{fmt(float(p['limit']))} x slack {fmt(float(p['slack']))} = {fmt(bound)}")
