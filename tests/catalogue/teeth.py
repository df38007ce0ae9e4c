"""The teeth matrix: which experiment catches which flaw of the reference shop, on which invariant.

Shared by tests/catalogue/test_teeth.py (which runs it) and benchmarks; docs/catalogue.md
("The teeth matrix") lists the same table.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from rotation import todays_cases

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ROOT / "experiments"

# flaw -> (experiment file stem, verdict id that must FAIL with the flaw and pass without)
TEETH: dict[str, tuple[str, str]] = {  # in pairs for CI: a slow experiment beside a quick one
    "no_circuit_breaker": ("redis_outage", "circuit_breaker_opens[redis]"),
    "no_cache_timeout": ("redis_latency", "latency_bounded[during:redis-latency,GET /products/{id}]"),
    "no_single_flight": ("stampede", "single_flight"),
    "fail_open_sessions": ("session_store_outage", "sessions_fail_closed[all]"),
    "write_behind_orders": ("write_path", "no_data_loss"),
    "no_stale_fallback": ("db_outage", "stale_served[during:db-outage]"),
    "no_ttl_jitter": ("cold_start", "backend_protected[after:cold-flush:40s]"),
    "rate_limit_fail_open": ("rate_limiter_outage", "rate_limit_holds[all]"),
    "no_invalidation": ("invalidation_failure", "read_your_writes[steady]"),
    "shared_cache_key": ("hot_key", "no_cross_user_data[all]"),
    "no_negative_cache": ("db_slow", "latency_bounded[during:db-slow,GET /products/{id} (unknown)]"),
    "unbounded_db": ("db_slow", "db_concurrency_bounded[during:db-slow]"),
}

# CI time scales: as short as each experiment's own timing allows (the shop's TTLs and the
# invariants' durations are not scaled: cold_start's 20 s TTL must expire inside the run,
# invalidation_failure judges 5 s after heal).
DEFAULT_SCALE = 0.3
SCALES = {"cold_start": 0.6, "invalidation_failure": 0.5}

PER_DAY = 2  # flaws per CI run: about 3 minutes with their sound runs


def scale_of(experiment: str) -> float:
    return SCALES.get(experiment, DEFAULT_SCALE)


def selected_flaws(env: str | None = None, today: dt.date | None = None) -> list[str]:
    """STAMPEDE_TEETH=all, or a comma-separated list of flaws; else PER_DAY flaws chosen by
    the day of the year, so consecutive nightly runs cover the whole matrix in 6 days."""
    return todays_cases(list(TEETH), PER_DAY, "STAMPEDE_TEETH", env, today)


def suite_text(flaws: list[str]) -> str:
    """A suite file: each chosen experiment once on the sound shop, once per flaw it catches."""
    lines = ["name: teeth", "experiments:"]
    for experiment in dict.fromkeys(TEETH[f][0] for f in flaws):
        path = EXPERIMENTS / f"{experiment}.yaml"
        lines.append(f"  - {{file: {path}, time_scale: {scale_of(experiment)}}}")
        for flaw in flaws:
            if TEETH[flaw][0] == experiment:
                lines.append(f"  - {{file: {path}, time_scale: {scale_of(experiment)}, "
                             f"flaws: [{flaw}]}}")
    return "\n".join(lines) + "\n"
