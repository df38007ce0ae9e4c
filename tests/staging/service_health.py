"""Waiting for a service a test started to answer its health check."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import requests


def wait_healthy(proc: subprocess.Popen, url: str, log: Path, name: str,
                 timeout: float = 60.0) -> None:
    """Until GET `url` answers 200; fail with the end of its log if the process exits first."""
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, log.read_text()[-2000:]
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, f"{name} did not become healthy"
        time.sleep(0.2)
