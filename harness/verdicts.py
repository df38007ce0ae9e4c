"""Judge a results folder: the verdicts, the table a person reads, the exit code CI reads.

`stampede run` calls these at the end of every run; `stampede check` calls them on a stored
folder, optionally with another experiment file's invariants and bounds.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import IO, Any

from harness.invariants.registry import judge, unique_ids
from harness.invariants.verdict import Verdict
from harness.results import files
from harness.results.atomic import write_atomic
from harness.results.run_result import RunResult

EXIT_PASSED, EXIT_FAILED, EXIT_ABORTED = 0, 1, 2


def load_invariants(experiment_path: str | Path) -> list[dict[str, Any]]:
    """The `invariants:` list of an experiment file, validated by harness.experiment."""
    try:
        from harness.experiment import load_experiment
    except ImportError:  # the schema package is optional for re-judging
        import yaml

        data = yaml.safe_load(Path(experiment_path).read_text()) or {}
        return list(data.get("invariants") or [])
    return list(load_experiment(experiment_path).resolved().get("invariants") or [])


def judge_run(result: RunResult, entries: list[dict[str, Any]]) -> list[Verdict]:
    return [judge(result, entry, id=vid) for entry, vid in zip(entries, unique_ids(entries), strict=True)]


def judge_results(results_dir: str | Path, experiment_path: str | Path | None = None) -> list[Verdict]:
    """Judge the folder with its own invariants, or those of `experiment_path`; write verdicts.json."""
    results_dir = Path(results_dir)
    result = RunResult.load(results_dir)
    if experiment_path is not None:
        entries = load_invariants(experiment_path)
    else:
        entries = list(result.experiment.get("invariants") or [])
    verdicts = judge_run(result, entries)
    write_verdicts(results_dir, verdicts, result.summary, experiment_path)
    return verdicts


def write_verdicts(results_dir: Path, verdicts: list[Verdict], summary: dict[str, Any],
                   experiment_path: str | Path | None = None) -> Path:
    path = Path(results_dir) / files.VERDICTS
    data = {
        "judged_at": time.time(),
        "experiment": str(experiment_path) if experiment_path else None,
        "status": summary.get("status"),
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
        return EXIT_ABORTED
    return EXIT_FAILED if any(not v.passed for v in verdicts) else EXIT_PASSED


def print_verdicts(verdicts: list[Verdict], file: IO[str] | None = None,
                   title: str | None = None) -> None:
    """The verdict table; reasons of failures under it, since they carry the numbers."""
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
    for v in verdicts:
        mark = "[green]pass[/]" if v.passed else "[bold red]FAIL[/]"
        table.add_row(escape(v.id), escape(v.window), v.measured_text(), v.bound_text(), mark)
    console.print(table)
    failed = [v for v in verdicts if not v.passed]
    for v in failed:
        console.print(f"[red]FAIL[/] {escape(v.id)}: {escape(v.reason)}")
    console.print(f"{len(verdicts) - len(failed)} passed, {len(failed)} failed")
