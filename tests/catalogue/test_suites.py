"""Suite files: errors that name file, line and field; pauses; the matrix and the exit code."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harness.invariants.verdict import Verdict
from harness.suites import (
    Step,
    SuiteError,
    is_suite,
    load_suite,
    matrix_of,
    print_matrix,
    suite_exit_code,
    wait_pause,
)

from .teeth import EXPERIMENTS, ROOT


def write(tmp_path: Path, text: str, name: str = "suite.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_is_suite_tells_suites_from_experiments(tmp_path) -> None:
    assert is_suite(EXPERIMENTS / "suites" / "nightly.yaml")
    assert not is_suite(EXPERIMENTS / "redis_outage.yaml")
    assert not is_suite(write(tmp_path, "experiments: [\n"))  # broken YAML: the loader says why


def test_bad_suite_lists_every_problem_with_line_and_field(tmp_path) -> None:
    bad_experiment = write(tmp_path, "name: x\nload: {users: 1, duration: 3 minutes}\n", "x.yaml")
    path = write(tmp_path, f"""name: s
time_scale: -1
experimnts: []
experiments:
  - {EXPERIMENTS / 'redis_outage.yaml'}
  - {{file: missing.yaml}}
  - {{file: {bad_experiment.name}}}
  - {{file: {EXPERIMENTS / 'db_slow.yaml'}, flaws: [no_such_flaw], timescale: 2}}
  - {{pause: 3 minutes}}
""")
    with pytest.raises(SuiteError) as err:
        load_suite(path)
    text = str(err.value)
    assert f"{path}: 7 problems" in text
    assert f"{path}:2: time_scale: expected a number > 0, got -1" in text
    assert f'{path}:3: experimnts: unknown field "experimnts"' in text
    assert f"{path}:6: experiments[1].file: missing.yaml not found (paths are relative to the suite file's folder)" in text
    assert f"{path}:7: experiments[2].file: x.yaml is not a valid experiment" in text and "3 minutes" in text
    assert f"{path}:8: experiments[3].flaws: unknown flaw no_such_flaw: valid flaws of shop are" in text
    assert f'{path}:8: experiments[3].timescale: unknown field "timescale"' in text
    assert f"{path}:9: experiments[4].pause:" in text


def test_suite_errors_suggest_the_field_meant_and_check_each_entry(tmp_path) -> None:
    path = write(tmp_path, f"""name: s
experiments:
  - {{file: {EXPERIMENTS / 'db_slow.yaml'}, time_scale: fast}}
  - {{pause: 1m, mesage: look}}
  - 5
  - {{time_scale: 2}}
""")
    with pytest.raises(SuiteError) as err:
        load_suite(path)
    text = str(err.value)
    assert f"{path}: 4 problems" in text
    assert f"{path}:3: experiments[0].time_scale: expected a number > 0, got 'fast'" in text
    assert (f'{path}:4: experiments[1].mesage: unknown field "mesage"; did you mean "message"? '
            "Valid fields here: pause, message") in text
    assert f"{path}:5: experiments[2]: expected a file path, {{file: ...}} or {{pause: ...}}, got 5" in text
    assert f"{path}:6: experiments[3].file: missing: the experiment file to run" in text


def test_a_good_suite_reads_into_entries(tmp_path) -> None:
    path = write(tmp_path, f"""name: s
time_scale: 0.5
experiments:
  - {EXPERIMENTS / 'redis_outage.yaml'}
  - {{file: {EXPERIMENTS / 'db_slow.yaml'}, time_scale: 2, flaws: no_circuit_breaker}}
  - {{pause: 1m30s, message: look}}
""")
    suite = load_suite(path)
    assert (suite.name, suite.time_scale) == ("s", 0.5)
    first, second, pause = suite.entries
    assert first.file == EXPERIMENTS / "redis_outage.yaml" and first.time_scale is None
    assert (second.time_scale, second.flaws) == (2.0, ["no_circuit_breaker"])
    assert (pause.file, pause.pause, pause.message) == (None, 90.0, "look")


def test_stampede_run_refuses_a_bad_suite_before_starting_anything(tmp_path) -> None:
    path = write(tmp_path, f"experiments:\n  - {EXPERIMENTS / 'redis_outage.yaml'}\n  - nope.yaml\n")
    env = {**os.environ, "STAMPEDE_STATE_DIR": str(tmp_path / "state")}
    done = subprocess.run([sys.executable, "-m", "harness", "run", str(path), "--out", str(tmp_path / "out")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stderr
    assert "experiments[1].file: nope.yaml not found" in done.stderr
    assert not (tmp_path / "out").exists()  # no run folder, nothing started


def test_stampede_run_flaw_is_checked(tmp_path) -> None:
    env = {**os.environ, "STAMPEDE_STATE_DIR": str(tmp_path / "state")}
    done = subprocess.run([sys.executable, "-m", "harness", "run", str(EXPERIMENTS / "redis_outage.yaml"),
                           "--flaw", "no_such_flaw", "--out", str(tmp_path / "out")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 3
    assert "redis_outage.yaml: --flaw: unknown flaw no_such_flaw: valid flaws of shop are" in done.stderr
    assert not (tmp_path / "out").exists()


class FakeStdin(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__("\n")
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_pause_off_a_terminal_waits_its_duration() -> None:
    out = io.StringIO()
    start = time.monotonic()
    wait_pause(0.3, "look at the charts", out, FakeStdin(tty=False))
    assert time.monotonic() - start >= 0.3
    assert out.getvalue() == "pause 0.3s: look at the charts\n"


def test_pause_on_a_terminal_ends_on_enter() -> None:
    master, slave = os.openpty()
    with open(slave) as tty:
        out = io.StringIO()
        timer = threading.Timer(0.2, os.write, (master, b"\n"))
        timer.start()
        start = time.monotonic()
        wait_pause(60, "", out, tty)
        timer.join()
    os.close(master)
    assert time.monotonic() - start < 30  # Enter, not the 60 s
    assert "(Enter to go on)" in out.getvalue()


def v(invariant: str, passed: bool, vid: str | None = None) -> Verdict:
    return Verdict(invariant, vid or invariant, "all", passed, 0, 0, "", "reason")


def test_matrix_rows_columns_and_exit_code() -> None:
    steps = [
        Step("redis_outage", "a", None, "completed", 0,
             [v("bounded_error_rate", True), v("bounded_error_rate", True, "b2"),
              v("circuit_breaker_opens", True)]),
        Step("redis_outage +no_circuit_breaker", "a", None, "completed", 1,
             [v("bounded_error_rate", True), v("circuit_breaker_opens", False)]),
        Step("redis_outage", "a", None, "aborted", 2, [v("no_cross_user_data", True)]),
    ]
    assert list(matrix_of(steps)) == ["redis_outage", "redis_outage +no_circuit_breaker",
                                      "redis_outage #2"]
    out = io.StringIO()
    print_matrix(steps, file=out)
    lines = out.getvalue().splitlines()
    assert "Failure handling matrix" in lines[0]
    row = next(line for line in lines if "+no_circuit_breaker" in line)
    assert [cell.strip() for cell in row.split("│")][1:5] == [
        "redis_outage +no_circuit_breaker", "completed", "pass", "FAIL"]
    assert "aborted (2)" in out.getvalue()
    assert suite_exit_code(steps) == 2
    assert suite_exit_code(steps[:2]) == 1 and suite_exit_code(steps[:1]) == 0
    assert suite_exit_code([Step("x", "a", None, "failed", 3, [])] + steps) == 3


def test_stampede_plan_lists_a_suite(tmp_path) -> None:
    done = subprocess.run([sys.executable, "-m", "harness", "plan", str(EXPERIMENTS / "suites" / "nightly.yaml"),
                           "--time-scale", "0.5"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "suite nightly: 8 steps" in done.stdout
    assert "redis_outage: 45s of load (time_scale 0.5)" in done.stdout
    bad = write(tmp_path, "experiments: [nope.yaml]\n")
    done = subprocess.run([sys.executable, "-m", "harness", "plan", str(bad)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 3 and "experiments[0].file: nope.yaml not found" in done.stderr
