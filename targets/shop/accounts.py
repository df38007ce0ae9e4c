"""Login, sessions, the caller's profile (read-your-writes) and feed: the personalised endpoints.

Every personalised body carries `user_id`, so the harness can check who it belongs to.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from targets.shop.cache import CacheUnavailable, key
from targets.shop.db import DatabaseUnavailable, Overloaded
from targets.shop.sessions import SessionStoreDown
from targets.shop.state import Shop, error, json_response, shop_of

router = APIRouter()

PROFILE_TTL = 300.0
FEED_TTL = 30.0
POST_TTL = 4 * 3600
FEED_SIZE = 20
PRIVATE = {"Cache-Control": "private, no-store"}


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: int = Field(ge=1, le=2**31 - 1)
    password: str = Field(max_length=200)


class ProfileUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=100)
    bio: str | None = Field(None, max_length=1000)


class Caller:
    """The authenticated caller and the token they presented."""

    def __init__(self, user_id: int, token: str) -> None:
        self.user_id = user_id
        self.token = token


class AuthError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def caller(request: Request) -> Caller:
    """`Authorization: Bearer <session>`; 401 unknown or revoked, 503 when Redis cannot tell (fail closed)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise AuthError(401, "missing session: send Authorization: Bearer <session>")
    try:
        user_id = await shop_of(request).sessions.user_for(token.strip())
    except SessionStoreDown:
        raise AuthError(503, "session store unavailable") from None
    if user_id is None:
        raise AuthError(401, "unknown or expired session")
    return Caller(user_id, token.strip())


Authenticated = Annotated[Caller, Depends(caller)]


def personal_key(shop: Shop, entity: str, user_id: int) -> str:
    """The per-user cache key; the `shared_cache_key` flaw drops the user from it."""
    return key(entity, "current" if shop.settings.has("shared_cache_key") else user_id)


@router.post("/login")
async def login(body: Login, request: Request) -> Response:
    shop = shop_of(request)
    try:
        async with shop.db.connection("login") as conn:
            cur = await conn.execute("SELECT password_sha256 FROM users WHERE id = %s", (body.user_id,))
            row = await cur.fetchone()
    except Overloaded:
        return error(503, "overloaded: database busy, retry later", {"Retry-After": "1"})
    except DatabaseUnavailable:
        return error(503, "database unavailable")
    given = hashlib.sha256(body.password.encode()).hexdigest()
    if row is None or not hmac.compare_digest(given, row[0]):
        return error(401, "wrong user id or password")
    try:
        token = await shop.sessions.create(body.user_id)
    except SessionStoreDown:
        return error(503, "session store unavailable")
    return json_response({"session": token, "user_id": body.user_id}, 200, PRIVATE)


@router.post("/logout")
async def logout(request: Request, who: Authenticated) -> Response:
    await shop_of(request).sessions.destroy(who.token, who.user_id)
    return Response(status_code=204)


@router.post("/users/{user_id}/logout-everywhere")
async def logout_everywhere(user_id: int, request: Request, who: Authenticated) -> Response:
    if who.user_id != user_id:
        return error(403, "you can only log yourself out everywhere")
    revoked = await shop_of(request).sessions.destroy_all(user_id)
    return json_response({"user_id": user_id, "revoked": revoked}, 200, PRIVATE)


@router.get("/me")
async def me(
    request: Request,
    who: Authenticated,
    min_version: int | None = Query(None, ge=1, description="read-your-writes: the version PUT /me returned"),
) -> Response:
    shop = shop_of(request)
    pkey = personal_key(shop, "profile", who.user_id)
    cache_ok = True
    try:
        cached = await shop.cache.call(shop.cache.redis.get, pkey)
    except CacheUnavailable as exc:
        cached, cache_ok = None, False
        shop.cache_result("bypass" if exc.bypassed else "error")
    if cached is not None:
        profile = json.loads(cached)
        if min_version is None or profile["version"] >= min_version:
            shop.cache_result("hit")
            return Response(cached, 200, PRIVATE, "application/json")
    if cache_ok:
        shop.cache_result("miss")
    async with shop.db.connection("profile") as conn:
        cur = await conn.execute("SELECT id, name, bio, version FROM users WHERE id = %s", (who.user_id,))
        row = await cur.fetchone()
    if row is None:
        return error(404, f"user {who.user_id} not found")
    body = json.dumps({"user_id": row[0], "name": row[1], "bio": row[2], "version": row[3]},
                      separators=(",", ":")).encode()
    if cache_ok:
        await shop.cache.quietly(shop.cache.redis.set, pkey, body, px=shop.cache.ttl(PROFILE_TTL))
    return Response(body, 200, PRIVATE, "application/json")


@router.put("/me")
async def update_me(body: ProfileUpdate, request: Request, who: Authenticated) -> Response:
    """Database first, then invalidate (retried from a queue if Redis fails); returns the new version."""
    shop = shop_of(request)
    async with shop.db.connection("profile_update") as conn:
        cur = await conn.execute(
            "UPDATE users SET name = coalesce(%s, name), bio = coalesce(%s, bio), version = version + 1 "
            "WHERE id = %s RETURNING version",
            (body.name, body.bio, who.user_id))
        row = await cur.fetchone()
    if row is None:
        return error(404, f"user {who.user_id} not found")
    if not shop.settings.has("no_invalidation"):
        await shop.invalidate(personal_key(shop, "profile", who.user_id))
    return json_response({"user_id": who.user_id, "version": row[0]}, 200, PRIVATE)


@router.get("/feed")
async def feed(request: Request, who: Authenticated) -> Response:
    """Per-user feed (post ids, short TTL) hydrated from the shared post cache with one MGET."""
    shop = shop_of(request)
    r = shop.cache.redis
    fkey = personal_key(shop, "feed", who.user_id)
    cache_ok = True
    try:
        cached = await shop.cache.call(r.get, fkey)
        shop.cache_result("hit" if cached is not None else "miss")
    except CacheUnavailable as exc:
        cached, cache_ok = None, False
        shop.cache_result("bypass" if exc.bypassed else "error")
    if cached is not None:
        entry = json.loads(cached)
    else:
        async with shop.db.connection("feed") as conn:
            cur = await conn.execute(
                "SELECT p.id FROM posts p JOIN follows f ON f.followee_id = p.author_id "
                "WHERE f.follower_id = %s ORDER BY p.created_at DESC LIMIT %s",
                (who.user_id, FEED_SIZE))
            entry = {"user_id": who.user_id, "post_ids": [row[0] for row in await cur.fetchall()]}
        if cache_ok:
            await shop.cache.quietly(r.set, fkey, json.dumps(entry), px=shop.cache.ttl(FEED_TTL))
    ids: list[int] = entry["post_ids"]
    posts: list[dict | None] = [None] * len(ids)
    if cache_ok and ids:
        try:
            raw = await shop.cache.call(r.mget, [key("post", pid) for pid in ids])
            posts = [json.loads(v) if v is not None else None for v in raw]
        except CacheUnavailable:
            cache_ok = False
    missing = [pid for pid, post in zip(ids, posts, strict=True) if post is None]
    if missing:
        async with shop.db.connection("posts") as conn:
            cur = await conn.execute(
                "SELECT id, author_id, body, created_at FROM posts WHERE id = ANY(%s)", (missing,))
            found = {row[0]: {"id": row[0], "author_id": row[1], "body": row[2],
                              "created_at": row[3].isoformat()} for row in await cur.fetchall()}
        posts = [post if post is not None else found.get(pid) for pid, post in zip(ids, posts, strict=True)]
        if cache_ok and found:
            async def store() -> None:
                async with r.pipeline(transaction=False) as pipe:
                    for pid, post in found.items():
                        pipe.set(key("post", pid), json.dumps(post), px=shop.cache.ttl(POST_TTL))
                    await pipe.execute()
            await shop.cache.quietly(store)
    return json_response({"user_id": entry["user_id"], "posts": [p for p in posts if p]}, 200, PRIVATE)
