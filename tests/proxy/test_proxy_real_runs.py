"""Game days through the real Toxiproxy: the same verdicts as through ours.

Two `stampede run` of one suite (the default game day at time scale 0.2, and the teeth pair
redis_outage sound / +no_circuit_breaker), one with `--toxiproxy-server` pointing at the
real server, one with ours; every verdict must come out the same, and the pair must show
its teeth through the real server too.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.proxy.embedded import real_server_path

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ROOT / "experiments"


def _teeth():
    """tests/catalogue/teeth.py, the teeth matrix (tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location("teeth", ROOT / "tests" / "catalogue" / "teeth.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


teeth = _teeth()
pytestmark = pytest.mark.slow

FLAW = "no_circuit_breaker"
EXPERIMENT, VERDICT = teeth.TEETH[FLAW]


def suite_text() -> str:
    pair, scale = EXPERIMENTS / f"{EXPERIMENT}.yaml", teeth.scale_of(EXPERIMENT)
    return "\n".join([
        "name: through_the_real_proxy",
        "experiments:",
        f"  - {{file: {EXPERIMENTS / 'default.yaml'}, time_scale: 0.2}}",
        f"  - {{file: {pair}, time_scale: {scale}}}",
        f"  - {{file: {pair}, time_scale: {scale}, flaws: [{FLAW}]}}",
    ]) + "\n"


def run_suite(work: Path, *extra: str) -> dict[str, Any]:
    """Steps of suite.json by scenario name, after one `stampede run` of the suite."""
    work.mkdir(parents=True, exist_ok=True)
    suite = work / "suite.yaml"
    suite.write_text(suite_text())
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
    assert set(real) == set(ours) and len(real) == 3, (sorted(real), sorted(ours))
    logs = next(iter(real.values()))["results"]
    assert "Starting Toxiproxy" in (Path(logs) / "logs" / "proxy.log").read_text()  # it really was the real one
    for scenario in real:
        assert verdicts(real[scenario]) == verdicts(ours[scenario]), scenario
    assert verdicts(real[EXPERIMENT])[VERDICT] is True
    assert verdicts(real[f"{EXPERIMENT} +{FLAW}"])[VERDICT] is False


def test_a_missing_binary_is_bad_input(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "harness", "run", str(EXPERIMENTS / "default.yaml"),
                             "--toxiproxy-server", str(tmp_path / "nope")], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 3
    assert "not an executable file" in result.stderr
