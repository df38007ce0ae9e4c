"""An external target: addresses from the experiment file, no processes of ours.

For staging and docker-compose: the service, the real Toxiproxy and the database are
already running; the runner only needs to know where they are.
"""

from __future__ import annotations

from collections.abc import Mapping

from harness.experiment.model import ExternalTarget
from harness.stack.base import RedisAction


class ExternalStack:
    """The `Stack` of a service someone else runs: starting and stopping do nothing."""

    kind = "external"

    def __init__(self, target: ExternalTarget) -> None:
        self.base_url: str = str(target.base_url).rstrip("/")
        self.toxiproxy_url: str = str(target.toxiproxy_url).rstrip("/")
        self.metrics_url: str | None = (str(target.metrics_url) if target.metrics_url
                                        else f"{self.base_url}/metrics")
        self.database_url: str | None = (str(target.database_url) if target.database_url
                                         else None)
        self.metric_names: Mapping[str, str] = dict(target.metric_names)
        self.write_rules: Mapping[str, str] = {kind: rule.sql
                                               for kind, rule in target.writes.items()}

    def redis_client(self) -> None:
        return None  # no direct Redis address: the Redis collector and actions are off

    def addresses(self) -> dict[str, str | None]:
        return {"target": self.base_url, "metrics": self.metrics_url,
                "toxiproxy_api": self.toxiproxy_url, "db_direct": self.database_url}

    def actions(self) -> dict[str, RedisAction]:
        def unavailable(*_: object, **__: object) -> None:
            raise RuntimeError("Redis actions need the embedded stack (an external target "
                               "gives no direct Redis address)")

        return dict.fromkeys(("flush_cache", "restart_redis", "set_maxmemory", "expire_key"),
                             unavailable)

    def start(self) -> ExternalStack:
        return self

    def stop(self) -> None:
        pass
