"""Sliding-window rate limiter per API client (chapter "Rate Limiter Caching Example").

Redis sorted set updated by one Lua script, so several instances share the count exactly.
When Redis is unreachable each process falls back to a local window of limit / instances
(or, with the `rate_limit_fail_open` flaw, grants everything).
"""

from __future__ import annotations

import math
import secrets
import time
from collections import deque
from dataclasses import dataclass

from targets.shop.cache import Cache, CacheUnavailable, key

SLIDING_WINDOW = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])
if used < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, limit - used - 1}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now}
"""


@dataclass
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: float  # seconds
    mode: str  # "redis", "local" or "open"


class RateLimiter:
    def __init__(self, cache: Cache, limit: int, window: float, instances: int, fail_open: bool) -> None:
        self.cache = cache
        self.limit = limit
        self.window = window
        self.local_limit = max(1, limit // instances)
        self.fail_open = fail_open
        self.script = cache.redis.register_script(SLIDING_WINDOW)
        self.local: dict[str, deque[float]] = {}

    async def check(self, client_id: str) -> Decision:
        now_ms = int(time.time() * 1000)
        window_ms = int(self.window * 1000)
        member = f"{now_ms}-{secrets.token_hex(4)}"
        try:
            allowed, value = await self.cache.call(
                self.script, keys=[key("ratelimit", client_id)],
                args=[now_ms, window_ms, self.limit, member],
            )
        except CacheUnavailable:
            return self._fallback(client_id)
        if allowed:
            return Decision(True, self.limit, int(value), 0.0, "redis")
        return Decision(False, self.limit, 0, max(0.001, int(value) / 1000), "redis")

    def _fallback(self, client_id: str) -> Decision:
        if self.fail_open:
            return Decision(True, self.limit, self.limit, 0.0, "open")
        now = time.monotonic()
        if len(self.local) > 10_000 and client_id not in self.local:
            self.local.clear()  # bounded memory: forgetting every client only errs towards granting
        stamps = self.local.setdefault(client_id, deque())
        while stamps and stamps[0] <= now - self.window:
            stamps.popleft()
        if len(stamps) < self.local_limit:
            stamps.append(now)
            return Decision(True, self.local_limit, self.local_limit - len(stamps), 0.0, "local")
        return Decision(False, self.local_limit, 0, max(0.001, stamps[0] + self.window - now), "local")


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
