"""/metrics: the real server's names and labels, the same byte counts for the same traffic."""

from __future__ import annotations

import re
import socket
import time

import pytest
import requests

from harness.proxy import spawn
from harness.proxy.embedded import real_server_path

from .conftest import TIMEOUT


def byte_lines(text: str) -> dict[str, int]:
    return {m[1]: int(float(m[2])) for m in re.finditer(r"^(toxiproxy_proxy_\w+\{[^}]*\}) (\S+)$", text, re.M)}


def traffic_and_metrics(server, upstream: str) -> tuple[dict[str, int], str]:
    listen = requests.post(f"{server.api_url}/proxies", timeout=TIMEOUT, json={
        "name": "redis", "listen": "127.0.0.1:0", "upstream": upstream}).json()["listen"]
    host, port = listen.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as sock:
        sock.sendall(b"PING\r\n")
        assert sock.recv(100).startswith(b"-NOAUTH")
    deadline = time.monotonic() + TIMEOUT  # the real server counts a moment after the bytes move
    while True:
        text = requests.get(f"{server.api_url}/metrics", timeout=TIMEOUT).text
        counts = {key.replace(port, "P"): value for key, value in byte_lines(text).items()}
        if (len(counts) == 4 and all(counts.values())) or time.monotonic() > deadline:
            return counts, text
        time.sleep(0.1)


@pytest.mark.parametrize("flag_style", ["-", "--"])
def test_metrics_match_the_real_server(redis_server, flag_style: str) -> None:
    upstream = f"127.0.0.1:{redis_server.port}"
    flags = (f"{flag_style}proxy-metrics", f"{flag_style}runtime-metrics")
    with spawn(extra_args=flags) as ours, spawn(server=real_server_path(), extra_args=flags[:1] + ("-runtime-metrics",),
                                                log_level="warn") as real:
        mine, text = traffic_and_metrics(ours, upstream)
        theirs, _ = traffic_and_metrics(real, upstream)
    assert mine == theirs
    assert len(mine) == 4 and all(value > 0 for value in mine.values())
    assert re.search(r"^process_resident_memory_bytes \d", text, re.M)
    assert re.search(r"^process_open_fds \d", text, re.M)


def test_no_metrics_without_the_flags() -> None:
    with spawn() as ours:
        reply = requests.get(f"{ours.api_url}/metrics", timeout=TIMEOUT)
    assert reply.status_code == 404
