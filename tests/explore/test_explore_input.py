"""Bad explore blocks: exit status 3 with file:line: field, nothing started, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

EXPERIMENT = """\
name: tiny
load: {users: 5, duration: 60s}
faults:
  - {name: redis-latency, at: 20s, for: 20s, proxy: redis, type: latency, attributes: {latency: 100}}
invariants:
  - {name: bounded_error_rate, max: 0.05}
explore:
  vary: VARY
  from: FROM
  to: TO
  resolution: RESOLUTION
"""


def write(tmp_path: Path, vary: str = "faults.redis-latency.attributes.latency",
          start: str = "0", stop: str = "1000", resolution: str = "50") -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(EXPERIMENT.replace("VARY", vary).replace("FROM", start)
                    .replace("TO", stop).replace("RESOLUTION", resolution))
    return path


def stampede(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "STAMPEDE_STATE_DIR": str(cwd / "state")})


@pytest.mark.parametrize(("fields", "line", "expected"), [
    ({"vary": "faults.redis-latncy.attributes.latency"}, 8,
     'explore.vary: faults.redis-latncy.attributes.latency: faults has no "redis-latncy"; '
     "it has: redis-latency"),
    ({"vary": "faults.redis-latency.attributes.jitter"}, 8,
     'explore.vary: faults.redis-latency.attributes.jitter: faults.redis-latency.attributes has '
     'no "jitter"; it has: latency'),
    ({"vary": "load.user"}, 8, 'explore.vary: load.user: load has no "user"'),
    ({"vary": "faults.redis-latency.type"}, 8,
     "explore.vary: faults.redis-latency.type is not a number in this experiment"),
    ({"vary": "target.options.cache_timeout_ms"}, 8,
     'explore.vary: "target" cannot be varied: the stack starts once for the whole search'),
    ({"start": "1000", "stop": "100"}, 10,
     "explore.to: expected a value above `from` (1000), got 100"),
    ({"vary": "load.users", "start": "0", "stop": "50", "resolution": "5"}, 9,
     "explore.from: load.users cannot be 0: load.users: input should be greater than or equal to 1"),
    ({"vary": "faults.redis-latency.for", "start": "5s", "stop": "2m", "resolution": "5s"}, 10,
     "explore.to: faults.redis-latency.for cannot be 120: faults[0].for: the fault ends at 2m20s, "
     "after the run ends (1m)"),
    ({"resolution": "0.5"}, 11,
     "explore.resolution: faults.redis-latency.attributes.latency cannot be 0.5: "
     "faults[0].attributes.latency: expected a whole number, got 0.5"),
    ({"start": "-100"}, 9,
     "explore.from: faults.redis-latency.attributes.latency cannot be -100: "
     "faults[0].attributes.latency: expected a number of 0 or more, got -100"),
], ids=["unknown-fault", "unset-attribute", "unknown-field", "not-a-number", "target",
        "reversed", "users-zero", "outage-past-the-run", "fractional-latency", "negative"])
def test_bad_explore_block_exits_3_naming_file_line_and_field(
        tmp_path: Path, fields: dict[str, str], line: int, expected: str) -> None:
    path = write(tmp_path, **fields)
    done = stampede("explore", str(path), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 3, done.stderr
    assert f"{path}:{line}: {expected}" in done.stderr
    assert not (tmp_path / "out").exists()  # nothing started, nothing written
    planned = stampede("plan", str(path), cwd=tmp_path)  # plan refuses it the same way
    assert planned.returncode == 3 and f"{path}:{line}: {expected}" in planned.stderr


def test_a_file_without_explore_block_or_with_an_external_target_is_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain.yaml"
    plain.write_text(EXPERIMENT.split("explore:")[0])
    done = stampede("explore", str(plain), cwd=tmp_path)
    assert done.returncode == 3 and f"{plain}:1: explore: no `explore:` block" in done.stderr
    external = write(tmp_path)
    external.write_text("target: {kind: external, base_url: 'http://127.0.0.1:9', "
                        "toxiproxy_url: 'http://127.0.0.1:9'}\nproxies: {redis: {expect: true}}\n"
                        + external.read_text())
    done = stampede("explore", str(external), cwd=tmp_path)
    assert done.returncode == 3 and "target: stampede explore needs the embedded target" in done.stderr


def test_plan_lists_the_probe_budget_and_the_worst_case(tmp_path: Path) -> None:
    done = stampede("plan", str(REPO / "experiments/explore/redis_latency_margin.yaml"),
                    "--time-scale", "0.25", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "explore  faults.redis-latency.attributes.latency from 0 ms to 2,000 ms" in out
    assert "9 to settle without noise" in out and "budget 12" in out
    # 12 probes x (15 s of load + 10 s) + 15 s to start the stack
    assert "worst case 5.2 min" in out
