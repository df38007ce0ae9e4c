"""Throughput of one shop worker: cache-hit `GET /products/{id}` vs `GET /ping` (touches nothing).

Both go through the same uvicorn, FastAPI routing and the shop's middleware (metrics, body
and rate-limit checks), so the ratio is the price of the cache-hit path itself: the breaker,
one Redis GET through redis.asyncio, and the response.

Load generator: Locust `FastHttpUser`, headless, in its own process (one process: on a
2-core machine the shop and Locust get one core each). Phases alternate ping / product
so drift on a shared machine hits both alike; the ratio of the two, measured in the same
run, is the figure to read. CPU use of both processes is printed: if Locust sits near
100 % of a core it, not the shop, is the limit, and the figure is a lower bound.

Usage: .venv/bin/python benchmarks/shop_throughput.py [--seconds 8] [--users 40] [--rounds 2]
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

import psutil
import requests

from harness.ports import LOOPBACK, free_port
from harness.processes import stop_process
from harness.stack.postgres import PostgresServer
from harness.stack.redis_server import RedisServer

LOCUSTFILE = '''
import os
from locust import FastHttpUser, task

PATH = os.environ["BENCH_PATH"]


class Bench(FastHttpUser):
    @task
    def hit(self):
        self.client.get(PATH, name=PATH)
'''


def cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def run_locust(base: str, path: str, seconds: int, users: int, workdir: Path, shop_pid: int) -> dict:
    """One headless Locust phase; returns req/s, latency, and CPU seconds both processes used."""
    locustfile = workdir / "bench_locustfile.py"
    locustfile.write_text(LOCUSTFILE)
    prefix = workdir / f"run-{path.strip('/').replace('/', '_')}-{time.monotonic_ns()}"
    shop = psutil.Process(shop_pid)
    shop_before = cpu_seconds(shop)
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--only-summary",
         "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "-H", base, "--csv", str(prefix),
         "--stop-timeout", "1"],
        env={**os.environ, "BENCH_PATH": path}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    gen, gen_cpu = psutil.Process(proc.pid), 0.0
    while proc.poll() is None:
        try:
            gen_cpu = cpu_seconds(gen)
        except psutil.Error:
            break
        time.sleep(0.2)
    wall = time.monotonic() - started
    shop_cpu = cpu_seconds(shop) - shop_before
    with open(f"{prefix}_stats.csv") as f:
        row = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    requests_done = int(row["Request Count"])
    return {"rps": float(row["Requests/s"]), "requests": requests_done,
            "failures": int(row["Failure Count"]), "p50": row["50%"], "p99": row["99%"],
            "shop_cpu": shop_cpu / wall, "locust_cpu": gen_cpu / wall,
            "per_cpu_s": requests_done / shop_cpu if shop_cpu else 0.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="stampede-bench-"))
    with RedisServer(password="bench-password", workdir=workdir / "redis") as redis_server, \
            PostgresServer(workdir=workdir / "pg") as pg:
        database = pg.create_database("shop")
        port = free_port()
        shop = subprocess.Popen(
            [sys.executable, "-m", "targets.shop", "--port", str(port), "--redis-url", redis_server.url,
             "--database-url", database], stdout=subprocess.DEVNULL,
            stderr=open(workdir / "shop.log", "wb"))  # noqa: SIM115 - the child's log
        base = f"http://{LOOPBACK}:{port}"
        try:
            for _ in range(300):
                try:
                    if requests.get(base + "/health", timeout=1).status_code == 200:
                        break
                except requests.RequestException:
                    time.sleep(0.1)
            assert requests.get(base + "/products/1", timeout=5).status_code == 200  # now a cache hit
            results: dict[str, list[dict]] = {"/ping": [], "/products/1": []}
            for _ in range(args.rounds):
                for path in results:
                    results[path].append(run_locust(base, path, args.seconds, args.users, workdir, shop.pid))
            metrics = requests.get(base + "/metrics", timeout=5).text
        finally:
            stop_process(shop)
    print(f"shop: one uvicorn worker (uvloop, httptools); load: 1 Locust FastHttpUser process, "
          f"{args.users} users, {args.rounds} x {args.seconds}s per endpoint, alternating")
    for path, runs in results.items():
        for r in runs:
            print(f"  GET {path:<12} {r['rps']:6.0f} req/s  p50 {r['p50']:>3} ms  p99 {r['p99']:>4} ms  "
                  f"fail {r['failures']}  cpu shop {r['shop_cpu']:4.0%} locust {r['locust_cpu']:4.0%}  "
                  f"{r['per_cpu_s']:6.0f} req per shop CPU-second")
    ping, hit = results["/ping"], results["/products/1"]
    ratios = [h["rps"] / p["rps"] for p, h in zip(ping, hit, strict=True)]
    cpu_ratio = median([r["per_cpu_s"] for r in hit]) / median([r["per_cpu_s"] for r in ping])
    print(f"cache-hit GET /products/{{id}}: median {median([r['rps'] for r in hit]):.0f} req/s, "
          f"{median([r['per_cpu_s'] for r in hit]):.0f} per shop CPU-second")
    print(f"GET /ping (touches nothing):   median {median([r['rps'] for r in ping]):.0f} req/s, "
          f"{median([r['per_cpu_s'] for r in ping]):.0f} per shop CPU-second")
    print(f"ratio product/ping: {median(ratios):.2f} by req/s (median of adjacent pairs), "
          f"{cpu_ratio:.2f} by shop CPU cost")
    hits = [line for line in metrics.splitlines() if line.startswith("stampede_cache_requests_total")]
    print("  " + "; ".join(hits))
    busiest = max(r["locust_cpu"] for runs in results.values() for r in runs)
    if busiest > 0.9:
        print(f"note: Locust used {busiest:.0%} of a core in some phase: there the generator may be the limit")
    elif max(r["shop_cpu"] for runs in results.values() for r in runs) < 0.8:
        print("note: the shop never had a full core (shared machine): compare CPU-second figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
