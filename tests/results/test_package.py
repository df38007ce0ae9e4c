"""harness.results: the Locust processes that write the folder do not load the reader's numpy."""

from __future__ import annotations

import subprocess
import sys


def test_writers_do_not_import_numpy_but_readers_still_find_run_result() -> None:
    code = ("import sys, harness.load.recorder, harness.live.control; "
            "assert 'numpy' not in sys.modules, 'numpy imported'; "
            "from harness.results import FaultWindow, RunResult; "
            "print(RunResult.__module__, FaultWindow.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["harness.results.run_result", "harness.results.faults"]
