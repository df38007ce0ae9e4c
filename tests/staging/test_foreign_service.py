"""Catalogue experiments, unchanged, against a service with none of our conventions (larder):
its own metric and label names, a resilience4j-style one-hot breaker, the owner in `owner`,
writes in sqlite read back over HTTP, all said once in a target file.

Each run is judged twice: from the signals the run scraped off /metrics itself, and again
from a real Prometheus server that scraped the same service at 1 s (the same verdicts).
A run with `target.prometheus_url` takes its signals from that server while it goes on.
The sound service passes (every CI run); each flaw fails the invariant it breaks (one flaw
a CI run, by day, tests/rotation.py; all of them: STAMPEDE_LARDER_FLAWS=all).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rotation import todays_cases
from signals.prometheus_server import PrometheusServer

from harness.invariants.registry import check
from harness.ports import free_port
from harness.proxy.embedded import spawn
from harness.results.run_result import RunResult
from harness.signals.prometheus import instance_of
from harness.signals.source import refetch_signals
from harness.stack.redis_server import RedisServer
from harness.verdicts import judge_results

from .service_health import wait_healthy

ROOT = Path(__file__).resolve().parents[2]
LARDER = Path(__file__).parent / "larder.py"
TIME_SCALE = "0.5"

SIGNALS = """\
  signals:
    breaker_open:
      redis: 'larder_breaker_state{name="redis",state="open"}'
    breaker_half_open:
      redis: 'larder_breaker_state{name="redis",state="half_open"}'
    cache_requests:
      hit: 'larder_cache_total{outcome="hit"}'
      miss: 'larder_cache_total{outcome="miss"}'
      error: 'larder_cache_total{outcome="error"}'
    db_queries: 'larder_sql_statements_total{statement!="readback"}'
    db_queries_by_query:
      good: 'larder_sql_statements_total{statement="good"}'
    db_inflight: 'larder_sql_active'
  writes:
    order: {http: "GET /internal/orders/{id}"}
    profile: {http: "GET /internal/profiles/{id}"}
  ownership_field: owner
"""


class Larder:
    """The service, its Toxiproxy and a Prometheus server scraping it, for one run."""

    def __init__(self, tmp: Path, redis_server: RedisServer, flaws: list[str]) -> None:
        redis_server.client().flushall()
        listen = free_port()
        config = tmp / "toxiproxy.json"
        config.write_text(json.dumps([{"name": "redis", "listen": f"127.0.0.1:{listen}",
                                       "upstream": f"127.0.0.1:{redis_server.port}"}]))
        self.proxy = spawn(log_path=tmp / "proxy.log", config=config)
        self.port = free_port()
        env = dict(os.environ, LARDER_REDIS_PASSWORD=redis_server.password or "")
        args = [sys.executable, str(LARDER), "--port", str(self.port),
                "--redis-url", f"redis://127.0.0.1:{listen}/0", "--db", str(tmp / "larder.db")]
        for flaw in flaws:
            args += ["--flaw", flaw]
        self.log = tmp / "larder.log"
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"
        self.metrics = f"{self.base}/prometheus"
        self.prometheus = PrometheusServer(tmp / "prometheus", [f"127.0.0.1:{self.port}"],
                                           metrics_path="/prometheus")

    def start(self) -> Larder:
        wait_healthy(self.proc, f"{self.base}/healthz", self.log, "larder")
        self.prometheus.start()
        self.prometheus.wait_scraped(instance_of(self.metrics))
        return self

    def target_file(self, path: Path, prometheus: bool) -> Path:
        source = f"  prometheus_url: {self.prometheus.url}\n" if prometheus else ""
        path.write_text(
            "target:\n  kind: external\n"
            f"  base_url: {self.base}\n  toxiproxy_url: {self.proxy.api_url}\n"
            f"  metrics_url: {self.metrics}\n{source}{SIGNALS}"
            "proxies:\n  redis: {expect: true}\n")
        return path

    def stop(self) -> None:
        self.prometheus.stop()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proxy.stop()


Run = Callable[..., tuple[Path, dict[str, bool], dict[str, bool]]]


@pytest.fixture
def run_against_larder(tmp_path: Path, redis_server: RedisServer) -> Iterator[Run]:
    """Run an experiment against larder (with these flaws): (results, verdicts of the run,
    verdicts of the same run judged from Prometheus), verdicts as {id: passed}."""
    started: list[Larder] = []

    def run(experiment: str, flaws: list[str], prometheus: bool = False
            ) -> tuple[Path, dict[str, bool], dict[str, bool]]:
        tmp = tmp_path / f"{Path(experiment).stem}-{'-'.join(flaws) or 'sound'}"
        tmp.mkdir()
        larder = Larder(tmp, redis_server, flaws)
        started.append(larder)
        larder.start()
        target = larder.target_file(tmp / "larder.yaml", prometheus)
        out = tmp / "results"
        env = dict(os.environ, STAMPEDE_STATE_DIR=str(tmp / "state"))
        done = subprocess.run(
            [sys.executable, "-m", "harness", "run", experiment, "--target", str(target),
             "--out", str(out), "--time-scale", TIME_SCALE],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=400)
        assert done.returncode in (0, 1), done.stdout[-4000:] + done.stderr[-4000:]
        (folder,) = [p for p in out.iterdir() if p.is_dir()]
        own = _verdicts(folder)
        time.sleep(2)  # the server's last scrapes of the run
        again = tmp / REFETCHED
        shutil.copytree(folder, again)
        assert refetch_signals(again, larder.prometheus.url, instance_of(larder.metrics)) > 0
        larder.stop()
        return folder, own, {v.id: v.passed for v in judge_results(again)}

    yield run
    for larder in started:
        larder.stop()


def _verdicts(folder: Path) -> dict[str, bool]:
    verdicts = json.loads((folder / "verdicts.json").read_text())["verdicts"]
    return {v["id"]: v["passed"] for v in verdicts}


def assert_sound(folder: Path, verdicts: dict[str, bool]) -> None:
    """Every verdict passes. recovery_time is judged on latency, which a machine shared with
    other jobs can spoil: it may fail only when it says that outside work was left out."""
    reasons = _reasons(folder)
    for key, passed in verdicts.items():
        if key.startswith("recovery_time") and not passed:
            assert "noisy seconds left out" in reasons[key], reasons[key]
        else:
            assert passed, reasons


def _reasons(folder: Path) -> dict[str, str]:
    verdicts = json.loads((folder / "verdicts.json").read_text())["verdicts"]
    return {v["id"]: v["reason"] for v in verdicts}


SIGNAL_INVARIANTS = ("circuit_breaker_opens[redis]", "circuit_breaker_closes[redis]")
REFETCHED = "judged-from-prometheus"
SIGNAL_CHECKS = [  # generous bounds: what is shown is the same figure from both sources
    ("backend_protected", {"window": "during:redis-outage", "query": "good", "max_qps": 100000}),
    ("backend_protected", {"window": "steady", "stat": "mean", "max_qps": 100000}),
    ("db_concurrency_bounded", {"window": "all", "max": 1000}),
    ("hit_rate_recovers", {"fault": "redis-outage", "min": 0.5, "within": "20s"}),
]


@pytest.mark.slow
def test_default_game_day_sound_passes_from_both_sources(run_against_larder: Run) -> None:
    folder, own, prom = run_against_larder("experiments/default.yaml", [])
    assert_sound(folder, own)
    assert own == prom  # the same run, judged from Prometheus: the same verdicts
    experiment = json.loads((folder / "experiment.json").read_text())
    assert experiment["signals"]["source"] == "scrape"
    assert "larder_breaker_state" in experiment["signals"]["series"][
        'breaker_open{dependency="redis"}']

    # the other invariants that read signals, on the same run from both sources
    scraped, refetched = RunResult.load(folder), RunResult.load(folder.parents[1] / REFETCHED)
    for name, params in SIGNAL_CHECKS:
        a, b = check(scraped, name, **params), check(refetched, name, **params)
        assert a.passed and b.passed, (a.reason, b.reason)
        assert a.measured is not None and b.measured is not None
        assert abs(a.measured - b.measured) <= max(2.0, 0.25 * a.measured), (a.reason, b.reason)


@pytest.mark.slow
def test_redis_outage_sound_passes_with_signals_from_prometheus(run_against_larder: Run) -> None:
    folder, own, prom = run_against_larder("experiments/redis_outage.yaml", [], prometheus=True)
    assert_sound(folder, own)
    assert own == prom
    experiment = json.loads((folder / "experiment.json").read_text())
    assert experiment["signals"]["source"] == "prometheus"
    timeline = [json.loads(line) for line in (folder / "timeline.jsonl").read_text().splitlines()]
    (source,) = [e for e in timeline if e["kind"] == "signal_source"]
    assert source["scrape_interval_s"] == 1.0 and 0.5 <= source["interval_seen_s"] <= 1.5
    assert "scrape interval seen" in _reasons(folder)["circuit_breaker_opens[redis]"]


def breaker_never_closes(run_against_larder: Run) -> None:
    folder, own, prom = run_against_larder("experiments/default.yaml", ["breaker_never_closes"])
    assert own["circuit_breaker_opens[redis]"] and not own["circuit_breaker_closes[redis]"]
    assert "never closed" in _reasons(folder)["circuit_breaker_closes[redis]"]
    assert {k: prom[k] for k in SIGNAL_INVARIANTS} == {k: own[k] for k in SIGNAL_INVARIANTS}
    assert own == prom


def sessions_fail_open(run_against_larder: Run) -> None:
    folder, own, prom = run_against_larder("experiments/redis_outage.yaml",
                                           ["sessions_fail_open"], prometheus=True)
    (sessions,) = [key for key in own if key.startswith("sessions_fail_closed")]
    assert not own[sessions], _reasons(folder)
    assert "granted revoked session" in _reasons(folder)[sessions]
    assert own["circuit_breaker_opens[redis]"] and own["circuit_breaker_closes[redis]"]
    assert own == prom


def orders_lost(run_against_larder: Run) -> None:
    """Orders acknowledged but never written fail no_data_loss, read back over HTTP."""
    folder, own, prom = run_against_larder("experiments/default.yaml", ["orders_lost"])
    (loss,) = [key for key in own if key.startswith("no_data_loss")]
    assert not own[loss], _reasons(folder)
    check = json.loads((folder / "write_check.json").read_text())
    assert check["source"] == "the service over HTTP" and check["error"] is None
    assert check["missing"] and check["unchecked_kinds"] == []
    assert f"{len(check['missing']):,} of" in _reasons(folder)[loss]
    assert own == prom


FLAWS: dict[str, Callable[[Run], None]] = {f.__name__: f for f in (
    breaker_never_closes, sessions_fail_open, orders_lost)}


@pytest.mark.slow
@pytest.mark.parametrize("flaw", todays_cases(list(FLAWS), 1, "STAMPEDE_LARDER_FLAWS"))
def test_a_flawed_larder_fails_the_invariant_its_flaw_breaks(run_against_larder: Run,
                                                             flaw: str) -> None:
    FLAWS[flaw](run_against_larder)


def test_every_flaw_of_larder_has_its_check() -> None:
    from .larder import FLAWS as LARDER_FLAWS

    assert set(FLAWS) == set(LARDER_FLAWS)
