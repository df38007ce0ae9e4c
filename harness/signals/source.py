"""Where a run's signals come from: the service's /metrics (default) or a Prometheus server.

`prometheus_preflight` runs before anything starts: a server that does not answer, or
refuses an expression, stops the run (exit 3) naming the URL or the field.
`prometheus_collector` builds the thread that fetches the signals while the run goes on.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.experiment.model import Experiment, ExternalTarget
from harness.problems import Problem
from harness.signals.model import EventBreaker, Expression
from harness.signals.prometheus import (
    PrometheusClient,
    PrometheusCollector,
    PrometheusError,
    PrometheusSignals,
    instance_of,
)


def prometheus_url(experiment: Experiment) -> str | None:
    target = experiment.target
    return target.prometheus_url if isinstance(target, ExternalTarget) else None


def metrics_url(experiment: Experiment) -> str:
    target = experiment.target
    assert isinstance(target, ExternalTarget)
    return target.metrics_url or f"{target.base_url.rstrip('/')}/metrics"


def prometheus_preflight(experiment: Experiment, timeout: float = 5.0) -> list[Problem]:
    """The server answers, and evaluates every expression (its own parse errors, by field)."""
    url = prometheus_url(experiment)
    if url is None:
        return []
    client = PrometheusClient(url, timeout=timeout)
    try:
        client.probe()
    except PrometheusError as exc:
        return [(("target", "prometheus_url"), f"{exc}; is the server up and the URL right?")]
    problems: list[Problem] = []
    for key, expr in experiment.signal_series().items():
        parts = {"opens": expr.opens, "leaves": expr.leaves} if isinstance(expr, EventBreaker) \
            else {"": expr}
        for part, text in parts.items():
            error = client.expression_error(text)
            if error:
                problems.append((("target", "signals", *_path(key), *([part] if part else [])),
                                 f"Prometheus at {url} cannot evaluate {text!r}: {error}"))
    return problems


def _path(key: str) -> tuple[str, ...]:
    """`breaker_open{dependency="redis"}` -> ("breaker_open", "redis")."""
    name, _, rest = key.partition("{")
    label = rest.rstrip("}").partition("=")[2].strip('"')
    if name == "db_queries" and label:
        return ("db_queries_by_query", label)
    return (name, label) if label else (name,)


def prometheus_collector(experiment: Experiment, t0: float,
                         record: Callable[..., None], stop: threading.Event,
                         note: Callable[..., None] | None = None) -> PrometheusCollector | None:
    """The thread fetching signals from target.prometheus_url; None on the scrape source."""
    url = prometheus_url(experiment)
    if url is None:
        return None
    signals = PrometheusSignals(PrometheusClient(url), experiment.signal_series(),
                                instance_of(metrics_url(experiment)))

    def record_at(t: float, ok: bool, samples: dict[str, float] | None,
                  error: str | None) -> None:
        record("signals", ok, samples, error=error, t=t)

    return PrometheusCollector(signals, t0, record_at, stop, note=note)


def refetch_signals(results_dir: Path, prometheus: str, instance: str) -> int:
    """Judge a finished run again from a Prometheus server that scraped the same service:
    its `signals` records are replaced by that server's, step by step over the run's window.
    Returns how many steps were written. (The run's own source stays in experiment.json.)"""
    from harness.results import files, jsonl
    from harness.results.run_result import RunResult

    run = RunResult.load(results_dir)
    start = run.started_at
    if start is None:
        raise ValueError(f"{results_dir}: no start time in the timeline or summary")
    series = (run.experiment.get("signals") or {}).get("series") or {}
    exprs: dict[str, Expression] = {
        key: EventBreaker(v["opens"], v["leaves"]) if isinstance(v, dict) else str(v)
        for key, v in series.items()}
    steps = PrometheusSignals(PrometheusClient(prometheus), exprs, instance).fetch(
        start, start + run.duration)
    path = results_dir / files.METRICS
    kept = [r for r in jsonl.records(path) if r.get("source") != "signals"]
    for step in steps:
        record: dict[str, Any] = {"t": round(step.ts - start, 3), "source": "signals",
                                  "ok": step.samples is not None}
        if step.samples is not None:
            record["samples"] = step.samples
        else:
            record["error"] = step.error
        kept.append(record)
    with open(path, "w") as out:
        out.writelines(json.dumps(r) + "\n" for r in kept)
    jsonl.gz_path(path).unlink(missing_ok=True)
    return len(steps)
