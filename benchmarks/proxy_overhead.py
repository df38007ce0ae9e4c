"""Cost of the fault proxy on Redis traffic, ours beside the real Toxiproxy, in one run.

Prints a table, never asserts (the machine is shared and noisy). The load generator is
redis-benchmark (C, Debian's `redis-tools`: `sudo apt-get install -y redis-tools`); the real
server is `../shared/tools/toxiproxy/toxiproxy-server` (or $STAMPEDE_TOXIPROXY_SERVER).
Direct Redis, ours and the real server take turns within each round, so noise hits all.

Figures (goal: ours >= 1.0x the real server on each, or the reason it cannot be):

1. GET/s at 50 connections, no toxic (the fast path), and with one zero-effect toxic
   (latency 0) attached.
2. Added median and p99 round trip at 1 connection (proxied minus direct).
3. Latency-toxic accuracy: 50 ms downstream; median round trip minus the no-toxic median.
4. Resident memory idle (one proxy) and with 1,000 open client connections (ours: the
   process tree, API process and workers).
5. Cores: ours with `-workers 1` pinned to core 0, then `-workers 2` on cores 0 and 1
   (the same syscall as taskset); the real server pinned the same way. redis-benchmark
   and redis-server stay on core 1 in both cases, so on a 2-core machine the second case
   shares core 1 with them: the ratio understates what a machine with spare cores shows.

    .venv/bin/python benchmarks/proxy_overhead.py [--rounds 2] [--requests 50000]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import requests  # noqa: E402

from harness.proxy import ProxyProcess, spawn  # noqa: E402
from harness.proxy.embedded import real_server_path  # noqa: E402
from harness.stack.redis_server import RedisServer  # noqa: E402

VALUE = b"v" * 100


def redis_benchmark(port: int, conns: int, requests_: int, cpus: str | None = None) -> dict[str, float]:
    """One redis-benchmark GET run: requests/s and latency percentiles in ms."""
    command = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", str(conns), "-n", str(requests_),
               "-t", "get", "-d", str(len(VALUE)), "--csv"]
    if cpus is not None:
        command = ["taskset", "-c", cpus, *command]
    out = subprocess.run(command, capture_output=True, text=True, timeout=600, check=True).stdout
    rows = list(csv.reader(io.StringIO(out)))
    header, values = rows[0], rows[-1]
    return {name: float(value) for name, value in zip(header[1:], values[1:], strict=True)}


def add_proxy(server: ProxyProcess, upstream_port: int) -> int:
    reply = requests.post(f"{server.api_url}/proxies", timeout=10, json={
        "name": "redis", "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{upstream_port}"})
    reply.raise_for_status()
    return int(reply.json()["listen"].rsplit(":", 1)[1])


def toxic(server: ProxyProcess, latency: int | None) -> None:
    """Attach a latency toxic of `latency` ms, or remove it (None)."""
    if latency is None:
        requests.delete(f"{server.api_url}/proxies/redis/toxics/latency_downstream", timeout=10)
    else:
        requests.post(f"{server.api_url}/proxies/redis/toxics", timeout=10,
                      json={"type": "latency", "attributes": {"latency": latency}}).raise_for_status()


def tree(pid: int) -> list[psutil.Process]:
    proc = psutil.Process(pid)
    return [proc, *proc.children(recursive=True)]


def rss_mb(pid: int) -> float:
    return sum(p.memory_info().rss for p in tree(pid)) / 1e6


def pin(pid: int, cpus: set[int]) -> None:
    for proc in tree(pid):
        os.sched_setaffinity(proc.pid, cpus)


def open_connections(port: int, count: int) -> list[socket.socket]:
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(b"PING\r\n")
        socks.append(sock)
    for sock in socks:
        sock.recv(100)  # every connection has reached Redis through the proxy
    return socks


def fmt_ratio(ours: float, real: float, higher_is_better: bool = True) -> str:
    if not ours or not real:
        return "-"
    return f"{(ours / real if higher_is_better else real / ours):.2f}x"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--requests", type=int, default=50_000, help="GETs per throughput run")
    parser.add_argument("--latency-requests", type=int, default=20_000, help="GETs per 1-connection run")
    args = parser.parse_args()
    if shutil.which("redis-benchmark") is None:
        print("redis-benchmark not found: install it with `sudo apt-get install -y redis-tools` (Debian/Ubuntu)")
        return 2
    real_binary = real_server_path()
    if not real_binary.exists():
        print(f"no real Toxiproxy server at {real_binary}: set STAMPEDE_TOXIPROXY_SERVER")
        return 2
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    cores = len(os.sched_getaffinity(0))
    print(f"cores: {cores}; redis-benchmark GET, {len(VALUE)}-byte value; {args.rounds} rounds; ours as spawned "
          "by the embedded stack (its own process), -workers 1 unless said")

    with RedisServer() as redis_server:
        redis_server.client().set("key:__rand_int__", VALUE)
        with spawn(extra_args=("-workers", "1")) as ours, spawn(server=real_binary, log_level="error") as real:
            ports = {"direct": redis_server.port, "ours": add_proxy(ours, redis_server.port),
                     "real": add_proxy(real, redis_server.port)}
            servers = {"ours": ours, "real": real}
            idle = {name: rss_mb(server.pid) for name, server in servers.items()}
            results: dict[str, dict[str, list[float]]] = {}

            def record(figure: str, who: str, value: float) -> None:
                results.setdefault(figure, {}).setdefault(who, []).append(value)

            for number in range(args.rounds):
                for who, port in ports.items():
                    record("GET/s, 50 conns, no toxic", who, redis_benchmark(port, 50, args.requests)["rps"])
                for who, server in servers.items():
                    toxic(server, 0)
                    record("GET/s, 50 conns, one latency-0 toxic", who,
                           redis_benchmark(ports[who], 50, args.requests)["rps"])
                    toxic(server, None)
                for who, port in ports.items():
                    stats = redis_benchmark(port, 1, args.latency_requests)
                    record("p50 ms, 1 conn", who, stats["p50_latency_ms"])
                    record("p99 ms, 1 conn", who, stats["p99_latency_ms"])
                print(f"round {number + 1} done", flush=True)
            for who, server in servers.items():
                toxic(server, 50)
                record("latency 50 ms: p50 - base", who,
                       redis_benchmark(ports[who], 1, 40)["p50_latency_ms"]
                       - statistics.median(results["p50 ms, 1 conn"][who]))
                toxic(server, None)
            loaded = {}
            for who, server in servers.items():
                socks = open_connections(ports[who], 1000)
                loaded[who] = rss_mb(server.pid)
                for sock in socks:
                    sock.close()

        cores_rows = []
        if cores >= 2:  # the generator and redis-server keep core 1 in both cases
            os.sched_setaffinity(redis_server.proc.pid, {1})
            for label, ours_args in (("1 core", ("-workers", "1")), ("2 cores", ("-workers", "2"))):
                cpus = {0} if label == "1 core" else {0, 1}
                with spawn(extra_args=ours_args) as ours, spawn(server=real_binary, log_level="error") as real:
                    row = [label]
                    for server in (ours, real):
                        port = add_proxy(server, redis_server.port)
                        pin(server.pid, cpus)
                        row.append(statistics.median(
                            redis_benchmark(port, 50, args.requests, "1")["rps"] for _ in range(args.rounds)))
                    cores_rows.append(row)

    print()
    print("| figure | direct | ours | real | ours vs real |")
    print("|---|---|---|---|---|")
    for figure, by_who in results.items():
        med = {who: statistics.median(values) for who, values in by_who.items()}
        higher = figure.startswith("GET/s")
        direct = med.get("direct")
        if figure.startswith("p"):  # absolute, and added over direct (noise can make it negative)
            ours_v, real_v = med["ours"] - direct, med["real"] - direct
            ratio = fmt_ratio(ours_v, real_v, higher_is_better=False) if min(ours_v, real_v) > 0 else "- (noise)"
            print(f"| {figure} (added over direct) | {direct * 1000:.0f} us | {med['ours'] * 1000:.0f} us "
                  f"({ours_v * 1000:+.0f}) | {med['real'] * 1000:.0f} us ({real_v * 1000:+.0f}) | {ratio} |")
        elif figure.startswith("latency"):
            print(f"| {figure} (goal 50) | - | {med['ours']:.2f} ms | {med['real']:.2f} ms | "
                  f"error {abs(med['ours'] - 50):.2f} vs {abs(med['real'] - 50):.2f} ms |")
        else:
            direct_text = f"{direct:.0f}" if direct else "-"
            print(f"| {figure} | {direct_text} | {med['ours']:.0f} | {med['real']:.0f} | "
                  f"{fmt_ratio(med['ours'], med['real'], higher)} |")
    print(f"| RSS idle, one proxy | - | {idle['ours']:.0f} MB | {idle['real']:.0f} MB | "
          f"{fmt_ratio(idle['ours'], idle['real'], False)} |")
    print(f"| RSS with 1,000 open connections | - | {loaded['ours']:.0f} MB | {loaded['real']:.0f} MB | "
          f"{fmt_ratio(loaded['ours'], loaded['real'], False)} |")
    for label, ours_rate, real_rate in cores_rows:
        print(f"| GET/s, 50 conns, proxy on {label} (-workers = cores) | - | {ours_rate:.0f} | {real_rate:.0f} | "
              f"{fmt_ratio(ours_rate, real_rate)} |")
    if len(cores_rows) == 2:
        print(f"\nours 2 cores / 1 core: {cores_rows[1][1] / cores_rows[0][1]:.2f}x; "
              f"real 2 cores / 1 core: {cores_rows[1][2] / cores_rows[0][2]:.2f}x "
              "(generator and redis-server on core 1 throughout: with 2 cores the proxy shares it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
