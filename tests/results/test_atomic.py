"""harness.results.atomic: a whole file appears at once, or the old one stays."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.results.atomic import atomic_file, write_atomic


def test_write_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    write_atomic(path, '{"status": "running"}\n')
    write_atomic(path, '{"status": "completed"}\n')
    assert path.read_text() == '{"status": "completed"}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_text_is_utf8_and_bytes_pass_through(tmp_path: Path) -> None:
    write_atomic(tmp_path / "a", "GET /café")
    write_atomic(tmp_path / "b", b"\x1f\x8b")
    assert (tmp_path / "a").read_bytes() == "GET /café".encode()
    assert (tmp_path / "b").read_bytes() == b"\x1f\x8b"


def test_an_error_while_writing_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text("old")
    with pytest.raises(RuntimeError, match="renderer broke"), atomic_file(path) as f:
        f.write(b"half of the new")
        raise RuntimeError("renderer broke")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
