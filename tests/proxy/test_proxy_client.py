"""Contract tests through toxiproxy-python, the client the fault layer uses."""

from __future__ import annotations

import socket

import pytest
import toxiproxy
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

from harness.ports import free_port


def test_version_and_running(toxiproxy_client: toxiproxy.Toxiproxy) -> None:
    assert toxiproxy_client.running()
    assert b'"version"' in toxiproxy_client.version()


def test_create_toxic_down_destroy(toxiproxy_client: toxiproxy.Toxiproxy, redis_server) -> None:
    upstream = f"{redis_server.host}:{redis_server.port}"
    proxy = toxiproxy_client.create(upstream=upstream, name="redis")
    assert proxy.enabled is True and proxy.upstream == upstream
    assert set(toxiproxy_client.proxies()) == {"redis"}
    assert toxiproxy_client.get_proxy("redis").listen == proxy.listen
    with pytest.raises(ProxyExists):
        toxiproxy_client.create(upstream=upstream, name="redis")

    proxy.add_toxic(type="latency", attributes={"latency": 10, "jitter": 2})
    proxy.add_toxic(type="timeout", stream="upstream", name="hole", toxicity=0.5, attributes={"timeout": 0})
    toxics = proxy.toxics()
    assert set(toxics) == {"latency_downstream", "hole"}
    assert toxics["hole"].stream == "upstream" and toxics["hole"].toxicity == 0.5
    assert toxics["latency_downstream"].attributes == {"latency": 10, "jitter": 2}
    with pytest.raises(InvalidToxic):
        proxy.add_toxic(type="nonsense")
    with pytest.raises(ProxyExists):  # 409 for a duplicate toxic name too
        proxy.add_toxic(type="latency", attributes={"latency": 1})
    proxy.add_toxic(type="timeout", name="bare")  # the client's default attributes: {}
    assert proxy.toxics()["bare"].attributes == {"timeout": 0}
    proxy.destroy_toxic("bare")
    proxy.destroy_toxic("hole")
    assert set(proxy.toxics()) == {"latency_downstream"}
    with pytest.raises(NotFound):
        proxy.destroy_toxic("hole")

    host, port = proxy.listen.rsplit(":", 1)
    with proxy.down():
        assert toxiproxy_client.get_proxy("redis").enabled is False
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((host, int(port)), timeout=5)
    assert toxiproxy_client.get_proxy("redis").enabled is True
    socket.create_connection((host, int(port)), timeout=5).close()

    toxiproxy_client.reset()
    assert proxy.toxics() == {}
    toxiproxy_client.destroy(proxy)
    assert toxiproxy_client.proxies() == {}
    with pytest.raises(NotFound):
        proxy.destroy()


def test_populate(toxiproxy_client: toxiproxy.Toxiproxy) -> None:
    listen = f"127.0.0.1:{free_port()}"
    entries = [{"name": "pg", "listen": listen, "upstream": "127.0.0.1:5432"}]
    created = toxiproxy_client.populate(entries)
    assert [p.name for p in created] == ["pg"]
    assert toxiproxy_client.get_proxy("pg").listen == listen
    assert toxiproxy_client.populate(entries) == []  # same entry: kept, nothing created
    toxiproxy_client.destroy_all()
    assert toxiproxy_client.proxies() == {}
