"""What the Game day tab shows, read from the run's results folder as it grows.

Pure functions of the folder (no Locust, no Flask), so they are tested on hand-made
folders and the web part only serves their output.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from harness.live.control import halt_requested
from harness.results import files
from harness.results.faults import fault_windows
from harness.results.tail import complete_lines


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


def _timeline(path: Path) -> list[dict[str, Any]]:
    events = []
    for line in complete_lines(path):  # a line being written waits for the next poll
        try:
            events.append(json.loads(line))
        except ValueError:
            break
    return events


def fault_rows(planned: list[dict[str, Any]], timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each planned fault with its state: planned, active, done (or failed), and actual times."""
    return [{
        "name": w.name, "type": w.type, "proxy": w.proxy,
        "planned_start": w.planned_start, "planned_end": w.planned_end,
        "applied_t": None if w.started is None else w.started.t,
        "healed_t": None if w.ended is None else w.ended.t,
        "interrupted": w.interrupted, "state": w.state, "error": w.error,
    } for w in fault_windows(planned, timeline, unplanned=False)]


def live_state(results_dir: str | Path, now: float | None = None) -> dict[str, Any]:
    """Run time, phase, the fault timeline, halts and lost workers: the tab's top half."""
    folder = Path(results_dir)
    experiment = _json(folder / files.EXPERIMENT) or {}
    summary = _json(folder / files.SUMMARY) or {}
    load_start = _json(folder / files.LOAD_START)
    timeline = _timeline(folder / files.TIMELINE)
    now = time.time() if now is None else now
    t = round(now - load_start["ts"], 1) if load_start else None
    phases = [e["phase"] for e in timeline if e.get("kind") == "phase"]
    return {
        "name": experiment.get("name") or summary.get("name"),
        "status": summary.get("status"),
        "t": t,
        "duration": experiment.get("duration"),
        "phase": phases[-1] if phases else None,
        "faults": fault_rows(experiment.get("faults") or [], timeline),
        "halts": [e.get("reason") for e in timeline if e.get("kind") == "halt"],
        "halt_requested": halt_requested(folder),
        "workers_lost": [e.get("worker") for e in timeline if e.get("kind") == "worker_lost"],
    }


def verdicts_so_far(results_dir: str | Path) -> list[dict[str, Any]]:
    """The experiment's invariants judged on the data collected up to now (may change later)."""
    from harness.results.run_result import RunResult
    from harness.verdicts import judge_run

    result = RunResult.load(Path(results_dir))
    entries = list(result.experiment.get("invariants") or [])
    return [v.to_dict() | {"measured_text": v.measured_text(), "bound_text": v.bound_text()}
            for v in judge_run(result, entries)]
