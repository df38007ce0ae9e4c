"""A real Prometheus server for tests: Debian's `prometheus` binary on a loopback port,
scraping the given targets once a second from a temporary config."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from harness.ports import LOOPBACK, free_port
from harness.processes import stop_process


def prometheus_binary() -> str:
    """The binary, or a skip (a failure in CI, where .ci/run installs it)."""
    found = shutil.which("prometheus")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("no prometheus binary on PATH in CI: .ci/run installs Debian's prometheus")
    pytest.skip("no prometheus binary on PATH (apt-get install -y prometheus)")


class PrometheusServer:
    """Scrapes `targets` (host:port, /metrics) at 1 s; `stop()` kills it (mid-run gaps)."""

    def __init__(self, workdir: Path, targets: list[str], metrics_path: str = "/metrics") -> None:
        self.workdir = workdir
        self.targets = targets
        self.metrics_path = metrics_path
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, timeout: float = 30.0) -> PrometheusServer:
        binary = prometheus_binary()
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "prometheus.yml"
        quoted = ", ".join(f'"{t}"' for t in self.targets)
        config.write_text(
            "global: {scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            f"  - job_name: service\n    metrics_path: {self.metrics_path}\n"
            f"    static_configs: [{{targets: [{quoted}]}}]\n")
        log = open(self.workdir / "prometheus.log", "ab")  # noqa: SIM115 - lives with the process
        self.proc = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={self.workdir / 'data'}",
             f"--web.listen-address={LOOPBACK}:{self.port}", "--log.level=warn"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            try:
                if requests.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = (self.workdir / "prometheus.log").read_text(errors="replace")[-2000:]
                self.stop()
                raise RuntimeError(f"prometheus did not become ready:\n{tail}")
            time.sleep(0.2)

    def wait_scraped(self, instance: str, timeout: float = 20.0) -> None:
        """Until the server has a successful scrape of `instance` (up == 1)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = requests.get(f"{self.url}/api/v1/query",
                                params={"query": f'up{{instance="{instance}"}} == 1'}, timeout=2).json()
            if body["data"]["result"]:
                return
            time.sleep(0.3)
        raise RuntimeError(f"prometheus never scraped {instance} successfully")

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def __enter__(self) -> PrometheusServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
