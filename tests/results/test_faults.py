"""harness.results.faults: planned faults joined with the timeline, computed once for all readers."""

from __future__ import annotations

from harness.results.faults import fault_windows

PLANNED = [
    {"name": "lat", "proxy": "redis", "type": "latency", "start": 2, "end": 10.0},
    {"name": "out", "proxy": "redis", "type": "down", "start": 12.0, "end": 20.0},
    {"name": "db", "proxy": "db", "type": "down", "start": 14.0, "end": 20.0},
    {"name": "flush", "proxy": None, "type": "flush_cache", "start": 25.0, "end": 25.0},
    {"name": "gone", "proxy": "db", "type": "latency", "start": 30.0, "end": 40.0},
]
TIMELINE = [
    {"t": 0.0, "kind": "run_start"},
    {"t": 2.01, "kind": "fault_start", "fault": "lat", "planned_t": 2.0},
    {"t": 10.02, "kind": "fault_end", "fault": "lat", "planned_t": 10.0},
    {"t": 12.0, "kind": "fault_start", "fault": "out", "planned_t": 12.0},
    {"t": 14.0, "kind": "fault_start", "fault": "db", "error": "proxy db not found"},
    {"t": 16.5, "kind": "fault_end", "fault": "out", "planned_t": 20.0, "interrupted": True},
    {"t": 16.6, "kind": "fault_end", "fault": "db", "error": "not applied: proxy db not found"},
    {"t": 17.0, "kind": "fault_start", "fault": "extra", "planned_t": 16.9, "proxy": "pg",
     "type": "down"},
]


def test_each_planned_fault_gets_its_actual_times_and_state() -> None:
    w = {f.name: f for f in fault_windows(PLANNED, TIMELINE)}
    assert {n: f.state for n, f in w.items()} == {
        "lat": "done", "out": "done", "db": "failed", "flush": "planned", "gone": "planned",
        "extra": "active"}
    assert (w["lat"].start, w["lat"].end, w["lat"].planned_start) == (2.01, 10.02, 2.0)
    assert w["out"].interrupted and not w["lat"].interrupted
    assert (w["out"].onset, w["out"].heal) == (12.0, 16.5)


def test_a_failed_fault_has_no_actual_start_and_falls_back_to_the_plan() -> None:
    db = fault_windows(PLANNED, TIMELINE)[2]
    assert db.error == "proxy db not found"  # the apply's error, before the heal's
    assert db.start is None and db.end is None
    assert (db.onset, db.heal) == (14.0, 20.0)
    assert db.started is not None and db.started.t == 14.0  # the attempt is still there


def test_faults_only_the_timeline_names_come_last_unless_left_out() -> None:
    windows = fault_windows(PLANNED, TIMELINE)
    extra = windows[-1]
    assert [w.name for w in windows] == ["lat", "out", "db", "flush", "gone", "extra"]
    assert (extra.proxy, extra.type, extra.planned_start, extra.start) == ("pg", "down", 16.9, 17.0)
    assert extra.end is None and extra.heal == 16.9
    assert [w.name for w in fault_windows(PLANNED, TIMELINE, unplanned=False)][-1] == "gone"


def test_an_instant_action_ends_where_it_starts() -> None:
    flush = fault_windows(PLANNED[3:4], [])[0]
    assert (flush.planned_start, flush.planned_end, flush.proxy) == (25.0, 25.0, None)
    assert fault_windows([{"name": "x", "start": 3.0}], [])[0].planned_end == 3.0


def test_windows_compare_and_hash_like_values() -> None:
    """Frozen, as before the events were kept: usable in sets and as dict keys."""
    first, again = fault_windows(PLANNED, TIMELINE), fault_windows(PLANNED, TIMELINE)
    assert first == again and len(set(first) | set(again)) == len(PLANNED) + 1
