"""The catalogue's files: every experiment valid and documented, the suites sound, every flaw covered."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from harness.experiment import load_experiment
from harness.suites import load_suite
from targets.shop.flaws import FLAW_NAMES

from .teeth import EXPERIMENTS, SCALES, TEETH, scale_of, selected_flaws, suite_text

CATALOGUE = sorted(p for p in EXPERIMENTS.glob("*.yaml") if p.stem != "default")
NAMES = {"redis_latency", "redis_outage", "redis_partition", "redis_flapping", "redis_reset",
         "redis_bandwidth", "cold_start", "stampede", "hot_key", "eviction_storm", "db_outage",
         "db_slow", "session_store_outage", "rate_limiter_outage", "invalidation_failure",
         "write_path"}
CHAPTER = (EXPERIMENTS.parent.parent / "shared/seed/000_6934ed69508687fb.txt")


def test_the_sixteen_experiments_are_there() -> None:
    assert {p.stem for p in CATALOGUE} == NAMES


@pytest.mark.parametrize("path", CATALOGUE, ids=lambda p: p.stem)
def test_experiment_is_valid_documented_and_checks_the_basics(path: Path) -> None:
    experiment = load_experiment(path)
    assert experiment.name == path.stem
    assert experiment.duration == 90  # about 90 s at time_scale 1
    header = path.read_text().split("\nname:")[0]
    assert "Chapter:" in header and "A pass means" in header, "header comment incomplete"
    names = [i["name"] for i in experiment.resolved()["invariants"]]
    assert "no_cross_user_data" in names and "bounded_error_rate" in names


@pytest.mark.parametrize("path", CATALOGUE, ids=lambda p: p.stem)
def test_experiment_plans_at_its_ci_time_scale(path: Path) -> None:
    experiment = load_experiment(path, time_scale=scale_of(path.stem))
    assert experiment.duration == pytest.approx(90 * scale_of(path.stem))


def test_every_flaw_has_an_experiment_and_an_invariant_it_declares() -> None:
    assert set(TEETH) == set(FLAW_NAMES)
    from harness.invariants.registry import unique_ids

    for flaw, (stem, vid) in TEETH.items():
        invariants = load_experiment(EXPERIMENTS / f"{stem}.yaml").resolved()["invariants"]
        assert vid in unique_ids(invariants), (flaw, stem, vid)
        assert f"--flaw {flaw}" in (EXPERIMENTS / f"{stem}.yaml").read_text()  # documented
    assert set(SCALES) <= NAMES


def test_rotation_covers_every_flaw_within_a_week_and_env_overrides() -> None:
    seen = set()
    for day in range(6):
        seen.update(selected_flaws("", dt.date(2026, 3, 1) + dt.timedelta(days=day)))
    assert seen == set(TEETH)
    assert selected_flaws("all") == list(TEETH)
    assert selected_flaws("unbounded_db, no_ttl_jitter") == ["unbounded_db", "no_ttl_jitter"]
    with pytest.raises(ValueError, match="unknown case nope"):
        selected_flaws("nope")


def test_teeth_suite_shares_one_sound_run_per_experiment(tmp_path) -> None:
    path = tmp_path / "teeth.yaml"
    path.write_text(suite_text(["no_negative_cache", "unbounded_db", "no_stale_fallback"]))
    entries = load_suite(path).entries
    assert [(e.name, e.flaws) for e in entries] == [
        ("db_slow", None), ("db_slow", ["no_negative_cache"]), ("db_slow", ["unbounded_db"]),
        ("db_outage", None), ("db_outage", ["no_stale_fallback"])]
    assert all(e.time_scale == 0.3 for e in entries)


def test_suites() -> None:
    suites = EXPERIMENTS / "suites"
    prelaunch = load_suite(suites / "prelaunch.yaml")
    assert {e.name for e in prelaunch.entries if not e.explore} == NAMES
    assert {e.name for e in prelaunch.entries if e.explore} == {
        p.stem for p in (EXPERIMENTS / "explore").glob("*.yaml")} == {
        "redis_latency_margin", "redis_outage_margin", "users_redis_degraded_margin"}
    gameday = load_suite(suites / "gameday.yaml")
    assert {e.name for e in gameday.entries if e.file} == NAMES
    assert sum(1 for e in gameday.entries if e.pause) >= 3
    assert gameday.time_scale is None  # full length
    nightly = load_suite(suites / "nightly.yaml")
    runs = [e for e in nightly.entries if e.file]
    # under 10 minutes: load time plus about 20 s per run to start and stop the stack
    estimate = sum(90 * (e.time_scale or nightly.time_scale or 1) + 20 for e in runs)
    assert len(runs) >= 4 and estimate < 600, estimate


@pytest.mark.skipif(not CHAPTER.exists(), reason="the chapter is not beside the checkout")
@pytest.mark.parametrize("path", CATALOGUE, ids=lambda p: p.stem)
def test_chapter_sections_named_in_headers_exist(path: Path) -> None:
    import re

    text = CHAPTER.read_text()
    header = path.read_text().split("\nname:")[0].replace("\n# ", " ")
    quoted = re.findall(r'"([^"]+)"', header.split("Chapter:")[1].split("A pass means")[0])
    assert quoted
    for section in quoted:
        assert section.split(" (")[0] in text, section
