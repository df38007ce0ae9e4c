"""`stampede run`: one experiment from file to results folder, with guaranteed rollback.

The orchestrator (this process) never generates load: it starts the stack, a Locust
master and N workers as children, and runs the fault schedule, the 1 Hz collectors and
the halt checks in its own threads, so fault timing is not smeared by a saturated
gevent loop. SIGINT, SIGTERM, SIGHUP and SIGQUIT become an orderly stop: faults rolled
back, Locust stopped, the stack stopped in reverse order, summary.json written. For the
exits it cannot handle (SIGKILL), a guardian process cleans up instead (harness.guardian).
"""

from __future__ import annotations

import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

from harness.exit_codes import ExitCode, signal_exit
from harness.experiment import ExperimentError, ProxySetupError, load_experiment, prepare_proxies
from harness.experiment.flaws import set_flaws
from harness.experiment.hosts import check_before_start, check_reachable
from harness.experiment.model import Experiment
from harness.faults import FaultClient, FaultSchedule, Rollback
from harness.guardian import Guardian
from harness.halts import Halts, WorkerLoss
from harness.invariants.verdict import Verdict
from harness.load.launcher import LocustProcesses, MasterOptions, locust_for
from harness.metrics.collectors import collectors_for
from harness.ports import LOOPBACK
from harness.progress import Progress, Status
from harness.report import write_report
from harness.results import files, jsonl
from harness.results.writer import RunWriter, new_run_dir
from harness.signals.source import prometheus_collector
from harness.stack.base import Stack, StackError
from harness.stack.for_target import stack_for
from harness.verdicts import judge_results, print_verdicts
from harness.writes import check_writes

LOAD_START_TIMEOUT = 90.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


@dataclass
class RunOutcome:
    results_dir: Path | None
    status: str  # completed | aborted | failed
    exit_code: int
    error: str | None = None
    verdicts: list[Verdict] = field(default_factory=list)


class Interrupted(Exception):
    """A signal asked the run to stop."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Run:
    """The state of one run; `execute()` does it all and never leaves a fault or a process.

    Given a started `stack`, the run uses it and leaves it running (the caller stops it):
    `stampede explore` starts one stack for all its probes.
    """

    def __init__(self, experiment: Experiment, writer: RunWriter, progress: Progress,
                 master: MasterOptions | None = None, stack: Stack | None = None) -> None:
        self.experiment = experiment
        self.master = master or MasterOptions()
        self.writer = writer
        self.dir = writer.path
        self.progress = progress
        self.stop = threading.Event()
        self.stack: Stack | None = stack
        self.owns_stack = stack is None
        self.locust: LocustProcesses | None = None
        self.schedule: FaultSchedule | None = None
        self.rollback: Rollback | None = None
        self.guardian: Guardian | None = None
        self.schedule_thread: threading.Thread | None = None
        self.collector_threads: list[threading.Thread] = []
        self.halts = Halts(self.dir, experiment.halt, experiment.load.halt_on_worker_loss)
        self.halt: str | None = None
        self._raise_on_signal = True
        self._signal: int | None = None
        self.load_end_t: float | None = None

    # signals -------------------------------------------------------------------
    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.stop.set()
        if self._signal is None:
            self._signal = signum
            if self._raise_on_signal:
                raise Interrupted(signum)

    def _install_signals(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        return {s: signal.signal(s, self._on_signal) for s in STOP_SIGNALS}

    # the run ----------------------------------------------------------------------
    def execute(self) -> RunOutcome:
        previous = self._install_signals()
        try:
            status, exit_code, error = self._run_and_clean_up()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        try:
            self.halts.tail.poll()
            if status == "completed":  # the load ran its planned time (not Locust's wind-down)
                self.load_end_t = self.experiment.duration
            self.writer.emit("run_end", status=status)
            self.writer.finish(status, requests=self.halts.tail.requests,
                               failures=self.halts.tail.failures, halt_reason=self.halt,
                               error=error, duration=self.load_end_t)
        finally:
            self._stand_down_guardian()
        self.writer.close()
        self._compact()
        return RunOutcome(self.dir, status, exit_code, error)

    def _run_and_clean_up(self) -> tuple[str, int, str | None]:
        """Status, exit code and error of the run; whatever happens, cleaned up after."""
        status, exit_code, error = "failed", int(ExitCode.BAD_INPUT), None
        try:
            status = self._run()
            exit_code = ExitCode.HALTED if status == "aborted" else ExitCode.PASSED
        except Interrupted as exc:
            error, exit_code = f"interrupted by {exc}", signal_exit(exc.signum)
        except Exception as exc:  # the stack or the load failed: report, clean up
            clear = StackError | ProxySetupError | FileNotFoundError | LookupError
            error = str(exc) if isinstance(exc, clear) else f"{type(exc).__name__}: {exc}"
            (self.dir / files.LOGS / files.RUNNER_ERROR_LOG).write_text(traceback.format_exc())
        finally:
            self._raise_on_signal = False
            self._cleanup()
        if self._signal is not None and error is None:
            status, error = "failed", f"interrupted by {signal.Signals(self._signal).name}"
            exit_code = signal_exit(self._signal)
        return status, int(exit_code), error

    def _stand_down_guardian(self) -> None:
        """Everything is cleaned up and recorded: the guardian has nothing left to do."""
        if self.guardian is not None:
            problem = self.guardian.stand_down()
            if problem:
                self.progress.message(problem)

    def _compact(self) -> None:
        """Gzip the bulky files (docs/results-format.md), whatever the status, once no one writes.

        A master that would not die may still append: then the files stay plain (readers
        take either form), as they do when compressing fails.
        """
        master = self.locust.master if self.locust is not None else None
        if master is not None and master.poll() is None:
            self.progress.message("results left uncompressed: the Locust master is still running")
            return
        for problem in jsonl.compact(self.dir):
            self.progress.message(problem)

    def _run(self) -> str:
        exp = self.experiment
        self.guardian = Guardian.start(self.dir)  # before any child or fault of the run
        stale = Rollback.recover_stale()  # what a SIGKILLed run left behind
        for line in stale.undone:
            self.progress.message(f"cleaned up after an earlier run: {line}")
        if self.stack is None:
            self.stack = stack_for(exp.target, self.dir / files.LOGS)
            if self.stack.kind == "embedded":
                self.progress.message(f"starting the embedded stack (logs: {self.dir / files.LOGS})")
            else:
                self.progress.message(f"external target {self.stack.base_url}")
            self.stack.start()
        stack = self.stack
        self.writer.write_experiment(None, exp.resolved() | {"stack": stack.addresses()})

        client = FaultClient(stack.toxiproxy_url)
        prepare_proxies(exp, client)  # the experiment's own proxies (all of them, external)
        self.rollback = Rollback(client)
        self.schedule = FaultSchedule(exp, client, self.rollback, self._emit_fault,
                                      stack.actions())
        self.locust = locust = locust_for(exp, stack.base_url, self.dir, self.master)
        locust.start()
        self._announce_master(locust)
        self.writer.set_t0(locust.wait_load_start(LOAD_START_TIMEOUT))
        self.writer.emit("run_start")
        self._start_threads(stack, self.schedule)
        self.progress.start()
        return self._watch(locust, self.schedule)

    def _announce_master(self, locust: LocustProcesses) -> None:
        """Tell remote workers where to join, and the facilitator where the live view is."""
        load = self.experiment.load
        if self.master.bind != LOOPBACK or locust.expect_workers > load.workers:
            self.progress.message(
                f"Locust master on {self.master.bind}:{locust.port}, waiting for "
                f"{locust.expect_workers} workers (join with `stampede worker --master "
                f"HOST:{locust.port} --locustfile {load.locustfile}`)")
        if self.master.ui_port is not None:
            self.progress.message(f"live view: http://{LOOPBACK}:{self.master.ui_port}/?tab=gameday")

    def _emit_fault(self, kind: str, **fields: Any) -> None:
        """The schedule's timeline writer; also tells the people watching."""
        self.writer.emit(kind, **fields)
        what = "applied" if kind == "fault_start" else "healed"
        error = f" FAILED: {fields['error']}" if fields.get("error") else ""
        where = f" on {fields['proxy']}" if fields.get("proxy") else ""
        self.progress.message(f"[{self.writer.now_t():6.1f}s] {fields.get('fault')} "
                              f"({fields.get('type')}{where}) {what}{error}")

    def _start_threads(self, stack: Stack, schedule: FaultSchedule) -> None:
        self.schedule_thread = threading.Thread(
            target=schedule.run, name="fault-schedule",
            args=(self.writer.t0_monotonic, self.stop), daemon=True)
        exp = self.experiment
        from_prometheus = prometheus_collector(
            exp, self.writer.t0 or time.time(), self.writer.metric, self.stop,
            note=partial(self.writer.emit, "signal_source"))  # the interval the verdicts rest on
        self.collector_threads = [*collectors_for(
            stack, self.writer.metric, self.stop, signals=exp.signal_series(),
            scrape_signals=from_prometheus is None, announce=self.progress.message)]
        if from_prometheus is not None:
            self.collector_threads.append(from_prometheus)
        for thread in (self.schedule_thread, *self.collector_threads):
            thread.start()

    def _phase(self, t: float, active: list[str]) -> str:
        steady = self.experiment.steady_state
        if active:
            return "fault"
        if steady is not None:
            if t < steady.from_:
                return "warmup"
            if t < steady.to:
                return "steady"
        return "recovery" if any(f.end <= t for f in self.experiment.faults) else "load"

    def _watch(self, locust: LocustProcesses, schedule: FaultSchedule) -> str:
        """Until the load ends: halts, lost workers, phases and the progress display."""
        exp = self.experiment
        phase = None
        while not self.stop.wait(0.2):
            t = self.writer.now_t()
            active = list(schedule.active_faults())
            if (new_phase := self._phase(t, active)) != phase:
                phase = new_phase
                self.writer.emit("phase", phase=phase)
            reason = self.halts.check(partial(self._worker_lost, t=t, locust=locust))
            last = self.halts.tail.last_second()
            rps, err = (last[1], last[2] / last[1] if last[1] else 0.0) if last else (0, 0.0)
            self.progress.update(Status(t, exp.duration, phase, active, rps, err,
                                        self.halts.tail.requests))
            if reason:
                self.halt = reason
                self.writer.emit("halt", reason=reason)
                self.progress.message(f"halt: {reason}")
                return "aborted"
            code = locust.master_exited()
            if code is not None:
                if t < exp.duration - 5:
                    raise RuntimeError(f"the Locust master exited early (status {code}) at "
                                       f"t={t:.1f}s; log: {self.dir / files.LOGS / 'locust-master.log'}")
                return "completed"
        return "failed"

    def _worker_lost(self, loss: WorkerLoss, t: float, locust: LocustProcesses) -> bool:
        """Record a worker the master saw go (local or remote, the same way), unless the load
        is winding down; True when it counts as a loss."""
        if t >= self.experiment.duration - 0.5 or locust.master_exited() is not None:
            return False
        self.writer.emit("worker_lost", worker=loss.worker, how=loss.how)
        self.progress.message(f"worker {loss.worker} lost ({loss.how})")
        return True

    def _cleanup(self) -> None:
        """Every exit path: faults off first, then load, then the stack (reverse order)."""
        self.stop.set()
        if self.writer.t0 is not None:
            self.load_end_t = self.writer.now_t()
        self.progress.stop()
        steps: list[tuple[str, Callable[[], None]]] = [
            ("fault schedule", self._join_schedule),
            ("rollback", self._rollback),
            ("locust", self._stop_locust),
            ("collectors", self._join_collectors),
            ("write check", self._write_check),
            ("stack", self._stop_stack),
        ]
        for name, step in steps:
            try:
                step()
            except Exception as exc:
                self.progress.message(f"cleanup: {name} failed: {exc}")
                with open(self.dir / files.LOGS / files.RUNNER_ERROR_LOG, "a") as f:
                    f.write(f"cleanup {name}:\n{traceback.format_exc()}\n")

    def _rollback(self) -> None:
        if self.rollback is None:
            return
        report = self.rollback.rollback_all()
        for line in report.failed:
            self.progress.message(f"rollback failed: {line} (run `stampede faults clear`)")

    def _stop_locust(self) -> None:
        if self.locust is not None:
            self.locust.stop()

    def _stop_stack(self) -> None:
        if self.stack is not None and self.owns_stack:  # a given stack outlives the run
            self.stack.stop()

    def _join_schedule(self) -> None:
        if self.schedule_thread is not None:
            self.schedule_thread.join(timeout=10)

    def _join_collectors(self) -> None:
        for thread in self.collector_threads:
            thread.join(timeout=15)  # the Prometheus one fetches the last seconds first

    def _write_check(self) -> None:
        """Acknowledged writes read back from the source of truth, once the load has stopped."""
        if self.stack is None or self.locust is None:
            return
        check_writes(self.dir, self.stack.database_url, self.stack.write_rules,
                     base_url=self.stack.base_url)


def judge(results_dir: Path) -> tuple[list[Verdict], bool]:
    """Verdicts (printed) and the HTML report of a finished run."""
    verdicts = list(judge_results(results_dir))
    print_verdicts(verdicts)
    write_report(results_dir)
    return verdicts, all(v.passed for v in verdicts)


def run_experiment(path: str | Path, *, out_dir: str | Path = "results",
                   time_scale: float | None = None, workers: int | None = None,
                   target_file: str | Path | None = None,
                   progress: Progress | None = None,
                   flaws: list[str] | None = None,
                   master: MasterOptions | None = None) -> RunOutcome:
    """Run one experiment file; exit codes in harness.exit_codes.

    `flaws` (embedded target only) replaces the file's `target.flaws`: the same experiment
    against a flawed shop, to show an invariant has teeth. `master`: where the Locust
    master listens for remote workers, how many it waits for, and the live web UI's port."""
    progress = progress or Progress()
    try:
        experiment = load_experiment(path, time_scale=time_scale, target_file=target_file)
        if flaws is not None:
            set_flaws(experiment, flaws, path)
        if workers is not None:
            experiment.load.workers = workers
        check_before_start(experiment)  # the guards again, with the overrides applied
        check_reachable(experiment)  # Toxiproxy or Prometheus not answering: exit 3, no folder
    except (ExperimentError, OSError, ValueError) as exc:
        print(f"stampede run: {exc}", file=sys.stderr)
        return RunOutcome(None, "failed", ExitCode.BAD_INPUT, str(exc))
    name = experiment.name or Path(path).stem
    writer = RunWriter(new_run_dir(out_dir, name), name)
    writer.write_experiment(Path(path), experiment.resolved())
    outcome = Run(experiment, writer, progress, master).execute()
    if outcome.status in ("completed", "aborted"):
        try:
            outcome.verdicts, passed = judge(outcome.results_dir or writer.path)
        except Exception as exc:
            print(f"stampede run: judging failed: {exc}", file=sys.stderr)
            passed = False
        if outcome.status == "completed" and not passed:
            outcome.exit_code = ExitCode.INVARIANT_FAILED
    if outcome.error:
        print(f"stampede run: {outcome.status}: {outcome.error}", file=sys.stderr)
    print(f"results: {outcome.results_dir}")
    return outcome
