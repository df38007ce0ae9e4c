"""The teeth matrix: every flaw of the reference shop is caught by its experiment, on the
matching invariant, and the same experiment passes on the sound shop.

One `stampede run` of a generated suite (real redis-server, PostgreSQL, fault proxy, shop
and Locust): each chosen experiment once sound and once per flaw, time-scaled hard. CI runs
a rotating pair of flaws (by day of the year); the whole matrix:

    STAMPEDE_TEETH=all .venv/bin/pytest tests/catalogue/test_teeth.py       # about 15 minutes
    STAMPEDE_TEETH=no_ttl_jitter,unbounded_db .venv/bin/pytest tests/catalogue/test_teeth.py
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from .teeth import ROOT, TEETH, selected_flaws, suite_text

pytestmark = pytest.mark.slow

FLAWS = selected_flaws()
EXPERIMENTS = list(dict.fromkeys(TEETH[f][0] for f in FLAWS))


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Run the suite once; steps by scenario name ("db_slow", "db_slow +unbounded_db")."""
    work = tmp_path_factory.mktemp("teeth")
    suite = work / "teeth.yaml"
    suite.write_text(suite_text(FLAWS))
    env = {**os.environ, "STAMPEDE_STATE_DIR": str(work / "state")}
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", str(suite), "--out", str(work)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=240 * len(EXPERIMENTS) + 120 * len(FLAWS))
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    folders = list(work.glob("*-suite-teeth/suite.json"))
    assert folders, output[-4000:]
    data = json.loads(folders[0].read_text())
    yield {"steps": {s["scenario"]: s for s in data["steps"]}, "output": output,
           "code": proc.returncode, "dir": folders[0].parent}


def verdict(step: dict[str, Any], vid: str) -> dict[str, Any]:
    found = [v for v in step["verdicts"] if v["id"] == vid]
    assert found, f"no verdict {vid} in {step['results']}: {[v['id'] for v in step['verdicts']]}"
    return found[0]


@pytest.mark.parametrize("flaw", FLAWS)
def test_flaw_is_caught_by_its_invariant(matrix: dict[str, Any], flaw: str) -> None:
    experiment, vid = TEETH[flaw]
    step = matrix["steps"].get(f"{experiment} +{flaw}")
    assert step, matrix["output"][-4000:]
    assert step["status"] == "completed" and step["exit_code"] == 1, step
    v = verdict(step, vid)
    assert not v["passed"], f"{flaw}: {vid} passed on the flawed shop: {v['reason']}"


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_same_experiment_passes_on_the_sound_shop(matrix: dict[str, Any], experiment: str) -> None:
    step = matrix["steps"].get(experiment)
    assert step, matrix["output"][-4000:]
    failed = [f"{v['id']}: {v['reason']}" for v in step["verdicts"] if not v["passed"]]
    assert step["exit_code"] == 0 and not failed, (step["results"], failed)
    for flaw in FLAWS:
        if TEETH[flaw][0] == experiment:
            assert verdict(step, TEETH[flaw][1])["passed"]


def test_the_matrix_is_printed_and_in_the_report(matrix: dict[str, Any]) -> None:
    assert "Failure handling matrix" in matrix["output"]
    for flaw in FLAWS:
        assert f"+{flaw}" in matrix["output"]
    html = (matrix["dir"] / "report.html").read_text()
    assert 'id="matrix"' in html and "FAIL" in html[html.index('id="matrix"'):]
