"""The results folder of a run: writing it live (writer), and reading it back as a RunResult.

The folder's contract lives in the submodules: file names (files), record types
(records), fault windows (faults), whole-file writes (atomic), readers of growing files
(tail) and of finished ones (jsonl). RunResult needs numpy, so it is loaded on first use:
the Locust processes that write the folder import only the light submodules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.results.faults import FaultWindow
    from harness.results.run_result import RunResult, Window, parse_duration

__all__ = ["FaultWindow", "RunResult", "Window", "parse_duration"]

_HOME = {"FaultWindow": "harness.results.faults", "RunResult": "harness.results.run_result",
         "Window": "harness.results.run_result", "parse_duration": "harness.results.run_result"}


def __getattr__(name: str) -> object:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
