"""docker-compose.yml, experiments/targets/toxiproxy.json and the compose target file agree.

No Docker engine runs here, so the files are checked as data (harness.experiment.compose).
Each mutation below breaks one agreement in a copy and expects the checker to say so:
the checker is shown to fail, not only to pass.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.experiment import load_experiment
from harness.experiment.compose import check_compose

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
TARGET = ROOT / "experiments" / "targets" / "compose.yaml"
TOXIPROXY = ROOT / "experiments" / "targets" / "toxiproxy.json"


def test_the_repository_files_agree() -> None:
    assert check_compose(COMPOSE, TARGET) == []


def test_every_experiment_file_loads_against_the_compose_target(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What locust-master runs: the default game day with the compose target file."""
    monkeypatch.setenv("POSTGRES_PASSWORD", "s3cret-pw")
    exp = load_experiment(ROOT / "experiments" / "default.yaml", target_file=TARGET)
    assert exp.target.kind == "external" and exp.target.base_url == "http://shop:8000"
    assert exp.target_source == TARGET
    assert set(exp.proxies) == {"redis", "db"} and all(p.expect for p in exp.proxies.values())
    assert {f.proxy for f in exp.faults_timeline()} == {"redis"}
    assert "s3cret-pw" not in json.dumps(exp.resolved())  # masked in experiment.json


Compose = dict[str, Any]
Mutation = Callable[[Compose, list[dict[str, Any]], dict[str, Any]], None]


def _env(compose: Compose, service: str) -> dict[str, Any]:
    return compose["services"][service]["environment"]


MUTATIONS: dict[str, tuple[Mutation, str]] = {
    "shop redis port": (
        lambda c, t, x: _env(c, "shop").update(
            SHOP_REDIS_URL=_env(c, "shop")["SHOP_REDIS_URL"].replace(":26379", ":26380")),
        "SHOP_REDIS_URL: port 26380, but proxy `redis` listens on 26379"),
    "shop bypasses toxiproxy": (
        lambda c, t, x: _env(c, "shop").update(
            SHOP_DATABASE_URL=_env(c, "shop")["SHOP_DATABASE_URL"].replace("@toxiproxy:25432",
                                                                           "@postgres:5432")),
        "SHOP_DATABASE_URL: goes to postgres, not through toxiproxy"),
    "proxy listen moved": (
        lambda c, t, x: t[0].update(listen="0.0.0.0:26400"),
        "SHOP_REDIS_URL: port 26379, but proxy `redis` listens on 26400"),
    "proxy upstream port": (
        lambda c, t, x: t[0].update(upstream="redis:6380"),
        "redis.upstream: port 6380, but redis listens on 6379"),
    "proxy upstream unknown": (
        lambda c, t, x: t[1].update(upstream="pg:5432"),
        "db.upstream: 'pg' is not a compose service"),
    "db proxy missing": (
        lambda c, t, x: t.pop(1),
        "SHOP_DATABASE_URL: the Toxiproxy config has no proxy `db`"),
    "toxiproxy_url port": (
        lambda c, t, x: x["target"].update(toxiproxy_url="http://toxiproxy:8475"),
        "target.toxiproxy_url: toxiproxy:8475 is not service toxiproxy on port 8474"),
    "base_url host": (
        lambda c, t, x: x["target"].update(base_url="http://shopp:8000"),
        "target.base_url: shopp:8000 is not service shop on port 8000"),
    "database_url db name": (
        lambda c, t, x: x["target"].update(
            database_url=x["target"]["database_url"].replace("/shop", "/orders")),
        "target.database_url: user or database differ"),
    "worker master": (
        lambda c, t, x: c["services"]["locust-worker"].update(
            command=["stampede", "worker", "--master", "locust-main:5557"]),
        "--master locust-main:5557: expected locust-master"),
    "master target file": (
        lambda c, t, x: c["services"]["locust-master"].update(
            command=["stampede", "run", "experiments/default.yaml", "--target",
                     "experiments/targets/staging.yaml", "--out", "/results"]),
        "expected --target .../compose.yaml"),
    "results not mounted": (
        lambda c, t, x: c["services"]["locust-master"].pop("volumes"),
        "--out /results is not a mounted folder"),
    "service removed": (
        lambda c, t, x: c["services"].pop("postgres"),
        "services: no service `postgres`"),
    "no -config": (
        lambda c, t, x: c["services"]["toxiproxy"].update(command=["-host=0.0.0.0"]),
        "expected -config="),
    "config not mounted": (
        lambda c, t, x: c["services"]["toxiproxy"].pop("volumes"),
        "nothing is mounted at /config/toxiproxy.json"),
    "redis password": (
        lambda c, t, x: _env(c, "redis").update(REDIS_PASSWORD="${CACHE_PASSWORD}"),
        "its password is not the redis service's REDIS_PASSWORD"),
    "master lacks the db password": (
        lambda c, t, x: _env(c, "locust-master").pop("POSTGRES_PASSWORD"),
        "POSTGRES_PASSWORD is not set, but compose.yaml needs it"),
    "allowed_hosts": (
        lambda c, t, x: x.update(allowed_hosts=["shop", "postgres"]),
        "allowed_hosts: toxiproxy (target.toxiproxy_url) is not listed"),
    "expected proxy absent": (
        lambda c, t, x: x["proxies"].update(cache={"expect": True}),
        "proxies.cache: expected to exist"),
    "API port unpublished": (
        lambda c, t, x: c["services"]["toxiproxy"].pop("ports"),
        "services.toxiproxy.ports: port 8474 is not published"),
}


@pytest.mark.parametrize("case", list(MUTATIONS))
def test_the_checker_catches_a_disagreement(case: str, tmp_path: Path) -> None:
    mutate, expected = MUTATIONS[case]
    compose = yaml.safe_load(COMPOSE.read_text())
    toxiproxy = json.loads(TOXIPROXY.read_text())
    target = yaml.safe_load(TARGET.read_text())
    compose, toxiproxy, target = (copy.deepcopy(v) for v in (compose, toxiproxy, target))
    mutate(compose, toxiproxy, target)

    # the same layout as the repository, so relative paths in the compose file resolve
    (tmp_path / "experiments" / "targets").mkdir(parents=True)
    (tmp_path / "targets" / "shop").mkdir(parents=True)
    shutil.copy(ROOT / "targets" / "shop" / "Dockerfile", tmp_path / "targets" / "shop")
    (tmp_path / "docker-compose.yml").write_text(yaml.safe_dump(compose))
    (tmp_path / "experiments" / "targets" / "toxiproxy.json").write_text(json.dumps(toxiproxy))
    target_file = tmp_path / "experiments" / "targets" / "compose.yaml"
    target_file.write_text(yaml.safe_dump(target))

    problems = check_compose(tmp_path / "docker-compose.yml", target_file)
    assert any(expected in p for p in problems), "\n".join(problems) or "no problem reported"


def test_an_unmutated_copy_passes(tmp_path: Path) -> None:
    """The copy machinery itself reports nothing, so each mutation above is what is caught."""
    (tmp_path / "experiments" / "targets").mkdir(parents=True)
    (tmp_path / "targets" / "shop").mkdir(parents=True)
    shutil.copy(ROOT / "targets" / "shop" / "Dockerfile", tmp_path / "targets" / "shop")
    shutil.copy(TOXIPROXY, tmp_path / "experiments" / "targets")
    shutil.copy(TARGET, tmp_path / "experiments" / "targets")
    (tmp_path / "docker-compose.yml").write_text(
        yaml.safe_dump(yaml.safe_load(COMPOSE.read_text())))
    assert check_compose(tmp_path / "docker-compose.yml",
                         tmp_path / "experiments" / "targets" / "compose.yaml") == []


def test_the_dockerfile_runs_the_shop_from_the_environment() -> None:
    """The image installs the project and starts `python -m targets.shop` on all interfaces;
    its settings come from SHOP_* variables that targets/shop/config.py reads."""
    text = (ROOT / "targets" / "shop" / "Dockerfile").read_text()
    assert text.startswith("#") and "FROM python:3" in text and "-slim" in text
    assert "RUN pip install ." in text
    assert '"targets.shop", "--host", "0.0.0.0"' in text
    config = (ROOT / "targets" / "shop" / "config.py").read_text()
    for var in ("SHOP_REDIS_URL", "SHOP_DATABASE_URL", "SHOP_FLAWS"):
        assert var in config and var in COMPOSE.read_text()
