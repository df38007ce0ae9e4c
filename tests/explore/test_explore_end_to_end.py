"""`stampede explore` for real: one stack per search, a probe per run folder, the margins of a
sound and a flawed shop in the right order, each bracket one resolution step wide."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TIME_SCALE = "0.25"  # 40 s of load per probe become 10 s


def explore(tmp_path: Path, flaw: str) -> tuple[int, str, dict[str, Any], Path]:
    out = tmp_path / flaw
    done = subprocess.run(
        [sys.executable, "-m", "harness", "explore", str(HERE / "latency_small.yaml"),
         "--time-scale", TIME_SCALE, "--flaw", flaw, "--out", str(out)],
        cwd=REPO, text=True, capture_output=True, timeout=900,
        env={"PATH": "/usr/bin:/bin", "STAMPEDE_STATE_DIR": str(tmp_path / "state"),
             "HOME": str(tmp_path)})
    (folder,) = out.glob("*-explore-latency_small")
    return done.returncode, done.stdout, json.loads((folder / "explore.json").read_text()), folder


@pytest.mark.slow
def test_sound_shop_has_a_larger_latency_margin_than_one_without_cache_timeouts(tmp_path: Path) -> None:
    sound_code, sound_out, sound, sound_dir = explore(tmp_path, "none")
    flawed_code, flawed_out, flawed, flawed_dir = explore(tmp_path, "no_cache_timeout")

    # the sound shop cuts a slow Redis off: no latency in the range breaks it
    assert sound["margin"] == 800 and sound["smallest_failing"] is None, sound["summary"]
    assert sound_code == 0
    # without timeouts every request waits for Redis: it breaks inside the range, below the
    # required 500 ms, and the bracket is one resolution step wide and settled
    assert flawed["margin"] is not None and flawed["smallest_failing"] is not None, flawed["summary"]
    assert flawed["smallest_failing"] - flawed["margin"] == 200 and flawed["settled"]
    assert flawed["margin"] < sound["margin"]
    assert flawed_code == 1  # below `require: {min: 500}`
    failing = [p for p in flawed["probes"] if not p["passed"]]
    assert failing and all(p["first_broken"]["invariant"].startswith("latency_bounded")
                           for p in failing)

    for out, data, folder in ((sound_out, sound, sound_dir), (flawed_out, flawed, flawed_dir)):
        assert out.rstrip().splitlines()[-1] == data["summary"]
        assert data["summary"].startswith("margin: redis-latency latency ")
        assert len(data["probes"]) <= 7
        # one stack for the whole search: one stack log folder, a run folder per probe
        assert (folder / "logs" / "postgres.log").exists()
        for probe in data["probes"]:
            run = folder / probe["results"]
            assert (run / "verdicts.json").exists() and (run / "report.html").exists()
            assert not (run / "logs" / "postgres.log").exists()
            recorded = json.loads((run / "experiment.json").read_text())
            assert recorded["explore"]["value"] == probe["value"]
            latency = recorded["faults"][0]["attributes"]["latency"]
            assert latency == probe["value"]  # the probe ran with the value it reports
        # both ends of the answer were probed at least twice
        values = [p["value"] for p in data["probes"]]
        assert values.count(data["margin"]) >= 2
        if data["smallest_failing"] is not None:
            assert values.count(data["smallest_failing"]) >= 2
        html = (folder / "report.html").read_text()
        assert 'data-chart="invariant-0"' in html and "margin" in html


@pytest.mark.slow
def test_a_halted_probe_stops_the_search_with_exit_2_and_writes_what_it_has(tmp_path: Path) -> None:
    path = tmp_path / "halting.yaml"
    text = (HERE / "latency_small.yaml").read_text().replace(
        "explore:", "halt:\n  - {metric: p99_ms, above: 1, for: 1s}   # always: every run halts\n"
                    "explore:")
    path.write_text(text)
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "harness", "explore", str(path), "--time-scale", TIME_SCALE,
         "--out", str(out)],
        cwd=REPO, text=True, capture_output=True, timeout=600,
        env={"PATH": "/usr/bin:/bin", "STAMPEDE_STATE_DIR": str(tmp_path / "state"),
             "HOME": str(tmp_path)})
    assert done.returncode == 2, done.stderr
    assert "probe 1 was halted by a halt condition; the search stops" in done.stderr
    (folder,) = out.glob("*-explore-latency_small")
    data = json.loads((folder / "explore.json").read_text())
    assert [p["status"] for p in data["probes"]] == ["aborted"]
    assert data["margin"] is None and data["smallest_failing"] is None  # the halt says nothing
    assert data["exit_code"] == 2 and (folder / "report.html").exists()
    assert done.stdout.rstrip().splitlines()[-1] == data["summary"]
    assert data["summary"].startswith("margin: redis-latency latency unknown (probe 1 was halted")
