"""A finished run's bulky files are gzipped (harness.results.jsonl): same answers, smaller folder."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.results import RunResult, jsonl
from harness.verdicts import judge_run

from .builders import ResultsBuilder, breaker_key, cache_key

ENTRIES = [
    {"name": "bounded_error_rate", "window": "during:redis-outage", "max": 0.05},
    {"name": "latency_bounded", "window": "all", "max_ms": 100},
    {"name": "circuit_breaker_opens", "dependency": "redis", "fault": "redis-outage"},
    {"name": "hit_rate_recovers", "fault": "redis-outage", "within": "10s"},
]


def build(root: Path) -> Path:
    b = ResultsBuilder(root, duration=60, steady=(5, 20))
    b.fault("redis-outage", 30, 45)
    b.traffic(0, 60, rps=100, latency_ms=10, slow_ms=300, slow_fraction=0.02)
    b.traffic(30, 45, rps=80, error_rate=0.1, endpoint="GET /me", latency_ms=5)
    b.metric(breaker_key(), lambda t: 1 if 31 <= t < 46 else 0)
    b.metric(cache_key("hit"), lambda t: 90 * t)
    b.metric(cache_key("miss"), lambda t: 10 * t)
    b.metric("keyspace_hits", lambda t: 80 * t, source="redis")
    b.gap(50)
    b.counter(12, "ownership_checked", 57)
    b.counter(33, "rate_limit_granted", 9, key="client-3")
    return b.write()


def answers(run: RunResult) -> dict[str, Any]:
    """Everything the invariants and the report ask of a run, in comparable form."""
    hit = run.metric("stampede_cache_requests_total", result="hit")
    return {
        "endpoints": run.endpoints,
        "requests": [run.requests(), run.requests(endpoint="GET /me")],
        "failures": run.failures(run.window("during:redis-outage")),
        "hist": run.histogram().tolist(),
        "p99": run.latency_series(0.99, rolling=5).tolist(),
        "per_second": {k: v.tolist() for k, v in run.per_second().items()},
        "counters": {n: run.counter_records(n) for n in run.counter_names()},
        "metric": hit and (hit[0].tolist(), np.nan_to_num(hit[1], nan=-1.0).tolist()),  # gap
        "redis": run.metric("keyspace_hits", source="redis")[1].tolist(),
        "verdicts": [v.to_dict() for v in judge_run(run, ENTRIES)],
    }


def test_the_finished_form_loads_identically(tmp_path: Path) -> None:
    plain = build(tmp_path / "plain")
    packed = shutil.copytree(plain, tmp_path / "packed" / plain.name)
    assert jsonl.compact(packed) == []
    names = {p.name for p in packed.iterdir()}
    assert {"requests.jsonl.gz", "metrics.jsonl.gz", "counters.jsonl.gz", "timeline.jsonl"} <= names
    assert not names & {"requests.jsonl", "metrics.jsonl", "counters.jsonl"}
    assert not [n for n in names if n.endswith(".tmp")]
    for name in jsonl.COMPACTED:  # zcat gives back the very bytes the run wrote
        with gzip.open(packed / f"{name}.gz", "rb") as fh:
            assert fh.read() == (plain / name).read_bytes()
    expected = answers(RunResult.load(plain))
    assert expected["requests"][0] > 0 and expected["counters"] and expected["metric"]
    assert answers(RunResult.load(packed)) == expected


def test_the_comparison_sees_a_lost_record(tmp_path: Path) -> None:
    """The equality above has teeth: one bucket fewer in the .gz changes the answers."""
    plain = build(tmp_path / "plain")
    packed = shutil.copytree(plain, tmp_path / "packed" / plain.name)
    lines = (packed / "requests.jsonl").read_bytes().splitlines(keepends=True)
    (packed / "requests.jsonl").write_bytes(b"".join(lines[:-1]))
    jsonl.compact(packed)
    assert answers(RunResult.load(packed)) != answers(RunResult.load(plain))


def test_a_failed_compression_keeps_the_plain_file(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = build(tmp_path)
    before = (path / "requests.jsonl").read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    problems = jsonl.compact(path)
    assert len(problems) == 3 and "requests.jsonl: left uncompressed" in problems[0]
    assert "No space left" in problems[0]
    assert (path / "requests.jsonl").read_bytes() == before
    assert sorted(p.name for p in path.glob("*.gz*")) == []
    assert RunResult.load(path).requests() == 60 * 100 + 15 * 80


def test_a_crash_between_rename_and_unlink_reads_the_plain_file(tmp_path: Path) -> None:
    """Both forms present: plain wins, and compacting again finishes the job."""
    path = build(tmp_path)
    (path / "requests.jsonl.gz").write_bytes(gzip.compress(b'{"t": 0, "count": 1}\n'))
    assert RunResult.load(path).requests() == 7200
    assert jsonl.compact(path) == []
    assert not (path / "requests.jsonl").exists()
    assert RunResult.load(path).requests() == 7200


def test_a_damaged_gzip_names_the_file(tmp_path: Path) -> None:
    path = build(tmp_path)
    jsonl.compact(path)
    data = (path / "requests.jsonl.gz").read_bytes()
    (path / "requests.jsonl.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"requests\.jsonl\.gz: damaged gzip file"):
        RunResult.load(path)


def test_records_reads_either_form(tmp_path: Path) -> None:
    path = build(tmp_path)
    plain = jsonl.records(path / "metrics.jsonl")
    jsonl.compact(path)
    assert jsonl.records(path / "metrics.jsonl") == plain and len(plain) == 60 * 2
    assert json.loads((path / "timeline.jsonl").read_text().splitlines()[0])["kind"] == "run_start"
    assert jsonl.records(path / "nothing.jsonl") == []
