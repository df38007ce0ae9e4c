"""`stampede explore FILE`: search one value of an experiment for the resilience margin."""

from __future__ import annotations

import argparse
import sys

from harness.exit_codes import ExitCode


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommand to the `stampede` parser."""
    parser = subparsers.add_parser(
        "explore", help="search the value an experiment breaks at (its explore: block)",
        description="Run the experiment again and again, changing the value its explore: block "
                    "names, to find the largest value that passes every invariant (the margin). "
                    "Exit status: 0 a margin of at least explore.require, 1 below it or nothing "
                    "passes, 2 a probe was halted, 3 bad input or the stack failed, 128+N "
                    "stopped by signal N.")
    parser.add_argument("file", help="experiment file with an explore: block (YAML)")
    parser.add_argument("--out", default="results",
                        help="parent folder of the explore folder <UTC time>-explore-<name>/ "
                             "(default: results)")
    parser.add_argument("--time-scale", type=float, default=None, metavar="X",
                        help="multiply every schedule time of the file (overrides its time_scale)")
    parser.add_argument("--flaw", action="append", default=None, metavar="NAME",
                        help="search against the reference shop with this flaw instead of the "
                             "file's target.flaws (repeatable; `--flaw none` for the sound shop)")
    parser.set_defaults(func=explore_command)


def explore_command(args: argparse.Namespace) -> int:
    from harness.explore.run import explore

    if args.time_scale is not None and args.time_scale <= 0:
        print("stampede explore: --time-scale must be positive, e.g. 0.25", file=sys.stderr)
        return ExitCode.BAD_INPUT
    flaws = None if args.flaw is None else [f for f in args.flaw if f != "none"]
    return explore(args.file, out_dir=args.out, time_scale=args.time_scale, flaws=flaws).exit_code
