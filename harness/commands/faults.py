"""`stampede faults clear`: the emergency brake for a fault proxy."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.faults.state import StateFile


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommands to the `stampede` parser."""
    parser = subparsers.add_parser("faults", help="inspect or clear faults on a fault proxy")
    actions = parser.add_subparsers(dest="faults_command", metavar="ACTION", required=True)
    clear = actions.add_parser(
        "clear", help="remove every toxic and re-enable every proxy (the emergency brake)",
        description="Remove every toxic and re-enable every proxy on the fault proxy API, "
                    "then forget what the state file recorded for it. Without --api: every API "
                    "a run recorded in the state file, else http://127.0.0.1:8474.",
    )
    clear.add_argument("--api", default=None, metavar="URL",
                       help="Toxiproxy API URL (default: from the state file, else http://127.0.0.1:8474)")
    clear.add_argument("--timeout", type=float, default=2.0, help="seconds per API call (default 2)")
    clear.set_defaults(func=clear_command)


def clear_command(args: argparse.Namespace) -> int:
    from harness.faults import DEFAULT_API, FaultClient, FaultError, StateFile, clear_api

    state = StateFile()
    recorded = sorted({entry.get("api_url", "") for entry in state.runs().values()} - {""})
    apis = [args.api.rstrip("/")] if args.api else (recorded or [DEFAULT_API])
    status = 0
    for api in apis:
        client = FaultClient(api, timeout=args.timeout)
        try:
            done = clear_api(client)
        except FaultError as exc:
            if exc.unreachable and not args.api:
                print(f"{api}: fault proxy gone (connection refused), nothing to clear")
                _forget(state, api)
                continue
            print(f"{api}: could not clear: {exc}", file=sys.stderr)
            status = 1
            continue
        finally:
            client.close()
        _forget(state, api)
        for line in done:
            print(f"{api}: {line}")
        if not done:
            print(f"{api}: no toxics, every proxy enabled: nothing to clear")
    return status


def _forget(state: StateFile, api: str) -> None:
    def change(runs: dict[str, dict[str, Any]]) -> None:
        for run_id in [r for r, e in runs.items() if e.get("api_url", "").rstrip("/") == api]:
            del runs[run_id]

    state.update(change)
