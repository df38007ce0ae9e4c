"""harness.results.tail: readers of files another process is appending to."""

from __future__ import annotations

import json
from pathlib import Path

from harness.results.tail import LineCount, RequestTail, Tail, complete_lines


def test_a_line_being_written_waits_for_its_newline(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    tail = Tail(path)
    assert tail.lines() == []  # no file yet
    path.write_bytes(b'{"a":1}\n{"b":')
    assert tail.lines() == [b'{"a":1}']
    assert tail.lines() == []
    with open(path, "ab") as f:
        f.write(b'2}\n\n{"c":3}\n')
    assert tail.lines() == [b'{"b":2}', b"", b'{"c":3}']
    assert complete_lines(path) == [b'{"a":1}', b'{"b":2}', b"", b'{"c":3}']


def test_line_count_counts_only_complete_lines(tmp_path: Path) -> None:
    path = tmp_path / "violations.jsonl"
    count = LineCount(path)
    assert count.poll() == 0
    path.write_text('{"kind":"cross_user"}\n{"kind":"sess')
    assert count.poll() == 1
    with open(path, "a") as f:
        f.write('ion_granted"}\n{"kind":"cross_user"}\n')
    assert count.poll() == 3


def _bucket(t: int, endpoint: str, count: int, failures: dict[str, int],
            hist: dict[str, int]) -> str:
    return json.dumps({"t": t, "endpoint": endpoint, "count": count, "failures": failures,
                       "hist": hist}) + "\n"


def test_request_tail_adds_endpoints_and_late_records_per_second(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    path.write_text(_bucket(3, "GET /a", 10, {"5xx": 2, "503": 2}, {"100": 10})
                    + _bucket(3, "GET /b", 5, {"timeout": 1}, {"120": 5})
                    + _bucket(4, "GET /a", 7, {}, {"100": 7}))
    tail = RequestTail(path)
    tail.poll()
    with open(path, "a") as f:  # a stalled worker's buckets for second 3, written later
        f.write(_bucket(3, "GET /a", 4, {"4xx": 1, "404": 1}, {"100": 4}))
    tail.poll()
    assert tail.requests == 26 and tail.failures == 4  # statuses are not counted twice
    assert (tail.seconds[3].count, tail.seconds[3].failures) == (19, 4)
    assert tail.seconds[3].hist == {100: 14, 120: 5}
    assert tail.last_second() == (4, 7, 0)
