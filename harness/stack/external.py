"""An external target: addresses from the experiment file, no processes of ours.

For staging and docker-compose: the service, the real Toxiproxy and the database are
already running; the runner only needs to know where they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class ExternalStack:
    """Same attributes the runner reads from EmbeddedStack; starting and stopping do nothing."""

    kind = "external"

    def __init__(self, target: Any) -> None:
        self.base_url: str = str(target.base_url).rstrip("/")
        self.toxiproxy_url: str = str(target.toxiproxy_url).rstrip("/")
        metrics = getattr(target, "metrics_url", None)
        self.metrics_url: str | None = str(metrics) if metrics else f"{self.base_url}/metrics"
        database = getattr(target, "database_url", None)
        self.database_url: str | None = str(database) if database else None
        self.metric_names: dict[str, str] = dict(getattr(target, "metric_names", None) or {})

    def redis_client(self, **_: Any) -> None:
        return None  # no direct Redis address: the Redis collector and actions are off

    def addresses(self) -> dict[str, str | None]:
        return {"target": self.base_url, "metrics": self.metrics_url,
                "toxiproxy_api": self.toxiproxy_url, "db_direct": self.database_url}

    def actions(self) -> dict[str, Callable[..., Any]]:
        def unavailable(*_: Any, **__: Any) -> None:
            raise RuntimeError("Redis actions need the embedded stack (an external target "
                               "gives no direct Redis address)")

        return dict.fromkeys(("flush_cache", "restart_redis", "set_maxmemory", "expire_key"),
                             unavailable)

    def start(self) -> ExternalStack:
        return self

    def stop(self) -> None:
        pass

    def __enter__(self) -> ExternalStack:
        return self

    def __exit__(self, *exc: object) -> None:
        pass
