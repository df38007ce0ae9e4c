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


def test_an_external_target_with_redis_url_acts_on_that_redis(tmp_path, redis_server: RedisServer):
    from harness.experiment import load_experiment
    from harness.stack.external import ExternalStack

    client = redis_server.client(decode_responses=True)
    client.flushall()
    before = client.config_get("maxmemory")["maxmemory"]
    target = tmp_path / "t.yaml"
    target.write_text(
        "target:\n  kind: external\n  base_url: http://127.0.0.1:1\n"
        "  toxiproxy_url: http://127.0.0.1:2\n"
        f"  redis_url: redis://:${{T_REDIS_PASSWORD}}@127.0.0.1:{redis_server.port}/0\n"
        "proxies:\n  redis: {expect: true}\n")
    (tmp_path / "e.yaml").write_text(
        "load: {users: 1, duration: 20s}\nsteady_state: {from: 1s, to: 4s}\n"
        "faults:\n  - {at: 5s, type: flush_cache}\n"
        "  - {at: 6s, type: set_maxmemory, attributes: {maxmemory: 20mb}}\n")
    import os

    os.environ["T_REDIS_PASSWORD"] = redis_server.password or ""
    try:
        exp = load_experiment(tmp_path / "e.yaml", target_file=target)
    finally:
        del os.environ["T_REDIS_PASSWORD"]
    assert "***" in exp.resolved()["target"]["redis_url"]  # the password never reaches a file
    stack = ExternalStack(exp.target).start()  # type: ignore[arg-type]
    client.set("k", "v")
    stack.actions()["flush_cache"]()
    assert client.dbsize() == 0
    stack.actions()["set_maxmemory"]("20mb")
    assert client.config_get("maxmemory")["maxmemory"] == str(20 * 1024 * 1024)
    info = stack.redis_client()
    assert info is not None and "keyspace_hits" in info.info()  # the Redis collector has it too
    stack.stop()
    assert client.config_get("maxmemory")["maxmemory"] == before
    with pytest.raises(RuntimeError, match="embedded stack"):
        stack.actions()["restart_redis"]()


def test_restart_redis_on_an_external_target_is_refused_at_load(tmp_path):
    from harness.experiment import ExperimentError, load_experiment

    target = tmp_path / "t.yaml"
    target.write_text("target:\n  kind: external\n  base_url: http://127.0.0.1:1\n"
                      "  toxiproxy_url: http://127.0.0.1:2\nproxies:\n  redis: {expect: true}\n")
    (tmp_path / "e.yaml").write_text(
        "load: {users: 1, duration: 20s}\nfaults:\n  - {at: 5s, type: restart_redis}\n"
        "  - {at: 6s, type: flush_cache}\n")
    with pytest.raises(ExperimentError) as caught:
        load_experiment(tmp_path / "e.yaml", target_file=target)
    text = str(caught.value)
    assert "faults[0].type" in text and "restart_redis\" needs the embedded target" in text
    assert "faults[1].type" in text and "target.redis_url" in text


def test_expect_owner_reads_the_targets_ownership_field(monkeypatch):
    from harness.load.checks import OWNERSHIP_FIELD_ENV, MemorySink, expect_owner, install_sink

    previous = install_sink(MemorySink())
    try:
        assert not expect_owner({"owner": 7}, 7, endpoint="GET /me")  # user_id by default
        monkeypatch.setenv(OWNERSHIP_FIELD_ENV, "owner")
        assert expect_owner({"owner": 7}, 7, endpoint="GET /me")
        assert not expect_owner({"owner": 8}, 7, endpoint="GET /me")
        assert expect_owner({"user_id": 7}, 7, endpoint="GET /me", field="user_id")
    finally:
        install_sink(previous)
