"""Lag between planned and actual fault times over a real run with 50 fault changes under load.

Runs `stampede run` on a generated experiment (embedded stack, Locust load on the reference
shop, 25 latency toxics on the Redis proxy = 50 changes) and reads the timeline.
Goal: max lag < 50 ms. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/schedule_precision.py [--faults 25] [--users 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LOCUSTFILE = textwrap.dedent("""
    import random
    from locust import FastHttpUser, constant, task
    class Reader(FastHttpUser):
        wait_time = constant(0.01)
        @task
        def product(self):
            self.client.get(f"/products/{random.randint(1, 500)}", name="/products/{id}")
""")


def experiment(faults: int, users: int) -> str:
    lines = [
        "name: schedule_precision",
        f"load: {{locustfile: bench_locustfile.py, users: {users}, spawn_rate: {users}, "
        f"duration: {faults + 6}s}}",
        "faults:",
    ]
    for i in range(faults):
        lines.append(f"  - {{name: lat-{i}, at: {2 + i}s, for: 500ms, proxy: redis, "
                     f"type: latency, attributes: {{latency: {5 + i}}}}}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faults", type=int, default=25, help="faults; each is 2 changes")
    parser.add_argument("--users", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "bench_locustfile.py").write_text(LOCUSTFILE)
        path = Path(tmp) / "schedule_precision.yaml"
        path.write_text(experiment(args.faults, args.users))
        out = Path(tmp) / "results"
        proc = subprocess.run([sys.executable, "-m", "harness", "run", str(path), "--out", str(out)],
                              cwd=ROOT, capture_output=True, text=True, timeout=600)
        folders = list(out.iterdir()) if out.exists() else []
        if not folders:
            print(proc.stdout, proc.stderr)
            raise SystemExit("the run made no results folder")
        folder = folders[0]
        events = [json.loads(line) for line in (folder / "timeline.jsonl").read_text().splitlines()]
        summary = json.loads((folder / "summary.json").read_text())
    changes = [e for e in events if e["kind"] in ("fault_start", "fault_end")]
    errors = [e for e in changes if "error" in e]
    lags = sorted((e["t"] - e["planned_t"]) * 1000 for e in changes)
    print(f"run status {summary['status']}, {summary['requests']:,} requests "
          f"({summary['requests'] / max(summary['duration'], 1):.0f}/s) during the schedule")
    print(f"{len(changes)} fault changes, {len(errors)} failed; lag planned->applied: "
          f"p50 {statistics.median(lags):.1f} ms, p90 {lags[int(len(lags) * 0.9)]:.1f} ms, "
          f"max {lags[-1]:.1f} ms (goal: max < 50 ms), min {lags[0]:.1f} ms")


if __name__ == "__main__":
    main()
