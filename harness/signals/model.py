"""Signals: what the invariants read, each a PromQL expression over the service's own metrics.

A service keeps its metric names, labels and breaker style; the target file says how to
read each signal from them (`target.signals`). Left out, a signal reads stampede's own
contract (the reference shop's `stampede_*` metrics), so existing experiments run unchanged.

Each signal is recorded under a fixed series key (`breaker_open{dependency="redis"}`,
`cache_requests{result="hit"}`, `db_queries`, ...) whatever the source, so the invariants
never see a metric name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.problems import Problem
from harness.signals.promql import SignalSyntaxError, parse_selector

CACHE_OUTCOMES = ("hit", "miss", "error", "stale", "bypass")
SCALARS = ("db_queries", "db_inflight", "shed_requests")
FIELDS = ("breaker_open", "breaker_half_open", "cache_requests", "db_queries",
          "db_queries_by_query", "db_inflight", "shed_requests")
DEFAULT_DEPENDENCIES = ("redis", "db")
QUERY_TEMPLATE = 'stampede_db_queries_total{query="%s"}'



@dataclass(frozen=True)
class EventBreaker:
    """A breaker exported only as event counters: open while `opens` has risen more than
    `leaves` (half-open or close transitions) since the run began."""

    opens: str
    leaves: str


Expression = str | EventBreaker


def series_key(signal: str, **labels: str) -> str:
    """`breaker_open{dependency="redis"}`: how a signal's values are recorded."""
    if not labels:
        return signal
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{signal}{{{inner}}}"


@dataclass(frozen=True)
class Signals:
    """Every signal a run can record, as expressions; `defaulted` names those left out."""

    breaker_open: Mapping[str, Expression] = field(default_factory=dict)
    breaker_half_open: Mapping[str, str] = field(default_factory=dict)
    cache_requests: Mapping[str, str] = field(default_factory=dict)
    db_queries: str | None = None
    db_queries_by_query: Mapping[str, str] = field(default_factory=dict)
    db_inflight: str | None = None
    shed_requests: str | None = None
    defaulted: frozenset[str] = frozenset()

    def db_query(self, query: str) -> str | None:
        """The expression counting one named query: given, or stampede's label by default."""
        if query in self.db_queries_by_query:
            return self.db_queries_by_query[query]
        if "db_queries_by_query" in self.defaulted and "db_queries" in self.defaulted:
            return QUERY_TEMPLATE % query
        return None

    def series(self, queries: Iterable[str] = ()) -> dict[str, Expression]:
        """Series key -> expression, for everything a run records (`queries`: named queries
        the experiment's invariants ask about)."""
        out: dict[str, Expression] = {}
        for dep, expr in self.breaker_open.items():
            out[series_key("breaker_open", dependency=dep)] = expr
        for dep, text in self.breaker_half_open.items():
            out[series_key("breaker_half_open", dependency=dep)] = text
        for outcome, text in self.cache_requests.items():
            out[series_key("cache_requests", result=outcome)] = text
        for name in SCALARS:
            text = getattr(self, name)
            if text:
                out[name] = text
        for query in sorted(set(queries) | set(self.db_queries_by_query)):
            per_query = self.db_query(query)
            if per_query:
                out[series_key("db_queries", query=query)] = per_query
        return out

    def expressions(self, queries: Iterable[str] = ()) -> list[str]:
        """Every PromQL expression, event-counter pairs unpacked."""
        texts: list[str] = []
        for expr in self.series(queries).values():
            texts += [expr.opens, expr.leaves] if isinstance(expr, EventBreaker) else [expr]
        return texts

    def describe(self, queries: Iterable[str] = ()) -> dict[str, Any]:
        """JSON-able form for experiment.json."""
        return {key: ({"opens": e.opens, "leaves": e.leaves} if isinstance(e, EventBreaker)
                      else e) for key, e in self.series(queries).items()}


def default_signals() -> Signals:
    """stampede's own contract: the shop's `stampede_*` metrics, exactly as the invariants read
    them before signals existed (gauge 0 closed, 1 open, 2 half-open)."""
    state = 'stampede_circuit_state{dependency="%s"}'
    return Signals(
        breaker_open={dep: f"{state % dep} == 1" for dep in DEFAULT_DEPENDENCIES},
        breaker_half_open={dep: f"{state % dep} == 2" for dep in DEFAULT_DEPENDENCIES},
        cache_requests={o: f'stampede_cache_requests_total{{result="{o}"}}'
                        for o in CACHE_OUTCOMES},
        db_queries="stampede_db_queries_total",
        db_inflight="stampede_db_inflight",
        shed_requests="stampede_shed_requests_total",
        defaulted=frozenset(FIELDS),
    )


def signals_from(data: Mapping[str, Any] | None, *,
                 scrape: bool = True) -> tuple[Signals, list[Problem]]:
    """The target file's `signals:` over the defaults, and every problem in it at once.

    `scrape`: the run evaluates expressions itself (no prometheus_url), so each must be in
    the subset harness.signals.promql evaluates.
    """
    base = default_signals()
    if data is None:
        return base, []
    problems: list[Problem] = []
    if not isinstance(data, Mapping):
        return base, [((), "expected a mapping of signals (breaker_open, cache_requests, ...)")]
    values: dict[str, Any] = {}
    for key, raw in data.items():
        if key not in FIELDS:
            problems.append(((str(key),), f'unknown signal "{key}"; valid signals: '
                                          f'{", ".join(FIELDS)}'))
            continue
        if key in SCALARS:
            values[key] = _expression((key,), raw, scrape, problems)
        elif key == "breaker_open":
            values[key] = _per_name((key,), raw, scrape, problems, events=True)
        else:
            allowed = CACHE_OUTCOMES if key == "cache_requests" else None
            values[key] = _per_name((key,), raw, scrape, problems, allowed=allowed)
    given = set(values)
    defaulted = set(FIELDS) - given
    if "breaker_open" in given and "breaker_half_open" not in given:
        values["breaker_half_open"] = {}  # the defaults' half-open reads a gauge they lack
    merged = {name: values.get(name, getattr(base, name)) for name in FIELDS}
    return Signals(**merged, defaulted=frozenset(defaulted)), problems


def _expression(path: tuple[str | int, ...], raw: Any, scrape: bool,
                problems: list[Problem]) -> str | None:
    if not isinstance(raw, str) or not raw.strip():
        problems.append((path, f"expected a PromQL expression (a string), got {raw!r}"))
        return None
    if scrape:
        try:
            parse_selector(raw)
        except SignalSyntaxError as exc:
            problems.append((path, str(exc)))
    return raw.strip()


def _per_name(path: tuple[str | int, ...], raw: Any, scrape: bool, problems: list[Problem],
              events: bool = False, allowed: tuple[str, ...] | None = None) -> dict[str, Any]:
    what = "an outcome" if allowed else "a dependency"
    if not isinstance(raw, Mapping) or not raw:
        example = "{hit: '...', miss: '...'}" if allowed else "{redis: '...'}"
        problems.append((path, f"expected a mapping of {what} to an expression, e.g. {example}"))
        return {}
    out: dict[str, Any] = {}
    for name, value in raw.items():
        sub = (*path, str(name))
        if allowed and name not in allowed:
            problems.append((sub, f'unknown outcome "{name}"; valid outcomes: {", ".join(allowed)}'))
            continue
        if events and isinstance(value, Mapping):
            out[str(name)] = _event_breaker(sub, value, scrape, problems)
        else:
            out[str(name)] = _expression(sub, value, scrape, problems)
    return out


def _event_breaker(path: tuple[str | int, ...], raw: Mapping[str, Any], scrape: bool,
                   problems: list[Problem]) -> EventBreaker | None:
    keys = set(raw)
    if keys != {"opens", "leaves"}:
        problems.append((path, "an event-counter breaker is {opens: '<counter of openings>', "
                               "leaves: '<counter of half-opens (or closes)>'}; got "
                               f"{', '.join(map(str, sorted(keys, key=str))) or 'nothing'}"))
        return None
    opens = _expression((*path, "opens"), raw["opens"], scrape, problems)
    leaves = _expression((*path, "leaves"), raw["leaves"], scrape, problems)
    if opens is None or leaves is None:
        return None
    return EventBreaker(opens, leaves)


def dependency_problems(signals: Signals, dependencies: Iterable[str]) -> list[Problem]:
    """A breaker signal for a dependency the run cannot fault (no proxy of that name)."""
    known = set(dependencies)
    problems: list[Problem] = []
    for key in ("breaker_open", "breaker_half_open"):
        if key in signals.defaulted:
            continue
        for dep in getattr(signals, key):
            if dep not in known:
                problems.append(((key, dep), f'no proxy "{dep}" in this run, so no fault can '
                                             f'reach it; name one of {", ".join(sorted(known)) or "none"} '
                                             "(a breaker signal is keyed by the proxy it guards)"))
    return problems
