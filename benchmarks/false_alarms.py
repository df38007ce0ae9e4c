"""False alarms: the nightly suite run N times in a row on the sound reference shop.

A bound that fails on a sound service is a false alarm, and a nightly job with false
alarms gets ignored. This runs the suite `--runs` times (default 10), then prints how many
runs had any failed invariant (goal: 0 of N), which ones, and the spread (min / median /
max over the runs) of every measured value next to its bound, so bounds are set with
margin rather than tuned to one run. Prints figures; asserts nothing.

`--noise` adds what a shared nightly machine does to a run: in every experiment, once its
steady window has ended, a CPU hog busy-loops on every core for `--noise-seconds` (15 s
default), bounded in time, then stops by itself. The baseline was measured quiet; what
follows is measured noisy. A sound service must still pass.

    .venv/bin/python benchmarks/false_alarms.py                       # 10 x nightly, ~70 min
    .venv/bin/python benchmarks/false_alarms.py --runs 3 --time-scale 0.3
    .venv/bin/python benchmarks/false_alarms.py --noise --runs 5
    .venv/bin/python benchmarks/false_alarms.py --summarise results/*-suite-nightly   # no runs
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_suite(suite: Path, out: Path, time_scale: float | None) -> Path | None:
    """One `stampede run SUITE` in a child process; its suite folder (None if it wrote none)."""
    before = set(out.glob("*-suite-*"))
    cmd = [sys.executable, "-m", "harness", "run", str(suite), "--out", str(out)]
    if time_scale:
        cmd += ["--time-scale", str(time_scale)]
    env = {**os.environ, "STAMPEDE_STATE_DIR": str(out / "state")}
    subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=False)
    new = sorted(set(out.glob("*-suite-*")) - before)
    return new[-1] if new else None


def hog(seconds: float) -> None:
    """Busy-loop on every core for `seconds`, in child processes that stop by themselves."""
    loop = f"import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end: pass"
    procs = [subprocess.Popen([sys.executable, "-c", loop]) for _ in range(os.cpu_count() or 1)]
    for proc in procs:
        proc.wait(timeout=seconds + 30)


def steady_ended(timeline: Path) -> bool:
    """True once the run's timeline shows a phase after `steady` (the baseline is measured)."""
    seen_steady = False
    try:
        lines = timeline.read_text().splitlines()
    except OSError:
        return False
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("kind") == "phase":
            if record.get("phase") == "steady":
                seen_steady = True
            elif seen_steady:
                return True
    return False


def noise_maker(out: Path, seconds: float, stop: threading.Event) -> None:
    """Watch every run folder under `out`; once each one's steady window ends, hog the CPU."""
    hogged: set[Path] = set()
    while not stop.wait(0.5):
        for timeline in out.glob("**/timeline.jsonl"):
            folder = timeline.parent
            if folder not in hogged and steady_ended(timeline):
                hogged.add(folder)
                print(f"  noise: {seconds:.0f} s of CPU hog on every core in {folder.name}",
                      flush=True)
                hog(seconds)


def summarise(folders: list[Path]) -> None:
    runs = [json.loads((f / "suite.json").read_text()) for f in folders if (f / "suite.json").exists()]
    if not runs:
        print("no suite.json found")
        return
    alarms = []
    values: dict[tuple[str, str], list[float]] = {}
    bounds: dict[tuple[str, str], tuple[float | None, str]] = {}
    for i, run in enumerate(runs, 1):
        failed = [f"{s['scenario']}: {v['id']}: {v['reason']}" for s in run["steps"]
                  for v in s["verdicts"] if not v["passed"]]
        failed += [f"{s['scenario']}: run {s['status']} (exit {s['exit_code']})" for s in run["steps"]
                   if s["exit_code"] not in (0, 1)]
        if failed:
            alarms.append((i, failed))
        for s in run["steps"]:
            for v in s["verdicts"]:
                key = (s["scenario"], v["id"])
                if v["measured"] is not None:
                    values.setdefault(key, []).append(float(v["measured"]))
                bounds[key] = (v["bound"], v["unit"] or "")
    print(f"runs with any failed invariant: {len(alarms)} of {len(runs)}")
    for i, failed in alarms:
        for line in failed:
            print(f"  run {i}: {line}")
    print(f"\n{'scenario':<22} {'invariant':<62} {'min':>9} {'median':>9} {'max':>9} {'bound':>9}  unit")
    for (scenario, vid), bound_unit in bounds.items():
        got = values.get((scenario, vid), [])
        bound, unit = bound_unit
        cells = ([f"{min(got):9.3g}", f"{statistics.median(got):9.3g}", f"{max(got):9.3g}"]
                 if got else ["-".rjust(9)] * 3)
        print(f"{scenario:<22} {vid[:62]:<62} {' '.join(cells)} "
              f"{('-' if bound is None else format(bound, '9.3g')):>9}  {unit}"
              f"{'' if len(got) == len(runs) else f'  ({len(got)} of {len(runs)} measured)'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--suite", default=str(ROOT / "experiments/suites/nightly.yaml"))
    parser.add_argument("--time-scale", type=float, default=None,
                        help="override the suite's time scale (shorter, for a quick look)")
    parser.add_argument("--out", default=None, help="keep the results here (default: a temp folder)")
    parser.add_argument("--noise", action="store_true",
                        help="hog every core for --noise-seconds after each steady window")
    parser.add_argument("--noise-seconds", type=float, default=15.0)
    parser.add_argument("--summarise", nargs="+", metavar="SUITE_DIR",
                        help="only summarise suite folders already written; run nothing")
    args = parser.parse_args()
    if args.summarise:
        summarise([Path(p) for p in args.summarise])
        return
    out = Path(args.out or tempfile.mkdtemp(prefix="false-alarms-"))
    out.mkdir(parents=True, exist_ok=True)
    folders = []
    stop = threading.Event()
    if args.noise:
        threading.Thread(target=noise_maker, args=(out, args.noise_seconds, stop),
                         daemon=True).start()
    for i in range(args.runs):
        start = time.monotonic()
        folder = run_suite(Path(args.suite), out, args.time_scale)
        print(f"run {i + 1}/{args.runs}: {folder} ({time.monotonic() - start:.0f} s)", flush=True)
        if folder is not None:
            folders.append(folder)
    stop.set()
    print()
    summarise(folders)
    print(f"\nresults: {out}")


if __name__ == "__main__":
    main()
