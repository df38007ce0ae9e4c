"""RunResult reads signals by their fixed keys: gaps named, absent when never matched, and
runs recorded before signals existed judged by the defaults on their stored series."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from harness.results.run_result import RunResult

OPEN = 'breaker_open{dependency="redis"}'


def folder(tmp_path: Path, records: list[dict], experiment: dict | None = None) -> RunResult:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "experiment.json").write_text(json.dumps(experiment or {"duration": 10}))
    with open(tmp_path / "metrics.jsonl", "w") as f:
        for rec in records:
            f.write(json.dumps(rec) + "\n")
    return RunResult(tmp_path)


def test_signals_read_zero_before_their_first_series_and_nan_at_gaps(tmp_path: Path):
    run = folder(tmp_path, [
        {"t": 1.0, "source": "signals", "ok": True, "samples": {}},
        {"t": 2.0, "source": "signals", "ok": True, "samples": {OPEN: 1.0}},
        {"t": 3.0, "source": "signals", "ok": False, "error": "Prometheus at http://p did not answer"},
        {"t": 4.0, "source": "signals", "ok": True, "samples": {OPEN: 0.0}},
    ], {"duration": 10, "signals": {"series": {OPEN: 'cb{state="open"}'}}})
    series = run.signal("breaker_open", dependency="redis")
    assert series is not None
    t, v = series
    assert list(t) == [1.0, 2.0, 3.0, 4.0]
    assert v[0] == 0 and v[1] == 1 and np.isnan(v[2]) and v[3] == 0
    assert run.signal("breaker_open", dependency="db") is None  # never matched: absent
    assert "did not answer" in run.signal_gaps(0, 10) and "1 signal gap" in run.signal_gaps(0, 10)
    assert run.signal_gaps(3.5, 10) == ""
    assert run.signal_expression("breaker_open", dependency="redis") == 'cb{state="open"}'


def test_a_run_recorded_before_signals_is_read_through_the_defaults(tmp_path: Path):
    run = folder(tmp_path, [
        {"t": 1.0, "source": "target", "ok": True, "samples": {
            'stampede_circuit_state{dependency="redis"}': 0.0,
            'stampede_db_queries_total{query="product"}': 5.0,
            'stampede_db_queries_total{query="feed"}': 2.0}},
        {"t": 2.0, "source": "target", "ok": True, "samples": {
            'stampede_circuit_state{dependency="redis"}': 2.0,
            'stampede_db_queries_total{query="product"}': 9.0,
            'stampede_db_queries_total{query="feed"}': 2.0}},
        {"t": 3.0, "source": "target", "ok": False, "error": "ReadTimeout"},
    ])
    _, half = run.signal("breaker_half_open", dependency="redis")
    _, opened = run.signal("breaker_open", dependency="redis")
    assert list(half[:2]) == [0, 2] and list(opened[:2]) == [0, 0] and np.isnan(half[2])
    _, product = run.signal("db_queries", query="product")
    _, total = run.signal("db_queries")
    assert list(product[:2]) == [5, 9] and list(total[:2]) == [7, 11]
    assert run.signal("cache_requests", result="hit") is None
    assert "ReadTimeout" in run.signal_gaps(0, 5)
