"""Judge a results folder: the verdicts, the table a person reads, the exit code CI reads.

`stampede run` calls these at the end of every run; `stampede check` calls them on a stored
folder, optionally with another experiment file's invariants and bounds.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import IO, Any

from harness.exit_codes import ExitCode
from harness.experiment import load_experiment
from harness.invariants.registry import judge, unique_ids
from harness.invariants.verdict import Verdict
from harness.results import files
from harness.results.atomic import write_atomic
from harness.results.run_result import RunResult

# Runs whose folder holds what the invariants need: the load ran to its end, or a halt
# condition (or a person) stopped it and every fault was rolled back and recorded.
JUDGEABLE = ("completed", "aborted")


class UnjudgeableRun(ValueError):
    """A folder that cannot be judged as it is (`stampede check` exits 3 with the message)."""


def load_invariants(experiment_path: str | Path) -> list[dict[str, Any]]:
    """The `invariants:` list of an experiment file, validated by harness.experiment."""
    return list(load_experiment(experiment_path).resolved().get("invariants") or [])


def judge_run(result: RunResult, entries: list[dict[str, Any]]) -> list[Verdict]:
    return [judge(result, entry, id=vid) for entry, vid in zip(entries, unique_ids(entries), strict=True)]


def run_status(results_dir: str | Path) -> str:
    """The folder's summary status ("completed", "aborted", "failed", "running", ...).

    Raises UnjudgeableRun when experiment.json, which says what was planned (faults,
    steady window, invariants), is missing or unreadable: nothing can be judged without it.
    """
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise FileNotFoundError(f"{results_dir}: no such results folder")
    path = results_dir / "experiment.json"
    try:
        experiment = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UnjudgeableRun(f"{path}: missing; without it no window or fault is known, "
                             "so nothing can be judged") from None
    except (OSError, ValueError) as exc:
        raise UnjudgeableRun(f"{path}: unreadable ({type(exc).__name__}: {exc}); "
                             "nothing can be judged without it") from None
    if not isinstance(experiment, dict):
        raise UnjudgeableRun(f"{path}: expected a JSON object, got {type(experiment).__name__}")
    try:
        summary = json.loads((results_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "unknown (summary.json missing or unreadable)"
    return str(summary.get("status") if isinstance(summary, dict) else None)


def partial_note(status: str) -> str:
    return f"(partial run: {status})"


def judge_results(results_dir: str | Path, experiment_path: str | Path | None = None,
                  partial: bool = False) -> list[Verdict]:
    """Judge the folder with its own invariants, or those of `experiment_path`; write verdicts.json.

    A run that did not complete (status not in JUDGEABLE) is refused unless `partial`,
    and then every verdict says so; see `unapplied_faults` for faults that never happened.
    """
    results_dir = Path(results_dir)
    status = run_status(results_dir)
    result = RunResult.load(results_dir)
    if status not in JUDGEABLE and not partial:
        error = result.summary.get("error")
        raise UnjudgeableRun(
            f"{results_dir}: the run did not complete (status {status}"
            f"{': ' + str(error) if error else ''}); its windows hold less than planned. "
            "Judge it anyway with --partial")
    if experiment_path is not None:
        entries = load_invariants(experiment_path)
    else:
        entries = list(result.experiment.get("invariants") or [])
    verdicts = [unapplied_faults(result, entry, verdict)
                for entry, verdict in zip(entries, judge_run(result, entries), strict=True)]
    if status not in JUDGEABLE:
        for verdict in verdicts:
            verdict.reason = f"{verdict.reason} {partial_note(status)}"
    write_verdicts(results_dir, verdicts, result.summary, experiment_path,
                   partial=status if status not in JUDGEABLE else None)
    return verdicts


def fault_references(entry: dict[str, Any]) -> list[tuple[str, bool]]:
    """(fault name, whether its heal is needed) for each fault an invariant entry names:
    `fault: X`, `window: during:X`, `after:X[:30s]`."""
    refs: list[tuple[str, bool]] = []
    for key, value in entry.items():
        if not isinstance(value, str):
            continue
        if key == "fault":
            refs.append((value, True))
        elif value.startswith("during:"):
            refs.append((value.split(":")[1], False))
        elif value.startswith("after:"):
            refs.append((value.split(":")[1], True))
    return refs


def unapplied_faults(result: RunResult, entry: dict[str, Any], verdict: Verdict) -> Verdict:
    """The verdict, or a failing one when the entry's window belongs to a fault that was
    never applied (or whose heal was never recorded): judged on the planned times instead,
    it would pass on the absence of any fault."""
    faults = {f.name: f for f in result.faults}
    for name, needs_heal in fault_references(entry):
        fault = faults.get(name)
        if fault is None:
            continue  # an unknown name: the invariant's own judging says so
        if fault.start is None:
            why = f"fault {name!r} was never applied" + (f" ({fault.error})" if fault.error else "")
        elif needs_heal and fault.end is None:
            why = f"fault {name!r} was applied but its heal was never recorded"
        else:
            continue
        return Verdict(verdict.invariant, verdict.id, verdict.window, False, None,
                       verdict.bound, verdict.unit,
                       f"not judged: {why}, so its window shows no fault to survive")
    return verdict


def write_verdicts(results_dir: Path, verdicts: list[Verdict], summary: dict[str, Any],
                   experiment_path: str | Path | None = None, partial: str | None = None) -> Path:
    """verdicts.json; `partial` is the status of a run judged with --partial."""
    path = Path(results_dir) / files.VERDICTS
    data = {
        "judged_at": time.time(),
        "experiment": str(experiment_path) if experiment_path else None,
        "status": summary.get("status"),
        "partial": partial,
        "exit_code": exit_code(verdicts, summary),
        "verdicts": [v.to_dict() for v in verdicts],
    }
    write_atomic(path, json.dumps(data, indent=1) + "\n")
    return path


def read_verdicts(results_dir: str | Path) -> list[Verdict] | None:
    """verdicts.json of a folder, or None when it was never judged."""
    path = Path(results_dir) / "verdicts.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return [Verdict.from_dict(v) for v in data.get("verdicts", [])]


def exit_code(verdicts: list[Verdict], summary: dict[str, Any] | None = None) -> int:
    """0 all passed, 1 an invariant failed, 2 the run was aborted by a halt condition."""
    if (summary or {}).get("status") == "aborted":
        return ExitCode.HALTED
    failed = any(not v.passed for v in verdicts)
    return ExitCode.INVARIANT_FAILED if failed else ExitCode.PASSED


def print_verdicts(verdicts: list[Verdict], file: IO[str] | None = None,
                   title: str | None = None, partial: str | None = None) -> None:
    """The verdict table; reasons of failures under it, since they carry the numbers.

    `partial`: the status of a run judged with --partial, said on every verdict line."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(file=file, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = 160  # CI logs: no folding of ids and windows
    if not verdicts:
        console.print("no invariants to judge (the experiment lists none)")
        return
    table = Table(title=title)
    for column in ("invariant", "window", "measured", "bound"):
        table.add_column(column, overflow="fold")
    table.add_column("result")
    note = f" {partial_note(partial)}" if partial else ""
    for v in verdicts:
        mark = "[green]pass[/]" if v.passed else "[bold red]FAIL[/]"
        table.add_row(escape(v.id), escape(v.window), v.measured_text(), v.bound_text(),
                      mark + escape(note))
    console.print(table)
    failed = [v for v in verdicts if not v.passed]
    for v in failed:  # the reason already ends with the partial note
        console.print(f"[red]FAIL[/] {escape(v.id)}: {escape(v.reason)}")
    console.print(f"{len(verdicts) - len(failed)} passed, {len(failed)} failed{escape(note)}")
