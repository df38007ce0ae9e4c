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


def test_binary_file_exits_3_naming_it(tmp_path: Path) -> None:
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00\xd0\xff\xfe" * 20)
    for command in ("run", "plan"):
        proc = StampedeProcess([command, str(binary), "--out", str(tmp_path / "out")]
                               if command == "run" else [command, str(binary)], tmp_path / "state")
        code, output = proc.wait(timeout=60)
        assert code == 3, output
        assert f"{binary}:1: not a UTF-8 text file" in output and "Traceback" not in output
        assert proc.seen == {}


def test_non_finite_and_huge_numbers_exit_3_before_anything_starts(tmp_path: Path) -> None:
    """`at: .nan` used to pass, kill the schedule thread and end `completed` with no fault."""
    experiment = tmp_path / "numbers.yaml"
    experiment.write_text(
        "name: numbers\nload: {users: 2, duration: 10s, workers: 100000}\nfaults:\n"
        "  - {at: .nan, for: 2s, proxy: redis, type: latency, attributes: {latency: .inf}}\n")
    out = tmp_path / "out"
    proc = StampedeProcess(["run", str(experiment), "--out", str(out)], tmp_path / "state")
    code, output = proc.wait(timeout=60)
    assert code == 3, output
    assert f"{experiment}:4: faults[0].at: expected a finite number, got nan" in output
    assert f"{experiment}:4: faults[0].attributes.latency: expected a finite number" in output
    assert "Traceback" not in output and proc.seen == {}
    assert not out.exists() or not any(out.iterdir())
    experiment.write_text("name: numbers\nload: {users: 2, duration: 10s, workers: 100000}\n")
    proc = StampedeProcess(["plan", str(experiment)], tmp_path / "state")
    code, output = proc.wait(timeout=60)
    assert code == 3 and f"{experiment}:2: load.workers: expected at most 1024" in output, output


def test_an_unknown_target_option_exits_3_before_anything_starts(tmp_path: Path) -> None:
    experiment = tmp_path / "options.yaml"
    experiment.write_text("name: options\ntarget: {options: {cache_timeout: 50}}\n"
                          "load: {users: 2, duration: 10s}\n")
    proc = StampedeProcess(["run", str(experiment), "--out", str(tmp_path / "out")],
                           tmp_path / "state")
    code, output = proc.wait(timeout=60)
    assert code == 3, output
    assert f'{experiment}:2: target.options.cache_timeout: unknown option "cache_timeout"' in output
    assert proc.seen == {}  # no redis-server, PostgreSQL or proxy started first
