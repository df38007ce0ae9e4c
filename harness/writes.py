"""Acknowledged writes read back from the source of truth: the ones missing are lost.

The load records every write the target acknowledged (writes.jsonl, with a kind); the
stack says how each kind is read back (`Stack.write_rules`); the verdict reads
write_check.json. A kind without a rule is named, never silently skipped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.results import files, jsonl
from harness.results.writer import write_json

CONNECT_TIMEOUT_S = 5


def acknowledged_ids(results_dir: Path) -> dict[str, list[str]]:
    """Write kind -> ids, in the order the load recorded them."""
    ids: dict[str, list[str]] = defaultdict(list)
    for record in jsonl.records(results_dir / files.WRITES):
        ids[str(record.get("kind"))].append(str(record["id"]))
    return dict(ids)


def check_writes(results_dir: Path, database_url: str | None,
                 rules: Mapping[str, str]) -> dict[str, Any]:
    """Read every acknowledged write back and record write_check.json; returns what it wrote."""
    by_kind = acknowledged_ids(results_dir)
    checkable = {kind: ids for kind, ids in by_kind.items() if kind in rules}
    result: dict[str, Any] = {
        "checked": sum(len(ids) for ids in checkable.values()), "missing": [],
        "source": "postgresql", "error": None,
        "unchecked_kinds": sorted(set(by_kind) - set(rules)),
    }
    if not database_url:
        result.update(source=None, error="no database_url: writes not checked")
    elif checkable:
        try:
            result["missing"] = _missing(database_url, rules, checkable)
        except Exception as exc:  # the verdict names it: an unreadable database is no pass
            result["error"] = f"{type(exc).__name__}: {exc}"
    write_json(results_dir / files.WRITE_CHECK, result)
    return result


def _missing(database_url: str, rules: Mapping[str, str],
             by_kind: Mapping[str, list[str]]) -> list[str]:
    import psycopg

    missing: list[str] = []
    with psycopg.connect(database_url, connect_timeout=CONNECT_TIMEOUT_S) as conn:
        for kind, ids in by_kind.items():
            found = {str(row[0]) for row in conn.execute(rules[kind], {"ids": ids})}
            missing += [i for i in ids if i not in found]
    return missing
