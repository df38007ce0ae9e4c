"""Contract tests: every endpoint, status code and error body of the Toxiproxy v2 HTTP API, with raw requests."""

from __future__ import annotations

import socket

import pytest

from harness.ports import free_port

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
        (b'{"name": 5, "upstream": "127.0.0.1:1"}', "bad request body"),
        (b'{"name": "x", "upstream": "127.0.0.1:1", "enabled": "yes"}', "bad request body"),
        (b'[]', "bad request body"),
    ],
)
def test_create_bad_input_is_400_and_creates_nothing(api: Api, body: bytes, message: str) -> None:
    assert_error(api("POST", "/proxies", data=body), 400, message)
    assert api("GET", "/proxies").json() == {}


@pytest.mark.parametrize(("listen", "message"), [
    ("nocolon", "listen tcp: address nocolon: missing port in address"),
    ("127.0.0.1:99999", "listen tcp: address 99999: invalid port"),
])
def test_listen_that_cannot_bind_is_500(api: Api, listen: str, message: str) -> None:
    reply = api("POST", "/proxies", json={"name": "x", "listen": listen, "upstream": "127.0.0.1:1"})
    assert_error(reply, 500, message)
    assert api("GET", "/proxies").json() == {}
    disabled = {"name": "x", "listen": listen, "upstream": "127.0.0.1:1", "enabled": False}
    assert api("POST", "/proxies", json=disabled).status_code == 201  # checked only when it binds


def test_upstream_is_any_string_and_fails_at_dial(api: Api) -> None:
    created = make_proxy(api, upstream="nocolon")
    assert created["upstream"] == "nocolon"
    host, port = created["listen"].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:  # accepted...
        assert sock.recv(10) == b""  # ...and closed: the dial failed


def test_listen_left_out_binds_every_interface(api: Api) -> None:
    reply = api("POST", "/proxies", json={"name": "any", "upstream": "127.0.0.1:1"})
    assert reply.status_code == 201
    host, port = reply.json()["listen"].rsplit(":", 1)
    assert host in ("[::]", "0.0.0.0") and int(port) > 0  # 0.0.0.0 on a host without IPv6
    assert listening(f"127.0.0.1:{port}")
    assert api("DELETE", "/proxies/any").status_code == 204


def test_errors_are_text_plain_with_a_request_id(api: Api) -> None:
    reply = api("GET", "/proxies/nope")
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert reply.text.endswith("}\n")
    assert reply.headers["X-Toxiproxy-Request-Id"]
    assert api("HEAD", "/proxies").status_code == 405


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
    assert_error(api("POST", "/proxies/db", json={"enabled": "no"}), 400, "bad request body")
    assert api("GET", "/proxies/db").json()["enabled"] is True
    assert api("POST", "/proxies/db", json={"upstream": "x"}).json()["upstream"] == "x"  # fails at dial


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
        (b"[]", 400, "bad request body"),
        (b'{"type": "latency", "stream": "sideways", "attributes": {"latency": 1}}', 400, "stream was invalid"),
        (b'{"type": "teleport"}', 400, "invalid toxic type"),
        (b'{"type": ""}', 400, "invalid toxic type"),
        (b'{"type": "latency", "attributes": {"latency": "100"}}', 400, "bad request body"),
        (b'{"type": "latency", "attributes": {"latency": 1.5}}', 400, "bad request body"),
        (b'{"type": "latency", "attributes": {"latency": true}}', 400, "bad request body"),
        (b'{"type": "latency", "attributes": []}', 400, "bad request body"),
        (b'{"type": "latency", "toxicity": "x"}', 400, "bad request body"),
    ],
)
def test_toxic_bad_input(api: Api, body: bytes, status: int, message: str) -> None:
    make_proxy(api)
    assert_error(api("POST", "/proxies/db/toxics", data=body), status, message)
    assert api("GET", "/proxies/db/toxics").json() == []


@pytest.mark.parametrize(
    ("body", "shown"),
    [  # as Go decodes them: missing is 0, unknown is ignored, negative and toxicity > 1 are kept
        ({"type": "timeout"}, {"name": "timeout_downstream", "attributes": {"timeout": 0}, "toxicity": 1}),
        ({"type": "latency", "attributes": {"latency": -5, "bogus": 3}},
         {"attributes": {"latency": -5, "jitter": 0}}),
        ({"type": "slicer", "attributes": {"size_variation": 1}},
         {"attributes": {"average_size": 0, "size_variation": 1, "delay": 0}}),
        ({"type": "bandwidth", "toxicity": 2, "attributes": {"rate": 1}}, {"toxicity": 2}),
        ({"type": "latency", "stream": None}, {"stream": "downstream", "name": "latency_downstream"}),
        ({"type": "latency", "stream": "UPSTREAM", "name": "up"}, {"stream": "UPSTREAM"}),
    ],
)
def test_toxic_attributes_read_as_go_does(api: Api, body: dict, shown: dict) -> None:
    make_proxy(api)
    reply = api("POST", "/proxies/db/toxics", json=body)
    assert reply.status_code == 200, reply.text
    toxic = reply.json()
    assert {key: toxic[key] for key in shown} == shown
    assert api("GET", f"/proxies/db/toxics/{toxic['name']}").json() == toxic


def test_upper_case_stream_runs_upstream(api: Api) -> None:
    make_proxy(api)
    api("POST", "/proxies/db/toxics", json={**LATENCY, "name": "down"})
    api("POST", "/proxies/db/toxics", json={**LATENCY, "name": "up", "stream": "UPSTREAM"})
    assert [t["name"] for t in api("GET", "/proxies/db/toxics").json()] == ["up", "down"]


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
    assert_error(api(method, "/proxies/db/toxics/latency_downstream", json={"attributes": {"jitter": "x"}}),
                 400, "bad request body")
    assert_error(api(method, "/proxies/db/toxics/latency_downstream", data=b"{"), 400, "bad request body")
    assert api("GET", "/proxies/db/toxics/latency_downstream").json() == reply.json()
    reply = api(method, "/proxies/db/toxics/latency_downstream", json={"attributes": {"jitter": -1, "x": 1}})
    assert reply.json()["attributes"] == {"latency": 100, "jitter": -1}


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
    assert [p["name"] for p in reply.json()["proxies"]] == ["a", "b"]
    # (the real v2.8.0 answers a kept proxy as sent, without its toxics; ours as stored)
    assert api("GET", "/proxies/a").json()["toxics"][0]["name"] == "latency_downstream"
    proxy_b = api("GET", "/proxies/b").json()
    assert proxy_b["upstream"] == "127.0.0.1:3" and proxy_b["enabled"] is True
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
    assert_populate_error(api("POST", "/populate", json={"name": "x"}), 400, "bad request body")
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


@pytest.mark.parametrize("method", ["PATCH", "POST"])
def test_update_with_the_same_address_by_host_name_keeps_connections(api: Api, redis_server, method: str) -> None:
    """Ours sees no change, as v2.9+ does (#631); the real v2.8.0 restarts the listener."""
    created = make_proxy(api, upstream=f"127.0.0.1:{redis_server.port}")
    port = created["listen"].rsplit(":", 1)[1]
    with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as sock:
        reply = api(method, "/proxies/db", json={"listen": f"localhost:{port}"})
        assert reply.status_code == 200
        sock.sendall(b"PING\r\n")
        answer = sock.recv(100)
    if api.kind == "ours":
        assert answer.startswith(b"-NOAUTH")  # the same connection still reaches Redis
    else:
        assert answer == b""  # v2.8.0: restarted, the connection dropped


def test_populate_with_the_same_address_by_host_name(api: Api) -> None:
    """Kept difference: ours keeps the proxy and its toxics (as v2.9+ does, #631); the
    real v2.8.0 replaces it, losing its toxics."""
    created = make_proxy(api)
    api("POST", "/proxies/db/toxics", json=LATENCY)
    port = created["listen"].rsplit(":", 1)[1]
    reply = api("POST", "/populate", json=[{"name": "db", "listen": f"localhost:{port}", "upstream": "127.0.0.1:1"}])
    assert reply.status_code == 201
    toxics = api("GET", "/proxies/db").json()["toxics"]
    assert len(toxics) == (1 if api.kind == "ours" else 0)


def test_two_proxies_on_one_port_is_500(api: Api) -> None:
    """Also with worker processes, whose SO_REUSEPORT listeners could otherwise share it."""
    listen = f"127.0.0.1:{free_port()}"
    make_proxy(api, name="first", upstream="127.0.0.1:1", listen=listen)
    reply = api("POST", "/proxies", json={"name": "second", "listen": listen, "upstream": "127.0.0.1:2"})
    assert_error(reply, 500, "address already in use")
    assert set(api("GET", "/proxies").json()) == {"first"}


def test_duplicate_names_in_one_populate(api: Api) -> None:
    """Kept difference: ours refuses them (as current upstream does); v2.8.0 lets the last win."""
    entries = [{"name": "twice", "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{n}"} for n in (1, 2)]
    reply = api("POST", "/populate", json=entries)
    if api.kind == "ours":
        assert reply.status_code == 400 and "duplicate proxy name" in reply.json()["error"]
        assert api("GET", "/proxies").json() == {}
    else:
        assert reply.status_code == 201
        assert api("GET", "/proxies/twice").json()["upstream"] == "127.0.0.1:2"
