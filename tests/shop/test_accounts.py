"""Sessions (fail closed), per-user cache keys, read-your-writes, invalidation, feeds."""

from __future__ import annotations

import time

import pytest


def test_login_logout_and_logout_everywhere(make_shop):
    shop = make_shop()
    assert shop.post("/login", json={"user_id": 4, "password": "wrong"}).status_code == 401
    first, second = shop.login(4), shop.login(4)
    assert shop.get("/me", headers=first).json()["user_id"] == 4
    assert shop.post("/logout", headers=first).status_code == 204
    assert shop.get("/me", headers=first).status_code == 401
    assert shop.get("/me", headers=second).status_code == 200
    other = shop.login(5)
    assert shop.post("/users/4/logout-everywhere", headers=other).status_code == 403
    third = shop.login(4)
    assert shop.post("/users/4/logout-everywhere", headers=third).json()["revoked"] == 2
    assert shop.get("/me", headers=second).status_code == 401
    assert shop.get("/me", headers=third).status_code == 401
    assert shop.get("/me").status_code == 401
    token = second["Authorization"].split()[1]
    assert token.encode() not in b"".join(shop.redis.keys("*"))  # only hashes in key names


def test_session_ttl_slides(make_shop):
    shop = make_shop()
    headers = shop.login(6)
    [session_key] = shop.redis.keys("v1:shop:session:*")
    shop.redis.expire(session_key, 100)
    assert shop.get("/me", headers=headers).status_code == 200
    assert shop.redis.ttl(session_key) > 24 * 3600 - 60


@pytest.mark.parametrize("flaw", [None, "fail_open_sessions"])
def test_sessions_fail_closed_when_redis_is_down(make_shop, flaw):
    shop = make_shop(*([flaw] if flaw else []))
    valid = shop.login(7)
    revoked = shop.login(7)
    shop.post("/logout", headers=revoked)
    unknown = {"Authorization": "Bearer 7.not-a-real-session"}
    assert shop.get("/me", headers=revoked).status_code == 401
    assert shop.get("/me", headers=unknown).status_code == 401
    shop.redis_link.enable(False)
    statuses = [shop.get("/me", headers=h).status_code for h in (revoked, unknown, valid) for _ in range(4)]
    if flaw:
        assert 200 in statuses, "fail-open should grant a session it cannot check"
    else:
        assert all(s in (401, 503) for s in statuses), statuses
    assert shop.post("/login", json={"user_id": 7, "password": "password-7"}).status_code == 503


@pytest.mark.parametrize("flaw", [None, "shared_cache_key"])
def test_personal_cache_keys_keep_users_apart(make_shop, flaw):
    shop = make_shop(*([flaw] if flaw else []))
    alice, bob = shop.login(1), shop.login(2)
    owners = [shop.get(path, headers=h).json()["user_id"]
              for path in ("/me", "/feed") for h in (alice, bob)]
    if flaw:
        assert owners == [1, 1, 1, 1], "bob should get alice's cached profile and feed"
    else:
        assert owners == [1, 2, 1, 2]
        me = shop.get("/me", headers=bob)
        assert me.headers["cache-control"] == "private, no-store"


@pytest.mark.parametrize("flaw", [None, "no_invalidation"])
def test_profile_update_invalidates(make_shop, flaw):
    shop = make_shop(*([flaw] if flaw else []))
    headers = shop.login(9)
    old = shop.get("/me", headers=headers).json()  # now cached
    name = f"Renamed {time.monotonic_ns()}"
    written = shop.put("/me", headers=headers, json={"name": name}).json()
    assert written == {"user_id": 9, "version": old["version"] + 1}
    plain = shop.get("/me", headers=headers).json()
    if flaw:
        assert plain["name"] == old["name"], "without invalidation the cached profile stays"
    else:
        assert plain["name"] == name and plain["version"] == written["version"]
    # read-your-writes: presenting the version written always sees it, flaw or not
    fresh = shop.get(f"/me?min_version={written['version']}", headers=headers).json()
    assert fresh["name"] == name and fresh["version"] == written["version"]


def test_failed_invalidation_is_retried(make_shop):
    """The DEL after an update fails; the retry queue deletes the key once Redis is back.
    (fail_open_sessions only lets the request past authentication while Redis is cut.)"""
    shop = make_shop("fail_open_sessions", "--breaker-cooldown=1")
    headers = shop.login(11)
    shop.get("/me", headers=headers)
    assert shop.redis.exists("v1:shop:profile:11")
    shop.redis_link.enable(False)
    reply = shop.put("/me", headers=headers, json={"bio": "queued"})
    assert reply.status_code == 200, reply.text
    assert shop.metric("stampede_invalidation_queue") == 1
    assert shop.redis.exists("v1:shop:profile:11")  # still stale in Redis
    shop.redis_link.enable(True)
    deadline = time.monotonic() + 15
    while shop.redis.exists("v1:shop:profile:11"):
        assert time.monotonic() < deadline, "the queued invalidation was never retried"
        time.sleep(0.2)
    assert shop.get("/me", headers=headers).json()["bio"] == "queued"
    assert shop.metric("stampede_invalidation_queue") == 0


def test_feed_hydrates_from_shared_post_cache(make_shop):
    shop = make_shop()
    first, second = shop.login(3), shop.login(4)
    feed = shop.get("/feed", headers=first).json()
    assert feed["user_id"] == 3 and len(feed["posts"]) == 15  # follows 5 users, 3 posts each
    assert {p["author_id"] for p in feed["posts"]} == {4, 5, 6, 7, 8}
    posts_before = shop.metric("stampede_db_queries_total", query="posts")
    shop.get("/feed", headers=second)  # overlaps users 5..8: only user 9's posts are missing
    assert shop.metric("stampede_db_queries_total", query="posts") == posts_before + 1
    assert shop.redis.exists("v1:shop:post:27")  # user 9's third post, cached by the second feed
    assert shop.redis.pttl("v1:shop:feed:3") <= 33_000
