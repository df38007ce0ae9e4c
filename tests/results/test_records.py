"""harness.results.records and .files: the failure rule, typed lines, the file names."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from harness.load.recorder import STREAMS, Buckets, ResultsAppender
from harness.results import files
from harness.results.records import (
    RequestRecord,
    TimelineEvent,
    failure_count,
    is_failure_class,
)


def test_statuses_are_not_failure_classes() -> None:
    assert [k for k in ("5xx", "503", "4xx", "404", "timeout", "connection", "other")
            if is_failure_class(k)] == ["5xx", "4xx", "timeout", "connection", "other"]
    assert failure_count({"5xx": 3, "503": 3, "timeout": 1}) == 4
    assert failure_count({}) == 0


def test_the_documented_request_line_decodes() -> None:
    line = (b'{"t": 12, "endpoint": "GET /products/{id}", "count": 130, '
            b'"failures": {"5xx": 3, "timeout": 1}, "hist": {"98": 40, "99": 70, "112": 20}, '
            b'"new_field": true}')
    rec = msgspec.json.decode(line, type=RequestRecord)
    assert (rec.t, rec.endpoint, rec.count, rec.failed) == (12.0, "GET /products/{id}", 130, 4)
    assert rec.hist == {98: 40, 99: 70, 112: 20}


def test_what_the_recorder_writes_reads_back_as_a_record(tmp_path: Path) -> None:
    buckets = Buckets()
    buckets.add_request(7, "POST /orders", 12.0, ("5xx", "503"))
    buckets.add_request(7, "POST /orders", 3.0, None)
    appender = ResultsAppender(tmp_path)
    appender.add(buckets.to_message())
    appender.close()
    line = (tmp_path / files.REQUESTS).read_bytes()
    written = json.loads(line)
    hist = written.pop("hist")
    assert written == {"t": 7, "endpoint": "POST /orders", "count": 2,
                       "failures": {"5xx": 1, "503": 1}}
    assert sorted(hist) == sorted(hist, key=int) and sum(hist.values()) == 2
    rec = msgspec.json.decode(line, type=RequestRecord)
    assert (rec.count, rec.failed, sum(rec.hist.values())) == (2, 1, 2)


def test_timeline_events_from_records() -> None:
    ev = TimelineEvent.from_dict({"t": 30, "ts": 1764139230.0, "kind": "fault_end",
                                  "fault": "redis-outage", "planned_t": 30.0,
                                  "interrupted": True, "other": "ignored"})
    assert (ev.kind, ev.t, ev.fault, ev.interrupted, ev.error) == (
        "fault_end", 30.0, "redis-outage", True, None)


def test_the_recorder_streams_are_the_documented_files() -> None:
    assert [files.stream_file(s) for s in STREAMS] == [
        files.REQUESTS, files.COUNTERS, files.VIOLATIONS, files.WRITES]
