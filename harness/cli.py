"""The `stampede` command: one subcommand per module in harness.commands.

Subcommand modules import their heavy parts (Locust, the proxy) only when run,
because importing Locust monkey-patches the process for gevent.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

from harness.exit_codes import ExitCode


class Parser(argparse.ArgumentParser):
    """argparse, but bad usage exits 3 (bad input): 2 means a halted run to CI jobs."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(ExitCode.BAD_INPUT, f"{self.prog}: error: {message}\n")


COMMAND_MODULES = (
    "harness.commands.run",
    "harness.commands.plan",
    "harness.commands.explore",
    "harness.commands.faults",
    "harness.commands.verdicts",
    "harness.commands.proxy",
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="stampede",
        description="Chaos and load testing for cache-backed services.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                       parser_class=Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
