"""External target files: one file says where a run goes, every experiment file runs unchanged.

Pure logic (the loader and its checks): no process is started here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.experiment import ExperimentError, check_allowed_hosts, load_experiment

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "experiments" / "default.yaml"
LOCAL = ROOT / "experiments" / "targets" / "local.yaml"

EXPERIMENT = """\
name: small
target:
  kind: embedded
allowed_hosts: [cache.internal]
load:
  users: 2
  duration: 20s
faults:
  - {name: slow, at: 10s, for: 5s, proxy: redis, type: latency, attributes: {latency: 100}}
"""

TARGET = """\
target:
  kind: external
  base_url: http://127.0.0.1:8000
  toxiproxy_url: http://127.0.0.1:8474
proxies:
  redis: {listen: "127.0.0.1:26379", upstream: "127.0.0.1:6379"}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def load_error(experiment: Path, target: Path) -> ExperimentError:
    with pytest.raises(ExperimentError) as info:
        load_experiment(experiment, target_file=target)
    return info.value


def test_target_file_replaces_target_proxies_and_allowed_hosts(tmp_path: Path) -> None:
    exp = load_experiment(write(tmp_path, "e.yaml", EXPERIMENT),
                          target_file=write(tmp_path, "t.yaml", TARGET))
    assert exp.target.kind == "external" and exp.target.base_url == "http://127.0.0.1:8000"
    assert exp.proxies["redis"].upstream == "127.0.0.1:6379"
    assert exp.allowed_hosts == []  # the experiment's own list is gone with its target
    assert [f.name for f in exp.faults_timeline()] == ["slow"]  # the rest is untouched
    without = load_experiment(tmp_path / "e.yaml")
    assert without.target.kind == "embedded" and without.allowed_hosts == ["cache.internal"]


def test_default_game_day_runs_against_a_local_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_DB_PASSWORD", "pw-in-env")
    exp = load_experiment(DEFAULT, time_scale=0.5, target_file=LOCAL)
    assert exp.target.kind == "external"
    assert exp.target.database_url == "postgresql://shop:pw-in-env@127.0.0.1:5432/shop"
    assert exp.resolved()["target"]["database_url"] == "postgresql://shop:***@127.0.0.1:5432/shop"
    assert exp.duration == 60.0 and exp.source == DEFAULT and exp.target_source == LOCAL


def test_a_typo_in_the_target_file_names_that_file_and_line(tmp_path: Path) -> None:
    target = write(tmp_path, "t.yaml", TARGET.replace("base_url", "base_ulr"))
    error = load_error(write(tmp_path, "e.yaml", EXPERIMENT), target)
    assert error.path == str(target)
    assert f"{target}:3: target.base_ulr: unknown field" in str(error)
    assert 'did you mean "base_url"' in str(error)
    assert "e.yaml" not in str(error)


def test_problems_in_both_files_are_listed_each_with_its_file(tmp_path: Path) -> None:
    experiment = write(tmp_path, "e.yaml", EXPERIMENT.replace("duration: 20s", "duration: 20x"))
    target = write(tmp_path, "t.yaml", TARGET.replace("toxiproxy_url", "toxiproxy"))
    text = str(load_error(experiment, target))
    assert text.startswith(f"{experiment}: 3 problems")  # + toxiproxy_url missing
    assert f"{experiment}:7: load.duration:" in text
    assert f"{target}:4: target.toxiproxy: unknown field" in text


def test_target_file_holds_only_where_not_what(tmp_path: Path) -> None:
    target = write(tmp_path, "t.yaml", TARGET + "load: {users: 5}\n")
    text = str(load_error(write(tmp_path, "e.yaml", EXPERIMENT), target))
    assert f"{target}:7: load: a target file holds only target, proxies, allowed_hosts" in text
    missing = write(tmp_path, "m.yaml", "allowed_hosts: []\n")
    assert "required field missing: add `target:`" in str(
        load_error(tmp_path / "e.yaml", missing))


def test_a_fault_on_a_proxy_the_target_file_lacks(tmp_path: Path) -> None:
    target = write(tmp_path, "t.yaml", TARGET.replace("redis:", "cache:"))
    error = load_error(write(tmp_path, "e.yaml", EXPERIMENT), target)
    assert error.path.endswith("e.yaml")
    assert 'faults[0].proxy: unknown proxy "redis"' in str(error)
    assert f"declare others under `proxies:` in {target}" in str(error)


def test_environment_references(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A password stays in the environment; an unset variable is named with file and line."""
    target = write(tmp_path, "t.yaml", TARGET.replace(
        "  toxiproxy_url", "  database_url: postgresql://u:${STAMPEDE_T_PW}@127.0.0.1/db\n"
        "  toxiproxy_url"))
    monkeypatch.delenv("STAMPEDE_T_PW", raising=False)
    text = str(load_error(write(tmp_path, "e.yaml", EXPERIMENT), target))
    assert f"{target}:4: target.database_url: environment variable STAMPEDE_T_PW is not set" in text
    monkeypatch.setenv("STAMPEDE_T_PW", "hunter2")
    exp = load_experiment(tmp_path / "e.yaml", target_file=target)
    assert exp.target.database_url == "postgresql://u:hunter2@127.0.0.1/db"


def test_external_proxies_need_a_known_listen_address(tmp_path: Path) -> None:
    target = write(tmp_path, "t.yaml", TARGET.replace('listen: "127.0.0.1:26379", ', ""))
    text = str(load_error(write(tmp_path, "e.yaml", EXPERIMENT), target))
    assert f"{target}:6: proxies.redis: expected `listen: HOST:PORT`" in text


def test_redis_actions_are_refused_for_an_external_target(tmp_path: Path) -> None:
    experiment = write(tmp_path, "e.yaml", EXPERIMENT + "  - {at: 12s, type: flush_cache}\n")
    text = str(load_error(experiment, write(tmp_path, "t.yaml", TARGET)))
    assert f"{experiment}:10: faults[1].type: \"flush_cache\" talks to Redis directly" in text
    load_experiment(experiment)  # fine with the embedded target


def test_a_non_loopback_host_must_be_listed_in_the_target_file(tmp_path: Path) -> None:
    """The experiment's own allowed_hosts does not carry over: the target file must list it."""
    staging = TARGET.replace("http://127.0.0.1:8000", "http://cache.internal:8000")
    target = write(tmp_path, "t.yaml", staging)
    text = str(load_error(write(tmp_path, "e.yaml", EXPERIMENT), target))
    assert (f'{target}:3: target.base_url: host "cache.internal" is not a loopback address and '
            "not in allowed_hosts; add `allowed_hosts: [cache.internal]`") in text
    write(tmp_path, "t.yaml", staging + "allowed_hosts: [cache.internal]\n")
    assert load_experiment(tmp_path / "e.yaml", target_file=target).target.base_url.startswith(
        "http://cache.internal")


def test_allowed_hosts_entries_are_host_names(tmp_path: Path) -> None:
    target = write(tmp_path, "t.yaml", TARGET + "allowed_hosts: [http://cache.internal/]\n")
    text = str(load_error(write(tmp_path, "e.yaml", EXPERIMENT), target))
    assert 'allowed_hosts[0]: expected a bare host name' in text and 'write "cache.internal"' in text


def test_check_allowed_hosts_guards_an_experiment_changed_in_code(tmp_path: Path) -> None:
    exp = load_experiment(write(tmp_path, "e.yaml", EXPERIMENT),
                          target_file=write(tmp_path, "t.yaml", TARGET))
    assert check_allowed_hosts(exp) is None  # loopback only: nothing to refuse
    exp.target.toxiproxy_url = "http://192.0.2.10:8474"  # documentation address, never contacted
    with pytest.raises(ExperimentError) as info:
        check_allowed_hosts(exp)
    assert str(info.value).startswith(f"{tmp_path / 't.yaml'}: target.toxiproxy_url: host "
                                      '"192.0.2.10" is not a loopback address')
    exp.allowed_hosts.append("192.0.2.10")
    check_allowed_hosts(exp)


def test_stampede_plan_takes_a_target_file(tmp_path: Path) -> None:
    experiment = write(tmp_path, "e.yaml", EXPERIMENT)
    good = subprocess.run(
        [sys.executable, "-m", "harness", "plan", str(experiment), "--target",
         str(write(tmp_path, "t.yaml", TARGET))], capture_output=True, text=True, timeout=60)
    assert good.returncode == 0, good.stderr
    assert "target   external (http://127.0.0.1:8000)" in good.stdout
    assert "proxies  redis (127.0.0.1:26379 -> 127.0.0.1:6379)" in good.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "harness", "plan", str(experiment), "--target",
         str(write(tmp_path, "b.yaml", TARGET.replace("kind: external", "kind: remote")))],
        capture_output=True, text=True, timeout=60)
    assert bad.returncode == 3
    assert f"{tmp_path / 'b.yaml'}:2: target.kind: expected embedded or external" in bad.stderr
