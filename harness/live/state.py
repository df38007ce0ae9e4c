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


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


def _timeline(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    events = []
    for line in text.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:  # a line being written right now
            break
    return events


def fault_rows(planned: list[dict[str, Any]], timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each planned fault with its state: planned, active, done (or failed), and actual times."""
    starts = {e["fault"]: e for e in timeline if e.get("kind") == "fault_start"}
    ends = {e["fault"]: e for e in timeline if e.get("kind") == "fault_end"}
    rows = []
    for fault in planned:
        name = fault.get("name") or ""
        start, end = starts.get(name), ends.get(name)
        error = (start or {}).get("error") or (end or {}).get("error")
        if error:
            state = "failed"
        elif end is not None:
            state = "done"
        elif start is not None:
            state = "active"
        else:
            state = "planned"
        rows.append({
            "name": name, "type": fault.get("type"), "proxy": fault.get("proxy"),
            "planned_start": fault.get("start"), "planned_end": fault.get("end"),
            "applied_t": start and start.get("t"), "healed_t": end and end.get("t"),
            "interrupted": bool(end and end.get("interrupted")), "state": state, "error": error,
        })
    return rows


def live_state(results_dir: str | Path, now: float | None = None) -> dict[str, Any]:
    """Run time, phase, the fault timeline, halts and lost workers: the tab's top half."""
    folder = Path(results_dir)
    experiment = _json(folder / "experiment.json") or {}
    summary = _json(folder / "summary.json") or {}
    load_start = _json(folder / ".load_start.json")
    timeline = _timeline(folder / "timeline.jsonl")
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
