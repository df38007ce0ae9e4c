"""The service as a process: command line, start-up (degraded, concurrent), health, metrics,
bad input and logs without secrets."""

from __future__ import annotations

import subprocess
import sys
import threading

import psycopg
import pytest
import requests

from harness.ports import LOOPBACK, free_port
from harness.processes import stop_process
from targets.shop.flaws import FLAW_NAMES, FLAWS, parse_flaws

from .conftest import SEED_PRODUCTS, SEED_USERS, start_shop

ISSUE_FLAWS = {"shared_cache_key", "no_circuit_breaker", "no_cache_timeout", "no_single_flight",
               "fail_open_sessions", "write_behind_orders", "no_stale_fallback", "no_negative_cache",
               "unbounded_db", "rate_limit_fail_open", "no_ttl_jitter", "no_invalidation"}


def test_flaws_are_exactly_the_issue_list():
    assert set(FLAWS) == ISSUE_FLAWS and len(FLAWS) == len(ISSUE_FLAWS)
    assert all(f.description for f in FLAWS)
    assert "no_ttl_jitter" in FLAWS
    assert parse_flaws(["no_ttl_jitter,unbounded_db", "no_invalidation"]) == {
        "no_ttl_jitter", "unbounded_db", "no_invalidation"}
    with pytest.raises(ValueError, match="valid flaws are shared_cache_key"):
        parse_flaws(["no_such"])


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "targets.shop", *args], capture_output=True,
                          text=True, timeout=30, env=env)


def test_unknown_flaw_exits_2_listing_valid_ones():
    done = run_cli("--redis-url", "redis://127.0.0.1:1/0", "--database-url", "postgresql://x@127.0.0.1:1/x",
                   "--flaw", "no_cache_timeout", "--flaw", "no_such_flaw")
    assert done.returncode == 2
    assert "no_such_flaw" in done.stderr and all(name in done.stderr for name in FLAW_NAMES)


def test_env_fallbacks_and_missing_urls():
    import os

    env = {**os.environ, "SHOP_REDIS_URL": "redis://127.0.0.1:1/0", "SHOP_FLAWS": "bogus"}
    env.pop("SHOP_DATABASE_URL", None)
    done = run_cli(env=env)
    assert done.returncode == 2 and "--database-url is required" in done.stderr
    env["SHOP_DATABASE_URL"] = "postgresql://x@127.0.0.1:1/x"
    done = run_cli(env=env)
    assert done.returncode == 2 and "unknown flaw bogus" in done.stderr


def test_missing_database_is_a_clear_error(postgres_server, tmp_path):
    done = run_cli("--redis-url", "redis://127.0.0.1:1/0",
                   "--database-url", postgres_server.url("no_such_database"))
    assert done.returncode == 1
    assert 'database "no_such_database" does not exist' in done.stderr
    assert "create the database first" in done.stderr and "Traceback" not in done.stderr


def test_starts_degraded_without_redis(postgres_server, shop_database, tmp_path):
    dead_redis = free_port()
    proc, port = start_shop(["--redis-url", f"redis://:secret-pw@{LOOPBACK}:{dead_redis}/0",
                             "--database-url", shop_database, "--users", str(SEED_USERS),
                             "--products", str(SEED_PRODUCTS)], tmp_path / "shop.log")
    try:
        base = f"http://{LOOPBACK}:{port}"
        health = requests.get(base + "/health", timeout=5).json()
        assert health["status"] == "degraded" and health["redis"] == "down" and health["db"] == "up"
        assert requests.get(base + "/products/4", timeout=5).json()["id"] == 4
        login = requests.post(base + "/login", json={"user_id": 1, "password": "password-1"}, timeout=5)
        assert login.status_code == 503
    finally:
        stop_process(proc)
    assert "secret-pw" not in (tmp_path / "shop.log").read_text()


def test_two_instances_start_together_on_a_fresh_database(redis_server, postgres_server, tmp_path):
    url = postgres_server.create_database("shop_twins")
    results: dict[int, object] = {}

    def start(i: int) -> None:
        try:
            results[i] = start_shop(["--redis-url", redis_server.url, "--database-url", url,
                                     "--users", "300", "--products", "300"], tmp_path / f"twin{i}.log")
        except Exception as exc:  # reported below
            results[i] = exc

    threads = [threading.Thread(target=start, args=(i,)) for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert all(isinstance(r, tuple) for r in results.values()), results
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 300
            assert conn.execute("SELECT count(*) FROM follows").fetchone()[0] == 1500
    finally:
        for r in results.values():
            if isinstance(r, tuple):
                stop_process(r[0])


def test_health_reports_each_dependency(make_shop):
    shop = make_shop()
    assert shop.get("/health").json()["status"] == "healthy"
    shop.db_link.enable(False)
    body = shop.get("/health").json()
    assert body["status"] == "degraded" and body["db"] == "down"
    shop.redis_link.enable(False)
    reply = shop.get("/health")
    assert reply.status_code == 503 and reply.json()["status"] == "unhealthy"


def test_metrics_carry_the_design_names(make_shop):
    shop = make_shop()
    shop.get("/products/1")
    text = shop.get("/metrics").text
    for line in ('stampede_circuit_state{dependency="redis"} 0.0',
                 'stampede_circuit_state{dependency="db"} 0.0',
                 'stampede_cache_requests_total{result="bypass"}',
                 'stampede_db_queries_total{query="product"} 1.0',
                 "stampede_db_inflight 0.0",
                 "stampede_shed_requests_total 0.0",
                 'stampede_http_requests_total{method="GET",route="/products/{product_id}",status="200"} 1.0',
                 "stampede_http_request_duration_seconds_bucket"):
        assert line in text, line


def test_bad_input_never_500(make_shop):
    shop = make_shop()
    headers = shop.login(2)
    cases = [
        (shop.get("/products/424242"), 404),
        (shop.get("/products/0"), 404),
        (shop.get("/products/99999999999999"), 404),
        (shop.get("/products/abc"), 422),
        (shop.get("/products?page=0"), 422),
        (shop.post("/login", data="{not json", headers={"Content-Type": "application/json"}), 422),
        (shop.post("/login", json={"user_id": "x"}), 422),
        (shop.post("/orders", headers=headers, json={"product_id": 1, "quantity": 0}), 422),
        (shop.post("/orders", headers=headers, json={"product_id": 1, "extra": 1}), 422),
        (shop.put("/me", headers=headers, json={"name": "x" * 101}), 422),
        (shop.post("/orders", headers=headers, json={"product_id": 1, "pad": "x" * 70_000}), 413),
        (shop.post("/orders", headers=headers, data=iter([b"{" + b" " * 40_000] * 3)), 413),
        (shop.post("/admin/purge", json={}), 422),
        (shop.get("/nope"), 404),
        (shop.get("/me", headers={"Authorization": "Basic abc"}), 401),
    ]
    for reply, expected in cases:
        assert reply.status_code == expected, (reply.request.url, reply.status_code, reply.text)
        assert "Traceback" not in reply.text
    assert "error" in cases[0][0].json()


def test_logs_hold_no_secrets(make_shop, redis_server):
    shop = make_shop("--access-log")
    headers = shop.login(3)
    token = headers["Authorization"].split()[1]
    shop.get("/me", headers=headers)
    shop.redis_link.enable(False)
    shop.get("/me", headers=headers)
    log = shop.log()
    assert "ready on" in log and "GET /me" in log  # the access log is on, and still no secret
    assert shop.log_path.with_suffix(".stdout").read_text() == ""  # everything went to stderr
    assert redis_server.password not in log
    assert token not in log and token.split(".")[1] not in log
