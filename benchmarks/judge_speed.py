"""How long judging a long run takes: a synthetic one-hour run at 1,000 requests/s.

Writes a results folder as `stampede run` would (20 endpoints, per-second buckets with
latency histograms, 1 Hz scrapes of the target, Redis and PostgreSQL, counters, faults),
compacts it as a finished run does (harness.results.jsonl: the bulky .jsonl files gzipped),
then times RunResult.load and judging every invariant. Prints figures; asserts nothing.
Goals: judging under 2 s, folder under 20 MB.

    .venv/bin/python benchmarks/judge_speed.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from harness import histogram
from harness.invariants import INVARIANTS
from harness.results import RunResult, jsonl
from harness.verdicts import judge_results, judge_run

DURATION = 3600
ENDPOINTS = 20
RPS = 1000
STARTED_AT = 1764139200.0
FAULTS = [  # name, proxy, type, start, end
    ("redis-latency", "redis", "latency", 600, 900),
    ("redis-outage", "redis", "down", 1200, 1500),
    ("db-outage", "db", "down", 1800, 2000),
    ("cold-start", None, "flush_cache", 2400, 2400),
    ("expire-hot", None, "expire_key", 3000, 3000),
]
INVARIANT_ENTRIES = [
    {"name": "bounded_error_rate", "window": "steady", "max": 0.01},
    {"name": "bounded_error_rate", "window": "during:redis-outage", "max": 0.05, "margin": "5s"},
    {"name": "latency_bounded", "window": "during:redis-latency", "max_ms": 500},
    {"name": "latency_bounded", "window": "all", "max_ms": 500, "endpoint": "GET /endpoint/7"},
    {"name": "recovery_time", "fault": "redis-outage", "max": "60s"},
    {"name": "circuit_breaker_opens", "dependency": "redis", "fault": "redis-outage"},
    {"name": "circuit_breaker_closes", "dependency": "redis", "fault": "redis-outage"},
    {"name": "no_cross_user_data"},
    {"name": "sessions_fail_closed"},
    {"name": "no_data_loss"},
    {"name": "rate_limit_holds", "limit": 100, "per": "10s"},
    {"name": "backend_protected", "window": "during:redis-outage", "max_qps": 2000},
    {"name": "single_flight", "max": 30},  # background product reads count too (7.5/s here)
    {"name": "stale_served", "endpoint": "GET /endpoint/0"},
    {"name": "hit_rate_recovers", "fault": "cold-start", "within": "120s"},
]


def line(record: dict) -> str:
    """One JSON line, compact, as harness.results.writer writes it."""
    return json.dumps(record, separators=(",", ":")) + "\n"


def write_run(path: Path) -> None:
    rng = np.random.default_rng(7)
    path.mkdir(parents=True)
    faults = [{"name": n, "proxy": p, "type": t, "start": float(s), "end": float(e),
               "stream": "downstream", "toxicity": 1.0, "attributes": {}}
              for n, p, t, s, e in FAULTS]
    (path / "experiment.json").write_text(json.dumps({
        "name": "judge_speed", "duration": DURATION, "time_scale": 1.0,
        "steady_state": {"start": 60.0, "end": 540.0}, "faults": faults,
        "invariants": INVARIANT_ENTRIES, "halt": [], "target": {"kind": "embedded"}, "load": {}}))
    with (path / "timeline.jsonl").open("w") as fh:
        fh.write(line({"t": 0.0, "ts": STARTED_AT, "kind": "run_start"}))
        for n, p, t, s, e in FAULTS:
            fh.write(line({"t": s + 0.004, "ts": STARTED_AT + s, "kind": "fault_start",
                                 "fault": n, "planned_t": s, "proxy": p, "type": t}))
            fh.write(line({"t": e + 0.006, "ts": STARTED_AT + e, "kind": "fault_end",
                                 "fault": n, "planned_t": e}))
        fh.write(line({"t": DURATION, "ts": STARTED_AT + DURATION, "kind": "run_end",
                             "status": "completed"}))

    per_endpoint = RPS // ENDPOINTS
    with (path / "requests.jsonl").open("w") as fh:
        for t in range(DURATION):
            slow = 600 <= t < 900
            latencies = rng.lognormal(math.log(40 if slow else 8), 0.5, size=(ENDPOINTS, per_endpoint))
            buckets = np.ceil(np.log10(latencies / histogram.FLOOR_MS) * histogram.BUCKETS_PER_DECADE - 1e-9)
            failed = rng.binomial(per_endpoint, 0.03 if 1200 <= t < 1500 else 0.001, size=ENDPOINTS)
            for ep in range(ENDPOINTS):
                keys, counts = np.unique(buckets[ep].astype(int), return_counts=True)
                f = int(failed[ep])
                fh.write(line({
                    "t": t, "endpoint": f"GET /endpoint/{ep}", "count": per_endpoint,
                    "failures": {"5xx": f, "503": f} if f else {},
                    "hist": {str(k): int(c) for k, c in zip(keys, counts, strict=True)}}))

    totals = {"hit": 0.0, "miss": 0.0, "stale": 0.0, "bypass": 0.0, "error": 0.0}
    queries = {q: 0.0 for q in ("product", "product_list", "profile", "profile_update", "feed",
                                "posts", "order_insert", "login")}
    hits = misses = evicted = 0.0
    with (path / "metrics.jsonl").open("w") as fh, (path / "counters.jsonl").open("w") as cf:
        for t in range(DURATION):
            outage = 1200 <= t < 1500
            cold = 2400 <= t < 2460
            ratio = 0.2 + 0.7 * (t - 2400) / 60 if cold else 0.92
            lookups = 0 if outage else 800
            totals["hit"] += lookups * ratio
            totals["miss"] += lookups * (1 - ratio)
            totals["bypass"] += 800 if outage else 0
            totals["stale"] += 40 if 1800 <= t < 2000 else 0
            for q in queries:
                queries[q] += (800 if outage else 60) / len(queries)
            if t in (3000, 3001):
                queries["product"] += 1
            hits += lookups * ratio
            misses += lookups * (1 - ratio)
            evicted += 2
            samples = {f'stampede_cache_requests_total{{result="{k}"}}': v for k, v in totals.items()}
            samples.update({f'stampede_db_queries_total{{query="{q}"}}': v for q, v in queries.items()})
            samples['stampede_circuit_state{dependency="redis"}'] = 1.0 if 1202 <= t < 1505 else 0.0
            samples['stampede_circuit_state{dependency="db"}'] = 1.0 if 1802 <= t < 2005 else 0.0
            samples["stampede_db_inflight"] = 3.0
            samples["stampede_shed_requests_total"] = 0.0
            fh.write(line({"t": t + 0.01, "source": "target", "ok": True, "samples": samples}))
            fh.write(line({"t": t + 0.02, "source": "redis", "ok": True, "samples": {
                "keyspace_hits": hits, "keyspace_misses": misses, "evicted_keys": evicted,
                "connected_clients": 12, "used_memory": 48 * 2**20, "instantaneous_ops_per_sec": 900}})
                )
            fh.write(line({"t": t + 0.03, "source": "postgres", "ok": True, "samples": {
                "xact_commit": 60 * t, "numbackends": 11, "tup_fetched": 200 * t}}))
            cf.write(line({"t": t, "name": "ownership_checked", "key": "", "count": 100}))
            cf.write(line({"t": t, "name": "session_probed", "key": "", "count": 2}))
            for c in range(5):
                cf.write(line({"t": t, "name": "rate_limit_granted", "key": f"client-{c}",
                                     "count": 9}))
    (path / "violations.jsonl").write_text("")
    (path / "writes.jsonl").write_text("")
    (path / "write_check.json").write_text(json.dumps(
        {"checked": 36000, "missing": [], "source": "postgresql", "error": None}))
    (path / "summary.json").write_text(json.dumps({
        "name": "judge_speed", "run_id": path.name, "status": "completed", "started_at": STARTED_AT,
        "ended_at": STARTED_AT + DURATION, "duration": DURATION, "requests": DURATION * RPS,
        "failures": 0, "halt_reason": None, "error": None}))


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the synthetic run here and keep it")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="judge-speed-"))
    path = root / "20261126T064000Z-judge_speed"
    try:
        if path.exists():
            shutil.rmtree(path)
        started = time.perf_counter()
        write_run(path)
        written = time.perf_counter() - started
        plain = folder_size(path)
        t0 = time.perf_counter()
        problems = jsonl.compact(path)  # what the end of `stampede run` does
        compacted = time.perf_counter() - t0
        size = folder_size(path)
        print(f"synthetic run: {DURATION} s x {RPS} req/s over {ENDPOINTS} endpoints "
              f"({DURATION * ENDPOINTS:,} request buckets), written in {written:.1f}s")
        for p in sorted(path.iterdir()):
            print(f"  {p.name:21} {p.stat().st_size / 1e6:7.2f} MB")
        print(f"folder size: {plain / 1e6:.1f} MB while running (plain), {size / 1e6:.1f} MB "
              f"finished (goal < 20 MB); compacting took {compacted:.2f}s")
        for problem in problems:
            print(f"  compacting failed: {problem}")

        t0 = time.perf_counter()
        result = RunResult.load(path)
        t1 = time.perf_counter()
        verdicts = judge_run(result, INVARIANT_ENTRIES)
        t2 = time.perf_counter()
        judge_results(path)  # the whole path `stampede check` takes, verdicts.json included
        t3 = time.perf_counter()
        covered = {v.invariant for v in verdicts}
        print(f"invariants judged: {len(verdicts)} entries, {len(covered)} of {len(INVARIANTS)} kinds, "
              f"{sum(v.passed for v in verdicts)} passed")
        for v in verdicts:
            print(f"  {'pass' if v.passed else 'FAIL'} {v.id}: {v.reason}")
        print(f"load {t1 - t0:.2f}s + judge {t2 - t1:.2f}s = {t2 - t0:.2f}s; "
              f"judge_results end to end {t3 - t2:.2f}s (goal < 2 s)")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
