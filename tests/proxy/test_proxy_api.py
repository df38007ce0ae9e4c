"""Contract tests: every endpoint, status code and error body of the Toxiproxy v2 HTTP API, with raw requests."""

from __future__ import annotations

import socket

import pytest

from harness.stack.ports import free_port

from .conftest import Api


def make_proxy(api: Api, name: str = "db", upstream: str = "127.0.0.1:1", **extra) -> dict:
    reply = api("POST", "/proxies", json={"name": name, "listen": "127.0.0.1:0", "upstream": upstream, **extra})
    assert reply.status_code == 201, reply.text
    return reply.json()


def assert_error(reply, status: int, message_part: str) -> None:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) == {"error", "status"}, body
    assert body["status"] == status
    assert message_part in body["error"]


def listening(listen: str) -> bool:
    host, port = listen.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError:
        return False
    return True


def test_version(api: Api) -> None:
    reply = api("GET", "/version")
    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.json()["version"].count(".") == 2


def test_browsers_are_refused(api: Api) -> None:
    reply = api("GET", "/proxies", headers={"User-Agent": "Mozilla/5.0 (X11)"})
    assert reply.status_code == 403
    assert "User agent not allowed" in reply.text
    assert api("GET", "/proxies", headers={"User-Agent": "curl/8"}).status_code == 200


def test_create_show_list_delete(api: Api) -> None:
    created = make_proxy(api, upstream="localhost:6379")
    assert created["name"] == "db" and created["enabled"] is True and created["toxics"] == []
    assert created["upstream"] == "localhost:6379"
    host, port = created["listen"].rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0  # port 0 was replaced by the real one
    assert listening(created["listen"])

    assert api("GET", "/proxies").json() == {"db": created}
    assert api("GET", "/proxies/db").json() == created

    assert api("DELETE", "/proxies/db").status_code == 204
    assert not listening(created["listen"])
    assert_error(api("GET", "/proxies/db"), 404, "proxy not found")
    assert_error(api("DELETE", "/proxies/db"), 404, "proxy not found")
    assert api("GET", "/proxies").json() == {}


def test_create_disabled_does_not_listen(api: Api) -> None:
    listen = f"127.0.0.1:{free_port()}"
    reply = api("POST", "/proxies", json={"name": "off", "listen": listen, "upstream": "127.0.0.1:1", "enabled": False})
    assert reply.status_code == 201
    assert reply.json()["enabled"] is False
    assert not listening(listen)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "bad request body"),
        (b"", "bad request body"),
        (b'{"upstream": "127.0.0.1:1"}', "missing required field: name"),
        (b'{"name": "x"}', "missing required field: upstream"),
        (b'{"name": "x", "upstream": "nocolon"}', "upstream"),
        (b'{"name": 5, "upstream": "127.0.0.1:1"}', "name"),
        (b'{"name": "x", "upstream": "127.0.0.1:1", "listen": "127.0.0.1:99999"}', "listen"),
        (b'{"name": "x", "upstream": "127.0.0.1:1", "enabled": "yes"}', "enabled"),
    ],
)
def test_create_bad_input_is_400_and_creates_nothing(api: Api, body: bytes, message: str) -> None:
    assert_error(api("POST", "/proxies", data=body), 400, message)
    assert api("GET", "/proxies").json() == {}


def test_create_duplicate_is_409(api: Api) -> None:
    first = make_proxy(api)
    assert_error(api("POST", "/proxies", json={"name": "db", "upstream": "127.0.0.1:2"}), 409, "proxy already exists")
    assert api("GET", "/proxies/db").json() == first


def test_listen_address_taken_is_500_and_creates_nothing(api: Api) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        listen = f"127.0.0.1:{taken.getsockname()[1]}"
        reply = api("POST", "/proxies", json={"name": "clash", "listen": listen, "upstream": "127.0.0.1:1"})
        assert_error(reply, 500, f"listen tcp {listen}: bind: address already in use")
    assert api("GET", "/proxies").json() == {}


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_update_is_partial(api: Api, method: str) -> None:
    created = make_proxy(api)
    reply = api(method, "/proxies/db", json={"enabled": False})
    assert reply.status_code == 200
    assert reply.json() == {**created, "enabled": False}
    assert not listening(created["listen"])

    reply = api(method, "/proxies/db", json={"upstream": "127.0.0.1:2"})
    assert reply.json()["upstream"] == "127.0.0.1:2"
    assert reply.json()["enabled"] is False  # absent fields keep their value

    new_listen = f"127.0.0.1:{free_port()}"
    reply = api(method, "/proxies/db", json={"listen": new_listen, "enabled": True})
    assert reply.json() == {**created, "listen": new_listen, "upstream": "127.0.0.1:2"}
    assert listening(new_listen)
    assert api("GET", "/proxies/db").json() == reply.json()


def test_update_errors(api: Api) -> None:
    assert_error(api("PATCH", "/proxies/nope", json={"enabled": False}), 404, "proxy not found")
    make_proxy(api)
    assert_error(api("PATCH", "/proxies/db", data=b"[oops"), 400, "bad request body")
    assert_error(api("POST", "/proxies/db", json={"enabled": "no"}), 400, "enabled")
    assert_error(api("POST", "/proxies/db", json={"upstream": "x"}), 400, "upstream")
    assert api("GET", "/proxies/db").json()["enabled"] is True


def test_update_to_taken_address_is_500(api: Api) -> None:
    make_proxy(api)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        listen = f"127.0.0.1:{taken.getsockname()[1]}"
        assert_error(api("PATCH", "/proxies/db", json={"listen": listen}), 500, "address already in use")


# -- toxics --------------------------------------------------------------------------------

LATENCY = {"type": "latency", "attributes": {"latency": 100}}


def test_toxic_create_defaults_show_list_delete(api: Api) -> None:
    make_proxy(api)
    reply = api("POST", "/proxies/db/toxics", json=LATENCY)
    assert reply.status_code == 200  # not 201: the real server answers 200 here
    toxic = reply.json()
    assert toxic == {
        "name": "latency_downstream", "type": "latency", "stream": "downstream",
        "toxicity": 1.0, "attributes": {"latency": 100, "jitter": 0},
    }
    assert api("GET", "/proxies/db/toxics").json() == [toxic]
    assert api("GET", "/proxies/db/toxics/latency_downstream").json() == toxic
    assert api("GET", "/proxies/db").json()["toxics"] == [toxic]
    assert api("DELETE", "/proxies/db/toxics/latency_downstream").status_code == 204
    assert api("GET", "/proxies/db/toxics").json() == []
    assert_error(api("DELETE", "/proxies/db/toxics/latency_downstream"), 404, "toxic not found")


def test_toxics_listed_upstream_first(api: Api) -> None:
    make_proxy(api)
    api("POST", "/proxies/db/toxics", json={**LATENCY, "name": "a"})
    api("POST", "/proxies/db/toxics", json={**LATENCY, "name": "b", "stream": "upstream"})
    api("POST", "/proxies/db/toxics", json={"type": "timeout", "name": "c", "attributes": {"timeout": 0}})
    names = [t["name"] for t in api("GET", "/proxies/db/toxics").json()]
    assert names == ["b", "a", "c"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{nope", 400, "bad request body"),
        (b'{"type": "latency", "stream": "sideways", "attributes": {"latency": 1}}', 400, "stream was invalid"),
        (b'{"type": "teleport"}', 400, "invalid toxic type"),
        (b'{"type": "latency", "attributes": {"latency": -5}}', 400, "negative"),
        (b'{"type": "latency", "attributes": {}}', 400, "missing attribute 'latency'"),
        (b'{"type": "latency"}', 400, "missing attribute 'latency'"),
        (b'{"type": "latency", "attributes": {"latency": "100"}}', 400, "integer"),
        (b'{"type": "latency", "attributes": {"latency": 1.5}}', 400, "integer"),
        (b'{"type": "latency", "attributes": {"latncy": 1}}', 400, "unknown attribute"),
        (b'{"type": "bandwidth", "attributes": {"rate": 1}, "toxicity": 2}', 400, "toxicity"),
        (b'{"type": "slicer", "attributes": {"size_variation": 1}}', 400, "average_size"),
    ],
)
def test_toxic_bad_input(api: Api, body: bytes, status: int, message: str) -> None:
    make_proxy(api)
    assert_error(api("POST", "/proxies/db/toxics", data=body), status, message)
    assert api("GET", "/proxies/db/toxics").json() == []


def test_toxic_not_found_and_duplicates(api: Api) -> None:
    assert_error(api("POST", "/proxies/nope/toxics", json=LATENCY), 404, "proxy not found")
    assert_error(api("GET", "/proxies/nope/toxics"), 404, "proxy not found")
    assert_error(api("GET", "/proxies/nope/toxics/x"), 404, "proxy not found")
    make_proxy(api)
    assert_error(api("GET", "/proxies/db/toxics/x"), 404, "toxic not found")
    assert_error(api("PATCH", "/proxies/db/toxics/x", json={"toxicity": 0.5}), 404, "toxic not found")
    api("POST", "/proxies/db/toxics", json={**LATENCY, "name": "slow"})
    # names are unique across both streams
    reply = api("POST", "/proxies/db/toxics", json={**LATENCY, "name": "slow", "stream": "upstream"})
    assert_error(reply, 409, "toxic already exists")


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_toxic_update_merges_attributes(api: Api, method: str) -> None:
    make_proxy(api)
    api("POST", "/proxies/db/toxics", json={"type": "latency", "attributes": {"latency": 100, "jitter": 10}})
    reply = api(method, "/proxies/db/toxics/latency_downstream", json={
        "attributes": {"jitter": 20}, "toxicity": 0.5, "name": "renamed", "type": "timeout", "stream": "upstream",
    })
    assert reply.status_code == 200
    assert reply.json() == {
        "name": "latency_downstream", "type": "latency", "stream": "downstream",
        "toxicity": 0.5, "attributes": {"latency": 100, "jitter": 20},
    }
    assert api("GET", "/proxies/db/toxics/latency_downstream").json() == reply.json()
    assert_error(api(method, "/proxies/db/toxics/latency_downstream", json={"attributes": {"jitter": -1}}), 400, "negative")
    assert_error(api(method, "/proxies/db/toxics/latency_downstream", data=b"{"), 400, "bad request body")
    assert api("GET", "/proxies/db/toxics/latency_downstream").json() == reply.json()


def test_every_toxic_type_is_accepted(api: Api) -> None:
    make_proxy(api)
    bodies = [
        {"type": "latency", "attributes": {"latency": 1, "jitter": 1}},
        {"type": "bandwidth", "attributes": {"rate": 100}},
        {"type": "slow_close", "attributes": {"delay": 10}},
        {"type": "timeout", "attributes": {"timeout": 0}},
        {"type": "reset_peer", "attributes": {"timeout": 10}},
        {"type": "slicer", "attributes": {"average_size": 10, "size_variation": 5, "delay": 10}},
        {"type": "limit_data", "attributes": {"bytes": 10}},
    ]
    for body in bodies:
        for stream in ("upstream", "downstream"):
            reply = api("POST", "/proxies/db/toxics", json={**body, "stream": stream})
            assert reply.status_code == 200, reply.text
            assert reply.json()["name"] == f"{body['type']}_{stream}"
    assert len(api("GET", "/proxies/db/toxics").json()) == 14


# -- populate and reset ------------------------------------------------------------------------


def test_populate_creates_keeps_replaces(api: Api) -> None:
    a_listen, b_listen = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    first = [
        {"name": "a", "listen": a_listen, "upstream": "127.0.0.1:1"},
        {"name": "b", "listen": b_listen, "upstream": "127.0.0.1:2", "enabled": False},
    ]
    reply = api("POST", "/populate", json=first)
    assert reply.status_code == 201
    assert [p["name"] for p in reply.json()["proxies"]] == ["a", "b"]
    assert api("GET", "/proxies/b").json()["enabled"] is False
    api("POST", "/proxies/a/toxics", json=LATENCY)
    make_proxy(api, name="other")

    second = [
        {"name": "a", "listen": a_listen, "upstream": "127.0.0.1:1"},  # same: kept with toxics
        {"name": "b", "listen": b_listen, "upstream": "127.0.0.1:3"},  # changed: replaced
    ]
    reply = api("POST", "/populate", json=second)
    assert reply.status_code == 201
    proxies = {p["name"]: p for p in reply.json()["proxies"]}
    assert proxies["a"]["toxics"][0]["name"] == "latency_downstream"
    assert proxies["b"]["upstream"] == "127.0.0.1:3" and proxies["b"]["enabled"] is True
    assert set(api("GET", "/proxies").json()) == {"a", "b", "other"}  # absent ones stay


def test_populate_validates_everything_first(api: Api) -> None:
    bad = [
        {"name": "ok", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"},
        {"name": "broken", "listen": "127.0.0.1:0"},
    ]
    reply = api("POST", "/populate", json=bad)
    assert reply.status_code == 400
    assert reply.json()["error"] == "missing required field: upstream at proxy 2"
    assert reply.json()["status"] == 400
    assert api("GET", "/proxies").json() == {}
    assert_populate_error(api("POST", "/populate", data=b"[{"), 400, "bad request body")
    assert_populate_error(api("POST", "/populate", json={"name": "x"}), 400, "array")
    assert api("GET", "/proxies").json() == {}


def assert_populate_error(reply, status: int, message: str) -> None:
    assert reply.status_code == status
    assert message in reply.json()["error"] and reply.json()["status"] == status


def test_populate_bind_failure_reports_proxies_so_far(api: Api) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        listen = f"127.0.0.1:{taken.getsockname()[1]}"
        reply = api("POST", "/populate", json=[
            {"name": "first", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"},
            {"name": "second", "listen": listen, "upstream": "127.0.0.1:1"},
        ])
    assert reply.status_code == 500
    body = reply.json()
    assert body["status"] == 500 and "address already in use" in body["error"]
    assert [p["name"] for p in body["proxies"]] == ["first"]


def test_reset_enables_and_removes_toxics(api: Api) -> None:
    created = make_proxy(api)
    api("POST", "/proxies/db/toxics", json=LATENCY)
    api("POST", "/proxies/db", json={"enabled": False})
    assert not listening(created["listen"])
    reply = api("POST", "/reset")
    assert reply.status_code == 204 and reply.content == b""
    shown = api("GET", "/proxies/db").json()
    assert shown["enabled"] is True and shown["toxics"] == []
    assert listening(shown["listen"])


def test_unknown_path_is_404(api: Api) -> None:
    assert api("GET", "/nothing/here").status_code == 404
