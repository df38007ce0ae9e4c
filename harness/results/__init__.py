"""The results folder of a run: writing it live (writer), and reading it back as a RunResult."""

from harness.results.run_result import FaultWindow, RunResult, Window

__all__ = ["FaultWindow", "RunResult", "Window"]
