"""Bad input: exit status 3, a message naming the file, and nothing started or written."""

from __future__ import annotations

from pathlib import Path

from .processes import EXPERIMENTS, StampedeProcess


def test_bad_experiment_exits_3_and_starts_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = StampedeProcess(["run", str(EXPERIMENTS / "bad.yaml"), "--out", str(out)],
                           tmp_path / "state")
    code, output = proc.wait(timeout=60)
    assert code == 3, output
    assert "bad.yaml:4" in output and "duraton" in output  # file:line and the typo'd field
    assert proc.seen == {}  # no child process, not even briefly
    assert not out.exists() or not any(out.iterdir())


def test_missing_file_exits_3(tmp_path: Path) -> None:
    proc = StampedeProcess(["run", str(tmp_path / "nope.yaml"), "--out", str(tmp_path)],
                           tmp_path / "state")
    code, output = proc.wait(timeout=60)
    assert code == 3 and "nope.yaml" in output, output
