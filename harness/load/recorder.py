"""The per-request recorder installed in every Locust process of a run.

Workers add each request to a per-second bucket (count, failures by kind, latency
histogram) and send their buckets to the master once a second, never one message per
request. The master adds the workers' buckets up (exactly: plain integer sums) and
appends them to the results folder. A local (single-process) runner does both.

Run time 0 is fixed by the master when the load starts (`test_start`) and sent to the
workers before their first spawn message, so every process buckets on the same clock.
Configuration comes from environment variables set by the orchestrator:

- `STAMPEDE_RESULTS_DIR`: where the master writes requests/counters/violations/writes
- `STAMPEDE_WORKER_TOTALS_DIR`: where a worker writes what it sent, at exit (for checks)
- `STAMPEDE_FLUSH_LAG`: seconds the master waits before writing a second (default 2)
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
from functools import partial
from pathlib import Path
from typing import Any

from harness.histogram import bucket_of
from harness.results import files
from harness.results.atomic import write_atomic
from harness.results.records import RequestBucket

MSG_BUCKETS = "stampede_buckets"
MSG_T0 = "stampede_t0"
LOAD_START_FILE = files.LOAD_START
STREAMS = ("requests", "counters", "violations", "writes")  # each to files.stream_file(name)

# Exceptions whose class name says "timeout" or "connection" trump the message text.
_TIMEOUT_WORDS = ("timeout", "timed out")
_CONNECTION_WORDS = ("connection", "refused", "reset", "broken pipe", "remotedisconnected",
                     "eof", "unreachable")


def failure_kinds(exception: BaseException, response: Any) -> tuple[str, ...]:
    """`("5xx", "503")`, `("4xx", "404")`, `("timeout",)`, `("connection",)` or `("other",)`."""
    status = getattr(response, "status_code", 0) or 0
    if 400 <= status < 500:
        return ("4xx", str(status))
    if 500 <= status < 600:
        return ("5xx", str(status))
    if status and 200 <= status < 400:
        return ("other",)  # the user marked a good status as failed (wrong owner, bad body)
    text = f"{type(exception).__name__} {exception}".lower()
    if isinstance(exception, TimeoutError) or any(w in text for w in _TIMEOUT_WORDS):
        return ("timeout",)
    if isinstance(exception, ConnectionError) or any(w in text for w in _CONNECTION_WORDS):
        return ("connection",)
    return ("other",)


class Buckets:
    """Per-second buckets of requests, counters and events: the unit workers send."""

    def __init__(self) -> None:
        self.requests: dict[tuple[int, str], RequestBucket] = {}  # (t, endpoint) -> bucket
        self.counters: dict[tuple[int, str, str], int] = {}
        self.events: list[list[Any]] = []  # [stream, record]

    def add_request(self, t: int, endpoint: str, latency_ms: float,
                    kinds: tuple[str, ...] | None) -> None:
        bucket = self.requests.get((t, endpoint))
        if bucket is None:
            bucket = self.requests[(t, endpoint)] = RequestBucket()
        bucket.count += 1
        hist = bucket.hist
        b = bucket_of(latency_ms)
        hist[b] = hist.get(b, 0) + 1
        if kinds:
            failures = bucket.failures
            for kind in kinds:
                failures[kind] = failures.get(kind, 0) + 1

    def to_message(self) -> dict[str, Any]:
        """msgpack-friendly (no tuple keys, no structs): `[t, endpoint, count, failures, hist]`."""
        return {
            "requests": [[t, e, b.count, b.failures, b.hist]
                         for (t, e), b in self.requests.items()],
            "counters": [[t, n, k, c] for (t, n, k), c in self.counters.items()],
            "events": self.events,
        }

    def merge_message(self, data: dict[str, Any]) -> None:
        for t, endpoint, count, failures, hist in data.get("requests", ()):
            bucket = self.requests.get((t, endpoint))
            if bucket is None:
                bucket = self.requests[(t, endpoint)] = RequestBucket()
            bucket.count += count
            for kind, n in failures.items():
                bucket.failures[kind] = bucket.failures.get(kind, 0) + n
            for b, n in hist.items():
                b = int(b)
                bucket.hist[b] = bucket.hist.get(b, 0) + n
        for t, name, key, c in data.get("counters", ()):
            self.counters[(t, name, key)] = self.counters.get((t, name, key), 0) + c
        self.events.extend(data.get("events", ()))

    def __bool__(self) -> bool:
        return bool(self.requests or self.counters or self.events)


class Recorder:
    """Listens to Locust's request event and to harness.load.checks; one per Locust process."""

    def __init__(self, t0: float | None = None) -> None:
        self.t0 = t0
        self.buckets = Buckets()
        self.sent: dict[str, int] = {}  # "t endpoint" -> count, what this process handed on
        self.recorded = 0
        self._endpoints: dict[tuple[str, str], str] = {}

    def _t(self, now: float) -> int:
        if self.t0 is None:  # a request before time 0 arrived: start the clock here
            self.t0 = now
        return math.floor(now - self.t0)

    def on_request(self, request_type: str, name: str, response_time: float,
                   response: Any = None, exception: BaseException | None = None,
                   **_: Any) -> None:
        self.recorded += 1
        endpoint = self._endpoints.get((request_type, name))
        if endpoint is None:  # "GET /x", whether or not the locustfile named it with the method
            endpoint = name if name.startswith(f"{request_type} ") else f"{request_type} {name}"
            self._endpoints[(request_type, name)] = endpoint
        kinds = failure_kinds(exception, response) if exception is not None else None
        self.buckets.add_request(self._t(time.time()), endpoint, response_time or 0.0, kinds)

    # the CheckSink protocol of harness.load.checks
    def count(self, name: str, key: str, n: int) -> None:
        k = (self._t(time.time()), name, key)
        self.buckets.counters[k] = self.buckets.counters.get(k, 0) + n

    def event(self, stream: str, record: dict[str, Any]) -> None:
        ts = record.get("ts") or time.time()
        if self.t0 is None:
            self.t0 = ts
        self.buckets.events.append([stream, {"t": round(ts - self.t0, 3), **record}])

    def drain(self) -> Buckets:
        """Hand over everything recorded so far and start afresh."""
        out, self.buckets = self.buckets, Buckets()
        for (t, endpoint), bucket in out.requests.items():
            key = f"{t} {endpoint}"
            self.sent[key] = self.sent.get(key, 0) + bucket.count
        return out


class ResultsAppender:
    """The master's side: adds buckets up and appends whole seconds to the results folder.

    A second is written once it is `lag` seconds old, so the workers' messages for it
    have arrived; anything arriving later for a written second is appended as another
    record with the same `t` and endpoint (readers add records up).
    """

    def __init__(self, results_dir: Path, lag: float = 2.0) -> None:
        self.dir = results_dir
        self.lag = lag
        self.pending = Buckets()
        self.t0: float | None = None
        self.requests = 0
        self.failures = 0
        self._files = {
            name: open(results_dir / files.stream_file(name), "a", encoding="utf-8")  # noqa: SIM115
            for name in STREAMS
        }

    def add(self, data: dict[str, Any]) -> None:
        self.pending.merge_message(data)
        events = self.pending.events
        self.pending.events = []
        self._write_events(events)

    def _write_events(self, events: list[list[Any]]) -> None:
        by_stream: dict[str, list[str]] = {}
        for stream, record in events:
            by_stream.setdefault(stream, []).append(json.dumps(record, separators=(",", ":")))
        for stream, lines in by_stream.items():
            f = self._files.get(stream)
            if f is None:
                f = self._files[stream] = open(self.dir / files.stream_file(stream), "a", encoding="utf-8")  # noqa: SIM115
            f.write("\n".join(lines) + "\n")
            f.flush()

    def flush(self, final: bool = False) -> None:
        """Write every second old enough (every second at all, when final)."""
        horizon = math.inf if final or self.t0 is None else time.time() - self.t0 - self.lag
        req_lines, ctr_lines = [], []
        for key in sorted(k for k in self.pending.requests if k[0] + 1 <= horizon):
            bucket = self.pending.requests.pop(key)
            self.requests += bucket.count
            self.failures += bucket.failed
            req_lines.append(json.dumps(
                {"t": key[0], "endpoint": key[1], "count": bucket.count,
                 "failures": bucket.failures,
                 "hist": {str(b): n for b, n in sorted(bucket.hist.items())}},
                separators=(",", ":")))
        for ckey in sorted(k for k in self.pending.counters if k[0] + 1 <= horizon):
            ctr_lines.append(json.dumps(
                {"t": ckey[0], "name": ckey[1], "key": ckey[2],
                 "count": self.pending.counters.pop(ckey)}, separators=(",", ":")))
        for name, lines in (("requests", req_lines), ("counters", ctr_lines)):
            if lines:
                self._files[name].write("\n".join(lines) + "\n")
                self._files[name].flush()

    def close(self) -> None:
        self.flush(final=True)
        for f in self._files.values():
            f.close()


def watch_workers(runner: Any, results_dir: Path) -> None:
    """Master: a worker that goes missing (no heartbeat) or quits while the load runs is lost."""
    import gevent
    from locust.runners import STATE_MISSING, STATE_RUNNING, STATE_SPAWNING

    from harness.live.control import record_worker_lost

    known: set[str] = set()
    while True:
        gevent.sleep(0.5)
        if runner.state not in (STATE_SPAWNING, STATE_RUNNING):
            known.clear()
            continue
        for worker_id in list(known):
            node = runner.clients.get(worker_id)
            if node is None or node.state == STATE_MISSING:
                known.discard(worker_id)
                record_worker_lost(results_dir, worker_id, "quit" if node is None else "missing")
        known.update(w for w, node in runner.clients.items() if node.state != STATE_MISSING)


def install(environment: Any) -> None:
    """Wire the recorder into a Locust environment (called from the plugin's init listener):
    the processes that send requests record them; a worker sends its buckets to the master;
    the master, or a run without workers, writes them to the results folder."""
    from locust import events
    from locust.runners import MasterRunner, WorkerRunner

    from harness.load import checks

    runner = environment.runner
    recorder = Recorder()
    if not isinstance(runner, MasterRunner):
        events.request.add_listener(recorder.on_request)
        checks.install_sink(recorder)
    if isinstance(runner, WorkerRunner):
        _wire_worker(runner, recorder)
        return
    results_dir = os.environ.get("STAMPEDE_RESULTS_DIR")
    lag = float(os.environ.get("STAMPEDE_FLUSH_LAG", "2"))
    appender = ResultsAppender(Path(results_dir), lag) if results_dir else None
    events.test_start.add_listener(partial(_start_clock, runner, recorder, appender))
    if isinstance(runner, MasterRunner):
        _wire_master(runner, recorder, appender)
    if appender is not None:
        _wire_writer(runner, recorder, appender)


def _start_clock(runner: Any, recorder: Recorder, appender: ResultsAppender | None,
                 **_: Any) -> None:
    """Time 0 of the run: the load starts now (load_start.json), and workers are told."""
    from locust.runners import MasterRunner

    t0 = time.time()
    recorder.t0 = t0
    if appender is not None:
        appender.t0 = t0
        write_atomic(appender.dir / LOAD_START_FILE, json.dumps({"ts": t0}))
    if isinstance(runner, MasterRunner):
        runner.send_message(MSG_T0, {"t0": t0})


def _wire_worker(runner: Any, recorder: Recorder) -> None:
    """A worker takes time 0 from the master and sends it its buckets every second."""
    import gevent
    from locust import events

    def on_t0(msg: Any, **_: Any) -> None:
        recorder.t0 = float(msg.data["t0"])

    def send(final: bool = False) -> None:
        out = recorder.drain()
        if out or final:
            runner.send_message(MSG_BUCKETS, out.to_message())

    def sender() -> None:
        while True:
            gevent.sleep(1.0)
            send()

    runner.register_message(MSG_T0, on_t0)
    gevent.spawn(sender)
    # a worker's stop fires test_stop before it reports client_stopped: the last
    # buckets reach the master ahead of that report, so nothing is lost
    events.test_stop.add_listener(lambda **_: send(final=True))

    totals_dir = os.environ.get("STAMPEDE_WORKER_TOTALS_DIR")
    if totals_dir:
        def write_totals(**_: Any) -> None:
            send()
            name = f"{socket.gethostname()}_{os.getpid()}.json"
            Path(totals_dir).mkdir(parents=True, exist_ok=True)
            (Path(totals_dir) / name).write_text(json.dumps(
                {"recorded": recorder.recorded, "sent": recorder.sent}))
        events.quitting.add_listener(write_totals)


def _wire_master(runner: Any, recorder: Recorder, appender: ResultsAppender | None) -> None:
    """The master gives late workers the clock, watches for lost ones, takes their buckets."""
    import gevent
    from locust import events

    def late_worker(client_id: str, **_: Any) -> None:
        if recorder.t0 is not None:  # joined mid-run: give it the clock before its users
            runner.send_message(MSG_T0, {"t0": recorder.t0}, client_id=client_id)

    events.worker_connect.add_listener(late_worker)
    if appender is not None:
        gevent.spawn(watch_workers, runner, appender.dir)
        runner.register_message(MSG_BUCKETS, lambda msg, **_: appender.add(msg.data))


def _wire_writer(runner: Any, recorder: Recorder, appender: ResultsAppender) -> None:
    """Write to the results folder every second and once more at exit; without workers,
    this process's own buckets go in first."""
    import gevent
    from locust import events
    from locust.runners import MasterRunner

    local = not isinstance(runner, MasterRunner)

    def pump() -> None:
        if local:
            appender.add(recorder.drain().to_message())

    def writer() -> None:
        while True:
            gevent.sleep(1.0)
            pump()
            appender.flush()

    def close(**_: Any) -> None:
        pump()
        appender.close()

    gevent.spawn(writer)
    events.quitting.add_listener(close)
