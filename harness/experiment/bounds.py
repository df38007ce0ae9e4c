"""Numbers an experiment may hold: finite, and within bounds no real game day goes beyond.

YAML reads `.nan` and `.inf` as floats, and nothing else stops `duration: 99999999999h`
or `users: 100000000000000000000`; past the loader such values kill a thread quietly
(a NaN `at` never comes) or end in a bare OverflowError. Each bound is far above any
real use and far below what breaks the machinery.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

from harness.experiment.addresses import host_port
from harness.experiment.model import Experiment, ExternalTarget
from harness.problems import FieldPath, Problem

DAY = 86_400.0
MAX_DURATION = 7 * DAY  # any time or duration in the schedule, in seconds
MAX_USERS = 1_000_000
MAX_SPAWN_RATE = 1_000_000.0  # users per second
MAX_WORKERS = 1_024
MAX_WEIGHT = 10_000  # a user class's weight
MIN_TIME_SCALE, MAX_TIME_SCALE = 0.001, 1_000.0
MAX_P99_MS = 3_600_000.0  # halt.above for p99_ms: one hour
MAX_VIOLATIONS = 1_000_000_000.0
MAX_ATTRIBUTE_MS = 3_600_000  # latency, jitter, delay, timeout of a toxic: one hour
MAX_ATTRIBUTE = 2**40  # other toxic numbers (bytes, KB/s, sizes): 1 TiB
MS_ATTRIBUTES = ("latency", "jitter", "delay", "timeout")
MAX_PORT = 65_535
URL_FIELDS = ("base_url", "toxiproxy_url", "metrics_url", "database_url")


def non_finite_problems(data: Any, path: FieldPath = ()) -> list[Problem]:
    """Every NaN or infinity in the file as read, wherever it is (invariants, options too)."""
    if isinstance(data, dict):
        return [p for key, value in data.items() for p in non_finite_problems(value, (*path, key))]
    if isinstance(data, list):
        return [p for i, value in enumerate(data) for p in non_finite_problems(value, (*path, i))]
    if isinstance(data, float) and not math.isfinite(data):
        return [(path, f"expected a finite number, got {data}")]
    return []


def _over(path: FieldPath, value: float | None, limit: float, what: str,
          unit: str = "") -> list[Problem]:
    if value is None or value <= limit:
        return []
    return [(path, f"expected at most {what}, got {value:g}{unit}")]


def time_scale_problem(scale: float) -> str | None:
    """The message for a --time-scale or `time_scale:` out of bounds, or None."""
    if not scale > 0:
        return f"expected a number more than 0, got {scale:g}"
    if math.isfinite(scale) and MIN_TIME_SCALE <= scale <= MAX_TIME_SCALE:
        return None
    return f"expected a number from {MIN_TIME_SCALE:g} to {MAX_TIME_SCALE:g}, got {scale:g}"


def bound_problems(exp: Experiment) -> list[Problem]:
    """Every number above its bound (the numbers as written, before time_scale)."""
    week = "7 days (604800 s)"
    load = exp.load
    problems = _over(("load", "duration"), load.duration, MAX_DURATION, week, " s")
    problems += _over(("load", "users"), load.users, MAX_USERS, f"{MAX_USERS} users")
    problems += _over(("load", "spawn_rate"), load.spawn_rate, MAX_SPAWN_RATE,
                      f"{MAX_SPAWN_RATE:g} users a second")
    problems += _over(("load", "workers"), load.workers, MAX_WORKERS, f"{MAX_WORKERS} workers")
    for i, uc in enumerate(load.user_classes):
        problems += _over(("load", "user_classes", i, "weight"), uc.weight, MAX_WEIGHT,
                          f"a weight of {MAX_WEIGHT}")
    for i, stage in enumerate(load.stages):
        here: FieldPath = ("load", "stages", i)
        problems += _over((*here, "duration"), stage.duration, MAX_DURATION, week, " s")
        problems += _over((*here, "users"), stage.users, MAX_USERS, f"{MAX_USERS} users")
        problems += _over((*here, "spawn_rate"), stage.spawn_rate, MAX_SPAWN_RATE,
                          f"{MAX_SPAWN_RATE:g} users a second")
    if exp.steady_state is not None:
        problems += _over(("steady_state", "from"), exp.steady_state.from_, MAX_DURATION, week, " s")
        problems += _over(("steady_state", "to"), exp.steady_state.to, MAX_DURATION, week, " s")
    for i, spec in enumerate(exp.faults):
        here = ("faults", i)
        problems += _over((*here, "at"), spec.at, MAX_DURATION, week, " s")
        problems += _over((*here, "for"), spec.for_, MAX_DURATION, week, " s")
        problems += _over((*here, "until"), spec.until, MAX_DURATION, week, " s")
        for key, value in spec.attributes.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue  # not a number: the fault checks say what it should be
            limit = MAX_ATTRIBUTE_MS if key in MS_ATTRIBUTES else MAX_ATTRIBUTE
            what = "one hour (3600000 ms)" if key in MS_ATTRIBUTES else f"{MAX_ATTRIBUTE}"
            problems += _over((*here, "attributes", key), value, limit, what)
    for i, cond in enumerate(exp.halt):
        problems += _over(("halt", i, "for"), cond.for_, MAX_DURATION, week, " s")
        if cond.metric == "p99_ms":
            problems += _over(("halt", i, "above"), cond.above, MAX_P99_MS, "one hour (3600000 ms)")
        elif cond.metric == "violations":
            problems += _over(("halt", i, "above"), cond.above, MAX_VIOLATIONS, f"{MAX_VIOLATIONS:g}")
    problems += port_problems(exp)
    scale = time_scale_problem(exp.time_scale)
    if scale and "time_scale" in exp.model_fields_set:
        problems.append((("time_scale",), scale))
    return problems


def port_problems(exp: Experiment) -> list[Problem]:
    """Ports above 65535 in proxy addresses and URLs (a socket would raise OverflowError)."""
    problems: list[Problem] = []
    for name, spec in exp.proxies.items():
        for key in ("upstream", "listen"):
            parsed = host_port(getattr(spec, key) or "")
            if parsed and parsed[1] > MAX_PORT:
                problems.append((("proxies", name, key),
                                 f"expected a port from 0 to {MAX_PORT}, got {parsed[1]}"))
    if isinstance(exp.target, ExternalTarget):
        for key in URL_FIELDS:
            url = getattr(exp.target, key)
            netloc = urlsplit(url).netloc.rpartition("@")[2] if url else ""
            for entry in netloc.split(","):  # libpq: several host:port
                port = entry.rpartition("]")[2].rpartition(":")[2] if ":" in entry else ""
                if port.isdigit() and int(port) > MAX_PORT:
                    problems.append((("target", key),
                                     f"expected a port from 0 to {MAX_PORT}, got {port}"))
    return problems
