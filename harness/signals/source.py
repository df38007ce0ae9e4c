"""Where a run's signals come from: the service's /metrics (default) or a Prometheus server.

`prometheus_preflight` runs before anything starts: a server that does not answer, or
refuses an expression, stops the run (exit 3) naming the URL or the field.
`prometheus_collector` builds the thread that fetches the signals while the run goes on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from harness.experiment.model import Experiment, ExternalTarget
from harness.signals.model import EventBreaker
from harness.signals.prometheus import (
    PrometheusClient,
    PrometheusCollector,
    PrometheusError,
    PrometheusSignals,
    instance_of,
)

Problem = tuple[tuple[str | int, ...], str]


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
                         record: Callable[..., None],
                         stop: threading.Event) -> PrometheusCollector | None:
    """The thread fetching signals from target.prometheus_url; None on the scrape source."""
    url = prometheus_url(experiment)
    if url is None:
        return None
    signals = PrometheusSignals(PrometheusClient(url), experiment.signal_series(),
                                instance_of(metrics_url(experiment)))

    def record_at(t: float, ok: bool, samples: dict[str, float] | None,
                  error: str | None) -> None:
        record("signals", ok, samples, error=error, t=t)

    return PrometheusCollector(signals, t0, record_at, stop)
