"""Prometheus metrics with the names the harness reads (docs/own-service.md; labels: the module docstring of app.py)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

CACHE_RESULTS = ("hit", "miss", "error", "stale", "bypass")
# Label values of stampede_db_queries_total{query=...}; each names one kind of database round trip.
DB_QUERIES = (
    "product",          # one product by id (the single-flight invariant counts this series)
    "product_list",     # a page of the public product list
    "product_warm",     # a batch of products read by /admin/warm
    "profile",          # the caller's profile
    "profile_update",   # PUT /me
    "feed",             # post ids of the users the caller follows
    "posts",            # post contents missing from the post cache (one batch)
    "order_insert",     # one order row
    "login",            # password check
)


class Metrics:
    """One registry per app, so tests can build several apps in one process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.circuit_state = Gauge(
            "stampede_circuit_state", "Breaker state: 0 closed, 1 open, 2 half-open",
            ["dependency"], registry=r)
        self.cache_requests = Counter(
            "stampede_cache_requests", "Cache lookups by outcome", ["result"], registry=r)
        self.db_queries = Counter(
            "stampede_db_queries", "Database round trips by query name", ["query"], registry=r)
        self.db_inflight = Gauge("stampede_db_inflight", "Database operations in flight", registry=r)
        self.shed = Counter(
            "stampede_shed_requests", "Requests refused with 503 because the database bound was full",
            registry=r)
        self.http_requests = Counter(
            "stampede_http_requests", "HTTP requests by route template and status",
            ["method", "route", "status"], registry=r)
        self.http_latency = Histogram(
            "stampede_http_request_duration_seconds", "HTTP request latency by route template",
            ["method", "route"], registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.rate_limit = Counter(
            "stampede_rate_limit_decisions", "Rate limiter decisions (mode redis or local)",
            ["decision", "mode"], registry=r)
        self.invalidation_retries = Gauge(
            "stampede_invalidation_queue", "Cache invalidations waiting for a retry", registry=r)
        for dep in ("redis", "db"):
            self.circuit_state.labels(dep).set(0)
        for result in CACHE_RESULTS:
            self.cache_requests.labels(result)
        for query in DB_QUERIES:
            self.db_queries.labels(query)
