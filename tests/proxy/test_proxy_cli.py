"""`stampede proxy` / `python -m harness.proxy` as a process: config, log lines, clean stop."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from harness.proxy import spawn
from harness.stack.ports import free_port


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return True


def test_spawn_with_config_logs_changes_and_stops_cleanly(tmp_path: Path, redis_server) -> None:
    listen_port = free_port()
    config = tmp_path / "proxies.json"
    config.write_text(json.dumps([
        {"name": "redis", "listen": f"127.0.0.1:{listen_port}", "upstream": f"127.0.0.1:{redis_server.port}"},
    ]))
    log = tmp_path / "proxy.log"
    proxy = spawn(log_path=log, config=config)
    open_client = None
    try:
        assert proxy.pid > 0
        shown = requests.get(f"{proxy.api_url}/proxies/redis", timeout=10).json()
        assert shown["listen"] == f"127.0.0.1:{listen_port}"
        reply = requests.post(f"{proxy.api_url}/proxies/redis/toxics", timeout=10,
                              json={"type": "latency", "attributes": {"latency": 100}})
        assert reply.status_code == 200
        requests.post(f"{proxy.api_url}/proxies/redis", json={"enabled": False}, timeout=10)
        requests.post(f"{proxy.api_url}/proxies/redis", json={"enabled": True}, timeout=10)
        open_client = socket.create_connection(("127.0.0.1", listen_port), timeout=10)
    finally:
        proxy.proc.send_signal(signal.SIGTERM)
        code = proxy.proc.wait(timeout=10)
        proxy.stop()
    assert code == 0
    assert not listening(listen_port)
    open_client.settimeout(10)
    assert open_client.recv(10) == b""  # the open connection was closed on the way out
    text = log.read_text()
    assert f"proxy redis created listen=127.0.0.1:{listen_port} upstream=127.0.0.1:{redis_server.port}" in text
    assert "toxic latency_downstream added to redis: type=latency stream=downstream toxicity=1 latency=100 jitter=0" in text
    assert "proxy redis updated" in text and "enabled=false" in text


def test_ctrl_c_stops_it(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "proxy", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(200):
            if listening(port):
                break
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        assert listening(port)
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert b"Traceback" not in output
    assert not listening(port)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[{oops", "not valid JSON"),
        ('{"name": "x"}', "expected a JSON array"),
        ('[{"name": "redis", "listen": "127.0.0.1:0"}]', "missing required field: upstream at proxy 1"),
        ('[{"name": "a", "upstream": "127.0.0.1:1"}, {"name": "a", "upstream": "127.0.0.1:2"}]', "duplicate name"),
        ('[{"name": "a", "upstream": "127.0.0.1:1", "listen": "127.0.0.1:notaport"}]', "listen"),
    ],
)
def test_bad_config_names_file_and_starts_nothing(tmp_path: Path, content: str, problem: str) -> None:
    config = tmp_path / "broken.json"
    config.write_text(content)
    port = free_port()
    result = subprocess.run(
        [sys.executable, "-m", "harness", "proxy", "--port", str(port), "--config", str(config)],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode != 0
    assert str(config) in result.stderr and problem in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not listening(port)


def test_missing_config_file(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "harness.proxy", "--port", "0", "--config", str(tmp_path / "nope.json")],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode != 0
    assert "nope.json" in result.stderr and "cannot read" in result.stderr


def test_spawn_reports_a_failed_start(tmp_path: Path) -> None:
    config = tmp_path / "bad.json"
    config.write_text("not json")
    with pytest.raises(RuntimeError, match="bad.json"):
        spawn(config=config)


def test_config_bind_failure_exits_nonzero_and_closes_api(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        config = tmp_path / "clash.json"
        config.write_text(json.dumps([
            {"name": "a", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"},
            {"name": "b", "listen": f"127.0.0.1:{taken.getsockname()[1]}", "upstream": "127.0.0.1:1"},
        ]))
        port = free_port()
        result = subprocess.run(
            [sys.executable, "-m", "harness.proxy", "--port", str(port), "--config", str(config)],
            capture_output=True, text=True, timeout=30,
        )
    assert result.returncode != 0
    assert "address already in use" in result.stderr
    assert not listening(port)
