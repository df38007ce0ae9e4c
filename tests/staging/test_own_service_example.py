"""examples/own_service/locustfile.py, run by real Locust with the stampede recorder against
a small stand-in service (tests/staging/own_service.py): its checks record what a sound
service does, and catch the two flaws (cross-user profile cache, sessions that fail open).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.load.launcher import PLUGIN

from .own_service import ORDERS, serve

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "own_service" / "locustfile.py"


def run_example(tmp_path: Path, flaws: frozenset[str]) -> tuple[dict, list, list, dict]:
    """Three seconds of headless Locust; returns (counters, violations, writes, app)."""
    out = tmp_path / "run"
    out.mkdir()
    with serve(flaws) as (url, app):
        done = subprocess.run(
            [sys.executable, "-m", "locust", "-f", f"{PLUGIN},{EXAMPLE}", "--headless",
             "-u", "6", "-r", "6", "-t", "3s", "--stop-timeout", "2", "--only-summary",
             "--host", url],
            env=dict(os.environ, STAMPEDE_RESULTS_DIR=str(out)), cwd=ROOT,
            capture_output=True, text=True, timeout=90)
        assert done.returncode in (0, 1), done.stderr[-2000:]  # 1: Locust saw failures
        orders = dict(app[ORDERS])

    def lines(name: str) -> list[dict]:
        path = out / name
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    counters: dict[str, int] = {}
    for rec in lines("counters.jsonl"):
        counters[rec["name"]] = counters.get(rec["name"], 0) + rec["count"]
    return counters, lines("violations.jsonl"), lines("writes.jsonl"), orders


def test_a_sound_service_gives_checks_and_no_violations(tmp_path: Path) -> None:
    counters, violations, writes, orders = run_example(tmp_path, frozenset())
    assert counters.get("ownership_checked", 0) > 10 and counters.get("session_probed", 0) > 0
    assert counters.get("logins", 0) >= 1  # the example's own counter
    assert violations == []
    assert writes and all(w["kind"] == "order" and w["id"] in orders for w in writes)


@pytest.mark.parametrize(("flaw", "kind"), [("shared_profile_cache", "cross_user"),
                                            ("sessions_fail_open", "session_granted")])
def test_the_example_catches_a_flawed_service(tmp_path: Path, flaw: str, kind: str) -> None:
    _, violations, _, _ = run_example(tmp_path, frozenset({flaw}))
    assert violations and {v["kind"] for v in violations} == {kind}
    assert violations[0]["endpoint"] == "GET /me"
