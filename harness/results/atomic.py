"""Whole-file writes that a reader (or a crash) never sees half done.

The data goes to `<name>.tmp`, is fsynced, renamed over `<name>`, and the folder is
fsynced so the rename survives a power cut too. On any error the temporary file is
removed and the old file, if any, stays as it was.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from harness.results.files import TMP_SUFFIX


def tmp_path(path: Path) -> Path:
    return path.with_name(path.name + TMP_SUFFIX)


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A binary file to write; it replaces `path` only when the block ends without error."""
    tmp = tmp_path(path)
    try:
        with tmp.open("wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(OSError):  # keep the first error, not the clean-up's
            tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: str | bytes) -> None:
    """Replace `path` with `data` (text is written as UTF-8) in one step."""
    with atomic_file(path) as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
