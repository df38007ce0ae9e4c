"""Hand-built results folders, written exactly as docs/results-format.md says, for unit tests.

    b = ResultsBuilder(tmp_path, duration=60, steady=(5, 20))
    b.fault("redis-outage", 30, 45)
    b.traffic(0, 60, rps=100, error_rate=0.01)
    b.metric("stampede_circuit_state{dependency=\\"redis\\"}", lambda t: 1 if 31 <= t < 46 else 0)
    path = b.write()
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import histogram

STARTED_AT = 1764139200.0


class ResultsBuilder:
    def __init__(self, root: Path, name: str = "unit", duration: float = 60.0,
                 steady: tuple[float, float] | None = (5.0, 20.0),
                 signals: dict[str, Any] | None = None, status: str = "completed") -> None:
        self.path = Path(root) / f"20261126T064000Z-{name}"
        self.name, self.duration, self.steady, self.status = name, duration, steady, status
        self.signals = signals  # series key -> expression, as experiment.json records them
        self.faults: list[dict[str, Any]] = []
        self.invariants: list[dict[str, Any]] = []
        self.timeline: list[dict[str, Any]] = []
        self.buckets: dict[tuple[int, str], dict[str, Any]] = {}
        self.counters: list[dict[str, Any]] = []
        self.violations: list[dict[str, Any]] = []
        self.writes: list[dict[str, Any]] = []
        self.scrapes: dict[tuple[str, float], dict[str, float] | None] = {}
        self.check: dict[str, Any] | None = None

    def invariant(self, name: str, **params: Any) -> ResultsBuilder:
        self.invariants.append({"name": name, **params})
        return self

    def fault(self, name: str, start: float, end: float, proxy: str | None = "redis",
              type: str = "down", lag: float = 0.004, error: str | None = None,
              applied: bool = True) -> ResultsBuilder:
        """A planned fault; the timeline gets its actual start/end `lag` seconds later."""
        self.faults.append({"name": name, "proxy": proxy, "type": type, "start": start,
                            "end": end, "stream": "downstream", "toxicity": 1.0,
                            "attributes": {}})
        if applied:
            extra = {"error": error} if error else {}
            self.event(start + lag, "fault_start", fault=name, planned_t=start, proxy=proxy,
                       type=type, **extra)
            self.event(end + lag + (0.001 if end == start else 0), "fault_end", fault=name,
                       planned_t=end)
        return self

    def event(self, t: float, kind: str, **fields: Any) -> ResultsBuilder:
        self.timeline.append({"t": t, "ts": STARTED_AT + t, "kind": kind, **fields})
        return self

    def traffic(self, start: int, end: int, rps: int, endpoint: str = "GET /products/{id}",
                error_rate: float = 0.0, latency_ms: float = 20.0, slow_ms: float | None = None,
                slow_fraction: float = 0.0, kind: str = "5xx") -> ResultsBuilder:
        """rps requests in each second [start, end); failures and a slow tail as asked."""
        for t in range(int(start), int(end)):
            failed = round(rps * error_rate)
            slow = round(rps * slow_fraction) if slow_ms else 0
            hist: dict[str, int] = {}
            for ms, n in ((latency_ms, rps - slow), (slow_ms, slow)):
                if n and ms is not None:
                    key = str(histogram.bucket_of(ms))
                    hist[key] = hist.get(key, 0) + n
            failures = {kind: failed} if failed else {}
            if failed and kind == "5xx":
                failures["503"] = failed
            self.buckets[(t, endpoint)] = {"t": t, "endpoint": endpoint, "count": rps,
                                           "failures": failures, "hist": hist}
        return self

    def metric(self, key: str, value: Callable[[float], float | None], start: int = 0,
               end: int | None = None, source: str = "target") -> ResultsBuilder:
        """One sample per second at t + 0.01 (value None leaves the key out of that scrape)."""
        for t in range(int(start), int(end if end is not None else self.duration)):
            at = round(t + 0.01, 3)
            v = value(float(t))
            samples = self.scrapes.setdefault((source, at), {})
            if samples is not None and v is not None:
                samples[key] = float(v)
        return self

    def gap(self, t: float, source: str = "target") -> ResultsBuilder:
        self.scrapes[(source, round(t + 0.01, 3))] = None
        return self

    def counter(self, t: int, name: str, count: int, key: str = "") -> ResultsBuilder:
        self.counters.append({"t": t, "name": name, "key": key, "count": count})
        return self

    def violation(self, t: float, kind: str, endpoint: str = "GET /me",
                  expected: Any = "17", received: Any = "4") -> ResultsBuilder:
        self.violations.append({"t": t, "ts": STARTED_AT + t, "kind": kind, "endpoint": endpoint,
                                "expected": expected, "received": received})
        return self

    def write_check(self, checked: int, missing: list[str] | None = None,
                    error: str | None = None) -> ResultsBuilder:
        self.check = {"checked": checked, "missing": missing or [], "source": "postgresql",
                      "error": error}
        return self

    def write(self) -> Path:
        p = self.path
        p.mkdir(parents=True, exist_ok=True)
        (p / "logs").mkdir(exist_ok=True)
        experiment = {
            "name": self.name, "duration": self.duration, "time_scale": 1.0,
            "steady_state": ({"start": self.steady[0], "end": self.steady[1]}
                             if self.steady else None),
            "faults": self.faults, "invariants": self.invariants, "halt": [],
            "target": {"kind": "embedded"}, "load": {},
        }
        if self.signals is not None:
            experiment["signals"] = {"source": "scrape", "series": self.signals}
        (p / "experiment.json").write_text(json.dumps(experiment))
        timeline = [{"t": 0.0, "ts": STARTED_AT, "kind": "run_start"}]
        if self.steady:
            timeline.append({"t": self.steady[0], "ts": STARTED_AT + self.steady[0],
                             "kind": "phase", "phase": "steady"})
        timeline += sorted(self.timeline, key=lambda e: e["t"])
        timeline.append({"t": self.duration, "ts": STARTED_AT + self.duration,
                         "kind": "run_end", "status": self.status})
        _jsonl(p / "timeline.jsonl", timeline)
        _jsonl(p / "requests.jsonl", [self.buckets[k] for k in sorted(self.buckets)])
        _jsonl(p / "counters.jsonl", sorted(self.counters, key=lambda c: c["t"]))
        _jsonl(p / "violations.jsonl", self.violations)
        _jsonl(p / "writes.jsonl", self.writes)
        scrapes = []
        for (source, t), samples in sorted(self.scrapes.items(), key=lambda kv: kv[0][1]):
            if samples is None:
                scrapes.append({"t": t, "source": source, "ok": False, "error": "connection refused"})
            else:
                scrapes.append({"t": t, "source": source, "ok": True, "samples": samples})
        _jsonl(p / "metrics.jsonl", scrapes)
        if self.check is not None:
            (p / "write_check.json").write_text(json.dumps(self.check))
        requests = sum(b["count"] for b in self.buckets.values())
        failures = sum(sum(v for k, v in b["failures"].items() if not k.isdigit())
                       for b in self.buckets.values())
        (p / "summary.json").write_text(json.dumps({
            "name": self.name, "run_id": p.name, "status": self.status,
            "started_at": STARTED_AT, "ended_at": STARTED_AT + self.duration,
            "duration": self.duration, "requests": requests, "failures": failures,
            "halt_reason": "error rate 97% > 90% for 10s" if self.status == "aborted" else None,
            "error": None}))
        return p


def _jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def breaker_key(dependency: str = "redis") -> str:
    return f'stampede_circuit_state{{dependency="{dependency}"}}'


def cache_key(result: str) -> str:
    return f'stampede_cache_requests_total{{result="{result}"}}'


def db_key(query: str = "product") -> str:
    return f'stampede_db_queries_total{{query="{query}"}}'
