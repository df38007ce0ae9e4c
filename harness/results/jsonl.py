"""JSON-lines files of a results folder: plain while a run appends to them, gzipped once it ended.

An hour at 1,000 req/s writes ~27 MB of JSON lines, mostly repeated keys; gzip takes that
below 3 MB and still reads back in a tenth of a second, and `zcat f.jsonl.gz | jq` works.
Live readers (halt checks, progress, the live view) only ever see the plain files: the
run compacts after the Locust master and the collectors have stopped writing.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

from harness.results.atomic import atomic_file
from harness.results.files import COMPACTED

__all__ = ["COMPACTED", "compact", "compress", "exists", "gz_path", "read_bytes", "records",
           "resolve"]

GZ = ".gz"
LEVEL = 6  # 9 (gzip's default) is ~3x slower for a few % less


def gz_path(path: Path) -> Path:
    return path.with_name(path.name + GZ)


def resolve(path: Path) -> Path | None:
    """The file that holds `path`'s records: the plain file if it is there, else its .gz.

    Plain wins: the .gz is made from it and the plain file is removed only afterwards,
    so while both exist the plain one is the original.
    """
    if path.exists():
        return path
    packed = gz_path(path)
    return packed if packed.exists() else None


def exists(path: Path) -> bool:
    return resolve(path) is not None


def read_bytes(path: Path) -> bytes:
    """All of `path` (plain or gzipped) as bytes; b"" when neither exists."""
    found = resolve(path)
    if found is None:
        return b""
    data = found.read_bytes()
    if found is path:
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError) as exc:  # BadGzipFile is an OSError; EOFError: cut short
        raise ValueError(f"{found}: damaged gzip file ({exc}); `gzip -t {found.name}` "
                         f"confirms, `zcat {found.name} > {path.name}` recovers what is "
                         "readable") from None


def records(path: Path) -> list[dict[str, Any]]:
    """Records of a .jsonl file in either form; a torn line (a crash mid-write) is skipped."""
    out = []
    for line in read_bytes(path).splitlines():
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def compress(path: Path) -> Path:
    """Replace `path` with `path.gz`, never losing data.

    The .gz is written under a temporary name, fsynced and renamed into place (then the
    folder fsynced) before the plain file goes; on any error the plain file stays and
    the partial .gz is removed.
    """
    packed = gz_path(path)
    with (path.open("rb") as src, atomic_file(packed) as raw,
          gzip.GzipFile(filename=path.name, mode="wb", fileobj=raw, compresslevel=LEVEL) as dst):
        shutil.copyfileobj(src, dst, 1 << 20)
    path.unlink()
    return packed


def compact(folder: Path) -> list[str]:
    """Gzip the bulky files of a finished run; returns one line per file that stays plain.

    Call only once nothing appends to them any more. A failure (disk full, ...) leaves
    that file plain and complete: readers accept either form.
    """
    problems = []
    for name in COMPACTED:
        path = folder / name
        if not path.exists():
            continue
        try:
            compress(path)
        except OSError as exc:
            problems.append(f"{path}: left uncompressed ({exc})")
    return problems

