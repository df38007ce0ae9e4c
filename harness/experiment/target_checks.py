"""An external target's signals, write read-back and Redis, checked before anything starts.

Everything a run would find wrong only later (a selector the scrape source cannot
evaluate, an invariant about a breaker no signal reads, SQL read-back against a database
SQL cannot reach) is a (path, message) problem here, all of them at once.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from harness.experiment.model import Experiment, ExternalTarget
from harness.problems import Problem
from harness.signals.model import Signals, dependency_problems, signals_from
from harness.writes import HttpReadBack, sql_scheme_problem

REDIS_ACTIONS = ("flush_cache", "expire_key", "set_maxmemory")
BREAKER_INVARIANTS = ("circuit_breaker_opens", "circuit_breaker_closes")


def external_target_problems(exp: Experiment, target: ExternalTarget) -> list[Problem]:
    """Every problem of the target's signals, writes, prometheus_url and redis_url."""
    problems: list[Problem] = []
    signals, found = signals_from(target.signals, scrape=not target.prometheus_url)
    problems += [(("target", "signals", *path), message) for path, message in found]
    problems += [(("target", "signals", *path), message)
                 for path, message in dependency_problems(signals, exp.proxy_names())]
    problems += _invariant_needs(exp, signals)
    problems += _write_rules(target)
    for key in ("prometheus_url",):
        url = getattr(target, key)
        if url is not None and (urlsplit(url).scheme not in ("http", "https")
                                or not urlsplit(url).hostname):
            problems.append((("target", key),
                             f'expected an http:// or https:// URL with a host, got "{url}"'))
    if target.redis_url is not None and urlsplit(target.redis_url).scheme not in ("redis", "rediss"):
        problems.append((("target", "redis_url"),
                         f'expected redis://[:PASSWORD@]HOST:PORT/DB (password as ${{VAR}}), '
                         f'got "{urlsplit(target.redis_url).scheme}://..."'))
    if not target.ownership_field.strip():
        problems.append((("target", "ownership_field"),
                         "expected the JSON field personalised responses carry the owner in "
                         "(default user_id)"))
    return problems


def _invariant_needs(exp: Experiment, signals: Signals) -> list[Problem]:
    """An invariant about a breaker or a named query with no signal to read it from."""
    problems: list[Problem] = []
    for index, entry in enumerate(exp.invariants):
        if not isinstance(entry, dict):
            continue
        name = entry.get("name")
        if name in BREAKER_INVARIANTS:
            dep = str(entry.get("dependency") or "redis")
            if dep not in signals.breaker_open:
                problems.append((("invariants", index, "dependency"),
                                 f'no signal says when the {dep} breaker is open: add '
                                 f"target.signals.breaker_open.{dep} (an expression, or "
                                 "{opens: ..., leaves: ...} for event counters)"))
        query = entry.get("query") or ("product" if name == "single_flight" else None)
        if name in ("single_flight", "backend_protected") and query \
                and signals.db_query(str(query)) is None:
            problems.append((("invariants", index, "query"),
                             f'no signal counts the database query "{query}": add '
                             f"target.signals.db_queries_by_query.{query}"))
    return problems


def _write_rules(target: ExternalTarget) -> list[Problem]:
    problems: list[Problem] = []
    sql_kinds = []
    for kind, rule in target.writes.items():
        here: tuple[str | int, ...] = ("target", "writes", kind)
        given = [key for key in ("sql", "http") if getattr(rule, key) is not None]
        if len(given) != 1:
            problems.append((here, 'expected one of {sql: "SELECT ..."} or '
                                   '{http: "GET /things/{id}"}' + (", not both" if given else "")))
            continue
        if rule.http is not None:
            try:
                HttpReadBack.parse(rule.http)
            except ValueError as exc:
                problems.append(((*here, "http"), str(exc)))
        else:
            sql_kinds.append(kind)
    if sql_kinds:
        why = sql_scheme_problem(target.database_url)
        if why:
            where = "database_url" if target.database_url else f"writes.{sql_kinds[0]}.sql"
            problems.append((("target", where), why))
    return problems


def read_back_rules(target: ExternalTarget) -> dict[str, Any]:
    """Write kind -> SQL text or HttpReadBack, as harness.writes.check_writes takes them."""
    rules: dict[str, Any] = {}
    for kind, rule in target.writes.items():
        if rule.http is not None:
            rules[kind] = HttpReadBack.parse(rule.http)
        elif rule.sql is not None:
            rules[kind] = rule.sql
    return rules
