"""The parameters of each invariant as a pydantic model, validated as experiments are.

Each model's docstring is that invariant's "passes when" cell in docs/invariants.md, and its
fields (in order, with their defaults) the "parameters" cell: `registry.doc_row` builds
the row and a test holds the docs to it. A field whose default is None says in its
description what None means ("last healed").
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from harness.durations import parse_duration
from harness.results.run_result import check_window_syntax


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:  # NaN too
        raise ValueError(f"expected a number >= 0, got {value!r}")
    return float(value)


def _fraction(value: object) -> float:
    number = _number(value)
    if number > 1:
        raise ValueError(f"a fraction 0..1 (0.05 for 5%), got {value!r}")
    return number


def _window(value: object) -> str:
    check_window_syntax(str(value))
    return str(value)


Duration = Annotated[float, BeforeValidator(parse_duration)]
Number = Annotated[float, BeforeValidator(_number)]
Fraction = Annotated[float, BeforeValidator(_fraction)]
WindowSpec = Annotated[str, BeforeValidator(_window)]


class InvariantParams(BaseModel):
    """What every invariant's parameters share: unknown ones are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class BoundedErrorRate(InvariantParams):
    """failures / requests in the window ≤ `max`"""

    window: WindowSpec = "all"
    max: Fraction = 0.05
    endpoint: str | None = None
    margin: Duration = 0


class LatencyBounded(InvariantParams):
    """latency at `quantile` in the window ≤ `max_ms`"""

    window: WindowSpec = "all"
    quantile: Number = 0.99
    max_ms: Number = 1000
    endpoint: str | None = None
    margin: Duration = 0


class RecoveryTime(InvariantParams):
    """heal to error rate and p99 back at the baseline for `stable` seconds in a row ≤ `max`
    (**Recovery time**, below)
    """

    fault: str | None = Field(None, description="last healed")
    max: Duration = 30
    baseline: WindowSpec = "steady"
    rolling: Duration = 5
    stable: Duration = 10
    error_tolerance: Number = 0.01
    p99_factor: Number = 1.5
    p99_slack_ms: Number = 0
    noise_cores: Number = Field(0.5, description="0.5; 0: off")
    endpoint: str | None = None


class CircuitBreakerOpens(InvariantParams):
    """first sample where signal `breaker_open` (or `breaker_half_open`) for `dependency` is
    non-zero between onset and heal (+1.5 s scrape grace) comes ≤ `within` after onset
    """

    dependency: str = "redis"
    within: Duration = 10
    fault: str | None = Field(None, description="first on proxy `dependency`")


class CircuitBreakerCloses(InvariantParams):
    """the breaker opened during the fault, and reads 0 (closed) ≤ `within` after heal"""

    dependency: str = "redis"
    within: Duration = 30
    fault: str | None = None


class NoCrossUserData(InvariantParams):
    """0 `cross_user` violations, with ≥ 1 `ownership_checked`"""

    window: WindowSpec = "all"


class SessionsFailClosed(InvariantParams):
    """0 `session_granted` violations, with ≥ 1 `session_probed`"""

    window: WindowSpec = "all"


class ReadYourWrites(InvariantParams):
    """0 `stale_read` violations (a read right after an acknowledged write showed an older
    version), with ≥ 1 `read_checked`
    """

    window: WindowSpec = "all"
    margin: Duration = 0


class NoDataLoss(InvariantParams):
    """`write_check.json`: 0 missing, ≥ 1 checked, no read-back error"""


class RateLimitHolds(InvariantParams):
    """grants per client key in any `per` seconds (`sliding`), or per window aligned to Unix
    time (`fixed`, as fixed-window limiters count) ≤ `limit × slack`
    """

    limit: Number = 100
    per: Duration = 10
    slack: Number = 1.0
    limiter: Literal["sliding", "fixed"] = "sliding"
    counter: str = "rate_limit_granted"
    window: WindowSpec = "all"


class BackendProtected(InvariantParams):
    """rate of signal `db_queries` (or `db_queries_by_query` for `query`) between scrapes in
    the window ≤ `max_qps`
    """

    max_qps: Number
    window: WindowSpec = "all"
    query: str | None = None
    stat: Literal["max", "mean"] = "max"
    margin: Duration = 0


class DbConcurrencyBounded(InvariantParams):
    """the most concurrent database operations (signal `db_inflight`) any scrape in the
    window saw ≤ `max`
    """

    max: Number
    window: WindowSpec = "all"
    margin: Duration = 0


class SingleFlight(InvariantParams):
    """increase of signal `db_queries_by_query` for `query` from the last scrape before each
    expiry to the first scrape ≥ `settle` after it ≤ `max` (and ≥ 1: the key was read
    again). Other reads of that query count too: drive only the hot key.
    """

    max: Number = 1
    settle: Duration = 2
    query: str = "product"
    fault: str | None = Field(None, description="every `expire_key`/`flush_cache`")


class StaleServed(InvariantParams):
    """success rate of `endpoint` in the window ≥ `min`, and signal `cache_requests` stale
    increased
    """

    endpoint: str = "GET /products/{id}"
    min: Fraction = 0.95
    window: WindowSpec | None = Field(None, description="during the first fault on proxy `db`")
    margin: Duration = 0


class HitRateRecovers(InvariantParams):
    """hit/(hit+miss) over the last `rolling` seconds (scrapes after heal only) first reaches
    `min` ≤ `within` after heal; `auto` uses the target's `cache_requests` signals (hit,
    miss), else Redis `keyspace_hits/misses`; when every lookup after heal was an error
    (`cache_requests` error rose, no hit or miss), it fails saying the lookups failed
    """

    fault: str | None = Field(None, description="last healed")
    min: Number = 0.8
    within: Duration = 30
    rolling: Duration = 5
    source: Literal["auto", "target", "redis"] = "auto"
