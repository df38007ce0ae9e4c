"""Acknowledged writes read back from the source of truth: the ones missing are lost.

The load records every write the target acknowledged (writes.jsonl, with a kind); the
stack says how each kind is read back (`Stack.write_rules`): SQL against the database, or
an HTTP request to the service after the faults are healed. The verdict reads
write_check.json. A kind without a rule is named, never silently skipped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from harness.results import files, jsonl
from harness.results.writer import write_json

CONNECT_TIMEOUT_S = 5
HTTP_TIMEOUT_S = 5.0
HTTP_PARALLEL = 8
SQL_SCHEMES = ("postgresql", "postgres")
HTTP_METHODS = ("GET", "HEAD")
ERRORS_SHOWN = 3


@dataclass(frozen=True)
class HttpReadBack:
    """`GET /comments/{id}` through the service: 2xx present, 404 lost, anything else an error."""

    method: str
    path: str

    @classmethod
    def parse(cls, text: str) -> HttpReadBack:
        """ValueError saying what to write unless `text` is `GET /path/{id}`."""
        method, _, path = str(text).strip().partition(" ")
        path = path.strip()
        if method.upper() not in HTTP_METHODS or not path.startswith("/") or "{id}" not in path:
            raise ValueError(f'expected "GET /path/{{id}}" (GET or HEAD, a path with {{id}} '
                             f"where the id goes), got {text!r}")
        return cls(method.upper(), path)

    def url(self, base_url: str, write_id: str) -> str:
        return base_url.rstrip("/") + self.path.replace("{id}", quote(write_id, safe=""))


ReadBack = str | HttpReadBack  # a str is SQL against database_url, with %(ids)s


def sql_scheme_problem(database_url: str | None) -> str | None:
    """Why SQL read-back cannot use `database_url` (and the fix), or None when it can."""
    if not database_url:
        return ("an SQL read-back needs target.database_url; or read the writes back "
                'through the service: writes: {KIND: {http: "GET /things/{id}"}}')
    scheme = urlsplit(database_url).scheme.split("+", 1)[0]
    if scheme not in SQL_SCHEMES:
        return (f'database_url scheme "{scheme}" cannot be read back with SQL (PostgreSQL '
                f'only); read the writes back through the service instead: '
                f'writes: {{KIND: {{http: "GET /things/{{id}}"}}}}')
    return None


def acknowledged_ids(results_dir: Path) -> dict[str, list[str]]:
    """Write kind -> ids, in the order the load recorded them."""
    ids: dict[str, list[str]] = defaultdict(list)
    for record in jsonl.records(results_dir / files.WRITES):
        ids[str(record.get("kind"))].append(str(record["id"]))
    return dict(ids)


def check_writes(results_dir: Path, database_url: str | None, rules: Mapping[str, ReadBack],
                 base_url: str | None = None) -> dict[str, Any]:
    """Read every acknowledged write back and record write_check.json; returns what it wrote."""
    by_kind = acknowledged_ids(results_dir)
    checkable = {kind: ids for kind, ids in by_kind.items() if kind in rules}
    sql = {k: ids for k, ids in checkable.items() if not isinstance(rules[k], HttpReadBack)}
    http = {k: ids for k, ids in checkable.items() if isinstance(rules[k], HttpReadBack)}
    sources = (["postgresql"] if sql else []) + (["the service over HTTP"] if http else [])
    result: dict[str, Any] = {
        "checked": sum(len(ids) for ids in checkable.values()), "missing": [],
        "source": " and ".join(sources) or ("postgresql" if database_url else None),
        "error": None, "unchecked_kinds": sorted(set(by_kind) - set(rules)),
    }
    errors: list[str] = []
    if sql:
        problem = sql_scheme_problem(database_url)
        if problem:
            errors.append(f"writes of kind {', '.join(sorted(sql))} not checked: {problem}")
        else:
            try:
                assert database_url is not None
                result["missing"] += _missing_sql(database_url, rules, sql)
            except Exception as exc:  # the verdict names it: an unreadable database is no pass
                errors.append(f"{type(exc).__name__}: {exc}")
    elif not database_url and not http:
        errors.append("no database_url and no HTTP read-back rule: writes not checked")
    for kind, ids in http.items():
        rule = rules[kind]
        assert isinstance(rule, HttpReadBack)
        missing, failed = _missing_http(base_url or "", rule, ids)
        result["missing"] += missing
        if failed:
            shown = "; ".join(f"{i}: {why}" for i, why in failed[:ERRORS_SHOWN])
            more = f" (and {len(failed) - ERRORS_SHOWN} more)" if len(failed) > ERRORS_SHOWN else ""
            errors.append(f"{len(failed)} of {len(ids)} read-backs of kind {kind} "
                          f"({rule.method} {rule.path}) were neither 2xx nor 404: {shown}{more}")
    if errors:
        result["error"] = "; ".join(errors)
    write_json(results_dir / files.WRITE_CHECK, result)
    return result


def _missing_sql(database_url: str, rules: Mapping[str, ReadBack],
                 by_kind: Mapping[str, list[str]]) -> list[str]:
    import psycopg

    missing: list[str] = []
    with psycopg.connect(database_url, connect_timeout=CONNECT_TIMEOUT_S) as conn:
        for kind, ids in by_kind.items():
            found = {str(row[0]) for row in conn.execute(str(rules[kind]), {"ids": ids})}
            missing += [i for i in ids if i not in found]
    return missing


def _missing_http(base_url: str, rule: HttpReadBack,
                  ids: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """(ids answered 404, (id, what came back) for every other non-2xx answer)."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=HTTP_PARALLEL)
    session.mount("http://", adapter)
    session.mount("https://", adapter)

    def one(write_id: str) -> tuple[str, int | str]:
        try:
            resp = session.request(rule.method, rule.url(base_url, write_id),
                                   timeout=HTTP_TIMEOUT_S, allow_redirects=False)
        except requests.RequestException as exc:
            return write_id, type(exc).__name__
        return write_id, resp.status_code

    missing: list[str] = []
    failed: list[tuple[str, str]] = []
    with session, ThreadPoolExecutor(HTTP_PARALLEL) as pool:
        for write_id, status in pool.map(one, ids):
            if isinstance(status, int) and 200 <= status < 300:
                continue
            if status == 404:
                missing.append(write_id)
            else:
                failed.append((write_id, f"HTTP {status}" if isinstance(status, int) else status))
    return missing, failed
