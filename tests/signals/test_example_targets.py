"""The example target files load with catalogue experiments and record what they say."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.experiment import load_experiment

ROOT = Path(__file__).resolve().parents[2]
TARGETS = ROOT / "experiments" / "targets"


@pytest.mark.parametrize("experiment", ["default.yaml", "redis_outage.yaml"])
def test_example_targets_load(experiment: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_DB_PASSWORD", "x")
    monkeypatch.setenv("REDIS_PASSWORD", "x")
    monkeypatch.setenv("POSTGRES_PASSWORD", "x")
    path = ROOT / "experiments" / experiment
    local = load_experiment(path, target_file=TARGETS / "local.yaml").resolved()
    assert local["signals"]["source"] == "scrape"
    assert "resilience4j_circuitbreaker_state" in local["signals"]["series"][
        'breaker_open{dependency="redis"}']
    prom = load_experiment(path, target_file=TARGETS / "prometheus.yaml").resolved()
    assert prom["signals"]["source"] == "prometheus"
    assert prom["signals"]["series"]['breaker_open{dependency="redis"}'] == {
        "opens": 'circuit{name="redis",event="open"}',
        "leaves": 'circuit{name="redis",event="halfOpen"}'}
    assert prom["target"]["redis_url"] == "redis://:***@redis.staging:6379/0"
    compose = load_experiment(path, target_file=TARGETS / "compose.yaml").resolved()
    assert compose["signals"]["series"]['breaker_open{dependency="redis"}'] == \
        'stampede_circuit_state{dependency="redis"} == 1'  # the shop: the defaults
