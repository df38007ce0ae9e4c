"""Judge one invariant entry on a folder, as the plugin and `stampede check` do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.invariants import Verdict, judge
from harness.results import RunResult


def judged(path: Path, name: str, **params: Any) -> Verdict:
    verdict = judge(RunResult.load(path), {"name": name, **params})
    assert verdict.reason, "every verdict explains itself"
    return verdict
