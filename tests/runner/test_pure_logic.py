"""Pure logic of the runner: failure kinds, bucket merging, halts, metric parsing, masking."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from harness.halts import halt_reason
from harness.load.recorder import Buckets, ResultsAppender, failure_kinds
from harness.metrics.collectors import parse_target_metrics, series_key
from harness.results.tail import RequestTail
from harness.results.writer import mask_secrets


def test_failure_kinds() -> None:
    resp = SimpleNamespace
    assert failure_kinds(Exception("x"), resp(status_code=503)) == ("5xx", "503")
    assert failure_kinds(Exception("x"), resp(status_code=404)) == ("4xx", "404")
    assert failure_kinds(Exception("wrong owner"), resp(status_code=200)) == ("other",)
    assert failure_kinds(TimeoutError("timed out"), resp(status_code=0)) == ("timeout",)
    assert failure_kinds(ConnectionRefusedError(111, "refused"), None) == ("connection",)
    assert failure_kinds(ValueError("bad json"), resp(status_code=0)) == ("other",)


def test_merging_buckets_adds_exactly(tmp_path: Path) -> None:
    a, b = Buckets(), Buckets()
    a.add_request(3, "GET /x", 1.0, None)
    a.add_request(3, "GET /x", 250.0, ("5xx", "503"))
    b.add_request(3, "GET /x", 1.0, ("timeout",))
    b.add_request(4, "GET /y", 2.0, None)
    b.counters[(3, "ownership_checked", "")] = 5
    appender = ResultsAppender(tmp_path)
    appender.add(a.to_message())
    appender.add(b.to_message())
    appender.close()
    records = [json.loads(x) for x in (tmp_path / "requests.jsonl").read_text().splitlines()]
    assert records[0]["t"] == 3 and records[0]["count"] == 3
    assert records[0]["failures"] == {"5xx": 1, "503": 1, "timeout": 1}
    assert sum(records[0]["hist"].values()) == 3
    assert records[1] == {"t": 4, "endpoint": "GET /y", "count": 1, "failures": {},
                          "hist": records[1]["hist"]}
    assert appender.requests == 4 and appender.failures == 2  # "503" is not counted twice


def _tail_with(tmp_path: Path, seconds: list[tuple[int, int, int]]) -> RequestTail:
    path = tmp_path / "requests.jsonl"
    with open(path, "w") as f:
        for t, count, failed in seconds:
            f.write(json.dumps({"t": t, "endpoint": "GET /x", "count": count,
                                "failures": {"5xx": failed, "503": failed} if failed else {},
                                "hist": {"100": count}}) + "\n")
    tail = RequestTail(path)
    tail.poll()
    return tail


def test_halt_needs_the_whole_span(tmp_path: Path) -> None:
    cond = SimpleNamespace(metric="error_rate", above=0.9, for_=3.0)
    bad = [(t, 100, 95) for t in range(5, 8)]
    assert halt_reason([cond], _tail_with(tmp_path, [(4, 100, 0), *bad]), 0).startswith(
        "error rate 95% > 90% for 3s")
    assert halt_reason([cond], _tail_with(tmp_path, [(5, 100, 95), (6, 100, 10), (7, 100, 95)]),
                       0) is None
    p99 = SimpleNamespace(metric="p99_ms", above=5.0, for_=1.0)  # bucket 100 = 3.16 ms
    assert halt_reason([p99], _tail_with(tmp_path, bad), 0) is None
    viol = SimpleNamespace(metric="violations", above=0, for_=0.0)
    assert halt_reason([viol], _tail_with(tmp_path, bad), 1) == "violations 1 > 0"


def test_target_metrics_keep_stampede_series_only() -> None:
    text = """# TYPE stampede_circuit_state gauge
stampede_circuit_state{dependency="redis"} 1.0
stampede_circuit_state{dependency="db"} 0.0
# TYPE stampede_cache_requests counter
stampede_cache_requests_total{result="hit"} 12.0
stampede_cache_requests_created{result="hit"} 1.7e9
# TYPE stampede_http_request_duration_seconds histogram
stampede_http_request_duration_seconds_bucket{le="0.1",route="/x"} 3.0
stampede_http_request_duration_seconds_count{route="/x"} 3.0
# TYPE python_gc_objects_collected counter
python_gc_objects_collected_total{generation="0"} 5.0
"""
    samples = parse_target_metrics(text)
    assert samples == {
        'stampede_circuit_state{dependency="redis"}': 1.0,
        'stampede_circuit_state{dependency="db"}': 0.0,
        'stampede_cache_requests_total{result="hit"}': 12.0,
        'stampede_http_request_duration_seconds_count{route="/x"}': 3.0,
    }
    theirs = "# TYPE breaker gauge\nbreaker{dep=\"redis\",zone=\"a\"} 2\n"
    assert parse_target_metrics(theirs, {"stampede_circuit_state": "breaker"}) == {
        'stampede_circuit_state{dep="redis",zone="a"}': 2.0}
    assert series_key("x", {}) == "x"


def test_mask_secrets() -> None:
    assert mask_secrets("redis://:s3cret@127.0.0.1:6379/0") == "redis://:***@127.0.0.1:6379/0"
    assert mask_secrets({"u": ["postgresql://bob:pw@db/shop"]}) == {"u": ["postgresql://bob:***@db/shop"]}
    assert mask_secrets("http://127.0.0.1:8000/x") == "http://127.0.0.1:8000/x"


def test_endpoint_names_get_the_method_once() -> None:
    from harness.load.recorder import Recorder

    rec = Recorder(t0=0.0)
    rec.on_request("GET", "/products/{id}", 1.0)
    rec.on_request("GET", "GET /products/{id}", 1.0)
    rec.on_request("POST", "/orders", 1.0, exception=RuntimeError("x"))
    assert {e for _, e in rec.buckets.requests} == {"GET /products/{id}", "POST /orders"}
    assert sum(b.count for b in rec.buckets.requests.values()) == 3


def test_run_dir_is_absolute_and_unique(tmp_path: Path, monkeypatch) -> None:
    from harness.results.writer import new_run_dir

    monkeypatch.chdir(tmp_path)
    first = new_run_dir("results", "my run")
    second = new_run_dir("results", "my run")
    assert first.is_absolute() and first.parent == tmp_path / "results"
    assert first != second and first.name.endswith("-my_run") and (first / "logs").is_dir()


def test_progress_plain_lines_are_throttled_and_live_mode_draws() -> None:
    import io

    from harness.progress import Progress, Status

    plain = io.StringIO()
    progress = Progress(stream=plain, interval=60, live=False)
    progress.start()
    for i in range(5):
        progress.update(Status(float(i), 30.0, "steady", ["redis-latency"], 120.0, 0.25, i))
    progress.message("halt: error rate 95% > 90% for 10s")
    progress.stop()
    lines = plain.getvalue().splitlines()
    assert len(lines) == 2 and "phase steady" in lines[0] and "redis-latency" in lines[0]
    assert "25.0%" in lines[0] and lines[1].startswith("halt:")

    live = io.StringIO()
    progress = Progress(stream=live, live=True)
    progress.start()
    progress.update(Status(3.0, 30.0, "fault", ["redis-outage"], 80.0, 0.5, 300))
    progress.stop()
    assert "redis-outage" in live.getvalue()
