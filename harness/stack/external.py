"""An external target: addresses from the experiment file, no processes of ours.

For staging and docker-compose: the service, the real Toxiproxy and the database are
already running; the runner only needs to know where they are. With `target.redis_url`
the Redis-level actions (flush_cache, expire_key, set_maxmemory) act on the team's own
Redis, and maxmemory is put back when the stack stops (by the run's guardian if the run
is killed).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import redis

from harness.experiment.model import ExternalTarget
from harness.experiment.target_checks import read_back_rules
from harness.processes import announce_redis_config
from harness.stack.base import RedisAction
from harness.stack.redis_actions import RESTART_REFUSED, RedisActions
from harness.writes import ReadBack


class ExternalStack:
    """The `Stack` of a service someone else runs: starting and stopping do nothing to it."""

    kind = "external"

    def __init__(self, target: ExternalTarget) -> None:
        self.base_url: str = str(target.base_url).rstrip("/")
        self.toxiproxy_url: str = str(target.toxiproxy_url).rstrip("/")
        self.metrics_url: str | None = (str(target.metrics_url) if target.metrics_url
                                        else f"{self.base_url}/metrics")
        self.database_url: str | None = (str(target.database_url) if target.database_url
                                         else None)
        self.redis_url: str | None = target.redis_url
        self.prometheus_url: str | None = target.prometheus_url
        self.write_rules: Mapping[str, ReadBack] = read_back_rules(target)
        self._redis = (RedisActions(self._connect, partial(announce_redis_config, self.redis_url))
                       if self.redis_url else None)

    def _connect(self) -> redis.Redis:
        assert self.redis_url is not None
        return redis.Redis.from_url(self.redis_url, socket_timeout=2.0,
                                    socket_connect_timeout=2.0)

    def redis_client(self) -> redis.Redis | None:
        """The team's Redis (target.redis_url), directly, for INFO; None without one."""
        return self._connect() if self.redis_url else None

    def addresses(self) -> dict[str, str | None]:
        from harness.masking import mask_secrets

        return {"target": self.base_url, "metrics": self.metrics_url,
                "prometheus": self.prometheus_url, "toxiproxy_api": self.toxiproxy_url,
                "db_direct": self.database_url,
                "redis_direct": mask_secrets(self.redis_url) if self.redis_url else None}

    def actions(self) -> dict[str, RedisAction]:
        if self._redis is not None:
            return self._redis.actions()

        def unavailable(*_: object, **__: object) -> None:
            raise RuntimeError("Redis actions on an external target need target.redis_url")

        def restart(*_: object, **__: object) -> None:
            raise RuntimeError(RESTART_REFUSED)

        return {"flush_cache": unavailable, "set_maxmemory": unavailable,
                "expire_key": unavailable, "restart_redis": restart}

    def restore(self) -> list[str]:
        """Put back what the actions changed on the team's Redis (maxmemory)."""
        return self._redis.restore() if self._redis is not None else []

    def start(self) -> ExternalStack:
        return self

    def stop(self) -> None:
        self.restore()
