"""The shop's locustfile, run by a real headless Locust (in a subprocess: importing Locust
monkey-patches the process for gevent) against a real shop; its checks land in a sink we dump."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import SEED_PRODUCTS, SEED_USERS

WRAPPER = '''
import json, os
from locust import events
from harness.load import checks
from targets.shop.locustfile import *  # noqa: F401,F403 - the user classes under test

sink = checks.MemorySink()
checks.install_sink(sink)


@events.quitting.add_listener
def dump(environment, **kwargs):
    with open(os.environ["CHECKS_OUT"], "w") as out:
        json.dump({"counts": [[n, k, v] for (n, k), v in sink.counts.items()], "events": sink.events}, out)
'''


def run_locust(shop, tmp_path: Path, seconds: int = 6, users: int = 12, classes: tuple[str, ...] = ()) -> dict:
    wrapper = tmp_path / "wrapped_locustfile.py"
    wrapper.write_text(WRAPPER)
    out = tmp_path / "checks.json"
    env = {**os.environ, "CHECKS_OUT": str(out), "SHOP_USERS": str(SEED_USERS),
           "SHOP_PRODUCTS": str(SEED_PRODUCTS), "SHOP_RATE_CLIENT": "probe-test"}
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(wrapper), "--headless", "--only-summary",
         "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "-H", shop.base, "--stop-timeout", "2",
         *classes],
        capture_output=True, text=True, timeout=seconds + 40, env=env)
    assert out.exists(), done.stderr[-3000:]
    data = json.loads(out.read_text())
    data["counts"] = {(n, k): v for n, k, v in data["counts"]}
    data["stderr"] = done.stderr
    return data


@pytest.mark.parametrize("flaw", [None, "shared_cache_key"])
def test_locustfile_checks_ownership_writes_sessions_and_rate_limit(make_shop, tmp_path, flaw):
    shop = make_shop(*([flaw] if flaw else []), "--rate-limit=10", "--rate-window=1")
    result = run_locust(shop, tmp_path)
    counts, events = result["counts"], result["events"]
    violations = events.get("violations", [])
    assert counts.get(("ownership_checked", ""), 0) > 5, result["stderr"][-2000:]
    for endpoint in ("GET /products/{id}", "GET /feed", "GET /me", "POST /login"):
        assert endpoint in result["stderr"]  # route templates aggregate the stats
    if flaw:
        assert any(v["kind"] == "cross_user" for v in violations), "a shared key must show up as cross-user data"
        return
    assert violations == [], violations[:5]
    assert counts.get(("session_probed", ""), 0) > 2
    assert counts.get(("rate_limit_granted", "probe-test"), 0) > 0
    assert counts.get(("rate_limit_denied", "probe-test"), 0) > 0
    orders = [w["id"] for w in events.get("writes", []) if w["kind"] == "order"]
    assert orders, "the writers placed no order"
    found = shop.db_count("SELECT count(*) FROM orders WHERE id = ANY(%s)", (orders,))
    assert found == len(orders)
    logged_in = {w["user_id"] for w in events["writes"]}
    assert len(logged_in) > 1  # each simulated user is its own shop user


@pytest.mark.parametrize("flaw", [None, "no_invalidation"])
def test_profile_editor_reads_its_own_writes(make_shop, tmp_path, flaw):
    shop = make_shop(*([flaw] if flaw else []))
    result = run_locust(shop, tmp_path, seconds=4, users=3, classes=("ProfileEditor",))
    stale = [v for v in result["events"].get("violations", []) if v["kind"] == "stale_read"]
    assert result["counts"].get(("read_checked", ""), 0) > 3, result["stderr"][-2000:]
    if flaw:
        assert stale, "a profile cache that is not invalidated must show stale reads"
    else:
        assert stale == []
