"""prepare_proxies against the real fault proxy (Toxiproxy API) and a real redis-server:
proxies a target file declares are created through /populate, expected ones are checked."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from harness.experiment import ProxySetupError, load_experiment, populate_body, prepare_proxies
from harness.faults.client import FaultClient
from harness.ports import free_port
from harness.proxy import EmbeddedProxy
from harness.stack.redis_server import RedisServer

from .conftest import LATENCY_EXPERIMENT


def target_file(tmp_path: Path, api: str, proxies: str) -> Path:
    path = tmp_path / "target.yaml"
    path.write_text(f"target:\n  kind: external\n  base_url: http://127.0.0.1:1\n"
                    f"  toxiproxy_url: {api}\nproxies:\n{proxies}")
    return path


def test_declared_proxies_are_created_and_carry_traffic(
    tmp_path: Path, proxy: EmbeddedProxy, redis_server: RedisServer
) -> None:
    listen = free_port()
    target = target_file(tmp_path, proxy.api_url, f'  redis: {{listen: "127.0.0.1:{listen}", '
                                                  f'upstream: "127.0.0.1:{redis_server.port}"}}\n')
    (tmp_path / "e.yaml").write_text(LATENCY_EXPERIMENT)
    exp = load_experiment(tmp_path / "e.yaml", target_file=target)
    assert populate_body(exp) == [{"name": "redis", "listen": f"127.0.0.1:{listen}",
                                   "upstream": f"127.0.0.1:{redis_server.port}", "enabled": True}]
    client = FaultClient(proxy.api_url, timeout=5)
    assert prepare_proxies(exp, client) == ["redis"]
    assert prepare_proxies(exp, client) == ["redis"]  # a rerun finds it as it should be
    through = redis.Redis(port=listen, password=redis_server.password, socket_timeout=5)
    assert through.ping() is True
    through.close()


def test_an_expected_proxy_must_exist(tmp_path: Path, proxy: EmbeddedProxy) -> None:
    target = target_file(tmp_path, proxy.api_url, "  redis: {expect: true}\n")
    (tmp_path / "e.yaml").write_text(LATENCY_EXPERIMENT)
    exp = load_experiment(tmp_path / "e.yaml", target_file=target)
    client = FaultClient(proxy.api_url, timeout=5)
    with pytest.raises(ProxySetupError) as info:
        prepare_proxies(exp, client)
    assert str(info.value).startswith(f"{target}: proxies: redis not found on {proxy.api_url}")
    client.create_proxy("redis", f"127.0.0.1:{free_port()}", "127.0.0.1:1")  # the owner's config
    assert prepare_proxies(exp, client) == ["redis"]
