"""`stampede check RESULTS_DIR` judges a stored run again; `stampede report RESULTS_DIR` draws it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.exit_codes import ExitCode

PARTIAL_HELP = ("judge a run that did not complete (status failed or running) anyway; "
                "every verdict then says '(partial run: STATUS)'")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = subparsers.add_parser(
        "check", help="judge a stored results folder again (optionally with other bounds)",
        description="Judge the invariants of a stored run; exit 0 all passed, 1 an invariant "
                    "failed, 2 the run was aborted by a halt condition, 3 bad input.")
    check.add_argument("results_dir", metavar="RESULTS_DIR", type=Path)
    check.add_argument("--experiment", metavar="FILE", type=Path,
                       help="judge with this experiment file's invariants and bounds instead")
    check.add_argument("--partial", action="store_true", help=PARTIAL_HELP)
    check.set_defaults(func=check_command)

    report = subparsers.add_parser(
        "report", help="write report.html for a results folder",
        description="Write RESULTS_DIR/report.html: verdicts, charts, fault timeline, violations.")
    report.add_argument("results_dir", metavar="RESULTS_DIR", type=Path)
    report.add_argument("--partial", action="store_true", help=PARTIAL_HELP)
    report.set_defaults(func=report_command)


def check_command(args: argparse.Namespace) -> int:
    from harness.results import RunResult
    from harness.verdicts import JUDGEABLE, exit_code, judge_results, print_verdicts, run_status

    try:
        verdicts = judge_results(args.results_dir, args.experiment, partial=args.partial)
        summary = RunResult.load(args.results_dir).summary
        status = run_status(args.results_dir)
    except (FileNotFoundError, ValueError) as exc:
        print(f"stampede check: {exc}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    print_verdicts(verdicts, title=f"verdicts: {args.results_dir}",
                   partial=status if status not in JUDGEABLE else None)
    code = exit_code(verdicts, summary)
    if code == 2:
        print(f"run aborted by a halt condition: {summary.get('halt_reason')}")
    return code


def report_command(args: argparse.Namespace) -> int:
    from harness.report import write_report
    from harness.verdicts import JUDGEABLE, run_status

    try:
        status = run_status(args.results_dir)
        if status not in JUDGEABLE and not args.partial:
            raise ValueError(f"{args.results_dir}: the run did not complete (status {status}); "
                             "its windows hold less than planned. Report it anyway with --partial")
        path = write_report(args.results_dir)
    except (FileNotFoundError, ValueError) as exc:
        print(f"stampede report: {exc}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    print(f"report: {path}")
    return ExitCode.PASSED
