"""Locust throughput with the stampede recorder divided by without, measured in one run.

One Locust process (library API, local runner) drives a tiny aiohttp server (its own
process). The run alternates short phases with the recorder's request listener attached
and detached, so both see the same machine noise; the recorder's appender keeps writing
requests.jsonl once a second throughout, as in a real run. Throughput per phase comes from
Locust's own request counter. Goal: with / without >= 0.97. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/recorder_overhead.py [--phases 16] [--phase-seconds 2] [--users 20]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from gevent import monkey

monkey.patch_all()

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import gevent  # noqa: E402
from locust import FastHttpUser, events, task  # noqa: E402
from locust.env import Environment  # noqa: E402

from harness.load.recorder import Recorder, ResultsAppender  # noqa: E402
from harness.ports import free_port, wait_for_port  # noqa: E402
from harness.processes import stop_process  # noqa: E402

SERVER = textwrap.dedent("""
    import sys
    from aiohttp import web
    async def ok(request):
        return web.Response(text="ok")
    app = web.Application()
    app.router.add_get("/{tail:.*}", ok)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
""")


class Bench(FastHttpUser):
    @task
    def get(self) -> None:
        self.client.get("/item")


def per_request_us(n: int = 200_000) -> float:
    """The listener's own cost, timed in a loop (no Locust)."""
    rec = Recorder(t0=time.time())
    start = time.perf_counter()
    for i in range(n):
        rec.on_request("GET", "/item", 1.5 + (i % 50), response=None, exception=None)
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", type=int, default=16, help="alternating phases (even)")
    parser.add_argument("--phase-seconds", type=float, default=2.0)
    parser.add_argument("--users", type=int, default=20)
    args = parser.parse_args()

    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    tmp = tempfile.TemporaryDirectory()
    try:
        wait_for_port("127.0.0.1", port)
        env = Environment(user_classes=[Bench], host=f"http://127.0.0.1:{port}", events=events)
        runner = env.create_local_runner()
        recorder = Recorder(t0=time.time())
        appender = ResultsAppender(Path(tmp.name), lag=1.0)
        appender.t0 = recorder.t0

        def pump() -> None:
            while True:
                gevent.sleep(1.0)
                appender.add(recorder.drain().to_message())
                appender.flush()

        gevent.spawn(pump)
        runner.start(args.users, spawn_rate=args.users)
        gevent.sleep(3.0)  # warm up: every user spawned and connected
        rates: dict[bool, list[float]] = {True: [], False: []}
        for phase in range(args.phases):
            with_recorder = phase % 2 == 1
            if with_recorder:
                events.request.add_listener(recorder.on_request)
            start_n, start_t = env.stats.total.num_requests, time.perf_counter()
            gevent.sleep(args.phase_seconds)
            n, t = env.stats.total.num_requests - start_n, time.perf_counter() - start_t
            if with_recorder:
                events.request.remove_listener(recorder.on_request)
            rates[with_recorder].append(n / t)
        runner.quit()
        appender.close()
        recorded = recorder.recorded
    finally:
        stop_process(server)
        tmp.cleanup()
    without, with_ = statistics.median(rates[False]), statistics.median(rates[True])
    print(f"{args.phases} alternating phases of {args.phase_seconds:g}s, {args.users} users, "
          f"one Locust process")
    print(f"without recorder: median {without:.0f} req/s  (phases: "
          f"{', '.join(f'{r:.0f}' for r in rates[False])})")
    print(f"with recorder:    median {with_:.0f} req/s  (phases: "
          f"{', '.join(f'{r:.0f}' for r in rates[True])})")
    pairs = sorted(w / wo for wo, w in zip(rates[False], rates[True], strict=False))
    print(f"throughput with / without = {with_ / without:.3f} (ratio of medians); median of "
          f"adjacent-phase ratios = {statistics.median(pairs):.3f} (goal >= 0.97); "
          f"{recorded:,} requests recorded")
    print(f"listener cost alone: {per_request_us():.2f} us per request, vs "
          f"{1e6 / without:.0f} us of wall time per request for Locust here")


if __name__ == "__main__":
    main()
