"""Redis-level faults on a Redis the harness reaches directly (an external target's
`target.redis_url`): flush_cache, expire_key and set_maxmemory, with maxmemory put back.

restart_redis is not here: stampede can restart only a Redis it started itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import redis

from harness.stack.base import RedisAction

RESTART_REFUSED = ("restart_redis needs the embedded stack: stampede restarts only a Redis it "
                   "started itself (flush_cache empties a team's Redis without a restart)")


class RedisActions:
    """The schedule's Redis actions on one Redis; `restore()` undoes set_maxmemory."""

    def __init__(self, connect: Callable[[], redis.Redis],
                 on_saved: Callable[[dict[str, str]], None] | None = None) -> None:
        self.connect = connect
        self.on_saved = on_saved  # told what restore() would put back, whenever that changes
        self._saved: dict[str, str] = {}  # config key -> value before the first change
        self._lock = threading.Lock()

    def flush_cache(self) -> None:
        with self.connect() as r:
            r.flushall()

    def expire_key(self, key: str) -> None:
        with self.connect() as r:
            r.delete(key)

    def set_maxmemory(self, maxmemory: str, policy: str | None = None) -> None:
        with self._lock, self.connect() as r:
            wanted = {"maxmemory": str(maxmemory)}
            if policy:
                wanted["maxmemory-policy"] = policy
            for key in wanted:
                if key not in self._saved:
                    self._saved[key] = str(r.config_get(key)[key])
            if self.on_saved is not None:  # before the change: a kill right after it is covered
                self.on_saved(dict(self._saved))
            for key, value in wanted.items():
                r.config_set(key, value)

    def restore(self) -> list[str]:
        """Put back every config value set_maxmemory changed; what was restored, as lines."""
        with self._lock:
            if not self._saved:
                return []
            with self.connect() as r:
                for key, value in self._saved.items():
                    r.config_set(key, value)
            done = [f"Redis {key} restored to {value}" for key, value in self._saved.items()]
            self._saved.clear()
            if self.on_saved is not None:
                self.on_saved({})
            return done

    def actions(self) -> dict[str, RedisAction]:
        def restart_redis(*_: object, **__: object) -> None:
            raise RuntimeError(RESTART_REFUSED)

        return {"flush_cache": self.flush_cache, "expire_key": self.expire_key,
                "set_maxmemory": self.set_maxmemory, "restart_redis": restart_redis}
