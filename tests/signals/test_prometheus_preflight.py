"""A run whose signals come from Prometheus stops before anything starts (exit 3, no results
folder) when the server does not answer or cannot evaluate a signal, naming the URL or field."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.ports import free_port
from harness.proxy import EmbeddedProxy, run_in_thread

from .prometheus_server import PrometheusServer

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = "load: {users: 1, duration: 10s}\n"


@pytest.fixture
def proxy() -> Iterator[EmbeddedProxy]:
    with run_in_thread() as server:
        yield server


def run(tmp_path: Path, api: str, prometheus: str, signals: str = "") -> subprocess.CompletedProcess[str]:
    target = tmp_path / "t.yaml"
    target.write_text("target:\n  kind: external\n  base_url: http://127.0.0.1:1\n"
                      f"  toxiproxy_url: {api}\n  prometheus_url: {prometheus}\n{signals}")
    (tmp_path / "e.yaml").write_text(EXPERIMENT)
    return subprocess.run(
        [sys.executable, "-m", "harness", "run", str(tmp_path / "e.yaml"), "--target", str(target),
         "--out", str(tmp_path / "results")], cwd=ROOT, capture_output=True, text=True,
        timeout=60, env=dict(os.environ, STAMPEDE_STATE_DIR=str(tmp_path / "state")))


def test_an_unreachable_prometheus_is_exit_3_naming_the_url(tmp_path: Path,
                                                            proxy: EmbeddedProxy) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    done = run(tmp_path, proxy.api_url, dead)
    assert done.returncode == 3, done.stderr
    assert f"target.prometheus_url: Prometheus at {dead} did not answer" in done.stderr
    assert not (tmp_path / "results").exists()


def test_an_expression_the_server_refuses_is_exit_3_naming_the_field(
        tmp_path: Path, proxy: EmbeddedProxy) -> None:
    with PrometheusServer(tmp_path / "prom", ["127.0.0.1:9"]) as prom:
        done = run(tmp_path, proxy.api_url, prom.url,
                   "  signals:\n    db_queries: 'sum(rate(app_sql_total[1m])'\n")
    assert done.returncode == 3, done.stderr
    assert "target.signals.db_queries: Prometheus at" in done.stderr
    assert "cannot evaluate" in done.stderr and "parse error" in done.stderr
    assert not (tmp_path / "results").exists()
