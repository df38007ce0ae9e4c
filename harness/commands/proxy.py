"""`stampede proxy`: run the Toxiproxy-compatible fault proxy standalone."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommands to the `stampede` parser."""
    from harness.proxy.serve import add_arguments

    parser = subparsers.add_parser(
        "proxy",
        help="run the fault proxy (Toxiproxy v2 API) standalone",
        description="Serve the Toxiproxy v2 API and its TCP proxies, like toxiproxy-server. "
        "Ctrl-C or SIGTERM stops it, closing every listener and connection.",
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from harness.proxy.serve import main

    return main(args.host, args.port, args.config, args)
