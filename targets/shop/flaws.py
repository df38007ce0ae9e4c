"""The named flaws: each breaks exactly one rule of the caching chapter, so an invariant can be shown to catch it."""

from __future__ import annotations


class Flaw(str):
    """A flaw name that also carries its one-line description (`"x" in FLAWS` works on names)."""

    description: str

    def __new__(cls, name: str, description: str) -> Flaw:
        flaw = super().__new__(cls, name)
        flaw.description = description
        return flaw


FLAWS: tuple[Flaw, ...] = (
    Flaw("shared_cache_key", "profile and feed cache keys leave out the user id: users see each other's data"),
    Flaw("no_circuit_breaker", "the Redis breaker never opens: every request keeps trying a dead or slow Redis"),
    Flaw("no_cache_timeout", "Redis calls have no timeout: requests wait as long as Redis takes"),
    Flaw("no_single_flight", "no lock on a product miss: every concurrent miss queries the database"),
    Flaw("fail_open_sessions", "when Redis cannot be reached, any well-formed session token is accepted"),
    Flaw("write_behind_orders", "orders are acknowledged once queued in Redis, before the database commit"),
    Flaw("no_stale_fallback", "no stale copy is served when the database is down: 503 instead"),
    Flaw("no_negative_cache", "unknown product ids are not cached: each lookup queries the database"),
    Flaw("unbounded_db", "no bound on concurrent database work and no shedding"),
    Flaw("rate_limit_fail_open", "when Redis is down the rate limiter grants every request"),
    Flaw("no_ttl_jitter", "cache TTLs have no jitter, so keys filled together expire together"),
    Flaw("no_invalidation", "a profile update does not invalidate the cached profile"),
)

FLAW_NAMES: tuple[str, ...] = tuple(str(f) for f in FLAWS)


def parse_flaws(values: list[str]) -> frozenset[str]:
    """Validate flaw names (repeatable option values, each may be comma-separated); ValueError names the valid ones."""
    names = {v.strip() for value in values for v in value.split(",") if v.strip()}
    unknown = sorted(names - set(FLAW_NAMES))
    if unknown:
        raise ValueError(
            f"unknown flaw {', '.join(unknown)}: valid flaws are {', '.join(FLAW_NAMES)}"
        )
    return frozenset(names)
