"""The invariants an experiment may name: their parameters, defaults, and how to judge one entry.

An experiment's `invariants:` entry is `{name: ..., <param>: <value>, ...}`; unknown names or
parameters are errors listing the valid ones (the experiment loader calls validate_invariant).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from harness.durations import parse_duration
from harness.invariants import breaker, cache, correctness, traffic
from harness.invariants.verdict import Verdict, outcome
from harness.results.run_result import RunResult, check_window_syntax

REQUIRED = object()


@dataclass(frozen=True)
class Invariant:
    name: str
    judge: Callable[[RunResult, dict[str, Any]], Verdict]
    params: dict[str, Any]
    doc: str
    id_keys: tuple[str, ...] = ()


def _define(name: str, func: Callable, doc: str, id_keys: tuple[str, ...] = (),
            **params: Any) -> Invariant:
    return Invariant(name, func, params, doc, id_keys)


INVARIANTS: dict[str, Invariant] = {inv.name: inv for inv in (
    _define("bounded_error_rate", traffic.bounded_error_rate,
            "failures / requests in the window <= max", ("window", "endpoint"),
            window="all", max=0.05, endpoint=None, margin=0),
    _define("latency_bounded", traffic.latency_bounded,
            "latency at `quantile` in the window <= max_ms", ("window", "endpoint"),
            window="all", quantile=0.99, max_ms=1000, endpoint=None, margin=0),
    _define("recovery_time", traffic.recovery_time,
            "heal to error rate and p99 back at the baseline for `stable` seconds <= max",
            ("fault",), fault=None, max="30s", baseline="steady", rolling="5s", stable="10s",
            error_tolerance=0.01, p99_factor=1.5, p99_slack_ms=0, endpoint=None),
    _define("circuit_breaker_opens", breaker.circuit_breaker_opens,
            "fault onset to the breaker gauge reading open <= within", ("dependency",),
            dependency="redis", within="10s", fault=None),
    _define("circuit_breaker_closes", breaker.circuit_breaker_closes,
            "heal to the breaker gauge reading closed <= within", ("dependency",),
            dependency="redis", within="30s", fault=None),
    _define("no_cross_user_data", correctness.no_cross_user_data,
            "ownership violations = 0 with >= 1 personalised response checked", ("window",),
            window="all"),
    _define("sessions_fail_closed", correctness.sessions_fail_closed,
            "revoked sessions granted = 0 with >= 1 probe", ("window",), window="all"),
    _define("read_your_writes", correctness.read_your_writes,
            "stale reads right after an acknowledged write = 0 with >= 1 read back", ("window",),
            window="all", margin=0),
    _define("no_data_loss", correctness.no_data_loss,
            "acknowledged writes missing from the database = 0 with >= 1 checked"),
    _define("rate_limit_holds", correctness.rate_limit_holds,
            "grants per client per limiter window <= limit x slack", ("window",),
            limit=100, per="10s", slack=1.0, limiter="sliding", counter="rate_limit_granted",
            window="all"),
    _define("backend_protected", cache.backend_protected,
            "database queries/s (max or mean of scrape intervals) in the window <= max_qps",
            ("window",), window="all", max_qps=REQUIRED, query=None, stat="max", margin=0),
    _define("db_concurrency_bounded", cache.db_concurrency_bounded,
            "most concurrent database operations (stampede_db_inflight) in the window <= max",
            ("window",), window="all", max=REQUIRED, margin=0),
    _define("single_flight", cache.single_flight,
            "database fetches of the hot key within `settle` of each expiry <= max", ("fault",),
            fault=None, query="product", max=1, settle="2s"),
    _define("stale_served", cache.stale_served,
            "success rate of cached reads while the database is down >= min, stale served",
            ("window",), endpoint="GET /products/{id}", min=0.95, window=None, margin=0),
    _define("hit_rate_recovers", cache.hit_rate_recovers,
            "heal to the cache hit ratio back >= min <= within", ("fault",),
            fault=None, min=0.8, within="30s", rolling="5s", source="auto"),
)}

_DURATIONS = {"within", "settle", "rolling", "stable", "per", "margin"}
_WINDOWS = {"window", "baseline"}
_NUMBERS = {"max", "min", "max_ms", "max_qps", "quantile", "slack", "limit",
            "error_tolerance", "p99_factor", "p99_slack_ms"}
_CHOICES = {"stat": ("max", "mean"), "source": ("auto", "target", "redis"),
            "limiter": ("sliding", "fixed")}


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def validate_invariant(entry: dict[str, Any]) -> None:
    """Raise ValueError naming the bad field and listing the valid names or parameters."""
    if not isinstance(entry, dict):
        raise ValueError(f"an invariant must be a mapping with a `name`, got {entry!r}")
    name = entry.get("name")
    if name not in INVARIANTS:
        valid = sorted(INVARIANTS)
        raise ValueError(f"unknown invariant {name!r}{_suggest(str(name), valid)}; "
                         f"valid names: {', '.join(valid)}")
    inv = INVARIANTS[name]
    valid_params = sorted(inv.params)
    problems = []
    for key in entry:
        if key != "name" and key not in inv.params:
            problems.append(f"unknown parameter {key!r}{_suggest(key, valid_params)}")
    for key, default in inv.params.items():
        if default is REQUIRED and entry.get(key) is None:
            problems.append(f"missing required parameter {key!r}")
    for key, value in entry.items():
        if value is None or key == "name" or key not in inv.params:
            continue
        try:
            if key in _DURATIONS or (key == "max" and name == "recovery_time"):
                parse_duration(value)
            elif key in _WINDOWS:
                check_window_syntax(value)
            elif key in _CHOICES and value not in _CHOICES[key]:
                raise ValueError(f"expected one of {', '.join(_CHOICES[key])}, got {value!r}")
            elif key in _NUMBERS and (isinstance(value, bool)
                                      or not isinstance(value, int | float) or value < 0):
                raise ValueError(f"expected a number >= 0, got {value!r}")
        except ValueError as exc:
            problems.append(f"{key}: {exc}")
    if name in ("stale_served", "bounded_error_rate") and isinstance(entry.get("min", entry.get("max")), int | float):
        value = entry.get("min", entry.get("max"))
        if value > 1:
            problems.append(f"{'min' if 'min' in entry else 'max'}: a fraction 0..1 "
                            f"(0.05 for 5%), got {value!r}")
    if problems:
        raise ValueError(f"invariant {name}: " + "; ".join(problems)
                         + f" (valid parameters: {', '.join(valid_params) or 'none'})")


def params_of(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry's parameters with defaults filled in."""
    inv = INVARIANTS[entry["name"]]
    params = {k: (None if v is REQUIRED else v) for k, v in inv.params.items()}
    params.update({k: v for k, v in entry.items() if k != "name" and v is not None})
    return params


def verdict_id(entry: dict[str, Any]) -> str:
    """Readable id, e.g. bounded_error_rate[during:redis-outage] or circuit_breaker_opens[redis]."""
    name = entry.get("name", "?")
    if name not in INVARIANTS:
        return str(name)
    params = params_of(entry)
    parts = [str(params[k]) for k in INVARIANTS[name].id_keys if params.get(k) is not None]
    return f"{name}[{','.join(parts)}]" if parts else name


def unique_ids(entries: list[dict[str, Any]]) -> list[str]:
    """verdict_id for each entry; repeats get #2, #3 so pytest ids stay distinct."""
    seen: dict[str, int] = {}
    out = []
    for entry in entries:
        base = verdict_id(entry)
        seen[base] = seen.get(base, 0) + 1
        out.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
    return out


def judge(result: RunResult, entry: dict[str, Any], id: str | None = None) -> Verdict:
    """One entry judged on one run; bad entries and unresolvable windows fail with the reason."""
    name = str(entry.get("name", "?"))
    vid = id or verdict_id(entry)
    try:
        validate_invariant(entry)
        verdict = INVARIANTS[name].judge(result, params_of(entry))
    except ValueError as exc:
        verdict = outcome(False, None, None, "", "-", f"cannot judge: {exc}")
    except (KeyError, TypeError, IndexError) as exc:  # a malformed folder: fail this one, judge the rest
        verdict = outcome(False, None, None, "", "-",
                          f"cannot judge: malformed results ({type(exc).__name__}: {exc})")
    return replace(verdict, invariant=name, id=vid)


def check(result: RunResult, name: str, **params: Any) -> Verdict:
    """Judge one invariant from Python: check(run, "bounded_error_rate", window="steady")."""
    return judge(result, {"name": name, **params})


def expect(result: RunResult, name: str, **params: Any) -> Verdict:
    """Judge one invariant and raise AssertionError with its reason unless it passed."""
    verdict = check(result, name, **params)
    if not verdict.passed:
        raise AssertionError(f"{verdict.id}: {verdict.reason}")
    return verdict
