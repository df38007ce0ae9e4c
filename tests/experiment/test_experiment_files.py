"""Experiment files: a good file resolves as docs/results-format.md says; each kind of bad
input is refused with `file:line: field: what is expected`."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from harness.cli import main
from harness.experiment import ExperimentError, load_experiment, parse_duration
from harness.experiment.model import EmbeddedTarget, Experiment, FaultSpec, HaltCondition, LoadSpec

REPO = Path(__file__).resolve().parents[2]

GOOD = """\
name: redis_outage
time_scale: 0.5
load:
  users: 20
  duration: 2m
steady_state: {from: 10s, to: 30s}
faults:
  - at: 40s
    for: 20s
    proxy: redis
    type: latency
    attributes: {latency: 300, jitter: 50}
  - name: redis-outage
    at: 70s
    until: 90s
    proxy: redis
    type: down
  - at: 100s
    type: flush_cache
invariants:
  - {name: bounded_error_rate, window: "during:redis-outage", max: 0.05}
halt:
  - {metric: error_rate, above: 0.9, for: 10s}
"""


def write(tmp_path: Path, text: str, name: str = "x.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_good_file_resolves_to_the_experiment_json_shape(tmp_path):
    experiment = load_experiment(write(tmp_path, GOOD))
    resolved = experiment.resolved()
    assert resolved["name"] == "redis_outage"
    assert resolved["duration"] == 60.0 and resolved["time_scale"] == 0.5
    assert resolved["steady_state"] == {"start": 5.0, "end": 15.0}
    assert resolved["faults"] == [
        {"name": "redis-latency-1", "proxy": "redis", "type": "latency", "start": 20.0,
         "end": 30.0, "stream": "downstream", "toxicity": 1.0,
         "attributes": {"latency": 300, "jitter": 50}},
        {"name": "redis-outage", "proxy": "redis", "type": "down", "start": 35.0, "end": 45.0,
         "stream": "downstream", "toxicity": 1.0, "attributes": {}},
        {"name": "flush_cache-1", "proxy": None, "type": "flush_cache", "start": 50.0,
         "end": 50.0, "stream": "downstream", "toxicity": 1.0, "attributes": {}},
    ]
    assert resolved["halt"] == [{"metric": "error_rate", "above": 0.9, "for": 5.0}]
    assert resolved["invariants"][0]["window"] == "during:redis-outage"
    assert resolved["target"]["kind"] == "embedded"
    assert resolved["load"]["users"] == 20 and resolved["load"]["duration"] == 60.0


def test_time_scale_argument_overrides_the_file(tmp_path):
    experiment = load_experiment(write(tmp_path, GOOD), time_scale=0.1)
    assert experiment.duration == pytest.approx(12.0)
    assert [(f.start, f.end) for f in experiment.faults_timeline()] == [
        (4.0, 6.0), (7.0, 9.0), (10.0, 10.0)]
    assert experiment.halt[0].for_ == pytest.approx(1.0)
    # toxic attributes are not times of the schedule: they stay as written
    assert experiment.faults_timeline()[0].attributes["latency"] == 300


@pytest.mark.parametrize(("text", "seconds"), [
    ("30s", 30.0), ("2m", 120.0), ("500ms", 0.5), ("1h", 3600.0), ("1m30s", 90.0),
    (45, 45.0), (1.5, 1.5), ("12", 12.0)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["3 minutes", "1m30", "-5s", True, "", "5d"])
def test_bad_durations(text):
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(text)


# (file text, line, field, words the message must hold)
BAD = {
    "typo'd field": ("""\
        load:
          users: 5
          duration: 1m
        faults:
          - at: 10s
            fro: 20s
            proxy: redis
            type: latency
        """, 6, "faults[0].fro", ['unknown field "fro"', 'did you mean "for"?']),
    "typo'd top-level field": ("""\
        laod:
          users: 5
        """, 1, "laod", ['did you mean "load"?']),
    "bad duration": ("""\
        load:
          users: 5
          duration: 10m
        faults:
          - at: 10s
            proxy: redis
            type: latency
          - at: 30s
            proxy: redis
            type: down
            for: 3 minutes
        """, 11, "faults[1].for",
        ['expected a duration like 30s, 2m or 500ms, got "3 minutes"']),
    "unknown proxy": ("""\
        load: {users: 5, duration: 1m}
        faults:
          - at: 10s
            for: 5s
            proxy: redsi
            type: down
        """, 5, "faults[0].proxy", ['unknown proxy "redsi"', 'did you mean "redis"?', "redis, db"]),
    "fault outside the run": ("""\
        load: {users: 5, duration: 1m}
        faults:
          - at: 50s
            for: 20s
            proxy: redis
            type: down
        """, 4, "faults[0].for", ["ends at 1m10s", "after the run ends (1m)"]),
    "fault starting after the run": ("""\
        load: {users: 5, duration: 1m}
        faults:
          - at: 2m
            type: flush_cache
        """, 3, "faults[0].at", ["not before the run ends"]),
    "non-loopback host not allowed": ("""\
        target:
          kind: external
          base_url: http://127.0.0.1:8000
          toxiproxy_url: http://toxiproxy.staging:8474
        load: {users: 5, duration: 1m}
        """, 4, "target.toxiproxy_url",
        ['host "toxiproxy.staging" is not a loopback address', "allowed_hosts: [toxiproxy.staging]"]),
    "unknown metric name": ("""\
        target:
          kind: external
          base_url: http://127.0.0.1:8000
          toxiproxy_url: http://127.0.0.1:8474
          metric_names: {stampede_circuit_sate: breaker}
        load: {users: 5, duration: 1m}
        """, 5, "target.metric_names.stampede_circuit_sate",
        ['did you mean "stampede_circuit_state"?']),
    "missing locustfile": ("""\
        load: {users: 5, duration: 1m, locustfile: no_such_locustfile.py}
        """, 1, "load.locustfile", ["no_such_locustfile.py not found (looked in"]),
    "non-loopback upstream": ("""\
        proxies:
          cache2: 10.1.2.3:6379
        load: {users: 5, duration: 1m}
        """, 2, "proxies.cache2.upstream", ['host "10.1.2.3"']),
    "attribute the toxic does not take": ("""\
        load: {users: 5, duration: 1m}
        faults:
          - at: 10s
            for: 5s
            proxy: redis
            type: latency
            attributes:
              latncy: 300
        """, 8, "faults[0].attributes.latncy", ['"latency" takes latency, jitter', 'did you mean "latency"?']),
    "negative attribute": ("""\
        load: {users: 5, duration: 1m}
        faults:
          - {at: 10s, for: 5s, proxy: db, type: bandwidth, attributes: {rate: -1}}
        """, 3, "faults[0].attributes.rate", ["expected a number of 0 or more, got -1"]),
    "unknown fault type": ("""\
        load: {users: 5, duration: 1m}
        faults:
          - {at: 10s, for: 5s, proxy: db, type: lantency}
        """, 3, "faults[0].type", ['unknown fault type "lantency"', 'did you mean "latency"?']),
    "steady window overlapping a fault": ("""\
        load: {users: 5, duration: 1m}
        steady_state: {from: 5s, to: 30s}
        faults:
          - {name: slow, at: 20s, for: 5s, proxy: redis, type: latency, attributes: {latency: 10}}
        """, 2, "steady_state", ['overlaps fault "slow"']),
    "steady window outside the run": ("""\
        load: {users: 5, duration: 1m}
        steady_state: {from: 5s, to: 2m}
        """, 2, "steady_state.to", ["after the run ends"]),
    "overlapping outages on one proxy": ("""\
        load: {users: 5, duration: 1m}
        faults:
          - {at: 10s, for: 20s, proxy: redis, type: down}
          - {at: 20s, for: 20s, proxy: redis, type: down}
        """, 4, "faults[1]", ['"redis-down-2" takes proxy "redis" down while "redis-down-1"']),
    "duplicate fault names": ("""\
        load: {users: 5, duration: 1m}
        faults:
          - {name: slow, at: 10s, for: 5s, proxy: redis, type: latency}
          - {name: slow, at: 20s, for: 5s, proxy: db, type: latency}
        """, 4, "faults[1].name", ['"slow" is already used by faults[0]']),
    "action with a duration": ("""\
        load: {users: 5, duration: 1m}
        faults:
          - at: 10s
            type: expire_key
            for: 5s
            attributes: {key: hot}
        """, 5, "faults[0].for", ["instant action", "remove `for`"]),
    "invariant naming an unknown fault": ("""\
        load: {users: 5, duration: 1m}
        faults:
          - {name: redis-outage, at: 10s, for: 5s, proxy: redis, type: down}
        invariants:
          - {name: bounded_error_rate, window: "during:redis-outgae"}
        """, 5, "invariants[0].window", ['no fault named "redis-outgae"', 'did you mean "redis-outage"?']),
    "users and stages both": ("""\
        load:
          users: 5
          stages: [{duration: 10s, users: 3}]
        """, 3, "load.stages", ["either `users`", "not both"]),
    "duplicate key": ("""\
        load: {users: 5, duration: 1m}
        load: {users: 6, duration: 1m}
        """, 2, "load", ['"load" is given twice']),
    "bad YAML": ("""\
        load: {users: 5, duration: 1m
        faults: []
        """, 2, "", ["not valid YAML"]),
    "wrong kind of value": ("""\
        load: {users: many, duration: 1m}
        """, 1, "load.users", ["valid integer", '"many"']),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_names_file_line_field_and_fix(tmp_path, case):
    text, line, field, words = BAD[case]
    path = write(tmp_path, text)
    with pytest.raises(ExperimentError) as caught:
        load_experiment(path)
    message = str(caught.value)
    prefix = f"{path}:{line}: {field}: " if field else f"{path}:{line}: "
    assert prefix in message, message
    for word in words:
        assert word in message, message


def test_loopback_hosts_and_listed_hosts_are_accepted(tmp_path):
    """The other side of the allowed_hosts check: the same file passes once the host is listed."""
    text = """\
        target:
          kind: external
          base_url: http://localhost:8000
          toxiproxy_url: http://toxiproxy.staging:8474
          database_url: postgresql://shop:secret@[::1]:5432/shop
          metric_names: {stampede_circuit_state: shop_breaker_state}
        allowed_hosts: [toxiproxy.staging]
        proxies:
          redis: {listen: "0.0.0.0:26379", upstream: "127.0.0.2:6379"}
          db: {expect: true}
        load: {users: 5, duration: 1m}
        faults:
          - {at: 10s, for: 5s, proxy: db, type: down}
        """
    resolved = load_experiment(write(tmp_path, text)).resolved()
    assert resolved["target"]["database_url"] == "postgresql://shop:***@[::1]:5432/shop"
    assert resolved["proxies"]["db"]["expect"] is True


def test_several_problems_are_listed_together(tmp_path):
    text = """\
        load: {users: 5, duration: 1m}
        faults:
          - {at: 10s, for: 5s, proxy: nope, type: down}
          - {at: 50s, for: 20s, proxy: redis, type: latency, attributes: {latency: -3}}
        """
    path = write(tmp_path, text)
    with pytest.raises(ExperimentError) as caught:
        load_experiment(path)
    error = caught.value
    assert str(error).startswith(f"{path}: 3 problems")
    assert [(line, field) for line, field, _ in error.problems] == [
        (3, "faults[0].proxy"), (4, "faults[1].attributes.latency"), (4, "faults[1].for")]


def test_unknown_flaw_is_refused(tmp_path):
    path = write(tmp_path, """\
        target: {flaws: [no_circuit_braker]}
        load: {users: 5, duration: 1m}
        """)
    with pytest.raises(ExperimentError, match=r'x.yaml:1: target.flaws\[0\]: unknown flaw "no_circuit_braker"; did you mean "no_circuit_breaker"'):
        load_experiment(path)


def test_the_full_example_validates_and_uses_every_field():
    path = REPO / "experiments" / "examples" / "full_example.yaml"
    experiment = load_experiment(path)
    raw = yaml.safe_load(path.read_text())

    def names(model) -> set[str]:
        return {field.alias or name for name, field in model.model_fields.items()}

    assert set(raw) == names(Experiment)
    assert set(raw["target"]) == names(EmbeddedTarget)
    assert set(raw["load"]) - {"users", "spawn_rate"} == names(LoadSpec) - {"users", "spawn_rate"}
    assert set().union(*raw["faults"]) == names(FaultSpec)
    assert set().union(*raw["halt"]) == names(HaltCondition)
    types = {f.type for f in experiment.faults_timeline()}
    assert {"latency", "down", "flush_cache", "restart_redis", "set_maxmemory", "expire_key"} <= types


def test_plan_prints_the_timeline(tmp_path, capsys):
    assert main(["plan", str(write(tmp_path, GOOD)), "--time-scale", "1"]) == 0
    out = capsys.readouterr().out
    assert "experiment redis_outage: 120s (time_scale 1)" in out
    assert "fault  redis-outage: down on redis until 90s" in out
    assert "action flush_cache-1: flush_cache" in out
    assert out.index("redis-latency-1") < out.index("redis-outage")


def test_plan_refuses_bad_input_with_exit_status_3(tmp_path, capsys):
    path = write(tmp_path, BAD["unknown proxy"][0])
    assert main(["plan", str(path)]) == 3
    err = capsys.readouterr().err
    assert f"{path}:5: faults[0].proxy: unknown proxy" in err


def test_docs_show_the_full_example_as_it_is():
    doc = (REPO / "docs" / "experiments.md").read_text()
    section = doc.split("## The complete example", 1)[1]
    example = (REPO / "experiments" / "examples" / "full_example.yaml").read_text()
    assert f"```yaml\n{example}```" in section, "docs/experiments.md's example differs from full_example.yaml"


def test_a_missing_file_and_a_bad_time_scale_are_named(tmp_path):
    with pytest.raises(ExperimentError, match=r"nope.yaml: cannot read the file: No such file"):
        load_experiment(tmp_path / "nope.yaml")
    with pytest.raises(ExperimentError, match=r"x.yaml: --time-scale: expected a number more than 0, got 0"):
        load_experiment(write(tmp_path, GOOD), time_scale=0)


def test_a_locustfile_beside_the_experiment_is_found(tmp_path):
    (tmp_path / "mine.py").write_text("# a locustfile\n")
    path = write(tmp_path, "load: {users: 5, duration: 1m, locustfile: mine.py}\n")
    assert load_experiment(path).load.locustfile == "mine.py"
