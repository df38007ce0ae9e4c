"""Game days through the real Toxiproxy: the same verdicts as through ours.

Each scenario runs twice as a one-run suite, once with `--toxiproxy-server` pointing at the
real server, once with ours; every verdict must come out the same. The scenarios: the
default game day at time scale 0.2, and the teeth pair redis_outage sound and
+no_circuit_breaker, which must show its teeth through the real server too. CI runs one
scenario a day (tests/rotation.py); all of them, or a list:

    STAMPEDE_REAL_PROXY=all .venv/bin/pytest tests/proxy/test_proxy_real_runs.py
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from catalogue.teeth import TEETH, scale_of
from rotation import todays_cases

from harness.proxy.embedded import real_server_path

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ROOT / "experiments"
pytestmark = pytest.mark.slow

FLAW = "no_circuit_breaker"
EXPERIMENT, VERDICT = TEETH[FLAW]
SCENARIOS = {  # scenario -> suite entry; the pair's verdict: pass sound, fail with the flaw
    "default_game_day": f"{{file: {EXPERIMENTS / 'default.yaml'}, time_scale: 0.2}}",
    EXPERIMENT: f"{{file: {EXPERIMENTS / EXPERIMENT}.yaml, time_scale: {scale_of(EXPERIMENT)}}}",
    f"{EXPERIMENT} +{FLAW}": (f"{{file: {EXPERIMENTS / EXPERIMENT}.yaml, "
                              f"time_scale: {scale_of(EXPERIMENT)}, flaws: [{FLAW}]}}"),
}
TODAY = todays_cases(list(SCENARIOS), 1, "STAMPEDE_REAL_PROXY")


def suite_text(scenarios: list[str]) -> str:
    return "\n".join(["name: through_the_real_proxy", "experiments:",
                      *(f"  - {SCENARIOS[s]}" for s in scenarios)]) + "\n"


def run_suite(work: Path, *extra: str) -> dict[str, Any]:
    """Steps of suite.json by scenario name, after one `stampede run` of today's suite."""
    work.mkdir(parents=True, exist_ok=True)
    suite = work / "suite.yaml"
    suite.write_text(suite_text(TODAY))
    env = {**os.environ, "STAMPEDE_STATE_DIR": str(work / "state")}
    env.pop("STAMPEDE_PROXY_SERVER", None)
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", str(suite), "--out", str(work), *extra],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    found = list(work.glob("*-suite-through_the_real_proxy/suite.json"))
    assert found, output[-4000:]
    return {step["scenario"]: step for step in json.loads(found[0].read_text())["steps"]}


def verdicts(step: dict[str, Any]) -> dict[str, bool]:
    return {v["id"]: v["passed"] for v in step["verdicts"]}


def test_the_real_server_gives_the_same_verdicts(tmp_path: Path) -> None:
    real = run_suite(tmp_path / "real", "--toxiproxy-server", str(real_server_path()))
    ours = run_suite(tmp_path / "ours")
    assert set(real) == set(ours) == set(TODAY), (sorted(real), sorted(ours))
    logs = next(iter(real.values()))["results"]
    assert "Starting Toxiproxy" in (Path(logs) / "logs" / "proxy.log").read_text()  # it really was the real one
    for scenario in real:
        assert verdicts(real[scenario]) and verdicts(real[scenario]) == verdicts(ours[scenario]), scenario
    if EXPERIMENT in real:
        assert verdicts(real[EXPERIMENT])[VERDICT] is True
    if f"{EXPERIMENT} +{FLAW}" in real:
        assert verdicts(real[f"{EXPERIMENT} +{FLAW}"])[VERDICT] is False


def test_a_missing_binary_is_bad_input(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "harness", "run", str(EXPERIMENTS / "default.yaml"),
                             "--toxiproxy-server", str(tmp_path / "nope")], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 3
    assert "not an executable file" in result.stderr
