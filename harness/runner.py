"""`stampede run`: one experiment from file to results folder, with guaranteed rollback.

The orchestrator (this process) never generates load: it starts the stack, a Locust
master and N workers as children, and runs the fault schedule, the 1 Hz collectors and
the halt checks in its own threads, so fault timing is not smeared by a saturated
gevent loop. SIGINT and SIGTERM become an orderly stop: faults rolled back, Locust
stopped, the stack stopped in reverse order, summary.json written.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.histogram import percentile
from harness.live.control import WorkersLost, halt_requested
from harness.load.recorder import LOAD_START_FILE
from harness.metrics.collectors import Collector, postgres_source, redis_source, target_source
from harness.progress import Progress, Status
from harness.results import jsonl
from harness.results.tail import LineCount, RequestTail
from harness.results.writer import RunWriter, new_run_dir, write_json
from harness.stack.ports import LOOPBACK

EXIT_OK, EXIT_INVARIANT_FAILED, EXIT_ABORTED, EXIT_BAD_INPUT = 0, 1, 2, 3
LOAD_START_TIMEOUT = 90.0


@dataclass
class RunOutcome:
    results_dir: Path | None
    status: str  # completed | aborted | failed
    exit_code: int
    error: str | None = None
    verdicts: list[Any] = field(default_factory=list)


class Interrupted(Exception):
    """A signal asked the run to stop."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def halt_reason(conditions: list[Any], tail: RequestTail, violations: int) -> str | None:
    """The first halt condition that held for its whole `for` span, as a sentence; else None."""
    if not tail.seconds and not violations:
        return None
    last = max(tail.seconds) if tail.seconds else 0
    for cond in conditions:
        if cond.metric == "violations":
            if violations > cond.above:
                return f"violations {violations} > {cond.above:g}"
            continue
        span = max(1, round(cond.for_))
        window = [tail.seconds.get(t) for t in range(last - span + 1, last + 1)]
        if any(sec is None or sec.count == 0 for sec in window):
            continue
        if cond.metric == "error_rate":
            values = [sec.failures / sec.count for sec in window]
            if all(v > cond.above for v in values):
                return (f"error rate {min(values):.0%} > {cond.above:.0%} for {span}s "
                        f"(t={last - span + 1}..{last})")
        elif cond.metric == "p99_ms":
            values = [percentile(sec.hist, 0.99) or 0.0 for sec in window]
            if all(v > cond.above for v in values):
                return (f"p99 {min(values):.0f} ms > {cond.above:g} ms for {span}s "
                        f"(t={last - span + 1}..{last})")
    return None


class Run:
    """The state of one run; `execute()` does it all and never leaves a fault or a process."""

    def __init__(self, experiment: Any, writer: RunWriter, progress: Progress,
                 master: Any = None) -> None:
        from harness.load.launcher import MasterOptions

        self.experiment = experiment
        self.master = master or MasterOptions()
        self.writer = writer
        self.dir = writer.path
        self.progress = progress
        self.stop = threading.Event()
        self.stack: Any = None
        self.locust: Any = None
        self.schedule: Any = None
        self.rollback: Any = None
        self.threads: list[threading.Thread] = []
        self.tail = RequestTail(self.dir / "requests.jsonl")
        self.halt: str | None = None
        self._raise_on_signal = True
        self._signal: int | None = None
        self.load_end_t: float | None = None

    # signals -------------------------------------------------------------------
    def _on_signal(self, signum: int, _frame: Any) -> None:
        self.stop.set()
        if self._signal is None:
            self._signal = signum
            if self._raise_on_signal:
                raise Interrupted(signum)

    def _install_signals(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        return {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}

    # the run ----------------------------------------------------------------------
    def execute(self) -> RunOutcome:
        previous = self._install_signals()
        status, error, exit_code = "failed", None, EXIT_BAD_INPUT
        try:
            try:
                status = self._run()
                exit_code = EXIT_ABORTED if status == "aborted" else EXIT_OK
            except Interrupted as exc:
                error = f"interrupted by {exc}"
                exit_code = 128 + exc.signum
            except Exception as exc:  # the stack or the load failed: report, clean up
                from harness.experiment import ProxySetupError
                from harness.stack.embedded import StackError

                clear = StackError | ProxySetupError | FileNotFoundError
                error = str(exc) if isinstance(exc, clear) else (
                    f"{type(exc).__name__}: {exc}")
                (self.dir / "logs" / "runner-error.log").write_text(traceback.format_exc())
                exit_code = EXIT_BAD_INPUT
            finally:
                self._raise_on_signal = False
                self._cleanup()
            if self._signal is not None and error is None:
                status, error = "failed", f"interrupted by {signal.Signals(self._signal).name}"
                exit_code = 128 + self._signal
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        self.tail.poll()
        if status == "completed":  # the load ran its planned time (Locust's wind-down is not load)
            self.load_end_t = self.experiment.duration
        self.writer.emit("run_end", status=status)
        self.writer.finish(status, requests=self.tail.requests, failures=self.tail.failures,
                           halt_reason=self.halt, error=error, duration=self.load_end_t)
        self.writer.close()
        self._compact()
        return RunOutcome(self.dir, status, exit_code, error)

    def _compact(self) -> None:
        """Gzip the bulky files (docs/results-format.md), whatever the status, once no one writes.

        A master that would not die may still append: then the files stay plain (readers
        take either form), as they do when compressing fails.
        """
        master = getattr(self.locust, "master", None)
        if master is not None and master.poll() is None:
            self.progress.message("results left uncompressed: the Locust master is still running")
            return
        for problem in jsonl.compact(self.dir):
            self.progress.message(problem)

    def _run(self) -> str:
        from harness.experiment import prepare_proxies
        from harness.faults import FaultClient, FaultSchedule, Rollback

        exp = self.experiment
        stale = Rollback.recover_stale()  # what a SIGKILLed run left behind
        for line in stale.undone:
            self.progress.message(f"cleaned up after an earlier run: {line}")
        self.stack = self._make_stack()
        if self.stack.kind == "embedded":
            self.progress.message(f"starting the embedded stack (logs: {self.dir / 'logs'})")
        else:
            self.progress.message(f"external target {self.stack.base_url}")
        self.stack.start()
        resolved = exp.resolved()
        resolved["stack"] = self.stack.addresses()
        self.writer.write_experiment(None, resolved)

        client = FaultClient(self.stack.toxiproxy_url)
        prepare_proxies(exp, client)  # the experiment's own proxies (all of them, external)
        self.rollback = Rollback(client)
        self.schedule = FaultSchedule(exp, client, self.rollback, self._emit_fault,
                                      self.stack.actions())
        self.locust = self._make_locust()
        self.locust.start()
        if self.master.bind != LOOPBACK or self.locust.expect_workers > exp.load.workers:
            self.progress.message(
                f"Locust master on {self.master.bind}:{self.locust.port}, waiting for "
                f"{self.locust.expect_workers} workers (join with `stampede worker --master "
                f"HOST:{self.locust.port} --locustfile {exp.load.locustfile}`)")
        if self.master.ui_port is not None:
            self.progress.message(f"live view: http://{LOOPBACK}:{self.master.ui_port}/?tab=gameday")
        t0 = self._wait_load_start()
        self.writer.set_t0(t0)
        self.writer.emit("run_start")
        self._start_threads()
        self.progress.start()
        return self._watch()

    def _emit_fault(self, kind: str, **fields: Any) -> None:
        """The schedule's timeline writer; also tells the people watching."""
        self.writer.emit(kind, **fields)
        what = "applied" if kind == "fault_start" else "healed"
        error = f" FAILED: {fields['error']}" if fields.get("error") else ""
        where = f" on {fields['proxy']}" if fields.get("proxy") else ""
        self.progress.message(f"[{self.writer.now_t():6.1f}s] {fields.get('fault')} "
                              f"({fields.get('type')}{where}) {what}{error}")

    def _make_stack(self) -> Any:
        target = self.experiment.target
        if target.kind == "external":
            from harness.stack.external import ExternalStack

            return ExternalStack(target)
        from harness.stack.embedded import EmbeddedStack

        args: list[str] = []
        for key, value in (target.options or {}).items():
            flag = "--" + key.replace("_", "-")
            if value is True:
                args.append(flag)
            elif value not in (False, None):
                args += [flag, str(value)]
        return EmbeddedStack(self.dir / "logs", flaws=target.flaws, target_args=args)

    def _make_locust(self) -> Any:
        from harness.load.launcher import LocustProcesses, resolve_locustfile

        load = self.experiment.load
        source = self.experiment.source
        locustfile = resolve_locustfile(load.locustfile, Path(source).parent if source else None)
        stages = [s.model_dump() for s in load.stages] or None
        users = load.users or (max(s.users for s in load.stages) if load.stages else 10)
        return LocustProcesses(
            locustfile, self.stack.base_url, self.dir / "logs", self.dir,
            workers=load.workers, duration=self.experiment.duration, users=users,
            spawn_rate=load.spawn_rate or users, user_classes=load.user_classes, stages=stages,
            master_bind=self.master.bind, master_port=self.master.port,
            expect_workers=self.master.expect_workers, ui_port=self.master.ui_port)

    def _wait_load_start(self) -> float:
        """Time 0 is when the master starts the users; it writes it down for us."""
        marker = self.dir / LOAD_START_FILE
        deadline = time.monotonic() + LOAD_START_TIMEOUT
        while not marker.exists():
            status = self.locust.master_exited()
            if status is not None:
                raise RuntimeError(f"the Locust master exited with status {status} before the "
                                   f"load started; log: {self.dir / 'logs' / 'locust-master.log'}")
            if self.locust.workers and len(self.locust.lost_workers()) == len(self.locust.workers):
                raise RuntimeError(f"every Locust worker exited before the load started; log: "
                                   f"{self.dir / 'logs' / 'locust-worker-0.log'}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the load did not start within {LOAD_START_TIMEOUT:.0f}s "
                                   f"(workers not connected?); logs: {self.dir / 'logs'}")
            time.sleep(0.01)
        return float(json.loads(marker.read_text())["ts"])

    def _start_threads(self) -> None:
        sched = threading.Thread(target=self.schedule.run, name="fault-schedule",
                                 args=(self.writer.t0_monotonic, self.stop), daemon=True)
        self.threads.append(sched)
        sources: list[tuple[str, Any]] = []
        if self.stack.metrics_url:
            sources.append(("target", target_source(
                self.stack.metrics_url, getattr(self.stack, "metric_names", None))))
        redis_client = self.stack.redis_client()
        if redis_client is not None:
            sources.append(("redis", redis_source(redis_client)))
        if self.stack.database_url:
            sources.append(("postgres", postgres_source(self.stack.database_url)))
        for name, scrape in sources:
            self.threads.append(Collector(name, scrape, self.writer.metric, self.stop))
        for thread in self.threads:
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

    def _watch(self) -> str:
        """Until the load ends: halts, lost workers, phases and the progress display."""
        exp = self.experiment
        phase = None
        lost = WorkersLost(self.dir)
        violations = LineCount(self.dir / "violations.jsonl")
        while not self.stop.wait(0.2):
            t = self.writer.now_t()
            self.tail.poll()
            active = list(self.schedule.active_faults())
            new_phase = self._phase(t, active)
            if new_phase != phase:
                phase = new_phase
                self.writer.emit("phase", phase=phase)
            for rec in lost.poll():  # the master saw it go: local or remote, the same way
                if t < exp.duration - 0.5 and self.locust.master_exited() is None:
                    self.writer.emit("worker_lost", worker=rec["worker"], how=rec["how"])
                    self.progress.message(f"worker {rec['worker']} lost ({rec['how']})")
                    if exp.load.halt_on_worker_loss:
                        self.halt = f"worker {rec['worker']} lost (load.halt_on_worker_loss)"
                        self.writer.emit("halt", reason=self.halt)
                        self.progress.message(f"halt: {self.halt}")
                        return "aborted"
            last = self.tail.last_second()
            rps, err = (last[1], last[2] / last[1] if last[1] else 0.0) if last else (0, 0.0)
            self.progress.update(Status(t, exp.duration, phase, active, rps, err,
                                        self.tail.requests))
            reason = halt_requested(self.dir) or halt_reason(exp.halt, self.tail, violations.poll())
            if reason:
                self.halt = reason
                self.writer.emit("halt", reason=reason)
                self.progress.message(f"halt: {reason}")
                return "aborted"
            code = self.locust.master_exited()
            if code is not None:
                if t < exp.duration - 5:
                    raise RuntimeError(f"the Locust master exited early (status {code}) at "
                                       f"t={t:.1f}s; log: {self.dir / 'logs' / 'locust-master.log'}")
                return "completed"
        return "failed"

    def _cleanup(self) -> None:
        """Every exit path: faults off first, then load, then the stack (reverse order)."""
        self.stop.set()
        if self.writer.t0 is not None:
            self.load_end_t = self.writer.now_t()
        self.progress.stop()
        steps = [
            ("fault schedule", self._join_schedule),
            ("rollback", self._rollback),
            ("locust", lambda: self.locust and self.locust.stop()),
            ("collectors", self._join_threads),
            ("write check", self._write_check),
            ("stack", lambda: self.stack and self.stack.stop()),
        ]
        for name, step in steps:
            try:
                step()
            except Exception as exc:
                self.progress.message(f"cleanup: {name} failed: {exc}")
                with open(self.dir / "logs" / "runner-error.log", "a") as f:
                    f.write(f"cleanup {name}:\n{traceback.format_exc()}\n")

    def _rollback(self) -> None:
        if self.rollback is None:
            return
        report = self.rollback.rollback_all()
        for line in report.failed:
            self.progress.message(f"rollback failed: {line} (run `stampede faults clear`)")

    def _join_schedule(self) -> None:
        for thread in self.threads[:1]:
            thread.join(timeout=10)

    def _join_threads(self) -> None:
        for thread in self.threads[1:]:
            thread.join(timeout=5)

    def _write_check(self) -> None:
        """Read acknowledged orders back from PostgreSQL: missing ones are lost writes."""
        if self.stack is None or self.locust is None:
            return
        ids = []
        writes = self.dir / "writes.jsonl"
        if writes.exists():
            for line in writes.read_text().splitlines():
                rec = json.loads(line)
                if rec.get("kind") == "order":
                    ids.append(str(rec["id"]))
        result: dict[str, Any] = {"checked": len(ids), "missing": [], "source": "postgresql",
                                  "error": None}
        if not self.stack.database_url:
            result.update(source=None, error="no database_url: writes not checked")
        elif ids:
            try:
                import psycopg

                with psycopg.connect(self.stack.database_url, connect_timeout=5) as conn:
                    found = {row[0] for row in conn.execute(
                        "SELECT id::text FROM orders WHERE id::text = ANY(%s)", (ids,))}
                result["missing"] = [i for i in ids if i not in found]
            except Exception as exc:
                result["error"] = f"{type(exc).__name__}: {exc}"
        write_json(self.dir / "write_check.json", result)


def judge(results_dir: Path) -> tuple[list[Any], bool | None]:
    """Verdicts and the HTML report, when those parts of the harness are installed."""
    verdicts: list[Any] = []
    passed: bool | None = None
    try:
        from harness.verdicts import judge_results, print_verdicts
    except ImportError:
        pass
    else:
        verdicts = list(judge_results(results_dir))
        print_verdicts(verdicts)
        passed = all(v.passed for v in verdicts)
    try:
        from harness.report import write_report
    except ImportError:
        pass
    else:
        write_report(results_dir)
    return verdicts, passed


def set_flaws(experiment: Any, flaws: list[str], path: str | Path) -> None:
    """Switch the embedded shop's flaws to `flaws` (ValueError naming the valid ones or the target kind)."""
    from targets.shop.flaws import parse_flaws

    if experiment.target.kind != "embedded":
        raise ValueError(f"{path}: --flaw needs the embedded reference target; this run's target "
                         f"is {experiment.target.kind} (switch the flaw on in that service instead)")
    try:
        experiment.target.flaws = sorted(parse_flaws(flaws))
    except ValueError as exc:
        raise ValueError(f"{path}: --flaw: {exc}") from None


def run_experiment(path: str | Path, *, out_dir: str | Path = "results",
                   time_scale: float | None = None, workers: int | None = None,
                   target_file: str | Path | None = None,
                   progress: Progress | None = None,
                   flaws: list[str] | None = None, master: Any = None) -> RunOutcome:
    """Run one experiment file; exit codes: 0 passed, 1 an invariant failed, 2 halted,
    3 bad input or the stack failed, 128+N stopped by signal N.

    `flaws` (embedded target only) replaces the file's `target.flaws`: the same experiment
    against a flawed shop, to show an invariant has teeth. `master`
    (harness.load.launcher.MasterOptions): where the Locust master listens for remote
    workers, how many it waits for, and the port of the live web UI."""
    from harness.experiment import ExperimentError, load_experiment

    progress = progress or Progress()
    try:
        experiment = load_experiment(path, time_scale=time_scale, target_file=target_file)
        if flaws is not None:
            set_flaws(experiment, flaws, path)
    except (ExperimentError, OSError, ValueError) as exc:
        print(f"stampede run: {exc}", file=sys.stderr)
        return RunOutcome(None, "failed", EXIT_BAD_INPUT, str(exc))
    if workers is not None:
        experiment.load.workers = workers
    writer = RunWriter(new_run_dir(out_dir, experiment.name or Path(path).stem),
                       experiment.name or Path(path).stem)
    writer.write_experiment(Path(path), experiment.resolved())
    outcome = Run(experiment, writer, progress, master).execute()
    if outcome.status in ("completed", "aborted"):
        try:
            outcome.verdicts, passed = judge(outcome.results_dir)
        except Exception as exc:
            print(f"stampede run: judging failed: {exc}", file=sys.stderr)
            passed = False
        if outcome.status == "completed" and passed is False:
            outcome.exit_code = EXIT_INVARIANT_FAILED
    if outcome.error:
        print(f"stampede run: {outcome.status}: {outcome.error}", file=sys.stderr)
    print(f"results: {outcome.results_dir}")
    return outcome
