"""The pytest plugin on a stored, hand-built results folder: ids, outcomes, JUnit properties."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .builders import ResultsBuilder, breaker_key


def stored_run(root: Path) -> Path:
    b = ResultsBuilder(root, name="redis_outage", duration=60)
    b.fault("redis-outage", 30, 45)
    b.traffic(0, 60, rps=40)
    b.traffic(30, 45, rps=40, error_rate=0.125)
    b.metric(breaker_key(), lambda t: 1 if 32 <= t < 47 else 0)
    b.counter(10, "ownership_checked", 9)
    b.invariant("circuit_breaker_opens", dependency="redis", within="5s")
    b.invariant("bounded_error_rate", window="during:redis-outage", max=0.05)
    b.invariant("no_cross_user_data")
    b.invariant("no_data_loss")
    return b.write()


def pytest_run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def junit_cases(path: Path) -> dict[str, ET.Element]:
    return {case.get("name"): case for case in ET.parse(path).getroot().iter("testcase")}


def properties(case: ET.Element) -> dict[str, str]:
    return {p.get("name"): p.get("value") for p in case.iter("property")}


def test_stored_results_become_one_test_per_invariant(tmp_path) -> None:
    folder = stored_run(tmp_path / "runs")
    junit = tmp_path / "junit.xml"
    proc = pytest_run(tmp_path, "--stampede-results", str(folder), f"--junitxml={junit}", "-v")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert "experiment.json::circuit_breaker_opens[redis] PASSED" in out
    assert "experiment.json::bounded_error_rate[during:redis-outage] FAILED" in out
    assert "experiment.json::no_cross_user_data[all] PASSED" in out
    assert "experiment.json::no_data_loss FAILED" in out
    # the failure is the reason, not a traceback
    assert ("error rate 12.5% in during:redis-outage (30.0s-45.0s, 600 requests) exceeds 5.0%"
            in out)
    assert "Traceback" not in out and "raise InvariantFailed" not in out

    cases = junit_cases(junit)
    assert set(cases) == {"circuit_breaker_opens[redis]", "bounded_error_rate[during:redis-outage]",
                          "no_cross_user_data[all]", "no_data_loss"}
    opened = properties(cases["circuit_breaker_opens[redis]"])
    assert opened["measured"] == "2.0 s" and opened["bound"] == "5.0 s"
    assert opened["window"] == "during:redis-outage (30.0s-45.0s)"
    failed = cases["bounded_error_rate[during:redis-outage]"]
    assert properties(failed)["measured"] == "12.5%" and properties(failed)["bound"] == "5.0%"
    message = failed.find("failure").get("message")
    assert "exceeds 5.0%" in message
    assert cases["no_data_loss"].find("failure") is not None
    assert cases["no_cross_user_data[all]"].find("failure") is None


def test_experiment_file_judges_a_stored_run_with_its_own_bounds(tmp_path) -> None:
    folder = stored_run(tmp_path / "runs")
    exp = tmp_path / "redis_outage.yaml"
    exp.write_text("name: redis_outage\nload: {users: 1, duration: 60s}\n"
                   "faults:\n  - {name: redis-outage, at: 30s, for: 15s, proxy: redis, type: down}\n"
                   "invariants:\n"
                   "  - {name: bounded_error_rate, window: 'during:redis-outage', max: 0.2}\n"
                   "  - {name: circuit_breaker_opens, dependency: redis, within: 1s}\n")
    proc = pytest_run(tmp_path, str(exp), "--stampede-results", str(folder), "-v")
    assert "redis_outage.yaml::bounded_error_rate[during:redis-outage] PASSED" in proc.stdout
    assert "redis_outage.yaml::circuit_breaker_opens[redis] FAILED" in proc.stdout
    assert "opened 2.0 s after onset of redis-outage at 30.0s, later than 1.0 s" in proc.stdout
    assert proc.returncode == 1


def test_stampede_run_fixture_returns_a_run_result(tmp_path) -> None:
    folder = stored_run(tmp_path / "runs")
    (tmp_path / "test_outage.py").write_text(
        "from harness.invariants import check, expect\n\n\n"
        "def test_outage(stampede_run):\n"
        "    run = stampede_run('experiments/redis_outage.yaml')\n"
        "    assert check(run, 'circuit_breaker_opens', within='5s').passed\n"
        "    expect(run, 'bounded_error_rate', window='steady', max=0.01)\n"
        "    expect(run, 'bounded_error_rate', window='during:redis-outage', max=0.05)\n")
    proc = pytest_run(tmp_path, "test_outage.py", "--stampede-results", str(folder))
    assert proc.returncode == 1
    assert "bounded_error_rate[during:redis-outage]: error rate 12.5%" in proc.stdout


def test_a_runner_that_cannot_start_fails_every_item_with_its_stderr(tmp_path) -> None:
    exp = tmp_path / "experiments" / "broken.yaml"
    exp.parent.mkdir()
    exp.write_text("name: broken\nload: {users: 1, duration: 10s}\n"
                   "faults:\n  - {at: 2s, for: 1s, proxy: nowhere, type: down}\n"
                   "invariants:\n  - {name: bounded_error_rate}\n  - {name: no_data_loss}\n")
    proc = pytest_run(tmp_path, str(exp), "-v", "--stampede-out", str(tmp_path / "out"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "broken.yaml::bounded_error_rate[all] FAILED" in proc.stdout
    assert "broken.yaml::no_data_loss FAILED" in proc.stdout
    assert "failed with exit status 3" in proc.stdout and "nowhere" in proc.stdout


@pytest.mark.slow
def test_an_experiment_file_runs_once_and_yields_its_invariants(tmp_path) -> None:
    """The whole path: pytest FILE -> `python -m harness run` -> one folder -> one item each."""
    exp = tmp_path / "experiments" / "tiny_outage.yaml"
    exp.parent.mkdir()
    exp.write_text(
        "name: tiny_outage\n"
        "load: {user_classes: [ShopUser], users: 4, spawn_rate: 4, duration: 14s}\n"
        "steady_state: {from: 2s, to: 6s}\n"
        "faults:\n  - {name: redis-outage, at: 7s, for: 3s, proxy: redis, type: down}\n"
        "invariants:\n"
        "  - {name: bounded_error_rate, window: steady, max: 0.5}\n"
        "  - {name: no_cross_user_data}\n"
        "  - {name: single_flight}\n")
    junit = tmp_path / "junit.xml"
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(exp), "-v",
         f"--junitxml={junit}", "--stampede-out", str(out)],
        cwd=Path(__file__).parents[2], capture_output=True, text=True, timeout=300)
    assert "tiny_outage.yaml::bounded_error_rate[steady] PASSED" in proc.stdout, proc.stdout + proc.stderr
    assert "tiny_outage.yaml::no_cross_user_data[all] PASSED" in proc.stdout
    # no expiry in this experiment: single_flight has nothing to judge and must fail
    assert "tiny_outage.yaml::single_flight FAILED" in proc.stdout
    assert "no expire_key or flush_cache applied in this run" in proc.stdout
    folders = [p for p in out.iterdir() if p.is_dir()]
    assert len(folders) == 1 and folders[0].name.endswith("-tiny_outage")
    assert f"stampede: tiny_outage.yaml -> {folders[0]}" in proc.stdout
    cases = junit_cases(junit)
    assert properties(cases["no_cross_user_data[all]"])["results"] == str(folders[0])


def test_which_yaml_files_are_collected(tmp_path) -> None:
    body = "name: x\nload: {users: 1, duration: 5s}\ninvariants:\n  - {name: no_data_loss}\n"
    for rel in ("experiments/a.yaml", "experiments/suites/nightly.yaml",
                "tests/runner/experiments/fixture.yaml", "elsewhere/c.yaml"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(body)
    (tmp_path / "experiments/suites/nightly.yaml").write_text("name: nightly\nexperiments: [a]\n")

    def collected(*args: str) -> str:
        return pytest_run(tmp_path, "--collect-only", "-q", *args).stdout

    out = collected("experiments")
    assert "experiments/a.yaml::no_data_loss" in out and "nightly" not in out
    assert "fixture.yaml" not in collected("tests")  # a test's fixture file never runs by itself
    assert "fixture.yaml::no_data_loss" in collected("tests/runner/experiments")
    assert "elsewhere/c.yaml::no_data_loss" in collected("elsewhere/c.yaml")
    assert "c.yaml" not in collected("elsewhere")
