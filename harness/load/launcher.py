"""Command lines and processes of a run's Locust master and local workers.

The orchestrator never imports Locust (importing it monkey-patches the process for
gevent); it runs `python -m locust` children with our plugin file loaded next to the
experiment's locustfile, and talks to them through files and signals. The master and
local workers die with the orchestrator where Linux allows (nothing is lost: the results
are on disk), and the run's guardian stops them too.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.experiment.locustfile import PROJECT_ROOT, resolve_locustfile
from harness.experiment.model import Experiment
from harness.load.checks import OWNERSHIP_FIELD_ENV
from harness.ports import LOOPBACK, free_port
from harness.processes import announce, die_with_parent, stop_process
from harness.results import files

PLUGIN = str(Path(__file__).with_name("plugin.py"))


def locust_env(results_dir: Path | None, stages: list[dict[str, Any]] | None = None,
               totals_dir: Path | None = None,
               ownership_field: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    for key in ("STAMPEDE_RESULTS_DIR", "STAMPEDE_STAGES", "STAMPEDE_WORKER_TOTALS_DIR"):
        env.pop(key, None)
    if ownership_field:  # target.ownership_field: expect_owner's default field
        env[OWNERSHIP_FIELD_ENV] = ownership_field
    if results_dir is not None:
        env["STAMPEDE_RESULTS_DIR"] = str(results_dir)
    if stages:
        env["STAMPEDE_STAGES"] = json.dumps(stages)
    if totals_dir is not None:
        env["STAMPEDE_WORKER_TOTALS_DIR"] = str(totals_dir)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def user_class_args(user_classes: list[Any]) -> list[str]:
    """Positional class names; weights other than 1 go through `--config-users`."""
    if not user_classes:
        return []
    names = [uc.name for uc in user_classes]
    if all(uc.weight == 1 for uc in user_classes):
        return names
    config = [{"user_class_name": uc.name, "weight": uc.weight} for uc in user_classes]
    # names first: --config-users takes every value after it (nargs="*") as JSON
    return [*names, "--config-users", json.dumps(config)]


@dataclass
class MasterOptions:
    """Where the master listens for workers and the web UI (defaults: loopback, headless)."""

    bind: str = LOOPBACK
    port: int = 0  # 0: a free port
    expect_workers: int | None = None  # None: the local workers; more when remote ones join
    ui_port: int | None = None  # None: headless


class LocustProcesses:
    """One headless master and N local workers, each with its log in `<results>/logs/`."""

    def __init__(self, locustfile: Path, host: str, log_dir: Path, results_dir: Path,
                 workers: int, duration: float, users: int, spawn_rate: float,
                 user_classes: list[Any], stages: list[dict[str, Any]] | None = None,
                 master_bind: str = LOOPBACK, master_port: int = 0,
                 expect_workers: int | None = None, ui_port: int | None = None,
                 ui_host: str = LOOPBACK, ownership_field: str | None = None) -> None:
        self.locustfile = locustfile
        self.ownership_field = ownership_field
        self.host = host
        self.log_dir = log_dir
        self.results_dir = results_dir
        self.n_workers = workers
        self.duration = duration
        self.users = users
        self.spawn_rate = spawn_rate
        self.user_classes = user_classes
        self.stages = stages
        self.master_bind = master_bind
        self.port = master_port
        self.expect_workers = max(1, workers if expect_workers is None else expect_workers)
        self.ui_port = ui_port  # None: headless; else the master serves the web UI there
        self.ui_host = ui_host
        self.master: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.totals_dir = log_dir / "workers"

    def files_arg(self) -> str:
        return f"{PLUGIN},{self.locustfile}"

    @property
    def connect_host(self) -> str:
        """Where local workers reach the master: loopback unless it is bound to one address."""
        return LOOPBACK if self.master_bind in ("", "*", "0.0.0.0", "::") else self.master_bind

    def mode_args(self) -> list[str]:
        """Headless, or the web UI with the load started at once and Locust quitting after it."""
        if self.ui_port is None:
            return ["--headless", "--only-summary"]
        return ["--autostart", "--autoquit", "0", "--only-summary",
                "--web-host", self.ui_host, "--web-port", str(self.ui_port)]

    def start(self) -> None:
        self.port = self.port or free_port()
        cmd = [
            sys.executable, "-m", "locust", "-f", self.files_arg(),
            "--master", *self.mode_args(),
            "--master-bind-host", self.master_bind, "--master-bind-port", str(self.port),
            "--expect-workers", str(self.expect_workers),
            "-H", self.host,
            "-t", f"{max(1, round(self.duration))}s",
            "-u", str(self.users), "-r", str(self.spawn_rate),
            *user_class_args(self.user_classes),
        ]
        env = locust_env(self.results_dir, self.stages, ownership_field=self.ownership_field)
        with open(self.log_dir / "locust-master.log", "ab") as log:
            self.master = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                           cwd=self.locustfile.parent, start_new_session=True,
                                           preexec_fn=die_with_parent())
        announce(self.master, "locust master", ports=[self.port, self.ui_port or 0])
        for i in range(self.n_workers):
            self.workers.append(self.start_worker(i))

    def start_worker(self, index: int) -> subprocess.Popen[bytes]:
        cmd = [sys.executable, "-m", "harness", "worker",
               "--master", f"{self.connect_host}:{self.port}", "--locustfile", str(self.locustfile)]
        env = locust_env(None, self.stages, self.totals_dir, self.ownership_field)
        with open(self.log_dir / f"locust-worker-{index}.log", "ab") as log:
            worker = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                      cwd=self.locustfile.parent, start_new_session=True,
                                      preexec_fn=die_with_parent())
        announce(worker, f"locust worker {index}")
        return worker

    def wait_load_start(self, timeout: float) -> float:
        """Time 0 of the run: when the master starts the users (it writes the marker file)."""
        marker = self.results_dir / files.LOAD_START
        deadline = time.monotonic() + timeout
        while not marker.exists():
            status = self.master_exited()
            if status is not None:
                raise RuntimeError(f"the Locust master exited with status {status} before the "
                                   f"load started; log: {self.log_dir / 'locust-master.log'}")
            if self.workers and len(self.lost_workers()) == len(self.workers):
                raise RuntimeError(f"every Locust worker exited before the load started; log: "
                                   f"{self.log_dir / 'locust-worker-0.log'}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the load did not start within {timeout:.0f}s "
                                   f"(workers not connected?); logs: {self.log_dir}")
            time.sleep(0.01)
        return float(json.loads(marker.read_text())["ts"])

    def master_exited(self) -> int | None:
        return None if self.master is None else self.master.poll()

    def lost_workers(self) -> list[int]:
        """Pids of local workers that have exited (while the master still runs)."""
        return [w.pid for w in self.workers if w.poll() is not None]

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the master to quit (it tells the workers, who send their last buckets), then make sure."""
        if self.master is not None and self.master.poll() is None:
            self.master.send_signal(signal.SIGTERM)
            try:
                self.master.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                stop_process(self.master)
        for worker in self.workers:
            try:
                worker.wait(timeout=5)
            except subprocess.TimeoutExpired:
                stop_process(worker)
        stop_process(self.master)


def locust_for(experiment: Experiment, base_url: str, results_dir: Path,
               master: MasterOptions) -> LocustProcesses:
    """The master and local workers that run `experiment`'s load against `base_url`."""
    load = experiment.load
    source = experiment.source
    locustfile = resolve_locustfile(load.locustfile, Path(source).parent if source else None)
    users = load.peak_users()
    return LocustProcesses(
        locustfile, base_url, results_dir / files.LOGS, results_dir,
        workers=load.workers, duration=experiment.duration, users=users,
        spawn_rate=load.spawn_rate or users, user_classes=load.user_classes,
        stages=[s.model_dump() for s in load.stages] or None,
        master_bind=master.bind, master_port=master.port,
        expect_workers=master.expect_workers, ui_port=master.ui_port,
        ownership_field=getattr(experiment.target, "ownership_field", None))
