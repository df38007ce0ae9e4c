"""Total requests/s with 1 and with 2 local Locust workers against the reference target.

One embedded stack (shop, Redis, PostgreSQL, fault proxy, no faults) serves both settings;
phases alternate 1 worker / 2 workers (`--rounds`), each a real `stampede run`-style
master + workers from harness.load.launcher with the recorder on, counted from the
master's requests.jsonl (whole seconds, first and last dropped). Per-process CPU is
sampled with psutil over each phase: on a 2-core machine the shop, the proxy, Redis and
the Locust workers share the cores, so the ratio says how much a second worker buys *here*
and the CPU split says who was the limit.

Usage: .venv/bin/python benchmarks/distributed_throughput.py [--seconds 8] [--users 40] [--rounds 2]
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from statistics import median

import psutil

from harness.load.launcher import LocustProcesses
from harness.load.recorder import LOAD_START_FILE
from harness.stack.embedded import EmbeddedStack

LOCUSTFILE = '''
import random
from locust import FastHttpUser, task


class Saturate(FastHttpUser):
    """No wait: each user sends its next request as soon as the last one answered."""

    @task
    def product(self):
        self.client.get(f"/products/{random.randint(1, 200)}", name="/products/{id}")
'''


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def tree(pid: int) -> list[int]:
    try:
        proc = psutil.Process(pid)
        return [pid, *(c.pid for c in proc.children(recursive=True))]
    except psutil.Error:
        return []


def phase(stack: EmbeddedStack, workers: int, seconds: int, users: int, workdir: Path) -> dict:
    folder = Path(tempfile.mkdtemp(prefix=f"w{workers}-", dir=workdir))
    (folder / "logs").mkdir()
    load = LocustProcesses(workdir / "saturate.py", stack.base_url, folder / "logs", folder,
                           workers=workers, duration=seconds, users=users, spawn_rate=users,
                           user_classes=[])
    roles = {"shop": tree(stack.target.pid), "proxy": [stack.proxy.pid],
             "redis": [stack.redis.proc.pid], "postgres": tree(stack.postgres.proc.pid)}
    load.start()
    try:
        marker = folder / LOAD_START_FILE
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        roles["workers"] = [w.pid for w in load.workers]
        roles["master"] = [load.master.pid]
        before = {role: cpu_seconds(pids) for role, pids in roles.items()}
        psutil.cpu_percent()  # start the machine-wide counter
        started = time.monotonic()
        while load.master.poll() is None and time.monotonic() - started < seconds - 0.5:
            time.sleep(0.1)
        cpu_end = {role: cpu_seconds(pids) for role, pids in roles.items()}
        machine = psutil.cpu_percent() * (psutil.cpu_count() or 1)  # % of one core, all cores
        wall = time.monotonic() - started
        load.master.wait(timeout=60)
    finally:
        load.stop()
    per_second: dict[int, int] = {}
    for line in (folder / "requests.jsonl").read_text().splitlines():
        rec = json.loads(line)
        per_second[rec["t"]] = per_second.get(rec["t"], 0) + rec["count"]
    full = [n for t, n in sorted(per_second.items()) if 1 <= t < seconds - 1]
    cpu = {role: 100 * (cpu_end.get(role, before[role]) - before[role]) / wall for role in roles}
    return {"rps": sum(full) / max(1, len(full)), "cpu": cpu, "machine": machine}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="stampede-bench-dist-"))
    (workdir / "saturate.py").write_text(LOCUSTFILE)
    print(f"{psutil.cpu_count()} CPUs; {args.users} users without wait, {args.seconds}s phases, "
          f"{args.rounds} rounds of 1 worker / 2 workers")
    results: dict[int, list[dict]] = {1: [], 2: []}
    with EmbeddedStack(workdir / "stack-logs") as stack:
        for _ in range(args.rounds):
            for workers in (1, 2):
                r = phase(stack, workers, args.seconds, args.users, workdir)
                results[workers].append(r)
                cpu = "  ".join(f"{role} {v:5.0f}%" for role, v in r["cpu"].items())
                print(f"{workers} worker{'s' if workers > 1 else ' '}: {r['rps']:7.0f} req/s   "
                      f"CPU (% of one core): {cpu}   whole machine {r['machine']:.0f}%",
                      flush=True)
    one = median(r["rps"] for r in results[1])
    two = median(r["rps"] for r in results[2])
    print(f"\nmedian total: 1 worker {one:.0f} req/s, 2 workers {two:.0f} req/s, "
          f"ratio 2/1 = {two / one:.2f}")

    def avg(workers: int, role: str) -> float:
        return median(r["cpu"][role] for r in results[workers])

    shop, gens = avg(2, "shop"), avg(2, "workers")
    per_worker = gens / 2
    cores = psutil.cpu_count() or 1
    rest = sum(avg(2, role) for role in ("proxy", "redis", "postgres", "master"))
    ours = shop + gens + rest
    machine = median(r["machine"] for r in results[2])
    print(f"with 2 workers: shop {shop:.0f}% of a core, workers {per_worker:.0f}% each, "
          f"proxy+redis+postgres+master {rest:.0f}%: this run {ours:.0f}%; the machine was "
          f"{machine:.0f}% busy of {cores * 100}% ({max(0.0, machine - ours):.0f}% other programs)")
    if machine > 0.85 * cores * 100:
        print("limit: the machine's CPU: every core busy (the shop, the workers, and whatever "
              "else runs here take cores from each other), so a second worker cannot add "
              "throughput; it only moves CPU from the shop to Locust")
    elif shop > 85:
        print("limit: the target (the shop's single process sits near a full core)")
    elif per_worker > 85:
        print("limit: the load generators (each worker near a full core)")
    else:
        print("limit: no core saturated: latency-bound (users waiting on responses)")

if __name__ == "__main__":
    main()
