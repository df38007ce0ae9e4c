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

from harness.ports import free_port
from harness.proxy import spawn


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


def serve_once(*args: str) -> tuple[dict, str]:
    """Run the proxy with these arguments until its API answers: (GET /proxies, its log)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "harness.proxy", "-host", "127.0.0.1", "-port", str(port), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        proxies = None
        for _ in range(200):
            if proc.poll() is not None:
                break
            try:
                proxies = requests.get(f"http://127.0.0.1:{port}/proxies", timeout=2).json()
                break
            except requests.RequestException:
                time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proxies is not None, f"the API never answered:\n{output}"
    assert not listening(port)
    return proxies, output


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[{oops", "not valid JSON"),
        ('{"name": "x"}', "expected a JSON array"),
        ('[{"name": "redis", "listen": "127.0.0.1:0"}]', "missing required field: upstream at proxy 1"),
        ('[{"name": "a", "upstream": "127.0.0.1:1"}, {"name": "a", "upstream": "127.0.0.1:2"}]', "duplicate name"),
    ],
)
def test_bad_config_is_logged_and_serving_goes_on(tmp_path: Path, content: str, problem: str) -> None:
    """As the real server: the file's problem is logged with its name, the API serves on."""
    config = tmp_path / "broken.json"
    config.write_text(content)
    proxies, output = serve_once("-config", str(config))
    assert proxies == {}
    assert str(config) in output and problem in output, output
    assert "Traceback" not in output


def test_missing_config_file(tmp_path: Path) -> None:
    proxies, output = serve_once("--config", str(tmp_path / "nope.json"))
    assert proxies == {}
    assert "nope.json" in output and "cannot read" in output


def test_spawn_reports_a_failed_start() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken, pytest.raises(RuntimeError, match="cannot serve the API"):
        spawn(port=taken.getsockname()[1])


def test_config_bind_failure_keeps_what_was_created(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        config = tmp_path / "clash.json"
        config.write_text(json.dumps([
            {"name": "a", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"},
            {"name": "b", "listen": f"127.0.0.1:{taken.getsockname()[1]}", "upstream": "127.0.0.1:1"},
        ]))
        proxies, output = serve_once("-config", str(config))
    assert set(proxies) == {"a"}
    assert "address already in use" in output


def test_version_flag() -> None:
    result = subprocess.run([sys.executable, "-m", "harness.proxy", "-version"], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0
    assert result.stdout.startswith("toxiproxy-server version 2.")


def test_seed_repeats_the_toxicity_draws(redis_server) -> None:
    """-seed: the same seed, the same connections poisoned (one process: workers get seed + i)."""

    def pattern() -> list[bool]:
        with spawn(extra_args=("-seed", "7", "-workers", "1")) as server:
            listen = requests.post(f"{server.api_url}/proxies", timeout=10, json={
                "name": "r", "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{redis_server.port}"}).json()["listen"]
            port = int(listen.rsplit(":", 1)[1])
            socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(12)]
            try:
                for sock in socks:  # each connection reaches Redis before the toxic
                    sock.sendall(b"PING\r\n")
                    sock.recv(100)
                requests.post(f"{server.api_url}/proxies/r/toxics", timeout=10, json={
                    "type": "timeout", "toxicity": 0.5, "attributes": {"timeout": 0}})
                held = []
                for sock in socks:
                    sock.sendall(b"PING\r\n")
                    sock.settimeout(0.3)
                    try:
                        held.append(not sock.recv(100))
                    except TimeoutError:
                        held.append(True)  # swallowed by the black hole
                return held
            finally:
                for sock in socks:
                    sock.close()

    first = pattern()
    assert 0 < sum(first) < len(first), first  # (2 * 0.5**12 chance of a false failure)
    assert pattern() == first
