"""Cache invariants: the database shielded, one fetch per expiry, stale reads, hit ratio back.

They read the target's Prometheus counters (or Redis INFO) from metrics.jsonl, scraped
about once a second, so every figure here is a delta between two scrapes.
"""

from __future__ import annotations

import re

import numpy as np

from harness.invariants.params import (
    BackendProtected,
    DbConcurrencyBounded,
    HitRateRecovers,
    SingleFlight,
    StaleServed,
)
from harness.invariants.verdict import Verdict, count, fmt, heal_label, outcome
from harness.results.faults import FaultWindow
from harness.results.run_result import RunResult, counter_rate

# signals (harness.signals), never metric names
DB_QUERIES = "db_queries"
CACHE_REQUESTS = "cache_requests"
DB_INFLIGHT = "db_inflight"
INSTANT_ACTIONS = ("expire_key", "flush_cache")


def _absent(result: RunResult, name: str, labels: str = "") -> str:
    found = re.findall(r'(\w+)="([^"]*)"', labels)
    expr = result.signal_expression(name, **dict(found))
    where = f"target.signals.{name}" + "".join(
        f".{v}" if k != "query" else f"_by_query.{v}" for k, v in found)
    if "query" in dict(found):
        where = f"target.signals.db_queries_by_query.{dict(found)['query']}"
    return (f"signal {name}{labels} ({expr}) matched no series in the whole run: nothing to "
            f"judge (check {where} against the service's metrics)")


def _value_at(t: np.ndarray, v: np.ndarray, at: float, after: bool = False) -> tuple[float, float] | None:
    """The last valid sample at or before `at` (or the first at or after it)."""
    ok = ~np.isnan(v)
    idx = np.nonzero(ok & ((t >= at) if after else (t <= at)))[0]
    if not len(idx):
        return None
    i = idx[0] if after else idx[-1]
    return float(t[i]), float(v[i])


def _increase(before: float, after: float) -> float:
    return after - before if after >= before else after  # a drop means the target restarted


def backend_protected(result: RunResult, p: BackendProtected) -> Verdict:
    w = result.window(p.window, p.margin)
    bound = p.max_qps
    labels = {"query": p.query} if p.query else {}
    label_text = f'{{query="{p.query}"}}' if p.query else ""
    series = result.signal(DB_QUERIES, **labels)
    if series is None:
        return outcome(False, None, bound, "queries/s", w.label(), _absent(result, DB_QUERIES, label_text))
    t, rate = counter_rate(*series)
    if len(t):
        starts = np.concatenate([[t[0] - 1.0], t[:-1]])  # the previous valid scrape
        mid = (t + starts) / 2
        inside = (mid >= w.start) & (mid < w.end) & ~np.isnan(rate)
    else:
        inside = np.zeros(0, dtype=bool)
    where = w.label()
    if not inside.any():
        return outcome(False, None, bound, "queries/s", w.label(),
                       f"no database query samples in {where}: nothing to judge")
    stat = p.stat
    measured = float(rate[inside].max()) if stat == "max" else float(rate[inside].mean())
    passed = measured <= bound
    verb = "within" if passed else "exceeds"
    return outcome(passed, measured, bound, "queries/s", w.label(),
                   f"{stat} database queries/s{label_text} {fmt(measured)} in {where} "
                   f"({int(inside.sum())} scrapes) {verb} {fmt(bound)}")


def db_concurrency_bounded(result: RunResult, p: DbConcurrencyBounded) -> Verdict:
    """The most concurrent database operations any scrape saw in the window (gauge stampede_db_inflight).

    A bound on concurrent work is what protects a slow database; queries/s alone cannot
    tell "bounded and shedding" from "everyone piling on" when each query is slow.
    """
    w = result.window(p.window, p.margin)
    bound = p.max
    series = result.signal(DB_INFLIGHT)
    if series is None:
        return outcome(False, None, bound, "", w.label(), _absent(result, DB_INFLIGHT))
    t, v = series
    inside = (t >= w.start) & (t < w.end) & ~np.isnan(v)
    where = w.label()
    if not inside.any():
        return outcome(False, None, bound, "", w.label(),
                       f"no {DB_INFLIGHT} samples in {where}: nothing to judge")
    measured = float(v[inside].max())
    passed = measured <= bound
    verb = "within" if passed else "exceeds"
    return outcome(passed, measured, bound, "", w.label(),
                   f"max concurrent database operations {fmt(measured)} in {where} "
                   f"({int(inside.sum())} scrapes) {verb} {fmt(bound)}")


def single_flight(result: RunResult, p: SingleFlight) -> Verdict:
    bound = p.max
    settle = p.settle
    label_text = f'{{query="{p.query}"}}'
    events = [ev for ev in result.events("fault_start")
              if ev.get("type") in INSTANT_ACTIONS and not ev.get("error")
              and (not p.fault or ev.get("fault") == p.fault)]
    label = f"{settle:g}s after each expiry"
    if not events:
        return outcome(False, None, bound, "fetches", label,
                       "no expire_key or flush_cache applied in this run: nothing to judge")
    series = result.signal(DB_QUERIES, query=p.query)
    if series is None:
        return outcome(False, None, bound, "fetches", label, _absent(result, DB_QUERIES, label_text))
    t, v = series
    deltas: list[tuple[float, float]] = []
    for ev in events:
        at = float(ev["t"])
        before = _value_at(t, v, at)
        after = _value_at(t, v, at + settle, after=True)
        if before and after:
            deltas.append((at, _increase(before[1], after[1])))
    if not deltas:
        return outcome(False, None, bound, "fetches", label,
                       f"no scrapes around the {count(len(events), 'expiry')}: nothing to judge")
    at, worst = max(deltas, key=lambda d: d[1])
    if worst == 0:
        return outcome(False, 0, bound, "fetches", label,
                       f"0 database fetches{label_text} after {count(len(deltas), 'expiry')}: "
                       "the key was never read again, nothing to judge")
    passed = worst <= bound
    verb = "within" if passed else "exceeds"
    return outcome(passed, worst, bound, "fetches", label,
                   f"{fmt(worst)} database fetches{label_text} within {settle:g}s of the expiry at "
                   f"{at:.1f}s (worst of {len(deltas)}) {verb} {fmt(bound)}")


def _db_fault(result: RunResult) -> FaultWindow | None:
    return next((f for f in result.faults if f.proxy == "db"), None)


def stale_served(result: RunResult, p: StaleServed) -> Verdict:
    bound = p.min * 100
    if p.window:
        w = result.window(p.window, p.margin)
    else:
        fault = _db_fault(result)
        if fault is None:
            return outcome(False, None, bound, "%", "-",
                           "no fault on proxy 'db' and no window given: nothing to judge")
        w = result.window(f"during:{fault.name}", p.margin)
    ep = p.endpoint
    where = w.label()
    n = result.requests(w, ep)
    if n == 0:
        return outcome(False, None, bound, "%", w.label(), f"no {ep} requests in {where}: nothing to judge")
    success = (1 - result.failures(w, ep) / n) * 100
    stale = result.signal(CACHE_REQUESTS, result="stale")
    if stale is None:
        return outcome(False, success, bound, "%", w.label(),
                       _absent(result, CACHE_REQUESTS, '{result="stale"}'))
    before = _value_at(*stale, w.start) or _value_at(*stale, w.start, after=True)
    after = _value_at(*stale, w.end, after=True) or _value_at(*stale, w.end)
    served = _increase(before[1], after[1]) if before and after else 0.0
    numbers = f"{ep} success {fmt(success, '%')} of {count(n, 'request')} in {where}, {fmt(served)} stale reads"
    if served <= 0:
        return outcome(False, success, bound, "%", w.label(),
                       f"{numbers}: no stale value was served (cache result=stale did not increase)")
    passed = success >= bound
    verb = "meets" if passed else "below"
    return outcome(passed, success, bound, "%", w.label(), f"{numbers}; {verb} {fmt(bound, '%')}")


def _errors_after(result: RunResult, heal: float) -> float:
    """How much the cache_requests{result="error"} signal rose from heal to run end."""
    errors = result.signal(CACHE_REQUESTS, result="error")
    if errors is None:
        return 0.0
    before = _value_at(*errors, heal) or _value_at(*errors, heal, after=True)
    last = _value_at(*errors, result.duration + 1.0)
    return _increase(before[1], last[1]) if before and last else 0.0


def hit_rate_recovers(result: RunResult, p: HitRateRecovers) -> Verdict:
    """Heal to the first scrape whose hit ratio over the last `rolling` seconds is >= min."""
    bound = p.within
    target = p.min
    fault: FaultWindow | None
    if p.fault:
        fault = result.fault(p.fault)
    else:
        fault = max(result.faults, key=lambda f: f.heal) if result.faults else None
    if fault is None:
        return outcome(False, None, bound, "s", "-", "the run has no fault: nothing to recover from")
    heal = fault.heal
    label = heal_label(fault)
    source = p.source
    hits = misses = None
    if source in ("auto", "target"):
        hits = result.signal(CACHE_REQUESTS, result="hit")
        misses = result.signal(CACHE_REQUESTS, result="miss")
        used = "target cache hit/(hit+miss)"
    if (hits is None or misses is None) and source in ("auto", "redis"):
        hits = result.metric("keyspace_hits", source="redis")
        misses = result.metric("keyspace_misses", source="redis")
        used = "Redis keyspace_hits/(hits+misses)"
    if hits is None or misses is None:
        expr = result.signal_expression(CACHE_REQUESTS, result="hit")
        return outcome(False, None, bound, "s", label,
                       f"no cache hit/miss counters (signal cache_requests: {expr}, or Redis "
                       "keyspace_hits/misses): nothing to judge")
    t = hits[0]
    ok = ~np.isnan(hits[1]) & ~np.isnan(misses[1])
    t, h, m = t[ok], hits[1][ok], misses[1][ok]
    rolling = p.rolling
    lookups_seen = 0.0
    last_ratio = None
    after = np.nonzero(t >= heal)[0]
    if not len(after):
        return outcome(False, None, bound, "s", label,
                       f"no scrapes after heal of {fault.name} at {heal:.1f}s: nothing to judge")
    first = after[0]  # ratios only from increments wholly after heal
    for i in after[1:]:
        j = max(first, np.searchsorted(t, t[i] - rolling, side="right") - 1)
        dh, dm = _increase(h[j], h[i]), _increase(m[j], m[i])
        if dh + dm <= 0:
            continue
        lookups_seen += dh + dm
        last_ratio = dh / (dh + dm)
        if last_ratio >= target:
            measured = float(t[i] - heal)
            passed = measured <= bound
            verb = "within" if passed else "later than"
            return outcome(passed, measured, bound, "s", label,
                           f"{used} back to {last_ratio:.0%} (>= {target:.0%}) {fmt(measured, 's')} "
                           f"after heal of {fault.name} at {heal:.1f}s, {verb} {fmt(bound, 's')}")
    if lookups_seen == 0:
        failed = _errors_after(result, heal) if used.startswith("target") else 0.0
        if failed > 0:  # the cache was asked, and every lookup failed: that is no recovery
            span = max(result.duration - heal, 1e-9)
            return outcome(False, None, bound, "s", label,
                           f"every cache lookup after heal of {fault.name} at {heal:.1f}s failed "
                           f"({fmt(failed)} errors, {fmt(failed / span)}/s; 0 hits or misses): "
                           "the cache never came back")
        return outcome(False, None, bound, "s", label,
                       f"no cache lookups after heal of {fault.name} at {heal:.1f}s: nothing to judge")
    return outcome(False, None, bound, "s", label,
                   f"{used} never reached {target:.0%} after heal of {fault.name} at {heal:.1f}s "
                   f"(last {last_ratio:.0%}, run ended at {result.duration:.1f}s)")
