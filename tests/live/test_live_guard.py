"""The live view refuses other sites and other host names: a real Locust master web UI,
with our Game day routes, is sent a foreign Origin, a foreign Referer and a foreign Host."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from harness.live.control import HALT_FILE
from harness.live.guard import allowed_hosts, refusal
from harness.live.pause import serve_pause
from harness.load.launcher import LocustProcesses
from harness.ports import free_port, wait_for_port

LOCUSTFILE = Path(__file__).resolve().parents[1] / "runner" / "tiny_locustfile.py"
EVIL = "http://evil.example"


class Counting(http.server.ThreadingHTTPServer):
    daemon_threads = True
    hits = 0


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Counting

    def do_GET(self) -> None:  # noqa: N802
        self.server.hits += 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def counting_servers() -> Iterator[tuple[Counting, Counting]]:
    """Two loopback targets: the run's, and the one a forged /swarm would redirect to."""
    servers = [Counting(("127.0.0.1", 0), _Handler) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield servers[0], servers[1]
    for server in servers:
        server.shutdown()
        server.server_close()


def url_of(server: Counting) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def wait_until(check, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


@pytest.mark.slow
def test_foreign_origin_and_host_refused_and_run_unaffected(
        counting_servers: tuple[Counting, Counting], tmp_path: Path) -> None:
    target, elsewhere = counting_servers
    results, logs = tmp_path / "run", tmp_path / "run" / "logs"
    logs.mkdir(parents=True)
    port = free_port()
    locust = LocustProcesses(LOCUSTFILE, url_of(target), logs, results, workers=1, duration=300,
                             users=2, spawn_rate=100, user_classes=[], ui_port=port)
    view = f"http://127.0.0.1:{port}"
    own = {"Origin": view}
    try:
        locust.start()
        wait_for_port("127.0.0.1", port, timeout=60)
        stats = lambda: requests.get(f"{view}/stats/requests", timeout=5).json()  # noqa: E731
        wait_until(lambda: stats()["user_count"] == 2, "the load never reached 2 users")

        forged = {"user_count": "9", "spawn_rate": "100", "host": url_of(elsewhere)}
        attempts = [
            ("POST", "/swarm", {"Origin": EVIL}, forged),
            ("POST", "/swarm", {"Referer": f"{EVIL}/page"}, forged),
            ("POST", "/swarm", {"Origin": "null"}, forged),
            ("POST", "/swarm", {"Host": f"evil.example:{port}"}, forged),
            ("POST", "/stop", {"Origin": EVIL}, None),
            ("POST", "/stats/reset", {"Origin": EVIL}, None),
            ("POST", "/gameday/halt", {"Origin": EVIL}, None),
            ("POST", "/gameday/halt", {"Host": f"evil.example:{port}"}, None),
            ("GET", "/", {"Host": f"evil.example:{port}"}, None),
            ("GET", "/gameday/state", {"Host": f"rebound.example:{port}"}, None),
            ("GET", "/gameday/state", {"Origin": EVIL}, None),
            ("OPTIONS", "/swarm", {"Origin": EVIL, "Access-Control-Request-Method": "POST"}, None),
        ]
        for method, path, headers, data in attempts:
            answer = requests.request(method, view + path, headers=headers, data=data, timeout=5)
            assert answer.status_code == 403, (method, path, headers, answer.text)
            assert "access-control-allow-origin" not in {k.lower() for k in answer.headers}

        before = target.hits  # the run goes on as it was: same users, same target, no halt
        wait_until(lambda: target.hits > before + 200, "the load stopped after the refusals")
        assert stats()["user_count"] == 2 and stats()["state"] == "running"
        assert elsewhere.hits == 0
        assert not (results / HALT_FILE).exists()

        # the view's own page still gives orders, and reads without any CORS header
        state = requests.get(f"{view}/gameday/state", headers=own, timeout=5)
        assert state.ok and not any(k.lower().startswith("access-control") for k in state.headers)
        answer = requests.post(f"{view}/swarm", headers={"Origin": f"http://localhost:{port}"},
                               data={"user_count": "3", "spawn_rate": "100"}, timeout=5)
        assert answer.ok and answer.json()["success"], answer.text
        wait_until(lambda: stats()["user_count"] == 3, "our own /swarm did not change the users")
        assert requests.post(f"{view}/gameday/halt", headers=own, timeout=5).ok
        assert (results / HALT_FILE).exists()
    finally:
        locust.stop()


def test_pause_page_refuses_foreign_origin_and_host() -> None:
    port = free_port()
    view = f"http://127.0.0.1:{port}"
    with serve_pause(port, "paused", 120) as resume:
        wait_for_port("127.0.0.1", port)
        for headers in ({"Origin": EVIL}, {"Referer": f"{EVIL}/x"}, {"Host": "evil.example"}):
            answer = requests.post(f"{view}/gameday/next", headers=headers, timeout=5)
            assert answer.status_code == 403, headers
        assert requests.get(view, headers={"Host": f"evil.example:{port}"}, timeout=5).status_code == 403
        assert not resume.is_set()
        assert requests.post(f"{view}/gameday/next", headers={"Origin": view}, timeout=5).ok
        assert resume.is_set()


def test_allowed_hosts_and_refusal_rules() -> None:
    assert allowed_hosts("127.0.0.1", 8089) == {"127.0.0.1:8089", "localhost:8089", "[::1]:8089"}
    assert allowed_hosts("10.0.0.5", 80) == {"10.0.0.5:80", "10.0.0.5"}
    hosts = allowed_hosts("127.0.0.1", 8089)
    ok = {"Host": "localhost:8089"}
    assert refusal("POST", ok, hosts) is None  # curl: no Origin, no Referer
    assert refusal("POST", {**ok, "Origin": "http://127.0.0.1:8089"}, hosts) is None
    assert refusal("GET", {**ok, "Referer": f"{EVIL}/wiki"}, hosts) is None  # a link to the view
    assert refusal("POST", {**ok, "Referer": f"{EVIL}/wiki"}, hosts)
    assert refusal("POST", {**ok, "Origin": "https://127.0.0.1:8089"}, hosts)
    assert refusal("POST", {**ok, "Origin": "http://127.0.0.1:8090"}, hosts)
    assert refusal("GET", {"Host": "127.0.0.1:8089.evil.example"}, hosts)
    assert refusal("GET", {}, hosts)
