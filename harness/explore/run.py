"""`stampede explore FILE` from file to explore folder: check, search, write, summarise."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from harness.exit_codes import ExitCode
from harness.experiment import ExperimentError
from harness.explore.output import exit_code, explore_json, write_explore_json
from harness.explore.probes import SearchOutcome, search
from harness.explore.setup import Explore, load_explore
from harness.load.launcher import MasterOptions
from harness.progress import Progress
from harness.results.writer import new_run_dir


@dataclass
class ExploreResult:
    folder: Path | None
    exit_code: int
    summary: str
    explore: Explore | None = None
    outcome: SearchOutcome | None = None
    seconds: float = 0.0


def explore(path: str | Path, *, out_dir: str | Path = "results", time_scale: float | None = None,
            flaws: list[str] | None = None, progress: Progress | None = None,
            master: MasterOptions | None = None) -> ExploreResult:
    """Check the file, run the search, write explore.json and report.html, print `margin: ...` last."""
    began = time.monotonic()
    try:
        setup = load_explore(path, time_scale=time_scale, flaws=flaws)
    except (ExperimentError, OSError) as exc:
        print(f"stampede explore: {exc}", file=sys.stderr)
        return ExploreResult(None, int(ExitCode.BAD_INPUT), str(exc))
    folder = new_run_dir(out_dir, f"explore-{setup.name}")
    spec = setup.spec
    print(f"explore {setup.name}: {spec.vary} from {setup.show(spec.from_)} to "
          f"{setup.show(spec.to)}, resolution {setup.show(spec.resolution)}, at most "
          f"{spec.max_probes} probes of {setup.experiment.duration:g}s (time scale "
          f"{setup.experiment.time_scale:g})", flush=True)
    outcome = search(setup, folder, progress or Progress(), master)
    code = exit_code(setup, outcome)
    data = explore_json(setup, outcome, code)
    data["seconds"] = round(time.monotonic() - began, 1)
    write_explore_json(folder, data)
    try:
        from harness.explore.report import write_explore_report

        write_explore_report(folder, data)
    except Exception as exc:  # the search's answer stands without its report
        print(f"stampede explore: writing report.html failed: {exc}", file=sys.stderr)
    if outcome.error:
        print(f"stampede explore: {outcome.error}", file=sys.stderr)
    print(f"results: {folder}")
    summary = str(data["summary"])
    print(summary, flush=True)
    return ExploreResult(folder, code, summary, setup, outcome, data["seconds"])
