"""Locust users for `targets.shop`.

User classes (pick with Locust's class arguments or an experiment's `user_classes`):

- `ShopUser` (weight 10): the realistic mix. Product pages with Zipf-like popularity
  (product 1 hottest), the product list, feed and profile reads, profile updates, orders,
  logout and login again now and then, and an occasional probe with an unknown session.
- `HotKeyUser` (weight 1): hammers `GET /products/1`, the hot key a stampede experiment expires.
- `CatalogueBrowser` (weight 1): reads the first `SHOP_BROWSE_PRODUCTS` products (default
  200) uniformly and fast: a working set filled all at once (after a cold start), which
  then expires all at once unless TTLs carry jitter.
- `WriterUser` (weight 1): orders and profile updates, every acknowledged write recorded.
- `SessionProber` (fixed_count 1): probes with a revoked and an unknown session; neither may get a 2xx.
- `ProfileEditor` (weight 1): reads its profile (so it is cached), updates it, reads it
  again: the second read must show the update (read-your-writes, `stale_read` violations).
- `UnknownProductUser` (fixed_count 1): asks for product ids that do not exist (a small
  fixed set above `SHOP_PRODUCTS`), 404 expected: cache penetration, which negative caching stops.
- `RateLimitProber` (fixed_count 1): sends `GET /products/{id}` with a fixed `X-Client-Id`
  and counts `rate_limit_granted` / `rate_limit_denied` per client id.

Every logged-in user is its own shop user (seeded password `password-<id>`); every
personalised response is checked with `harness.load.checks.expect_owner`. Request names
are route templates (`GET /products/{id}`), so per-endpoint stats aggregate.

Environment: `SHOP_USERS` / `SHOP_PRODUCTS` (seeded counts, default 1000 each),
`SHOP_USERS_PER_WORKER` (block of user ids per Locust worker, default 200; beyond it ids
wrap, which is harmless: two simulated users then share one shop user),
`SHOP_RATE_CLIENT` (the prober's client id, default `probe-1`), `SHOP_ZIPF_S` (default 1.1).
"""

from __future__ import annotations

import itertools
import os
import random
from bisect import bisect_left
from itertools import accumulate

from locust import FastHttpUser, between, constant, task

from harness.load.checks import (
    expect_fresh,
    expect_owner,
    expect_refused,
    record_rate_limit,
    record_write,
)

N_USERS = int(os.environ.get("SHOP_USERS", "1000"))
N_PRODUCTS = int(os.environ.get("SHOP_PRODUCTS", "1000"))
PER_WORKER = int(os.environ.get("SHOP_USERS_PER_WORKER", "200"))
RATE_CLIENT = os.environ.get("SHOP_RATE_CLIENT", "probe-1")
ZIPF_S = float(os.environ.get("SHOP_ZIPF_S", "1.1"))
BROWSE = int(os.environ.get("SHOP_BROWSE_PRODUCTS", "200"))

_next_user = itertools.count()
_zipf_cumulative = list(accumulate(1 / rank**ZIPF_S for rank in range(1, N_PRODUCTS + 1)))


def zipf_product() -> int:
    """Product id by popularity rank: id 1 is the hottest, the tail is long."""
    return bisect_left(_zipf_cumulative, random.random() * _zipf_cumulative[-1]) + 1


def body_of(reply) -> object:
    try:
        return reply.json()
    except ValueError:
        return None


def next_user_id(environment) -> int:
    """A distinct shop user per simulated user: a block of ids per Locust worker."""
    worker = getattr(environment.runner, "worker_index", 0) or 0
    return (worker * PER_WORKER + next(_next_user) % PER_WORKER) % N_USERS + 1


class LoggedInUser(FastHttpUser):
    """Logs in as its own shop user; re-logs in when its session is refused (e.g. Redis lost it)."""

    abstract = True
    user_id = 0
    auth: dict[str, str] | None = None

    def on_start(self) -> None:
        self.user_id = next_user_id(self.environment)
        self.login()

    def login(self) -> bool:
        with self.client.post("/login", json={"user_id": self.user_id, "password": f"password-{self.user_id}"},
                              name="POST /login", catch_response=True) as reply:
            if reply.status_code == 200:
                body = body_of(reply)
                if isinstance(body, dict) and "session" in body:
                    self.auth = {"Authorization": f"Bearer {body['session']}"}
                    return True
            self.auth = None
            reply.failure(f"login refused: {reply.status_code}")
            return False

    def authed(self) -> bool:
        return self.auth is not None or self.login()

    def personal_get(self, path: str) -> None:
        """GET a personalised page and check it is ours; a refused session means log in again."""
        if not self.authed():
            return
        with self.client.get(path, headers=self.auth, name=f"GET {path}", catch_response=True) as reply:
            if reply.status_code == 200:
                if not expect_owner(body_of(reply), self.user_id, endpoint=f"GET {path}"):
                    reply.failure("response belongs to another user")
            elif reply.status_code == 401:
                self.auth = None
                reply.failure("session refused")

    def place_order(self) -> None:
        if not self.authed():
            return
        with self.client.post("/orders", json={"product_id": zipf_product(), "quantity": random.randint(1, 3)},
                              headers=self.auth, name="POST /orders", catch_response=True) as reply:
            body = body_of(reply)
            if reply.status_code == 201 and isinstance(body, dict) and "order_id" in body:
                record_write("order", body["order_id"], user_id=self.user_id)
            elif reply.status_code == 401:
                self.auth = None

    def update_profile(self) -> None:
        if not self.authed():
            return
        with self.client.put("/me", json={"bio": f"bio {random.random():.6f}"}, headers=self.auth,
                             name="PUT /me", catch_response=True) as reply:
            body = body_of(reply)
            if reply.status_code == 200 and isinstance(body, dict) and "version" in body:
                if not expect_owner(body, self.user_id, endpoint="PUT /me"):
                    reply.failure("response belongs to another user")
                record_write("profile", f"{self.user_id}:{body['version']}", user_id=self.user_id,
                             version=body["version"])
            elif reply.status_code == 401:
                self.auth = None


class ShopUser(LoggedInUser):
    weight = 10
    wait_time = between(0.2, 1.0)

    @task(20)
    def product(self) -> None:
        self.client.get(f"/products/{zipf_product()}", name="GET /products/{id}")

    @task(3)
    def product_list(self) -> None:
        self.client.get(f"/products?page={random.randint(1, 5)}", name="GET /products")

    @task(6)
    def feed(self) -> None:
        self.personal_get("/feed")

    @task(5)
    def me(self) -> None:
        self.personal_get("/me")

    @task(1)
    def profile_update(self) -> None:
        self.update_profile()

    @task(2)
    def order(self) -> None:
        self.place_order()

    @task(1)
    def relogin(self) -> None:
        if self.auth is not None:
            self.client.post("/logout", headers=self.auth, name="POST /logout")
            self.auth = None
        self.login()

    @task(1)
    def unknown_session(self) -> None:
        bogus = {"Authorization": f"Bearer {self.user_id}.unknown-{random.getrandbits(64):x}"}
        with self.client.get("/me", headers=bogus, name="GET /me (unknown session)",
                             catch_response=True) as reply:
            if expect_refused(reply.status_code, endpoint="GET /me"):
                reply.success()
            else:
                reply.failure("unknown session granted")


class HotKeyUser(FastHttpUser):
    weight = 1
    wait_time = between(0.01, 0.05)

    @task
    def hot_product(self) -> None:
        self.client.get("/products/1", name="GET /products/{id}")


class CatalogueBrowser(FastHttpUser):
    weight = 1
    wait_time = between(0.01, 0.05)

    @task
    def browse(self) -> None:
        self.client.get(f"/products/{random.randint(1, BROWSE)}", name="GET /products/{id}")


class WriterUser(LoggedInUser):
    weight = 1
    wait_time = between(0.2, 0.6)

    @task(3)
    def order(self) -> None:
        self.place_order()

    @task(1)
    def profile_update(self) -> None:
        self.update_profile()


class ProfileEditor(LoggedInUser):
    """Read, write, read again: the last read must show the write (the cache was invalidated)."""

    weight = 1
    wait_time = between(0.3, 0.8)

    @task
    def edit(self) -> None:
        if not self.authed():
            return
        self.personal_get("/me")  # cache the current version
        if self.auth is None:
            return
        with self.client.put("/me", json={"bio": f"bio {random.random():.6f}"}, headers=self.auth,
                             name="PUT /me", catch_response=True) as reply:
            body = body_of(reply)
            if reply.status_code != 200 or not isinstance(body, dict) or "version" not in body:
                if reply.status_code == 401:
                    self.auth = None
                return
            written = body["version"]
        with self.client.get("/me", headers=self.auth, name="GET /me (after write)",
                             catch_response=True) as reply:
            body = body_of(reply)
            if reply.status_code == 200 and isinstance(body, dict):
                if not expect_owner(body, self.user_id, endpoint="GET /me (after write)"):
                    reply.failure("response belongs to another user")
                else:  # a stale read is a violation, not an error: availability is judged apart
                    expect_fresh(body.get("version"), written, endpoint="GET /me (after write)")


class UnknownProductUser(FastHttpUser):
    """Asks for products that do not exist: each lookup reaches the database unless misses are cached."""

    fixed_count = 1
    wait_time = constant(0.02)

    @task
    def unknown_product(self) -> None:
        pid = N_PRODUCTS + random.randint(1, 20)
        with self.client.get(f"/products/{pid}", name="GET /products/{id} (unknown)",
                             catch_response=True) as reply:
            if reply.status_code == 404:
                reply.success()


class SessionProber(LoggedInUser):
    """Keeps a revoked session and probes with it (and with an unknown one), also during outages."""

    fixed_count = 1
    wait_time = constant(0.5)
    revoked: dict[str, str] | None = None

    def on_start(self) -> None:
        self.user_id = next_user_id(self.environment)
        self.revoke()

    def revoke(self) -> None:
        if self.login():
            self.client.post("/logout", headers=self.auth, name="POST /logout")
            self.revoked, self.auth = self.auth, None

    @task
    def probe(self) -> None:
        if self.revoked is None:  # could not log in at start (Redis down?): try again
            self.revoke()
        probes = [("revoked", self.revoked),
                  ("unknown", {"Authorization": f"Bearer {self.user_id}.unknown-{random.getrandbits(64):x}"})]
        for kind, headers in probes:
            if headers is None:
                continue
            with self.client.get("/me", headers=headers, name=f"GET /me ({kind} session)",
                                 catch_response=True) as reply:
                if expect_refused(reply.status_code, endpoint="GET /me", session=kind):
                    reply.success()
                else:
                    reply.failure(f"{kind} session granted")


class RateLimitProber(FastHttpUser):
    """One API client at a fixed id, sending faster than its limit, counting grants and denials."""

    fixed_count = 1
    wait_time = constant(0.02)

    @task
    def probe(self) -> None:
        with self.client.get(f"/products/{random.randint(1, 20)}", headers={"X-Client-Id": RATE_CLIENT},
                             name="GET /products/{id} (rate-limited client)", catch_response=True) as reply:
            if record_rate_limit(reply.status_code, RATE_CLIENT):
                reply.success()  # a 429 is the limiter working, not a failure
