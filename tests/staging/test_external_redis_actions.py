"""Redis actions on a team's own Redis (a real redis-server): flush, expire, maxmemory and
its restore; restart refused with the reason."""

from __future__ import annotations

import pytest

from harness.stack.redis_actions import RESTART_REFUSED, RedisActions
from harness.stack.redis_server import RedisServer


def test_actions_act_and_maxmemory_is_put_back(redis_server: RedisServer):
    client = redis_server.client(decode_responses=True)
    client.flushall()
    before = client.config_get("maxmemory")["maxmemory"]
    policy = client.config_get("maxmemory-policy")["maxmemory-policy"]
    actions = RedisActions(lambda: redis_server.client()).actions()
    client.set("hot", "1")
    client.set("other", "2")
    actions["expire_key"]("hot")
    assert client.get("hot") is None and client.get("other") == "2"
    actions["flush_cache"]()
    assert client.dbsize() == 0
    actions["set_maxmemory"]("10mb", "allkeys-lru")
    actions["set_maxmemory"]("5mb")  # a second change still restores the first value
    assert client.config_get("maxmemory")["maxmemory"] == str(5 * 1024 * 1024)
    assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-lru"
    owner = actions["set_maxmemory"].__self__
    done = owner.restore()
    assert client.config_get("maxmemory")["maxmemory"] == before
    assert client.config_get("maxmemory-policy")["maxmemory-policy"] == policy
    assert any("maxmemory restored" in line for line in done)
    assert owner.restore() == []


def test_restart_is_refused_with_the_reason(redis_server: RedisServer):
    actions = RedisActions(lambda: redis_server.client()).actions()
    with pytest.raises(RuntimeError, match="embedded stack") as info:
        actions["restart_redis"]()
    assert str(info.value) == RESTART_REFUSED
