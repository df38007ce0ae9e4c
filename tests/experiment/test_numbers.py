"""Strict numbers: NaN, infinities and values beyond the bounds are refused at load,
each with file:line:field, never as a bare traceback later in the run."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.experiment import load_experiment
from harness.experiment.bounds import MAX_DURATION
from harness.experiment.loader import ExperimentError

FAULT = "{at: 1s, for: 2s, proxy: redis, type: latency, attributes: {latency: 100}}"


def refused(tmp_path: Path, text: str) -> str:
    path = tmp_path / "exp.yaml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(ExperimentError) as caught:
        load_experiment(path)
    return str(caught.value)


@pytest.mark.parametrize(("line", "where", "expected"), [
    ("load: {users: 2, duration: .inf}", "exp.yaml:1: load.duration", "finite number, got inf"),
    ("load: {users: .nan, duration: 10s}", "exp.yaml:1: load.users", "finite number, got nan"),
    ("load: {users: 2, spawn_rate: .inf, duration: 10s}", "exp.yaml:1: load.spawn_rate", "inf"),
    ("load: {users: 100000000000000000000, duration: 10s}", "exp.yaml:1: load.users",
     "at most 1000000 users"),
    ("load: {users: 2, duration: 99999999999h}", "exp.yaml:1: load.duration", "at most 7 days"),
    ("load: {users: 2, duration: 10s, workers: 100000}", "exp.yaml:1: load.workers",
     "at most 1024 workers"),
    ("load: {stages: [{duration: 8d, users: 2}]}", "", "expected a duration"),  # no `d` unit
    ("load: {stages: [{duration: 700000, users: 2}]}", "exp.yaml:1: load.stages[0].duration",
     "at most 7 days"),
    ("time_scale: .inf\nload: {users: 2, duration: 10s}", "exp.yaml:1: time_scale", "finite"),
    ("time_scale: 5000\nload: {users: 2, duration: 10s}", "exp.yaml:1: time_scale",
     "from 0.001 to 1000"),
])
def test_load_numbers(tmp_path: Path, line: str, where: str, expected: str) -> None:
    message = refused(tmp_path, line + "\n")
    assert where in message and expected in message, message


@pytest.mark.parametrize(("fault", "field", "expected"), [
    ("{at: .nan, for: 2s, proxy: redis, type: latency, attributes: {latency: 100}}", "at", "nan"),
    ("{at: 1s, for: .inf, proxy: redis, type: latency, attributes: {latency: 100}}", "for", "inf"),
    ("{at: 1s, for: 2s, proxy: redis, type: latency, attributes: {latency: .inf}}",
     "attributes.latency", "finite number, got inf"),
    ("{at: 1s, for: 2s, proxy: redis, type: latency, attributes: {latency: 100, jitter: -.inf}}",
     "attributes.jitter", "-inf"),
    ("{at: 1s, for: 2s, proxy: redis, type: latency, attributes: {latency: 3600001}}",
     "attributes.latency", "at most one hour"),
    ("{at: 1s, for: 2s, proxy: redis, type: limit_data, attributes: {bytes: 1.0e+300}}",
     "attributes.bytes", "at most 1099511627776"),
    ("{at: 1s, for: 2s, proxy: redis, type: latency, toxicity: .nan, attributes: {latency: 1}}",
     "toxicity", "nan"),
])
def test_fault_numbers(tmp_path: Path, fault: str, field: str, expected: str) -> None:
    message = refused(tmp_path, f"load: {{users: 2, duration: 10s}}\nfaults:\n  - {fault}\n")
    assert f"exp.yaml:3: faults[0].{field}: " in message and expected in message, message


def test_nan_anywhere_else(tmp_path: Path) -> None:
    message = refused(tmp_path, f"""\
        load: {{users: 2, duration: 10s}}
        faults: [{FAULT}]
        invariants:
          - {{name: bounded_error_rate, window: steady, max: .nan}}
        halt:
          - {{metric: p99_ms, above: .inf}}
        target: {{options: {{product_ttl: .nan}}}}
        """)
    assert "exp.yaml:4: invariants[0].max: expected a finite number, got nan" in message
    assert "exp.yaml:6: halt[0].above: expected a finite number, got inf" in message
    assert "exp.yaml:7: target.options.product_ttl: expected a finite number" in message


def test_the_bounds_themselves_pass(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text("load: {users: 1000000, duration: 604800, workers: 1024}\n"
                    "faults:\n  - {at: 1s, for: 2s, proxy: redis, type: latency,"
                    " attributes: {latency: 3600000}}\n")
    assert load_experiment(path).duration == MAX_DURATION


@pytest.mark.parametrize("content", [b"\x7fELF\x02\x01\x01\x00\xd0\xff", "name: caf\xe9\n".encode("latin-1"),
                                     b"name: x\x00y\n"])
def test_binary_and_undecodable_files_name_the_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "binary.yaml"
    path.write_bytes(content)
    with pytest.raises(ExperimentError, match=r"binary.yaml:1: not a (UTF-8|YAML) text file"):
        load_experiment(path)


def test_ports_beyond_65535(tmp_path: Path) -> None:
    message = refused(tmp_path, """\
        target: {kind: external, base_url: 'http://127.0.0.1:99999', toxiproxy_url: 'http://127.0.0.1:8474'}
        proxies: {api: {upstream: '127.0.0.1:70000', listen: '127.0.0.1:9000'}}
        load: {users: 2, duration: 10s}
        """)
    assert "exp.yaml:1: target.base_url: expected a port from 0 to 65535, got 99999" in message
    assert "exp.yaml:2: proxies.api.upstream: expected a port from 0 to 65535, got 70000" in message
