"""The same experiment file against an external target: the reference shop and the fault
proxy run as separate processes (as staging would), and the run knows them only from a
target file of URLs. Checks the run passes, the proxies were found or kept, and no toxic
is left behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from harness.ports import free_port
from harness.proxy.embedded import ProxyProcess, spawn
from harness.stack.postgres import PostgresServer
from harness.stack.redis_server import RedisServer

from .service_health import wait_healthy

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = Path(__file__).parent / "experiments" / "outage.yaml"


@pytest.fixture
def staging(tmp_path: Path, redis_server: RedisServer,
            postgres_server: PostgresServer) -> Iterator[dict[str, str]]:
    """Toxiproxy (ours, from a config file as in docker-compose), then the shop behind it."""
    database = postgres_server.create_database("staging_shop")
    redis_server.client().flushall()
    redis_listen, db_listen = free_port(), free_port()
    config = tmp_path / "toxiproxy.json"
    proxies = {
        "redis": {"listen": f"127.0.0.1:{redis_listen}", "upstream": f"127.0.0.1:{redis_server.port}"},
        "db": {"listen": f"127.0.0.1:{db_listen}", "upstream": f"127.0.0.1:{postgres_server.port}"},
    }
    config.write_text(json.dumps([{"name": n, **p} for n, p in proxies.items()]))
    proxy: ProxyProcess = spawn(log_path=tmp_path / "proxy.log", config=config)
    shop_port = free_port()
    env = dict(os.environ,
               SHOP_REDIS_URL=f"redis://:{redis_server.password}@127.0.0.1:{redis_listen}/0",
               SHOP_DATABASE_URL=f"postgresql://postgres@127.0.0.1:{db_listen}/staging_shop")
    env.pop("SHOP_FLAWS", None)
    with open(tmp_path / "shop.log", "ab") as log:
        shop = subprocess.Popen([sys.executable, "-m", "targets.shop", "--port", str(shop_port)],
                                env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{shop_port}"
    try:
        wait_healthy(shop, f"{base}/health", tmp_path / "shop.log", "the shop")
        target = tmp_path / "staging.yaml"
        target.write_text(
            "target:\n  kind: external\n"
            f"  base_url: {base}\n  toxiproxy_url: {proxy.api_url}\n"
            f"  metrics_url: {base}/metrics\n  database_url: {database}\n"
            "  writes:\n    order: {sql: 'SELECT id::text FROM orders WHERE id::text = ANY(%(ids)s)'}\n"
            # a profile write is USER:VERSION: kept when the user's version reached it
            "    profile: {sql: 'SELECT i FROM unnest(%(ids)s::text[]) AS i JOIN users u\n"
            "      ON u.id = split_part(i, '':'', 1)::int AND u.version >= split_part(i, '':'', 2)::int'}\n"
            "proxies:\n  redis: {expect: true}\n"  # the config made it
            f'  db: {{listen: "{proxies["db"]["listen"]}", upstream: "{proxies["db"]["upstream"]}"}}\n')
        yield {"target": str(target), "api": proxy.api_url}
    finally:
        shop.terminate()
        try:
            shop.wait(timeout=10)
        except subprocess.TimeoutExpired:
            shop.kill()
            shop.wait(timeout=5)
        proxy.stop()


@pytest.mark.slow
def test_experiment_passes_against_an_external_target(tmp_path: Path,
                                                      staging: dict[str, str]) -> None:
    out = tmp_path / "results"
    env = dict(os.environ, STAMPEDE_STATE_DIR=str(tmp_path / "state"))
    done = subprocess.run(
        [sys.executable, "-m", "harness", "run", str(EXPERIMENT), "--target", staging["target"],
         "--out", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    experiment = json.loads((run / "experiment.json").read_text())
    assert experiment["target"]["kind"] == "external"
    assert experiment["stack"]["toxiproxy_api"] == staging["api"]
    verdicts = json.loads((run / "verdicts.json").read_text())
    judged = {v["invariant"]: v for v in verdicts["verdicts"]}
    assert set(judged) == {"bounded_error_rate", "circuit_breaker_opens", "no_cross_user_data",
                           "no_data_loss"}
    assert all(v["passed"] for v in judged.values()), judged
    assert judged["no_data_loss"]["measured"] == 0  # writes were read back from database_url
    proxies = requests.get(f"{staging['api']}/proxies", timeout=5).json()
    assert set(proxies) == {"redis", "db"}
    assert all(p["enabled"] and p["toxics"] == [] for p in proxies.values())  # rolled back
