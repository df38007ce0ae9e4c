"""Frictions a first user of an external target met, each fixed and shown here against real
processes: a failed /populate never leaves a proxy missing, an unreachable Toxiproxy API is
named (and no results folder is made), every error of a target file comes at once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from harness.experiment import ExperimentError, ProxySetupError, load_experiment, prepare_proxies
from harness.faults.client import FaultClient
from harness.ports import free_port
from harness.proxy import EmbeddedProxy
from harness.stack.redis_server import RedisServer

from .conftest import LATENCY_EXPERIMENT

ROOT = Path(__file__).resolve().parents[2]


def test_a_failed_populate_puts_back_the_proxy_it_replaced(
        tmp_path: Path, proxy: EmbeddedProxy, redis_server: RedisServer) -> None:
    client = FaultClient(proxy.api_url, timeout=5)
    working = free_port()
    upstream = f"127.0.0.1:{redis_server.port}"
    client.populate([{"name": "redis", "listen": f"127.0.0.1:{working}", "upstream": upstream}])
    with socket.socket() as taken:  # the port the target file asks for is in use
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        target = tmp_path / "t.yaml"
        target.write_text(f"target:\n  kind: external\n  base_url: http://127.0.0.1:1\n"
                          f"  toxiproxy_url: {proxy.api_url}\nproxies:\n"
                          f'  redis: {{listen: "127.0.0.1:{busy}", upstream: "{upstream}"}}\n')
        (tmp_path / "e.yaml").write_text(LATENCY_EXPERIMENT)
        exp = load_experiment(tmp_path / "e.yaml", target_file=target)
        with pytest.raises(ProxySetupError, match="redis put back as it was"):
            prepare_proxies(exp, client)
    proxies = client.proxies()
    assert proxies["redis"]["listen"] == f"127.0.0.1:{working}"
    through = redis.Redis(port=working, password=redis_server.password, socket_timeout=5)
    assert through.ping() is True  # the service's way to its Redis still works
    through.close()


def test_an_unreachable_toxiproxy_api_is_named_and_no_run_starts(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    target = tmp_path / "t.yaml"
    target.write_text(f"target:\n  kind: external\n  base_url: http://127.0.0.1:1\n"
                      f"  toxiproxy_url: {dead}\nproxies:\n  redis: {{expect: true}}\n")
    (tmp_path / "e.yaml").write_text(LATENCY_EXPERIMENT)
    out = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, "-m", "harness", "run", str(tmp_path / "e.yaml"), "--target",
         str(target), "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env=dict(os.environ, STAMPEDE_STATE_DIR=str(tmp_path / "state")))
    assert done.returncode == 3, done.stderr
    assert f"target.toxiproxy_url: the Toxiproxy API at {dead} does not answer" in done.stderr
    assert "check `listen`" not in done.stderr
    assert not out.exists() or not any(out.iterdir())  # a run that never started leaves nothing


def test_every_error_of_a_target_file_at_once(tmp_path: Path) -> None:
    target = tmp_path / "t.yaml"
    target.write_text("""\
target:
  kind: external
  base_url: http://127.0.0.1:8000
  toxiproxy_url: http://127.0.0.1:8474
  prometheus_urll: http://127.0.0.1:9090
  ownership_feld: owner
  database_url: sqlite:///notes.db
  writes:
    note: {sql: "SELECT id FROM notes WHERE id = ANY(%(ids)s)"}
  signals:
    breaker_open: {redis: 'rate(breaker_opened_total[1m]) > 0', cache: 'x'}
signals: {db_queries: q}
proxies:
  redis: {expect: true}
""")
    (tmp_path / "e.yaml").write_text(LATENCY_EXPERIMENT)
    with pytest.raises(ExperimentError) as caught:
        load_experiment(tmp_path / "e.yaml", target_file=target)
    text = str(caught.value)
    for expected in (
        ':5: target.prometheus_urll: unknown field "prometheus_urll"; did you mean "prometheus_url"?',
        ':6: target.ownership_feld: unknown field "ownership_feld"; did you mean "ownership_field"?',
        ':12: signals: a target file holds only target, proxies, allowed_hosts, not "signals": '
        "indent it under `target:`",
    ):
        assert expected in text, text
    # the fields that validate get their own checks in the same report once they parse
    target.write_text(target.read_text().replace("prometheus_urll", "prometheus_url")
                      .replace("ownership_feld", "ownership_field")
                      .replace("signals: {db_queries: q}\n", ""))
    with pytest.raises(ExperimentError) as caught:
        load_experiment(tmp_path / "e.yaml", target_file=target)
    text = str(caught.value)
    assert 'database_url scheme "sqlite" cannot be read back with SQL' in text, text
    assert "target.signals.breaker_open.cache" in text and 'no proxy "cache"' in text


def test_an_unknown_field_without_a_near_name_keeps_its_separator(tmp_path: Path) -> None:
    target = tmp_path / "t.yaml"
    target.write_text("target:\n  kind: external\n  base_url: http://127.0.0.1:8000\n"
                      "  toxiproxy_url: http://127.0.0.1:8474\n  zzz: 1\n")
    (tmp_path / "e.yaml").write_text("load: {users: 1, duration: 10s}\n")
    with pytest.raises(ExperimentError, match=r'unknown field "zzz"\. Valid fields: kind'):
        load_experiment(tmp_path / "e.yaml", target_file=target)


def test_plan_says_plainly_where_a_foreign_locustfile_goes(tmp_path: Path) -> None:
    (tmp_path / "mine.py").write_text("from locust import HttpUser\n")
    (tmp_path / "e.yaml").write_text("load: {locustfile: mine.py, users: 1, duration: 10s}\n")
    done = subprocess.run([sys.executable, "-m", "harness", "plan", str(tmp_path / "e.yaml")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "target   embedded: the reference shop, started by stampede" in done.stdout
    assert "load.locustfile mine.py is not the shop's" in done.stdout and "--target" in done.stdout
    shop = subprocess.run([sys.executable, "-m", "harness", "plan", "experiments/redis_outage.yaml"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert shop.returncode == 0 and "is not the shop's" not in shop.stdout


def test_unknown_command_line_options_are_bad_input_not_a_halt() -> None:
    done = subprocess.run([sys.executable, "-m", "harness", "plan", "x.yaml", "--no-such"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 3 and "unrecognized arguments: --no-such" in done.stderr
