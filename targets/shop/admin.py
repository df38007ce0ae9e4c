"""Operator endpoints from the chapter's "Emergency Purge" and "Cache Warming" sections."""

from __future__ import annotations

import hmac
import re

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from targets.shop.cache import PREFIX, CacheUnavailable, key
from targets.shop.products import warm
from targets.shop.state import error, json_response, shop_of

router = APIRouter(prefix="/admin")
GLOB = re.compile(r"([*?\[\]\\])")


class Purge(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: int | None = Field(None, ge=1, le=2**31 - 1)
    prefix: str | None = Field(None, min_length=len(PREFIX) + 2, max_length=200)

    @model_validator(mode="after")
    def one_target(self) -> Purge:
        if (self.user_id is None) == (self.prefix is None):
            raise ValueError("give exactly one of user_id or prefix")
        if self.prefix is not None and not self.prefix.startswith(PREFIX + ":"):
            raise ValueError(f"prefix must start with '{PREFIX}:', e.g. '{PREFIX}:product:'")
        return self


class Warm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    count: int = Field(100, ge=1, le=100_000)
    per_second: float = Field(500.0, gt=0, le=100_000)


def allowed(request: Request) -> bool:
    token = shop_of(request).settings.admin_token
    return token is None or hmac.compare_digest(request.headers.get("x-admin-token", ""), token)


@router.post("/purge")
async def purge(body: Purge, request: Request) -> Response:
    """Delete one user's cached data, or every key under a prefix (SCAN + UNLINK, never KEYS)."""
    if not allowed(request):
        return error(403, "admin token required in X-Admin-Token")
    shop = shop_of(request)
    r = shop.cache.redis

    async def by_prefix(prefix: str) -> int:
        deleted = 0
        batch: list[bytes] = []
        async for k in r.scan_iter(match=GLOB.sub(r"\\\1", prefix) + "*", count=500):
            batch.append(k)
            if len(batch) >= 500:
                deleted += await r.unlink(*batch)
                batch.clear()
        if batch:
            deleted += await r.unlink(*batch)
        return deleted

    try:
        if body.user_id is not None:
            uid = body.user_id
            deleted = await shop.cache.call(r.unlink, key("profile", uid), key("feed", uid))
        else:
            deleted = await shop.cache.call(by_prefix, body.prefix)
    except CacheUnavailable:
        return error(503, "cache unavailable: nothing purged")
    return json_response({"deleted": deleted})


@router.post("/warm")
async def warm_cache(body: Warm, request: Request) -> Response:
    """Load the hottest products into the cache at a bounded pace, so warming cannot flood the database."""
    if not allowed(request):
        return error(403, "admin token required in X-Admin-Token")
    warmed = await warm(shop_of(request), body.count, body.per_second)
    return json_response({"warmed": warmed})
