"""Suites: experiment files run one after another, with pauses, judged into one matrix.

A suite file (YAML) is what a nightly job, a game-day facilitator or a pre-launch review
runs with `stampede run SUITE`:

    name: nightly
    description: the CI subset, time-scaled
    time_scale: 0.3                   # default for every entry (--time-scale wins)
    experiments:
      - ../redis_outage.yaml          # a path, relative to the suite file
      - {file: ../db_outage.yaml, time_scale: 0.5, flaws: [no_stale_fallback]}
      - {pause: 2m, message: "Look at the breaker chart before we go on"}
      - {explore: ../explore/redis_latency_margin.yaml}   # a search: its margin in the matrix

Every experiment file is validated before the first one starts, so a typo in the tenth
entry costs nothing. Each experiment gets its own run folder inside the suite folder
`<out>/<UTC time>-suite-<name>/`, its verdict table, and at the end the suite prints the
scenario x invariant matrix (the chapter's "Failure Handling Matrix") and writes it into
every run's report.html and into the suite folder's report.html and suite.json.
"""

from __future__ import annotations

import json
import select
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

from harness.exit_codes import ExitCode
from harness.experiment.yamlmarks import load_marked
from harness.results import files
from harness.results.atomic import write_atomic
from harness.suite_schema import PauseEntry, RunEntry, SuiteFile, Where, validate


class SuiteError(ValueError):
    """A bad suite file: every problem on its own line, as `file:line: field: what to do`."""


@dataclass
class Entry:
    """One step: an experiment file to run, or a pause (`pause` seconds, `file` None)."""

    file: Path | None = None
    name: str = ""
    time_scale: float | None = None
    flaws: list[str] | None = None
    pause: float | None = None
    message: str = ""
    explore: bool = False  # `stampede explore` the file (docs/explore.md) instead of running it


@dataclass
class Suite:
    name: str
    source: Path
    description: str = ""
    time_scale: float | None = None
    entries: list[Entry] = field(default_factory=list)


@dataclass
class Step:
    """What one experiment of a suite came to."""

    scenario: str
    file: str
    results_dir: Path | None
    status: str
    exit_code: int
    verdicts: list[Any] = field(default_factory=list)
    margin: str | None = None  # an explore entry: its margin and where it fails


def is_suite(path: str | Path) -> bool:
    """A YAML mapping with an `experiments:` list and no `load:` is a suite."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, ValueError, yaml.YAMLError):  # ValueError: not UTF-8
        return False  # the experiment loader reports it properly
    return isinstance(data, dict) and "experiments" in data and "load" not in data


def load_suite(path: str | Path) -> Suite:
    """Read and check a suite file and every experiment it names; SuiteError lists every problem."""
    from harness.experiment import ExperimentError, format_path, load_experiment
    from harness.experiment.flaws import set_flaws

    path = Path(path)
    try:
        data, marks, _ = load_marked(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise SuiteError(f"{path}: cannot read the suite: {exc}") from None
    problems: list[str] = []

    def problem(where: Where, message: str) -> None:
        line = marks.get(where) or marks.get(where[:-1]) or marks.get((), 1)
        problems.append(f"{path}:{line}: {format_path(where)}: {message}")

    if not isinstance(data, dict):
        raise SuiteError(f"{path}:1: expected a mapping with name and experiments")
    top, found = validate(SuiteFile, data)
    for at, message in found:
        problem(at, message)
    suite = Suite(name=(top.name if top else "") or path.stem, source=path,
                  description=top.description if top else "",
                  time_scale=top.time_scale if top else None)
    for i, item in enumerate(top.experiments if top else []):
        where: Where = ("experiments", i)
        if isinstance(item, str):
            item = {"file": item}
        if not isinstance(item, dict):
            problem(where, f"expected a file path, {{file: ...}} or {{pause: ...}}, got {item!r}")
            continue
        if "pause" in item:
            pause, found = validate(PauseEntry, item, where, "Valid fields here")
            for at, message in found:
                problem(at, message)
            if pause is not None:
                suite.entries.append(Entry(pause=pause.pause, message=pause.message))
            continue
        run, found = validate(RunEntry, item, where, "Valid fields here")
        for at, message in found:
            problem(at, message)
        if run is None:
            continue
        if run.file and run.explore:
            problem(where, "give `file` (run it) or `explore` (search it), not both")
            continue
        key, named = ("explore", run.explore) if run.explore else ("file", run.file)
        if not named:
            problem((*where, "file"), "missing: the experiment file to run (or `explore:`)")
            continue
        file = (path.parent / named).resolve()
        entry = Entry(file=file, time_scale=run.time_scale, explore=key == "explore")
        if not file.is_file():
            problem((*where, key),
                    f"{named} not found (paths are relative to the suite file's folder)")
            continue
        try:
            experiment = load_experiment(file)
            if entry.explore:
                from harness.explore.setup import load_explore

                entry.name = load_explore(file, flaws=run.flaws).name
        except ExperimentError as exc:
            problem((*where, key), f"{named} is not a valid experiment:\n{exc}")
            continue
        entry.name = entry.name or experiment.name or file.stem
        if run.flaws is not None:
            try:  # the flaws of the service this experiment starts
                entry.flaws = set_flaws(experiment, run.flaws, named)
            except ValueError as exc:
                problem((*where, "flaws"), str(exc).removeprefix(f"{named}: --flaw: "))
        suite.entries.append(entry)
    if problems:
        raise SuiteError(f"{path}: {len(problems)} problem{'s' * (len(problems) > 1)}\n"
                         + "\n".join(problems))
    return suite


def wait_pause(seconds: float, message: str, out: IO[str] = sys.stdout,
               stdin: IO[str] | None = None, resume: threading.Event | None = None) -> None:
    """A pause: on a terminal, Enter ends it early; elsewhere (CI) it just waits its duration.
    `resume` (the live view's "Next experiment" button) ends it early too."""
    stdin = sys.stdin if stdin is None else stdin
    interactive = stdin.isatty()
    hint = " (Enter to go on)" if interactive else ""
    out.write(f"pause {seconds:g}s{hint}{': ' + message if message else ''}\n")
    out.flush()
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if resume is not None and resume.is_set():
            return
        if not interactive:
            if resume is not None:
                resume.wait(min(left, 1.0))
            else:
                time.sleep(min(left, 1.0))
            continue
        ready, _, _ = select.select([stdin], [], [], min(left, 1.0))
        if ready:
            stdin.readline()
            return


def scenario_name(experiment_name: str, flaws: list[str] | None) -> str:
    return experiment_name + "".join(f" +{f}" for f in flaws or [])


def matrix_of(steps: list[Step]) -> dict[str, list[Any]]:
    """scenario -> verdicts, as harness.report.write_report takes it (a repeated name gets #2)."""
    matrix: dict[str, list[Any]] = {}
    for step in steps:
        name, n = step.scenario, 2
        while name in matrix:
            name, n = f"{step.scenario} #{n}", n + 1
        matrix[name] = step.verdicts
    return matrix


def print_matrix(steps: list[Step], file: IO[str] | None = None) -> None:
    """Scenario rows, invariant columns: pass, FAIL (any of that name failed), or blank."""
    from rich.console import Console
    from rich.table import Table

    columns: list[str] = []
    for step in steps:
        for v in step.verdicts:
            if v.invariant not in columns:
                columns.append(v.invariant)
    console = Console(file=file, highlight=False, soft_wrap=True)
    if not console.is_terminal:  # CI logs: wide enough that no scenario name is cut
        console.width = max(120, 24 + max((len(s.scenario) for s in steps), default=10)
                            + 11 * len(columns))
    table = Table(title="Failure handling matrix")
    table.add_column("scenario", no_wrap=True)
    table.add_column("run", no_wrap=True)
    for name in columns:
        table.add_column(name.replace("_", " "), justify="center", min_width=4)
    margins = any(step.margin is not None for step in steps)
    if margins:
        table.add_column("margin")
    for step, scenario in zip(steps, matrix_of(steps), strict=True):
        cells = []
        for name in columns:
            mine = [v for v in step.verdicts if v.invariant == name]
            cells.append("" if not mine else "[green]pass[/]" if all(v.passed for v in mine)
                         else "[bold red]FAIL[/]")
        run = step.status if step.exit_code in (ExitCode.PASSED, ExitCode.INVARIANT_FAILED) else (
            f"[bold red]{step.status} ({step.exit_code})[/]")
        table.add_row(scenario, run, *cells, *([step.margin or ""] if margins else []))
    console.print(table)


def suite_exit_code(steps: list[Step]) -> int:
    """The worst of the runs: 3 a run could not start, 2 halted, 1 an invariant failed, 0 all passed."""
    codes = [s.exit_code for s in steps]
    for code in (ExitCode.BAD_INPUT, ExitCode.HALTED, ExitCode.INVARIANT_FAILED):
        if code in codes:
            return code
    return max(codes, default=ExitCode.PASSED)


def write_suite_files(suite_dir: Path, suite: Suite, steps: list[Step]) -> Path | None:
    """suite.json, the matrix in every run's report, and the suite's own report.html."""
    from harness.report import write_report

    matrix = matrix_of(steps)
    margins = {scenario: step.margin for step, scenario in zip(steps, matrix, strict=True)
               if step.margin is not None}
    data = {"name": suite.name, "source": str(suite.source), "exit_code": suite_exit_code(steps),
            "steps": [{"scenario": s.scenario, "file": s.file, "status": s.status,
                       "exit_code": s.exit_code, "margin": s.margin,
                       "results": str(s.results_dir) if s.results_dir else None,
                       "verdicts": [v.to_dict() for v in s.verdicts]} for s in steps]}
    write_atomic(suite_dir / files.SUITE, json.dumps(data, indent=1) + "\n")
    report = None
    for step in steps:
        if step.results_dir is not None and (step.results_dir / files.SUMMARY).exists():
            report = write_report(step.results_dir, matrix=matrix, margins=margins)
    if report is not None:  # the last run's report, which now carries the whole matrix
        shutil.copyfile(report, suite_dir / "report.html")
        return suite_dir / "report.html"
    return None


def plan_suite(path: str | Path, time_scale: float | None = None, out: IO[str] = sys.stdout) -> int:
    """`stampede plan SUITE`: every entry checked, listed with its time scale and length."""
    from harness.experiment import load_experiment

    try:
        suite = load_suite(path)
    except SuiteError as exc:
        print(exc, file=sys.stderr)
        return ExitCode.BAD_INPUT
    total = 0.0
    print(f"suite {suite.name}: {len(suite.entries)} steps", file=out)
    for entry in suite.entries:
        scale = time_scale or entry.time_scale or suite.time_scale
        if entry.file is None:
            seconds = (entry.pause or 0.0) * (scale or 1.0)
            print(f"  pause {seconds:g}s  {entry.message}", file=out)
        elif entry.explore:
            from harness.explore.budget import worst_case_seconds
            from harness.explore.setup import load_explore

            search = load_explore(entry.file, time_scale=scale, flaws=entry.flaws)
            seconds = worst_case_seconds(search)
            flaws = "".join(f" +{f}" for f in entry.flaws or [])
            print(f"  explore {entry.name}{flaws}: {search.spec.vary}, at most "
                  f"{search.spec.max_probes} probes, worst case {seconds / 60:.1f} min "
                  f"(time_scale {scale or 1:g})", file=out)
        else:
            seconds = load_experiment(entry.file, time_scale=scale).duration
            flaws = "".join(f" +{f}" for f in entry.flaws or [])
            print(f"  {entry.name}{flaws}: {seconds:g}s of load (time_scale {scale or 1:g})", file=out)
        total += seconds
    print(f"total {total / 60:.1f} min, plus stack start and stop (about 15 s a run)", file=out)
    return ExitCode.PASSED


def _explore_step(entry: Entry, suite_dir: Path, scale: float | None,
                  flaws: list[str] | None) -> Step:
    """An explore entry: the search, as a matrix row whose cell is its margin."""
    from harness.explore.output import margin_of
    from harness.explore.run import explore

    assert entry.file is not None
    result = explore(entry.file, out_dir=suite_dir, time_scale=scale, flaws=flaws)
    margin = None
    if result.explore is not None and result.outcome is not None:
        low, high = margin_of(result.outcome)
        show = result.explore.show
        margin = (f"{show(low) if low is not None else 'none'}"
                  + (f" (fails at {show(high)})" if high is not None else " (no failure)"))
    status = "completed" if result.exit_code in (ExitCode.PASSED, ExitCode.INVARIANT_FAILED) else "failed"
    return Step(scenario_name(f"{entry.name} (explore)", flaws), str(entry.file), result.folder,
                status, result.exit_code, [], margin)


def run_suite(path: str | Path, *, out_dir: str | Path = "results", time_scale: float | None = None,
              workers: int | None = None, target_file: str | Path | None = None,
              flaws: list[str] | None = None, out: IO[str] = sys.stdout,
              master: Any = None) -> int:
    """Run every entry in order; the worst exit code of the runs (3 for a bad suite, nothing run).

    Time scale: `time_scale` (the command line) wins over the entry's, then the suite's, then
    the experiment file's own; pauses are scaled the same way. A run stopped by a signal
    stops the suite there.
    """
    from harness.results.writer import new_run_dir
    from harness.runner import run_experiment

    try:
        suite = load_suite(path)
    except SuiteError as exc:
        print(f"stampede run: {exc}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    suite_dir = new_run_dir(out_dir, f"suite-{suite.name}")
    steps: list[Step] = []
    runs = [e for e in suite.entries if e.file is not None]
    done = 0
    for entry in suite.entries:
        scale = time_scale or entry.time_scale or suite.time_scale
        if entry.file is None:
            ui_port = getattr(master, "ui_port", None)
            if ui_port is None:
                wait_pause((entry.pause or 0.0) * (scale or 1.0), entry.message, out)
                continue
            from harness.live.pause import serve_pause

            seconds = (entry.pause or 0.0) * (scale or 1.0)
            upcoming = next((e.file.name for e in suite.entries[suite.entries.index(entry) + 1:]
                             if e.file is not None), "the end of the suite")
            with serve_pause(ui_port, entry.message, seconds, upcoming) as resume:
                out.write(f"live view: http://127.0.0.1:{ui_port}/ has the Next experiment button\n")
                wait_pause(seconds, entry.message, out, resume=resume)
            continue
        done += 1
        print(f"\n== {suite.name} {done}/{len(runs)}: {entry.file.name}"
              f"{' (time scale ' + format(scale, 'g') + ')' if scale else ''}", file=out, flush=True)
        chosen = flaws if flaws is not None else entry.flaws
        if entry.explore and target_file is not None:
            print(f"skipped: searching {entry.file.name} needs the embedded target (it resets "
                  "the stack between probes), not --target", file=out)
            steps.append(Step(scenario_name(f"{entry.name} (explore)", chosen), str(entry.file),
                              None, "skipped", ExitCode.PASSED, [], "not searched: --target"))
            continue
        if entry.explore:
            steps.append(_explore_step(entry, suite_dir, scale, chosen))
            if steps[-1].exit_code >= 128:
                print(f"stampede run: suite {suite.name} stopped after {entry.file.name}",
                      file=sys.stderr)
                break
            continue
        outcome = run_experiment(entry.file, out_dir=suite_dir, time_scale=scale,
                                 workers=workers, target_file=target_file, flaws=chosen,
                                 master=master)
        steps.append(Step(scenario_name(entry.name, chosen), str(entry.file), outcome.results_dir,
                          outcome.status, outcome.exit_code, list(outcome.verdicts)))
        if outcome.exit_code >= 128:
            print(f"stampede run: suite {suite.name} stopped after {entry.file.name}", file=sys.stderr)
            break
    print("", file=out)
    print_matrix(steps, file=out)
    report = write_suite_files(suite_dir, suite, steps)
    print(f"suite results: {suite_dir}" + (f" (report: {report})" if report else ""), file=out)
    codes = [s.exit_code for s in steps]
    return next((c for c in codes if c >= 128), suite_exit_code(steps))
