"""The exit statuses of every stampede command, in one table.

A nightly CI job branches on these, so they mean the same thing everywhere:
`run`, `check`, `report`, `plan`, suites and the pytest plugin's run step.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    PASSED = 0  # every invariant passed (or, for plan/report, the command did its job)
    INVARIANT_FAILED = 1  # the run completed and at least one invariant failed
    HALTED = 2  # a halt condition, a Halt button or a lost worker stopped the run
    BAD_INPUT = 3  # a file, a field or an option is wrong, or the stack could not start


SIGNAL_BASE = 128  # stopped by signal N: 128 + N, as shells report it


def signal_exit(signum: int) -> int:
    """The status of a run that signal `signum` stopped (after its rollback)."""
    return SIGNAL_BASE + signum
