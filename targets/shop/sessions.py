"""Redis sessions (chapter Part 5, example 2): 24 h sliding TTL, a per-user set for "log out everywhere",
and fail closed when Redis cannot be reached (unless the `fail_open_sessions` flaw is on).

A session token is `<user_id>.<random>`; Redis keys hold only its SHA-256, so neither
key names nor logs carry a usable session id.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time

from targets.shop.cache import Cache, CacheUnavailable, key

SESSION_TTL = 24 * 3600


class SessionStoreDown(Exception):
    """Redis is unreachable: no session can be checked, so none is granted (503)."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def claimed_user(token: str) -> int | None:
    """The user id a token says it belongs to; only the flawed fail-open path trusts it."""
    head, _, rest = token.partition(".")
    return int(head) if head.isdigit() and rest and len(head) < 10 else None


class Sessions:
    def __init__(self, cache: Cache, fail_open: bool) -> None:
        self.cache = cache
        self.fail_open = fail_open

    async def create(self, user_id: int) -> str:
        token = f"{user_id}.{secrets.token_urlsafe(32)}"
        digest = token_hash(token)
        record = json.dumps({"user_id": user_id, "created_at": time.time()})
        r = self.cache.redis

        async def write() -> None:
            async with r.pipeline(transaction=True) as pipe:
                pipe.set(key("session", digest), record, ex=SESSION_TTL)
                pipe.sadd(key("user_sessions", user_id), digest)
                pipe.expire(key("user_sessions", user_id), SESSION_TTL)
                await pipe.execute()

        try:
            await self.cache.call(write)
        except CacheUnavailable as exc:
            raise SessionStoreDown() from exc
        return token

    async def user_for(self, token: str) -> int | None:
        """The session's user, None for unknown/revoked, SessionStoreDown when Redis cannot tell."""
        if not token or len(token) > 200:
            return None
        skey = key("session", token_hash(token))
        r = self.cache.redis

        async def read() -> bytes | None:
            async with r.pipeline(transaction=False) as pipe:
                pipe.get(skey)
                pipe.expire(skey, SESSION_TTL)  # sliding expiration
                value, _ = await pipe.execute()
                return value

        try:
            value = await self.cache.call(read)
        except CacheUnavailable as exc:
            if self.fail_open:
                return claimed_user(token)  # the flaw: trust the token when the store is down
            raise SessionStoreDown() from exc
        if value is None:
            return None
        return int(json.loads(value)["user_id"])

    async def destroy(self, token: str, user_id: int) -> None:
        digest = token_hash(token)
        r = self.cache.redis

        async def delete() -> None:
            async with r.pipeline(transaction=True) as pipe:
                pipe.delete(key("session", digest))
                pipe.srem(key("user_sessions", user_id), digest)
                await pipe.execute()

        try:
            await self.cache.call(delete)
        except CacheUnavailable as exc:
            raise SessionStoreDown() from exc

    async def destroy_all(self, user_id: int) -> int:
        r = self.cache.redis
        skey = key("user_sessions", user_id)

        async def delete_all() -> int:
            digests = await r.smembers(skey)
            keys = [key("session", d.decode()) for d in digests]
            await r.delete(skey, *keys)
            return len(keys)

        try:
            return await self.cache.call(delete_all)
        except CacheUnavailable as exc:
            raise SessionStoreDown() from exc
