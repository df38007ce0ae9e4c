"""The search's runs: one embedded stack for all of them, one run folder per probe.

The stack starts once; before every probe but the first it is reset to its start state
(harness.explore.reset), so a probe costs its load window, not a restart. Each probe is an
ordinary `Run` on that stack, judged and reported like `stampede run` does, in
`<explore folder>/probe-NN-<value>/`.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from harness.exit_codes import ExitCode, signal_exit
from harness.experiment.model import EmbeddedTarget
from harness.explore.reset import StartState, reset, snapshot
from harness.explore.search import Search
from harness.explore.setup import Explore
from harness.invariants.verdict import Verdict
from harness.load.launcher import MasterOptions
from harness.progress import Progress
from harness.results import files
from harness.results.writer import RunWriter
from harness.runner import STOP_SIGNALS, Interrupted, Run
from harness.stack.base import StackError
from harness.stack.embedded import EmbeddedStack
from harness.target_service import target_service


@dataclass
class Probe:
    """One run of the search: the value, what came of it, and where its folder is."""

    n: int
    value: float
    passed: bool
    status: str  # completed | aborted | failed
    results_dir: Path
    verdicts: list[Verdict] = field(default_factory=list)
    exit_code: int = 0  # the run's own, as `stampede run` would exit
    error: str | None = None
    seconds: float = 0.0  # wall time of the probe, reset included

    @property
    def first_broken(self) -> Verdict | None:
        """The first failing invariant in the order the file lists them."""
        return next((v for v in self.verdicts if not v.passed), None)


@dataclass
class SearchOutcome:
    probes: list[Probe]
    search: Search
    exit_code: int  # set when the search stopped early: halted (2), bad stack (3), signal
    error: str | None = None
    stack_seconds: float = 0.0  # starting the stack and recording its start state


def broken_text(v: Verdict) -> str:
    """`latency_bounded 1,240 ms > 500 ms`: what broke, with its numbers."""
    if v.measured is None or v.bound is None:
        return f"{v.id}: {v.reason}"
    sign = ">" if v.measured > v.bound else "<" if v.measured < v.bound else "="
    return f"{v.id} {v.measured_text()} {sign} {v.bound_text()}"


def run_probe(explore: Explore, n: int, value: float, folder: Path, stack: EmbeddedStack,
              progress: Progress, master: MasterOptions | None) -> Probe:
    """One probe: the experiment at `value` on the running stack, judged and reported."""
    from harness.report import write_report
    from harness.verdicts import judge_results

    experiment = explore.experiment_at(value)
    path = folder / f"probe-{n:02d}-{value:g}"
    (path / files.LOGS).mkdir(parents=True)
    name = experiment.name or explore.name
    writer = RunWriter(path, name)
    writer.write_experiment(explore.path, experiment.resolved())
    outcome = Run(experiment, writer, progress, master, stack=stack).execute()
    _mark_probe(path / files.EXPERIMENT, {"vary": explore.spec.vary, "value": value, "probe": n})
    verdicts: list[Verdict] = []
    if outcome.status in ("completed", "aborted"):
        verdicts = judge_results(path)
        write_report(path)
    passed = outcome.status == "completed" and all(v.passed for v in verdicts)
    return Probe(n, value, passed, outcome.status, path, verdicts, outcome.exit_code,
                 outcome.error)


def _mark_probe(path: Path, explore: dict[str, object]) -> None:
    """Say in the run's experiment.json which probe of which search it was (the run wrote
    the file last, with the stack's addresses)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    path.write_text(json.dumps(data | {"explore": explore}, indent=2) + "\n")


def search(explore: Explore, folder: Path, progress: Progress,
           master: MasterOptions | None = None,
           say: Callable[[str], None] = print) -> SearchOutcome:
    """Start the stack, probe until the search stands or the budget is spent, stop the stack.

    SIGINT, SIGTERM, SIGHUP and SIGQUIT between probes stop the search the way they stop a
    run (inside a probe, the run's own handlers roll its faults back first)."""
    spec = explore.spec
    state = Search(spec.from_, spec.to, spec.resolution, spec.max_probes)
    outcome = SearchOutcome([], state, int(ExitCode.PASSED))

    def interrupted(signum: int, _frame: FrameType | None) -> None:
        raise Interrupted(signum)

    main = threading.current_thread() is threading.main_thread()  # only it may set handlers
    previous = {s: signal.signal(s, interrupted) for s in STOP_SIGNALS} if main else {}
    target = explore.experiment_at(spec.from_).target
    assert isinstance(target, EmbeddedTarget)  # load_explore refuses the others
    stack = EmbeddedStack(folder / files.LOGS, flaws=target.flaws, options=target.options,
                          service=target_service(target.service))
    try:
        started = time.monotonic()
        say(f"starting the embedded stack once for the whole search (logs: {folder / files.LOGS})")
        stack.start()
        start_state: StartState = snapshot(stack)
        outcome.stack_seconds = time.monotonic() - started
        for n in range(1, spec.max_probes + 1):
            step = state.next_step()
            if step is None:
                break
            value = state.value(step)
            began = time.monotonic()
            if n > 1:
                for note in reset(stack, start_state):
                    say(note)
            say(f"\n== probe {n}/{spec.max_probes}: {explore.spec.vary} = {explore.show(value)}")
            probe = run_probe(explore, n, value, folder, stack, progress, master)
            probe.seconds = round(time.monotonic() - began, 1)
            outcome.probes.append(probe)
            if probe.status == "completed":  # a halted or broken run says nothing of the value
                state.record(step, probe.passed)
            broken = probe.first_broken
            say(f"probe {n}: {explore.show(value)} "
                + ("passed" if probe.passed else f"FAILED ({probe.status}"
                   + (f": {broken_text(broken)})" if broken else ")")))
            if probe.status == "aborted":
                outcome.exit_code = int(ExitCode.HALTED)
                outcome.error = f"probe {n} was halted by a halt condition; the search stops"
                break
            if probe.status == "failed":
                signalled = probe.exit_code >= 128
                outcome.exit_code = probe.exit_code if signalled else int(ExitCode.BAD_INPUT)
                outcome.error = f"probe {n} could not run: {probe.error}"
                break
    except Interrupted as exc:
        outcome.exit_code = signal_exit(exc.signum)
        outcome.error = f"interrupted by {exc}"
    except StackError as exc:
        outcome.exit_code = int(ExitCode.BAD_INPUT)
        outcome.error = str(exc)
    except Exception as exc:  # the reset or the stack broke: the probes so far still count
        outcome.exit_code = int(ExitCode.BAD_INPUT)
        outcome.error = f"{type(exc).__name__}: {exc}"
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        stack.stop()
    return outcome
