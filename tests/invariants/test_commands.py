"""`stampede check` and `stampede report` on stored folders: exit codes and output."""

from __future__ import annotations

import pytest

from harness.cli import main

from .builders import ResultsBuilder


def folder(tmp_path, error_rate: float, status: str = "completed"):
    b = ResultsBuilder(tmp_path, status=status)
    b.fault("redis-outage", 30, 45)
    b.traffic(0, 60, rps=10)
    b.traffic(30, 45, rps=10, error_rate=error_rate)
    b.invariant("bounded_error_rate", window="during:redis-outage", max=0.05)
    return b.write()


@pytest.mark.parametrize(("error_rate", "status", "code"), [
    (0.0, "completed", 0), (0.2, "completed", 1), (0.0, "aborted", 2)])
def test_check_exit_codes(tmp_path, capsys, error_rate, status, code) -> None:
    path = folder(tmp_path, error_rate, status)
    assert main(["check", str(path)]) == code
    out = capsys.readouterr().out
    assert "bounded_error_rate[during:redis-outage]" in out
    assert (path / "verdicts.json").exists()
    if code == 2:
        assert "aborted by a halt condition" in out


def test_check_with_another_experiment_and_bad_input(tmp_path, capsys) -> None:
    path = folder(tmp_path / "run", 0.2)
    looser = tmp_path / "looser.yaml"
    looser.write_text("name: unit\nload: {users: 1, duration: 60s}\n"
                      "faults:\n  - {name: redis-outage, at: 30s, for: 15s, proxy: redis, type: down}\n"
                      "invariants:\n  - {name: bounded_error_rate, window: 'during:redis-outage', max: 0.5}\n")
    assert main(["check", str(path), "--experiment", str(looser)]) == 0
    typo = tmp_path / "typo.yaml"
    typo.write_text("name: unit\nload: {users: 1, duration: 60s}\n"
                    "invariants:\n  - {name: bounded_eror_rate}\n")
    assert main(["check", str(path), "--experiment", str(typo)]) == 3
    err = capsys.readouterr().err
    assert "typo.yaml" in err and "did you mean 'bounded_error_rate'" in err
    assert main(["check", str(tmp_path / "missing")]) == 3
    assert "no such results folder" in capsys.readouterr().err


def test_report_command_writes_report_html(tmp_path, capsys) -> None:
    path = folder(tmp_path, 0.2)
    assert main(["report", str(path)]) == 0
    assert f"report: {path / 'report.html'}" in capsys.readouterr().out
    html = (path / "report.html").read_text()
    assert "bounded_error_rate[during:redis-outage]" in html and "FAIL" in html
