"""The contract between the runner and whatever it tests: the `Stack` protocol.

Two implementations: `EmbeddedStack` starts every part as a child process, `ExternalStack`
is given addresses (docker-compose, staging). The runner reads only what is here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

import redis

RedisAction = Callable[..., None]


class StackError(RuntimeError):
    """The stack could not start; the message says which part and where its log is."""


class Stack(Protocol):
    """Addresses, lifecycle, and what the stack knows about the service it runs."""

    kind: str  # "embedded" | "external"

    @property
    def base_url(self) -> str: ...

    @property
    def toxiproxy_url(self) -> str: ...

    @property
    def metrics_url(self) -> str | None: ...

    @property
    def database_url(self) -> str | None:
        """Direct URL of the source of truth (collectors, the write read-back), or None."""

    @property
    def metric_names(self) -> Mapping[str, str]:
        """The service's metric name for each of ours it exports under another name."""

    @property
    def write_rules(self) -> Mapping[str, str]:
        """Write kind -> read-back SQL against `database_url` (see TargetService.writes)."""

    def start(self) -> Stack: ...

    def stop(self) -> None: ...

    def addresses(self) -> dict[str, str | None]:
        """What experiment.json records and `stampede up` prints: no secret in clear."""

    def redis_client(self) -> redis.Redis | None:
        """A client on the real Redis, not through the proxy; None when there is none."""

    def actions(self) -> dict[str, RedisAction]:
        """The schedule's Redis-level faults (flush_cache, restart_redis, ...) by name."""
