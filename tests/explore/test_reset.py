"""The reset between probes, on a real embedded stack: what one probe leaves, the next never sees."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import requests

from harness.explore.reset import redis_key_count, reset, snapshot
from harness.faults import FaultClient
from harness.stack.embedded import EmbeddedStack


@pytest.mark.slow
def test_reset_puts_proxy_redis_tables_and_target_back_to_the_start_state(tmp_path: Path) -> None:
    stack = EmbeddedStack(tmp_path / "logs")
    stack.start()
    try:
        state = snapshot(stack)
        keys = redis_key_count(stack)
        assert keys > 0 and "orders" in state.tables
        with psycopg.connect(stack.database_url, autocommit=True) as conn:
            users = conn.execute("SELECT count(*), sum(version) FROM users").fetchone()
            assert conn.execute("SELECT count(*) FROM orders").fetchone() == (0,)

        # what a probe leaves behind: an order, an edited profile, stray keys, a small
        # maxmemory, a toxic and a disabled proxy
        login = requests.post(f"{stack.base_url}/login", timeout=5,
                              json={"user_id": 7, "password": "password-7"})
        auth = {"Authorization": f"Bearer {login.json()['session']}"}
        assert requests.post(f"{stack.base_url}/orders", json={"product_id": 1, "quantity": 2},
                             headers=auth, timeout=5).status_code == 201
        assert requests.put(f"{stack.base_url}/me", json={"bio": "changed"}, headers=auth,
                            timeout=5).status_code == 200
        with stack.redis_client() as r:
            r.set("left-over", "x")
            r.config_set("maxmemory", "2mb")
        client = FaultClient(stack.toxiproxy_url)
        client.add_toxic("redis", "slow", "latency", attributes={"latency": 500})
        client.set_enabled("db", False)
        old_target = stack.target

        assert reset(stack, state) == []

        proxies = client.proxies()
        assert all(p["enabled"] and not p["toxics"] for p in proxies.values())
        with stack.redis_client() as r:
            assert r.get("left-over") is None
            assert r.config_get("maxmemory")["maxmemory"] == state.settings["maxmemory"]
        assert redis_key_count(stack) == keys
        with psycopg.connect(stack.database_url, autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM orders").fetchone() == (0,)
            assert conn.execute("SELECT count(*), sum(version) FROM users").fetchone() == users
        assert stack.target is not old_target and stack.target is not None  # a fresh process
        assert requests.get(f"{stack.base_url}/health", timeout=5).json()["status"] == "healthy"
    finally:
        stack.stop()
