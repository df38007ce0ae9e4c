"""Locust throughput with the stampede recorder divided by without, measured in one run.

Both variants run headless in a single Locust process against the same tiny aiohttp
server (in its own process), alternating A/B several rounds so machine noise hits
both alike. Goal: ratio >= 0.97. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/recorder_overhead.py [--rounds 3] [--seconds 8] [--users 20]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.load.launcher import PLUGIN  # noqa: E402
from harness.stack.ports import free_port, wait_for_port  # noqa: E402
from harness.stack.process import stop_process  # noqa: E402

SERVER = textwrap.dedent("""
    import sys
    from aiohttp import web
    async def ok(request):
        return web.Response(text="ok")
    app = web.Application()
    app.router.add_get("/{tail:.*}", ok)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
""")
LOCUSTFILE = textwrap.dedent("""
    from locust import FastHttpUser, task
    class Bench(FastHttpUser):
        @task
        def get(self):
            self.client.get("/item")
""")


def run_locust(files: str, host: str, users: int, seconds: int, env: dict[str, str]) -> float:
    """Requests per second over one headless run (Locust's own final count)."""
    with tempfile.TemporaryDirectory() as tmp:
        stats = Path(tmp) / "stats.json"
        subprocess.run(
            [sys.executable, "-m", "locust", "-f", files, "--headless", "-u", str(users),
             "-r", str(users), "-t", f"{seconds}s", "-H", host, "--only-summary",
             "--json-file", str(stats.with_suffix(""))],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
            timeout=seconds + 60)
        data = json.loads(stats.read_text())
    total = sum(entry["num_requests"] for entry in data)
    return total / seconds


def per_request_us(n: int = 200_000) -> float:
    """The listener's own cost, timed in a loop (no Locust): what the ratio should reflect."""
    import time
    from types import SimpleNamespace

    from harness.load.recorder import Recorder

    rec = Recorder(t0=time.time())
    ok = SimpleNamespace(status_code=200)
    start = time.perf_counter()
    for i in range(n):
        rec.on_request("GET", "/item", 1.5 + (i % 50), response=ok, exception=None)
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--users", type=int, default=20)
    args = parser.parse_args()

    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    try:
        wait_for_port("127.0.0.1", port)
        host = f"http://127.0.0.1:{port}"
        with tempfile.TemporaryDirectory() as tmp:
            lf = Path(tmp) / "bench_locustfile.py"
            lf.write_text(LOCUSTFILE)
            results = Path(tmp) / "results"
            results.mkdir()
            base_env = dict(os.environ, PYTHONPATH=str(ROOT))
            rec_env = dict(base_env, STAMPEDE_RESULTS_DIR=str(results))
            without, with_ = [], []
            for i in range(args.rounds):
                without.append(run_locust(str(lf), host, args.users, args.seconds, base_env))
                with_.append(run_locust(f"{PLUGIN},{lf}", host, args.users, args.seconds, rec_env))
                print(f"round {i + 1}: without {without[-1]:7.0f} req/s   "
                      f"with recorder {with_[-1]:7.0f} req/s", flush=True)
            recorded = sum(json.loads(line)["count"]
                           for line in (results / "requests.jsonl").read_text().splitlines())
    finally:
        stop_process(server)
    a, b = sum(without) / len(without), sum(with_) / len(with_)
    ratios = sorted(w / wo for w, wo in zip(with_, without, strict=True))
    print(f"mean without recorder: {a:.0f} req/s; with: {b:.0f} req/s; "
          f"ratio of means = {b / a:.3f}; median per-round ratio = "
          f"{ratios[len(ratios) // 2]:.3f} (goal >= 0.97)")
    print(f"recorder cost measured alone: {per_request_us():.2f} us per request "
          f"(Locust itself spends ~{1e6 / max(a, 1):.0f} us of one process per request here)")
    print(f"the recorder wrote {recorded:,} requests into requests.jsonl over "
          f"{args.rounds} runs")


if __name__ == "__main__":
    main()
