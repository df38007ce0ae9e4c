"""RunResult: a results folder read back once into compact arrays, then asked questions by window.

The invariants and the report read only this class, never Locust, Redis or the target,
so a stored run can be judged again (say with new bounds) without running anything.
The folder format is docs/results-format.md.

Time: request buckets are whole seconds (bucket `s` holds requests that ended in
[s, s+1)); a bucket belongs to a window [a, b) when its midpoint s + 0.5 lies in it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from harness import histogram
from harness.results import jsonl
from harness.results.faults import FaultWindow, fault_windows
from harness.results.records import RequestRecord, failure_count

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
_EXPLICIT = re.compile(r"^\s*([\d.]+\s*(?:ms|s|m|h)?)\s*-\s*([\d.]+\s*(?:ms|s|m|h)?)\s*$")
_KEY = re.compile(r"^([^{]+)(?:\{(.*)\})?$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')

WINDOW_SYNTAX = (
    "steady | all | during:<fault> | after:<fault> | after:<fault>:<duration> | <from>-<to> "
    "(e.g. 10s-40s)"
)


def parse_duration(value: Any) -> float:
    """Seconds from 30, 30s, 500ms, 2m or 1h (the experiment file's duration syntax)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like 30s, 2m or 500ms, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"expected a duration like 30s, 2m or 500ms, got {value!r}")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def split_key(key: str) -> tuple[str, dict[str, str]]:
    """`name{a="1",b="2"}` -> ("name", {"a": "1", "b": "2"})."""
    match = _KEY.match(key)
    if not match:
        return key, {}
    return match.group(1), dict(_LABEL.findall(match.group(2) or ""))


def check_window_syntax(spec: str) -> None:
    """Raise ValueError unless `spec` is a window this module can resolve (faults aside)."""
    spec = str(spec)
    if spec in ("steady", "all") or _EXPLICIT.match(spec):
        return
    kind, _, rest = spec.partition(":")
    if kind == "during" and rest:
        return
    if kind == "after" and rest:
        name, _, length = rest.partition(":")
        if name and (not length or _DURATION.match(length)):
            return
    raise ValueError(f"window {spec!r} is not valid; use {WINDOW_SYNTAX}")


@dataclass(frozen=True)
class Window:
    """A judged stretch of the run, in run seconds [start, end)."""

    name: str
    start: float
    end: float

    def label(self) -> str:
        return f"{self.name} ({self.start:.1f}s-{self.end:.1f}s)"

    def contains(self, t: float) -> bool:
        return self.start <= t < self.end


@dataclass
class MetricSource:
    """All scrapes of one source: times, and per scrape its samples (None for a gap)."""

    t: np.ndarray
    samples: list[dict[str, float] | None]
    keys: set[str] = field(default_factory=set)


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Records of a .jsonl file (or its .gz); a torn last line (a crash mid-write) is skipped."""
    yield from jsonl.records(path)


class _Counter(msgspec.Struct):
    t: float = 0.0
    name: str = ""
    key: str = ""
    count: int = 0


class _Scrape(msgspec.Struct):
    t: float = 0.0
    source: str = ""
    ok: bool = True
    samples: dict[str, float] | None = None


def _decode_lines(path: Path, kind: type[msgspec.Struct]) -> list[Any]:
    """Typed records of a large .jsonl file at C speed (msgspec): judging an hour takes < 2 s.

    The file may be plain (a run going on, or killed) or gzipped (a finished run).
    A torn line (a crash mid-write) or a malformed one is skipped, never fatal.
    """
    data = jsonl.read_bytes(path)
    if not data:
        return []
    decoder = msgspec.json.Decoder(kind)
    try:
        return decoder.decode_lines(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        out = []
        for line in data.splitlines():
            try:
                out.append(decoder.decode(line))
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
        return out


def _read_json(path: Path) -> Any:
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError:
        return None


class RunResult:
    """A results folder loaded once; every question takes a Window (see `window`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.experiment: dict[str, Any] = _read_json(path / "experiment.json") or {}
        self.summary: dict[str, Any] = _read_json(path / "summary.json") or {}
        self.write_check: dict[str, Any] | None = _read_json(path / "write_check.json")
        self.timeline: list[dict[str, Any]] = list(_read_jsonl(path / "timeline.jsonl"))
        self.violations: list[dict[str, Any]] = list(_read_jsonl(path / "violations.jsonl"))
        self.writes: list[dict[str, Any]] = list(_read_jsonl(path / "writes.jsonl"))
        target = self.experiment.get("target") or {}
        self.metric_names: dict[str, str] = dict(target.get("metric_names") or {})
        self._load_requests(path / "requests.jsonl")
        self._load_counters(path / "counters.jsonl")
        self._load_metrics(path / "metrics.jsonl")
        self.faults = fault_windows(self.experiment.get("faults") or [], self.timeline)
        self._hist_cache: dict[str | None, np.ndarray] = {}

    @classmethod
    def load(cls, path: str | Path) -> RunResult:
        path = Path(path)
        if not path.is_dir():
            raise FileNotFoundError(f"{path}: no such results folder")
        if not (path / "experiment.json").exists() and not jsonl.exists(path / "requests.jsonl"):
            raise FileNotFoundError(
                f"{path}: not a results folder (no experiment.json or requests.jsonl); "
                "give the folder `stampede run` printed as 'results: ...'"
            )
        return cls(path)

    # -- judging (for experiments written as Python tests) -----------------------------

    def check(self, name: str, **params: Any):
        """Judge one invariant on this run -> harness.invariants.Verdict."""
        from harness.invariants.registry import judge

        return judge(self, {"name": name, **params})

    def expect(self, name: str, **params: Any):
        """Judge one invariant and raise AssertionError with its reason unless it passed."""
        verdict = self.check(name, **params)
        if not verdict.passed:
            raise AssertionError(f"{verdict.id}: {verdict.reason}")
        return verdict

    # -- loading ---------------------------------------------------------------------

    def _load_requests(self, path: Path) -> None:
        recs: list[RequestRecord] = _decode_lines(path, RequestRecord)
        endpoints: dict[str, int] = {}
        ep_of = [endpoints.setdefault(r.endpoint, len(endpoints)) for r in recs]
        self.endpoints: list[str] = list(endpoints)
        n = len(recs)
        self._rec_t = np.fromiter((r.t for r in recs), dtype=np.float64, count=n).astype(np.int64)
        self._rec_ep = np.asarray(ep_of, dtype=np.int32)
        self._rec_count = np.fromiter((r.count for r in recs), dtype=np.int64, count=n)
        # exact status codes ("503") repeat their class ("5xx"): count classes only
        self._rec_fail = np.fromiter(
            (failure_count(r.failures) if r.failures else 0 for r in recs), dtype=np.int64,
            count=n)
        lengths = np.fromiter((len(r.hist) for r in recs), dtype=np.int64, count=n)
        total = int(lengths.sum())
        h_rec = np.repeat(np.arange(n), lengths)
        self._h_t = self._rec_t[h_rec]
        self._h_ep = self._rec_ep[h_rec]
        self._h_bucket = np.fromiter(chain.from_iterable(r.hist for r in recs), dtype=np.int64,
                                     count=total)
        self._h_count = np.fromiter(chain.from_iterable(r.hist.values() for r in recs),
                                    dtype=np.int64, count=total)
        self.n_seconds = int(self._rec_t.max()) + 1 if n else 0
        self.n_buckets = int(self._h_bucket.max()) + 1 if total else 1

    def _load_counters(self, path: Path) -> None:
        self._counters: dict[str, list[tuple[int, str, int]]] = {}
        for rec in _decode_lines(path, _Counter):
            self._counters.setdefault(rec.name, []).append((int(rec.t), rec.key, rec.count))

    def _load_metrics(self, path: Path) -> None:
        raw: dict[str, tuple[list[float], list[dict[str, float] | None]]] = {}
        for rec in _decode_lines(path, _Scrape):
            times, samples = raw.setdefault(rec.source, ([], []))
            times.append(rec.t)
            samples.append(rec.samples if rec.ok else None)
        self.metrics: dict[str, MetricSource] = {}
        for source, (times, samples) in raw.items():
            keys: set[str] = set()
            for s in samples:
                if s:
                    keys.update(s)
            order = np.argsort(np.asarray(times), kind="stable")
            self.metrics[source] = MetricSource(
                t=np.asarray(times)[order], samples=[samples[i] for i in order], keys=keys
            )

    # -- time and windows ------------------------------------------------------------

    @property
    def duration(self) -> float:
        """Run end in run seconds: the run_end event, else summary, else the experiment."""
        for ev in reversed(self.timeline):
            if ev.get("kind") == "run_end":
                return float(ev["t"])
        for value in (self.summary.get("duration"), self.experiment.get("duration")):
            if value:
                return float(value)
        return float(self.n_seconds)

    @property
    def status(self) -> str:
        return str(self.summary.get("status") or "unknown")

    @property
    def started_at(self) -> float | None:
        """Unix time of run second 0, if the folder says."""
        for ev in self.timeline:
            if ev.get("kind") == "run_start" and "ts" in ev:
                return float(ev["ts"]) - float(ev.get("t", 0.0))
        value = self.summary.get("started_at")
        return float(value) if value else None

    def fault(self, name: str) -> FaultWindow:
        for f in self.faults:
            if f.name == name:
                return f
        names = ", ".join(f.name for f in self.faults) or "none"
        raise ValueError(f"no fault named {name!r} in this run (faults: {names})")

    def window(self, spec: str | Window, margin: float | str = 0.0) -> Window:
        """Resolve a window spec (see WINDOW_SYNTAX); `margin` trims both edges."""
        w = spec if isinstance(spec, Window) else self._resolve(str(spec))
        trim = parse_duration(margin)
        if trim:
            w = Window(w.name, w.start + trim, max(w.start + trim, w.end - trim))
        return w

    def _resolve(self, spec: str) -> Window:
        check_window_syntax(spec)
        end = self.duration
        if spec == "all":
            return Window(spec, 0.0, end)
        if spec == "steady":
            steady = self.experiment.get("steady_state")
            if not steady:
                raise ValueError("the experiment has no steady_state; give an explicit window")
            return Window(spec, float(steady["start"]), float(steady["end"]))
        match = _EXPLICIT.match(spec)
        if match:
            return Window(spec, parse_duration(match.group(1)), parse_duration(match.group(2)))
        kind, _, rest = spec.partition(":")
        if kind == "during":
            f = self.fault(rest)
            return Window(spec, f.onset, max(f.heal, f.onset))
        name, _, length = rest.partition(":")
        f = self.fault(name)
        return Window(spec, f.heal, f.heal + parse_duration(length) if length else end)

    def _second_mask(self, times: np.ndarray, window: Window | None) -> np.ndarray:
        if window is None:
            return np.ones(len(times), dtype=bool)
        mid = times + 0.5
        return (mid >= window.start) & (mid < window.end)

    def _ep_index(self, endpoint: str | None) -> int | None:
        if endpoint is None:
            return None
        try:
            return self.endpoints.index(endpoint)
        except ValueError:
            return -1

    # -- requests --------------------------------------------------------------------

    def _rec_mask(self, window: Window | None, endpoint: str | None) -> np.ndarray:
        mask = self._second_mask(self._rec_t, window)
        ep = self._ep_index(endpoint)
        if ep is not None:
            mask &= self._rec_ep == ep
        return mask

    def requests(self, window: Window | None = None, endpoint: str | None = None) -> int:
        return int(self._rec_count[self._rec_mask(window, endpoint)].sum())

    def failures(self, window: Window | None = None, endpoint: str | None = None) -> int:
        return int(self._rec_fail[self._rec_mask(window, endpoint)].sum())

    def error_rate(self, window: Window | None = None, endpoint: str | None = None) -> float | None:
        n = self.requests(window, endpoint)
        return None if n == 0 else self.failures(window, endpoint) / n

    def request_rate(self, window: Window, endpoint: str | None = None) -> float:
        span = window.end - window.start
        return self.requests(window, endpoint) / span if span > 0 else 0.0

    def histogram(self, window: Window | None = None, endpoint: str | None = None) -> np.ndarray:
        """Latency bucket counts (index = harness.histogram bucket) over a window."""
        mask = self._second_mask(self._h_t, window)
        ep = self._ep_index(endpoint)
        if ep is not None:
            mask &= self._h_ep == ep
        return np.bincount(self._h_bucket[mask], weights=self._h_count[mask],
                           minlength=self.n_buckets)

    def percentile(self, q: float, window: Window | None = None,
                   endpoint: str | None = None) -> float | None:
        """Latency in ms at quantile q (0..1); None when the window holds no request."""
        return _quantiles(self.histogram(window, endpoint)[None, :], q)[0]

    def per_second(self, endpoint: str | None = None) -> dict[str, np.ndarray]:
        """Per-second series from 0 to the last second: t, count, failures."""
        n = max(self.n_seconds, int(math.ceil(self.duration)))
        mask = self._rec_mask(None, endpoint)
        return {
            "t": np.arange(n, dtype=float),
            "count": np.bincount(self._rec_t[mask], weights=self._rec_count[mask], minlength=n),
            "failures": np.bincount(self._rec_t[mask], weights=self._rec_fail[mask], minlength=n),
        }

    def second_histograms(self, endpoint: str | None = None) -> np.ndarray:
        """Matrix seconds x latency buckets (cached): the base of rolling percentiles."""
        if endpoint not in self._hist_cache:
            n = max(self.n_seconds, int(math.ceil(self.duration)))
            mask = np.ones(len(self._h_t), dtype=bool)
            ep = self._ep_index(endpoint)
            if ep is not None:
                mask &= self._h_ep == ep
            flat = self._h_t[mask] * self.n_buckets + self._h_bucket[mask]
            counts = np.bincount(flat, weights=self._h_count[mask], minlength=n * self.n_buckets)
            self._hist_cache[endpoint] = counts[: n * self.n_buckets].reshape(n, self.n_buckets)
        return self._hist_cache[endpoint]

    def latency_series(self, q: float, endpoint: str | None = None,
                       rolling: int = 1) -> np.ndarray:
        """Quantile q per second (ms), over the `rolling` seconds ending at each; NaN if empty."""
        hists = self.second_histograms(endpoint)
        if rolling > 1:
            cum = np.cumsum(hists, axis=0)
            shifted = np.vstack([np.zeros((rolling, hists.shape[1])), cum[:-rolling]])
            hists = cum - shifted
        return np.array([np.nan if v is None else v for v in _quantiles(hists, q)])

    # -- counters and events ---------------------------------------------------------

    def counter_names(self) -> list[str]:
        return sorted(self._counters)

    def counter_sum(self, name: str, window: Window | None = None, key: str | None = None) -> int:
        total = 0
        for t, k, n in self._counters.get(name, ()):
            if (key is None or k == key) and (window is None or window.contains(t + 0.5)):
                total += n
        return total

    def counter_records(self, name: str) -> list[tuple[int, str, int]]:
        """(second, key, count) records of one counter, as written."""
        return list(self._counters.get(name, ()))

    def violations_in(self, window: Window | None = None, kind: str | None = None) -> list[dict]:
        return [v for v in self.violations
                if (kind is None or v.get("kind") == kind)
                and (window is None or window.contains(float(v.get("t", 0.0))))]

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [ev for ev in self.timeline if ev.get("kind") == kind]

    # -- metrics ---------------------------------------------------------------------

    def metric_name(self, ours: str) -> str:
        """The target's name for one of our metric names (experiment target.metric_names)."""
        return self.metric_names.get(ours, ours)

    def metric_keys(self, name: str, source: str = "target", **labels: str) -> list[str]:
        """Series keys of metric `name` (our name, remapped) whose labels include `labels`."""
        src = self.metrics.get(source)
        if src is None:
            return []
        wanted = self.metric_name(name) if source == "target" else name
        out = []
        for key in sorted(src.keys):
            base, have = split_key(key)
            if base == wanted and all(have.get(k) == v for k, v in labels.items()):
                out.append(key)
        return out

    def metric(self, name: str, source: str = "target",
               **labels: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(t, value) of a metric summed over its matching series; NaN at gaps; None if absent."""
        keys = self.metric_keys(name, source, **labels)
        if not keys:
            return None
        src = self.metrics[source]
        values = np.full(len(src.t), np.nan)
        for i, sample in enumerate(src.samples):
            if sample is None:
                continue
            present = [sample[k] for k in keys if k in sample]
            if present:
                values[i] = float(sum(present))
        return src.t, values

    def metric_rate(self, name: str, source: str = "target",
                    **labels: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Per-second rate of a counter between scrapes (at the later scrape); resets count from 0."""
        series = self.metric(name, source, **labels)
        if series is None:
            return None
        return counter_rate(*series)


def counter_rate(t: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rate between consecutive valid samples; a drop (process restart) counts from zero."""
    ok = ~np.isnan(v)
    t, v = t[ok], v[ok]
    if len(t) < 2:
        return t[:0], v[:0]
    dv = np.diff(v)
    dv = np.where(dv < 0, v[1:], dv)
    dt = np.diff(t)
    dt = np.where(dt <= 0, np.nan, dt)
    return t[1:], dv / dt


def _quantiles(hists: np.ndarray, q: float) -> list[float | None]:
    """Quantile q of each row of a (rows x buckets) count matrix, as harness.histogram does."""
    totals = hists.sum(axis=1)
    cum = np.cumsum(hists, axis=1)
    rank = np.maximum(1.0, np.ceil(q * totals))
    idx = np.argmax(cum >= rank[:, None], axis=1)
    return [None if total <= 0 else histogram.upper_ms(int(i)) for i, total in zip(idx, totals, strict=True)]
