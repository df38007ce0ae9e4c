"""`stampede run`, `stampede up` and `stampede worker`: running experiments and their parts."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this module's subcommands to the `stampede` parser."""
    run = subparsers.add_parser(
        "run", help="run an experiment file: stack, load, faults, results, verdicts",
        description="Run one experiment. Exit status: 0 every invariant passed, 1 an invariant "
                    "failed, 2 aborted by a halt condition, 3 bad input or the stack failed "
                    "to start, 128+N stopped by signal N.")
    run.add_argument("file", help="experiment file (YAML)")
    run.add_argument("--out", default="results",
                     help="parent folder of the run folder <UTC time>-<name>/ (default: results)")
    run.add_argument("--time-scale", type=float, default=None,
                     help="multiply every time in the file (0.25: a 2-minute run in 30 s)")
    run.add_argument("--workers", type=int, default=None,
                     help="local Locust worker processes (default: load.workers of the file)")
    run.add_argument("--target", default=None, metavar="FILE",
                     help="target file whose target, proxies and allowed_hosts replace the "
                          "experiment's (same experiment against compose or staging)")
    run.add_argument("--flaw", action="append", default=None, metavar="NAME",
                     help="run against the reference shop with this flaw instead of the file's "
                          "target.flaws (repeatable; `--flaw none` for the sound shop)")
    run.set_defaults(func=_run)

    up = subparsers.add_parser(
        "up", help="start the embedded stack alone and print its addresses (Ctrl-C stops it)")
    up.add_argument("--flaw", action="append", default=[], metavar="NAME",
                    help="switch on a flaw of the reference target (repeatable)")
    up.add_argument("--logs", default=None, help="folder for child logs (default: a temp folder)")
    up.set_defaults(func=_up)

    worker = subparsers.add_parser(
        "worker", help="a Locust worker with the stampede recorder, for a run's master")
    worker.add_argument("--master", required=True, metavar="HOST[:PORT]",
                        help="the master of a `stampede run` (port default 5557)")
    worker.add_argument("--locustfile", default="targets/shop/locustfile.py",
                        help="the locustfile the run uses (default: the reference shop's)")
    worker.set_defaults(func=_worker)


def _run(args: argparse.Namespace) -> int:
    from harness.runner import run_experiment

    if args.workers is not None and args.workers < 1:
        print("stampede run: --workers must be at least 1", file=sys.stderr)
        return 3
    if args.time_scale is not None and args.time_scale <= 0:
        print("stampede run: --time-scale must be positive, e.g. 0.25", file=sys.stderr)
        return 3
    flaws = None if args.flaw is None else [f for f in args.flaw if f != "none"]
    from harness.suites import is_suite, run_suite

    if is_suite(args.file):
        return run_suite(args.file, out_dir=args.out, time_scale=args.time_scale,
                         workers=args.workers, target_file=args.target, flaws=flaws)
    outcome = run_experiment(args.file, out_dir=args.out, time_scale=args.time_scale,
                             workers=args.workers, target_file=args.target, flaws=flaws)
    return outcome.exit_code


def _up(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from harness.stack.embedded import EmbeddedStack, StackError

    log_dir = Path(args.logs or tempfile.mkdtemp(prefix="stampede-up-"))
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stack = EmbeddedStack(log_dir, flaws=args.flaw)
    try:
        stack.start()
    except StackError as exc:
        print(f"stampede up: {exc}", file=sys.stderr)
        return 3
    try:
        print("embedded stack is up (secrets masked; the Redis password is in the file below, "
              "mode 0600):")
        for key, value in stack.addresses().items():
            print(f"  {key:<20} {value}")
        print(f"  {'logs':<20} {log_dir}")
        print("Ctrl-C stops everything.", flush=True)
        while not stop.wait(0.5):
            if stack.target is not None and stack.target.poll() is not None:
                print(f"stampede up: the target exited; see {log_dir / 'target.log'}",
                      file=sys.stderr)
                return 3
    finally:
        stack.stop()
        print("stopped.")
    return 0


def _worker(args: argparse.Namespace) -> int:
    from harness.load.launcher import PLUGIN, resolve_locustfile

    host, _, port = args.master.partition(":")
    try:
        locustfile = resolve_locustfile(args.locustfile, None)
    except FileNotFoundError as exc:
        print(f"stampede worker: {exc}", file=sys.stderr)
        return 3
    argv = [sys.executable, "-m", "locust", "-f", f"{PLUGIN},{locustfile}", "--worker",
            "--master-host", host or "127.0.0.1", "--master-port", port or "5557"]
    sys.stdout.flush()
    os.execv(sys.executable, argv)  # the worker is this process: signals reach Locust directly
    return 0
