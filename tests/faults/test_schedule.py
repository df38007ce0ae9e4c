"""FaultSchedule and Rollback against the real fault proxy and redis-server."""

from __future__ import annotations

import textwrap
import threading
import time

import pytest
import redis

from harness.experiment import load_experiment
from harness.faults import FaultClient, FaultSchedule, Rollback, StateFile

from .conftest import clean, listen_port, ping_seconds


class Timeline:
    """Stands in for the runner's timeline writer: records events with their actual time."""

    def __init__(self, t0: float) -> None:
        self.t0 = t0
        self.events: list[dict] = []
        self.changed = threading.Condition()

    def emit(self, kind: str, **fields) -> None:
        with self.changed:
            self.events.append({"t": time.monotonic() - self.t0, "kind": kind, **fields})
            self.changed.notify_all()

    def wait_for(self, kind: str, fault: str, timeout: float = 20.0) -> dict:
        with self.changed:
            found = self.changed.wait_for(lambda: self.find(kind, fault), timeout)
        assert found, f"no {kind} for {fault} within {timeout}s: {self.events}"
        return self.find(kind, fault)

    def find(self, kind: str, fault: str) -> dict | None:
        return next((e for e in self.events if e["kind"] == kind and e["fault"] == fault), None)


def experiment(tmp_path, faults: str, duration: str = "30s"):
    path = tmp_path / "exp.yaml"
    path.write_text(f"load: {{users: 1, duration: {duration}}}\nfaults:\n"
                    + textwrap.indent(textwrap.dedent(faults), "  "))
    return load_experiment(path)


def start(schedule: FaultSchedule, timeline: Timeline) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=schedule.run, args=(timeline.t0, stop), daemon=True)
    thread.start()
    return thread, stop



def test_schedule_applies_and_heals_on_time(client, redis_server, state_dir, tmp_path):
    exp = experiment(tmp_path, """\
        - {name: slow, at: 300ms, for: 3s, proxy: redis, type: latency, attributes: {latency: 300}}
        - {name: flush, at: 1s, type: flush_cache}
        - {name: outage, at: 4s, for: 1500ms, proxy: redis, type: down}
        - {name: maxmem, at: 4500ms, type: set_maxmemory, attributes: {maxmemory: 4mb}}
        """, duration="10s")
    calls: list[tuple] = []
    actions = {"flush_cache": lambda: calls.append(("flush",)),
               "set_maxmemory": lambda size, policy: calls.append(("maxmemory", size, policy))}
    timeline = Timeline(time.monotonic())
    schedule = FaultSchedule(exp, client, Rollback(client), timeline.emit, actions)
    thread, _ = start(schedule, timeline)
    port = listen_port(client, "redis")

    timeline.wait_for("fault_start", "slow")
    assert schedule.active_faults() == ["slow"]
    assert ping_seconds(port, redis_server.password) >= 0.3  # the toxic is really there
    timeline.wait_for("fault_start", "outage")
    with pytest.raises(redis.ConnectionError):
        ping_seconds(port, redis_server.password)
    thread.join(30)
    assert not thread.is_alive()

    assert clean(client) and schedule.active_faults() == []
    assert ping_seconds(port, redis_server.password) < 10  # healed: Redis answers again
    assert calls == [("flush",), ("maxmemory", "4mb", None)]
    kinds = [(e["kind"], e["fault"]) for e in timeline.events]
    assert kinds == [("fault_start", "slow"), ("fault_start", "flush"), ("fault_end", "flush"),
                     ("fault_end", "slow"), ("fault_start", "outage"), ("fault_start", "maxmem"),
                     ("fault_end", "maxmem"), ("fault_end", "outage")]
    for event in timeline.events:
        assert "error" not in event, event
        assert event["t"] >= event["planned_t"] - 0.002  # never early
        assert event["t"] - event["planned_t"] < 2.0  # generous: a shared, noisy machine
    start_slow = timeline.find("fault_start", "slow")
    assert start_slow == {**start_slow, "planned_t": 0.3, "proxy": "redis", "type": "latency"}
    assert timeline.find("fault_end", "outage")["planned_t"] == 5.5
    assert not StateFile(state_dir).path.exists()  # nothing left to recover


def test_interrupted_schedule_heals_what_is_active(client, state_dir, tmp_path):
    exp = experiment(tmp_path, """\
        - {name: slow, at: 100ms, for: 25s, proxy: redis, type: latency, attributes: {latency: 100}}
        - {name: db-out, at: 100ms, for: 25s, proxy: db, type: down}
        - {name: later, at: 20s, for: 1s, proxy: redis, type: timeout, attributes: {timeout: 0}}
        """)
    timeline = Timeline(time.monotonic())
    rollback = Rollback(client)
    schedule = FaultSchedule(exp, client, rollback, timeline.emit)
    thread, stop = start(schedule, timeline)
    timeline.wait_for("fault_start", "db-out")
    assert not clean(client)
    assert StateFile(state_dir).runs()[rollback.run_id]["disabled"] == ["db"]
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    assert clean(client)
    ends = {e["fault"]: e for e in timeline.events if e["kind"] == "fault_end"}
    assert set(ends) == {"slow", "db-out"} and all(e["interrupted"] for e in ends.values())
    assert timeline.find("fault_start", "later") is None
    assert rollback.rollback_all().undone == []  # nothing left: idempotent


def test_rollback_undoes_exactly_what_the_run_applied(client, state_dir):
    rollback = Rollback(client)
    rollback.add_toxic("redis", "slow", "latency", attributes={"latency": 50})
    rollback.add_toxic("db", "cut", "timeout", stream="upstream", attributes={"timeout": 0})
    rollback.disable("db")
    client.add_toxic("redis", "someone-else", "bandwidth", attributes={"rate": 100})
    client.remove_toxic("db", "cut")  # already gone: rollback must not mind

    entry = StateFile(state_dir).runs()[rollback.run_id]
    assert entry["toxics"] == [["redis", "slow"], ["db", "cut"]] and entry["disabled"] == ["db"]
    report = rollback.rollback_all()
    assert report.ok and len(report.undone) == 3
    proxies = client.proxies()
    assert proxies["db"]["enabled"] and proxies["db"]["toxics"] == []
    assert [t["name"] for t in proxies["redis"]["toxics"]] == ["someone-else"]
    assert rollback.rollback_all().undone == []
    assert not StateFile(state_dir).path.exists()


def test_a_failed_apply_is_recorded_and_the_run_goes_on(client, state_dir, tmp_path):
    client.delete_proxy("db")  # as if an external stack lacked it
    exp = experiment(tmp_path, """\
        - {name: db-slow, at: 100ms, for: 300ms, proxy: db, type: latency, attributes: {latency: 5}}
        - {name: warm, at: 200ms, type: restart_redis}
        - {name: redis-slow, at: 300ms, for: 300ms, proxy: redis, type: latency, attributes: {latency: 5}}
        """)
    timeline = Timeline(time.monotonic())
    schedule = FaultSchedule(exp, client, Rollback(client), timeline.emit, actions={})
    thread, _ = start(schedule, timeline)
    thread.join(20)
    assert "proxy not found" in timeline.find("fault_start", "db-slow")["error"]
    assert timeline.find("fault_end", "db-slow")["error"].startswith("not applied:")
    assert "no action 'restart_redis'" in timeline.find("fault_start", "warm")["error"]
    assert "error" not in timeline.find("fault_start", "redis-slow")
    assert "error" not in timeline.find("fault_end", "redis-slow")
    assert clean(client)


def test_recover_stale_leaves_a_live_run_alone(client, state_dir):
    rollback = Rollback(client)
    rollback.add_toxic("redis", "mine", "latency", attributes={"latency": 1})
    assert Rollback.recover_stale().undone == []
    assert [t["name"] for t in client.toxics("redis")] == ["mine"]
    rollback.rollback_all()


def test_a_different_client_instance_is_not_needed_for_rollback(fault_proxy, client, state_dir):
    """Rollback talks to the API through the client it was given; a second client sees the result."""
    other = FaultClient(fault_proxy.api_url)
    rollback = Rollback(client)
    rollback.disable("redis")
    assert other.get_proxy("redis")["enabled"] is False
    rollback.rollback_all()
    assert other.get_proxy("redis")["enabled"] is True


def test_an_unwritable_state_dir_is_refused_before_any_fault(client, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(OSError, match="set STAMPEDE_STATE_DIR to a writable folder"):
        Rollback(client, state_dir=blocker / "state")
    assert clean(client)
