"""The `stampede` command: one subcommand per module in harness.commands.

Subcommand modules import their heavy parts (Locust, the proxy) only when run,
because importing Locust monkey-patches the process for gevent.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = (
    "harness.commands.run",
    "harness.commands.plan",
    "harness.commands.faults",
    "harness.commands.verdicts",
    "harness.commands.proxy",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stampede",
        description="Chaos and load testing for cache-backed services.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
