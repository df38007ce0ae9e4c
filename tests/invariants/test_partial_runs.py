"""`stampede check`/`report` on runs that did not complete, or whose experiment.json is
missing or garbled: exit 3 saying why; `--partial` judges anyway and says so on every line."""

from __future__ import annotations

import json

import pytest

from harness.cli import main

from .builders import ResultsBuilder


def folder(tmp_path, status: str = "completed", applied: bool = True):
    b = ResultsBuilder(tmp_path, status=status)
    b.fault("redis-outage", 30, 45, applied=applied)
    b.traffic(0, 60, rps=10)
    b.invariant("bounded_error_rate", window="during:redis-outage", max=0.05)
    b.invariant("bounded_error_rate", window="steady", max=0.05)
    return b.write()


@pytest.mark.parametrize("status", ["failed", "running"])
def test_a_run_that_did_not_complete_is_refused(tmp_path, capsys, status) -> None:
    path = folder(tmp_path, status)
    assert main(["check", str(path)]) == 3
    err = capsys.readouterr().err
    assert f"the run did not complete (status {status})" in err and "--partial" in err
    assert not (path / "verdicts.json").exists()
    assert main(["report", str(path)]) == 3
    assert "--partial" in capsys.readouterr().err and not (path / "report.html").exists()


def test_partial_judges_and_says_so_on_every_line(tmp_path, capsys) -> None:
    path = folder(tmp_path, "failed")
    assert main(["check", str(path), "--partial"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if "bounded_error_rate[" in line]
    assert len(rows) == 2 and all("(partial run: failed)" in row for row in rows), out
    assert "2 passed, 0 failed (partial run: failed)" in out
    stored = json.loads((path / "verdicts.json").read_text())
    assert stored["partial"] == "failed"
    assert all(v["reason"].endswith("(partial run: failed)") for v in stored["verdicts"])
    assert main(["report", str(path), "--partial"]) == 0
    assert "(partial run: failed)" in (path / "report.html").read_text()


def test_aborted_runs_are_judged_as_before(tmp_path, capsys) -> None:
    assert main(["check", str(folder(tmp_path, "aborted"))]) == 2
    assert "partial run" not in capsys.readouterr().out


@pytest.mark.parametrize(("content", "why"), [
    (None, "experiment.json: missing"),
    ('{"faults": [', "experiment.json: unreadable"),
    (b"\xff\xfe\x00garbage", "experiment.json: unreadable"),
    ("[1, 2]", "expected a JSON object"),
])
def test_missing_or_garbled_experiment_json(tmp_path, capsys, content, why) -> None:
    path = folder(tmp_path)
    target = path / "experiment.json"
    if content is None:
        target.unlink()
    elif isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content)
    for command in (["check", str(path)], ["check", str(path), "--partial"],
                    ["report", str(path)]):
        assert main(command) == 3, command
        err = capsys.readouterr().err
        assert why in err, err
        assert "no invariants to judge" not in err


def test_windows_of_faults_never_applied_are_not_passes(tmp_path, capsys) -> None:
    """A SIGKILLed run: the fault was planned but the timeline never saw it start."""
    path = folder(tmp_path, "failed", applied=False)
    assert main(["check", str(path), "--partial"]) == 1
    out = capsys.readouterr().out
    assert "FAIL bounded_error_rate[during:redis-outage]: not judged: fault 'redis-outage' " \
           "was never applied" in out
    assert "1 passed, 1 failed (partial run: failed)" in out  # steady has its data


def test_a_fault_that_failed_to_apply_fails_its_window_in_a_completed_run(tmp_path, capsys) -> None:
    b = ResultsBuilder(tmp_path)
    b.fault("redis-outage", 30, 45, error="ConnectionError: proxy API unreachable")
    b.traffic(0, 60, rps=10)
    b.invariant("bounded_error_rate", window="during:redis-outage", max=0.05)
    b.invariant("bounded_error_rate", window="after:redis-outage:5s", max=0.05)
    path = b.write()
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.count("was never applied (ConnectionError: proxy API unreachable)") == 2, out
