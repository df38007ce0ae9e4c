"""`stampede run`, `stampede up` and `stampede worker`: running experiments and their parts."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from harness.exit_codes import ExitCode


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    run.add_argument("--toxiproxy-server", default=None, metavar="PATH",
                     help="embedded stack: run this Toxiproxy server binary (e.g. the real "
                          "toxiproxy-server) instead of the built-in fault proxy")
    dist = run.add_argument_group("distributed load and the live view")
    dist.add_argument("--master-bind", default=None, metavar="HOST",
                      help="address the Locust master listens on for workers (default 127.0.0.1; "
                           "0.0.0.0 lets `stampede worker` on other machines join)")
    dist.add_argument("--master-port", type=int, default=None, metavar="P",
                      help="port of the Locust master (default: a free port; 5557 is Locust's)")
    dist.add_argument("--expect-workers", type=int, default=None, metavar="M",
                      help="start the load once M workers joined (default: --workers; "
                           "more when remote workers join)")
    dist.add_argument("--ui", action="store_true",
                      help="serve Locust's web UI with the Game day tab (fault timeline, "
                           "invariants so far, Halt) while the run goes")
    dist.add_argument("--ui-port", type=int, default=8089, metavar="P",
                      help="port of the live view on 127.0.0.1 (default 8089)")
    run.set_defaults(func=_run)

    up = subparsers.add_parser(
        "up", help="start the embedded stack alone and print its addresses (Ctrl-C stops it)")
    up.add_argument("--flaw", action="append", default=[], metavar="NAME",
                    help="switch on a flaw of the reference target (repeatable)")
    up.add_argument("--logs", default=None, help="folder for child logs (default: a temp folder)")
    up.add_argument("--toxiproxy-server", default=None, metavar="PATH",
                    help="run this Toxiproxy server binary instead of the built-in fault proxy")
    up.set_defaults(func=_up)

    worker = subparsers.add_parser(
        "worker", help="a Locust worker with the stampede recorder, for a run's master")
    worker.add_argument("--master", required=True, metavar="HOST[:PORT]",
                        help="the master of a `stampede run` (port default 5557)")
    worker.add_argument("--locustfile", default="targets/shop/locustfile.py",
                        help="the locustfile the run uses (default: the reference shop's)")
    worker.set_defaults(func=_worker)


def _choose_proxy_server(command: str, path: str | None) -> bool:
    """--toxiproxy-server: checked, then handed to the embedded stack (and any child) by
    $STAMPEDE_PROXY_SERVER. False (after saying why) when it cannot be run."""
    if path is None:
        return True
    from harness.proxy.embedded import STACK_SERVER_ENV

    binary = Path(path).resolve()
    if not binary.is_file() or not os.access(binary, os.X_OK):
        print(f"stampede {command}: --toxiproxy-server {path}: not an executable file", file=sys.stderr)
        return False
    os.environ[STACK_SERVER_ENV] = str(binary)
    return True


def _run(args: argparse.Namespace) -> int:
    if not _choose_proxy_server("run", args.toxiproxy_server):
        return ExitCode.BAD_INPUT
    from harness.load.launcher import MasterOptions
    from harness.ports import LOOPBACK
    from harness.runner import run_experiment

    remote_only = args.expect_workers is not None and args.expect_workers >= 1
    if args.workers is not None and args.workers < (0 if remote_only else 1):
        print("stampede run: --workers must be at least 1 (0 only with --expect-workers M, "
              "for remote workers alone)", file=sys.stderr)
        return ExitCode.BAD_INPUT
    if args.expect_workers is not None and args.expect_workers < max(1, args.workers or 0):
        print("stampede run: --expect-workers must be at least --workers (it counts local and "
              "remote workers)", file=sys.stderr)
        return ExitCode.BAD_INPUT
    for flag, port in (("--master-port", args.master_port), ("--ui-port", args.ui_port)):
        if port is not None and not 0 < port < 65536:
            print(f"stampede run: {flag} must be a port number, 1 to 65535", file=sys.stderr)
            return ExitCode.BAD_INPUT
    master = MasterOptions(bind=args.master_bind or LOOPBACK, port=args.master_port or 0,
                           expect_workers=args.expect_workers,
                           ui_port=args.ui_port if args.ui else None)
    if args.time_scale is not None and args.time_scale <= 0:
        print("stampede run: --time-scale must be positive, e.g. 0.25", file=sys.stderr)
        return ExitCode.BAD_INPUT
    flaws = None if args.flaw is None else [f for f in args.flaw if f != "none"]
    from harness.suites import is_suite, run_suite

    if is_suite(args.file):
        return run_suite(args.file, out_dir=args.out, time_scale=args.time_scale,
                         workers=args.workers, target_file=args.target, flaws=flaws,
                         master=master)
    outcome = run_experiment(args.file, out_dir=args.out, time_scale=args.time_scale,
                             workers=args.workers, target_file=args.target, flaws=flaws,
                             master=master)
    return outcome.exit_code


def _up(args: argparse.Namespace) -> int:
    if not _choose_proxy_server("up", args.toxiproxy_server):
        return ExitCode.BAD_INPUT
    import tempfile
    from pathlib import Path

    from harness.guardian import Guardian
    from harness.stack.embedded import EmbeddedStack, StackError

    log_dir = Path(args.logs or tempfile.mkdtemp(prefix="stampede-up-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        stack = EmbeddedStack(log_dir, flaws=args.flaw)
    except (ValueError, LookupError) as exc:
        print(f"stampede up: --flaw: {exc}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    guardian = Guardian.start(log_dir, log_path=log_dir / "guardian.log")  # a SIGKILL of us
    try:
        stack.start()
    except StackError as exc:  # start() stopped what it had started
        guardian.stand_down()
        print(f"stampede up: {exc}", file=sys.stderr)
        return ExitCode.BAD_INPUT
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
                return ExitCode.BAD_INPUT
    finally:
        stack.stop()
        if problem := guardian.stand_down():
            print(f"stampede up: {problem}", file=sys.stderr)
        print("stopped.")
    return ExitCode.PASSED


def _worker(args: argparse.Namespace) -> int:
    from harness.experiment.locustfile import resolve_locustfile
    from harness.load.launcher import PLUGIN

    host, _, port = args.master.partition(":")
    try:
        locustfile = resolve_locustfile(args.locustfile, None)
    except FileNotFoundError as exc:
        print(f"stampede worker: {exc}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    argv = [sys.executable, "-m", "locust", "-f", f"{PLUGIN},{locustfile}", "--worker",
            "--master-host", host or "127.0.0.1", "--master-port", port or "5557"]
    sys.stdout.flush()
    os.execv(sys.executable, argv)  # the worker is this process: signals reach Locust directly
    return ExitCode.PASSED
