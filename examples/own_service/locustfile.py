"""A worked example: load for *your own* service, with stampede's correctness checks.

Copy this file next to your experiment, rename the endpoints to yours, and point the
experiment at it (`load.locustfile: locustfile.py`, `user_classes: [AccountUser,
RevokedSessionProber]`). The service it assumes (change to match yours):

    POST /login  {"username", "password"}  -> 200 {"token": "...", "user_id": 7}
    GET  /me            (Authorization: Bearer TOKEN) -> 200 {"user_id": 7, ...}
    POST /orders {"item": "..."}           -> 201 {"order_id": "...", "user_id": 7}
    GET  /orders/{id}                      -> 200 {"order_id": "...", "user_id": 7}
    POST /logout                           -> 204; afterwards the token must be refused

Why the checks matter (the caching chapter's failure modes): a cache keyed without the
user, or a shared response cached by a proxy, hands user A's data to user B; a session
cache that "fails open" while Redis is down lets revoked tokens in; a write-behind cache
that loses its queue drops acknowledged orders. Error rates never show any of these: the
responses are 200s. So each simulated user checks what it gets back:

- `expect_owner(body, me, endpoint=...)`: a personalised 2xx body must carry my id
  (a mismatch is a `cross_user` violation; invariant `no_cross_user_data`). The field is
  `target.ownership_field` of the target file (default `user_id`): say it once there,
  not in every call.
- `expect_refused(status, endpoint=...)`: a revoked session must never get a 2xx
  (invariant `sessions_fail_closed`).
- `record_write("order", id)`: an acknowledged write; after the run stampede reads every
  one back by the rule for its kind in `target.writes` (SQL against `database_url`, or
  `{http: "GET /orders/{id}"}` through the service; invariant `no_data_loss`).
- `count(name, key)`: any per-second counter of your own (shown in the results folder).

Outside a run these land in an in-memory sink, so this file can be tried with plain
`locust -f examples/own_service/locustfile.py --host http://127.0.0.1:8000`.

Environment: OWN_SERVICE_USERS (accounts user-1..user-N, default 100), password
`password-<n>` (change `password_for` to however your test accounts are set up).
"""

from __future__ import annotations

import itertools
import os
import random

from locust import HttpUser, between, task

from harness.load.checks import count, expect_owner, expect_refused, record_write

N_USERS = int(os.environ.get("OWN_SERVICE_USERS", "100"))
_accounts = itertools.count()


def next_account() -> int:
    """Each simulated user logs in as its own account: ownership is only checkable if two
    simulated users never share one (with more users than accounts, ids wrap around)."""
    return next(_accounts) % N_USERS + 1


def password_for(account: int) -> str:
    return f"password-{account}"


def json_of(reply) -> dict | None:
    try:
        body = reply.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


class AccountUser(HttpUser):
    """A logged-in customer: reads its profile and orders, places orders."""

    wait_time = between(0.05, 0.2)

    def on_start(self) -> None:
        self.account = next_account()
        self.user_id: object = None
        self.orders: list[str] = []
        self.login()

    def login(self) -> None:
        reply = self.client.post("/login", name="POST /login", json={
            "username": f"user-{self.account}", "password": password_for(self.account)})
        body = json_of(reply) if reply.status_code == 200 else None
        if body and "token" in body:
            # Who the service says I am: every personalised reply must say the same.
            self.user_id = body["user_id"]
            self.client.headers["Authorization"] = f"Bearer {body['token']}"
            count("logins")  # a counter of our own, per second, in the results folder

    @task(5)
    def read_profile(self) -> None:
        if self.user_id is None:
            return self.login()  # e.g. the session store was down when we started
        # catch_response: a response whose *body* is wrong is marked failed in Locust's
        # statistics too, not only recorded as a violation
        with self.client.get("/me", name="GET /me", catch_response=True) as reply:
            # Only a 2xx is checked: a 503 during a fault is an error (counted by the
            # recorder and judged by bounded_error_rate), not somebody else's data.
            if reply.status_code == 200 and not expect_owner(
                    json_of(reply), self.user_id, endpoint="GET /me"):
                reply.failure("another user's profile")
            elif reply.status_code == 401:
                # our session was lost (say Redis restarted): still an error for this
                # request (Locust counts it), and we log in again next time
                self.user_id = None

    @task(2)
    def place_order(self) -> None:
        if self.user_id is None:
            return None
        reply = self.client.post("/orders", name="POST /orders",
                                 json={"item": f"sku-{random.randint(1, 50)}"})
        body = json_of(reply)
        if reply.status_code in (200, 201) and body and "order_id" in body:
            # Acknowledged: the service promised it is stored. Record it with a unique id;
            # stampede reads it back after the run (the reference check reads table
            # `orders` by id, so use kind "order" for writes that land there).
            record_write("order", body["order_id"], user_id=self.user_id)
            self.orders.append(str(body["order_id"]))
        return None

    @task(3)
    def read_order(self) -> None:
        if self.user_id is None or not self.orders:
            return
        order = random.choice(self.orders)
        # name= groups every order under one route template in the per-endpoint stats
        with self.client.get(f"/orders/{order}", name="GET /orders/{id}",
                             catch_response=True) as reply:
            if reply.status_code == 200 and not expect_owner(
                    json_of(reply), self.user_id, endpoint="GET /orders/{id}"):
                reply.failure("another user's order")


class RevokedSessionProber(HttpUser):
    """Logs in, logs out, then keeps trying the dead token: it must never be let in,
    also while the session store (Redis) is slow or down."""

    fixed_count = 1  # one prober is enough, however many users the experiment runs
    wait_time = between(0.2, 0.5)

    def on_start(self) -> None:
        account = next_account()
        reply = self.client.post("/login", name="POST /login", json={
            "username": f"user-{account}", "password": password_for(account)})
        body = json_of(reply) or {}
        self.token = body.get("token")
        if self.token:
            self.client.post("/logout", name="POST /logout",
                             headers={"Authorization": f"Bearer {self.token}"})

    @task
    def probe(self) -> None:
        if not self.token:
            return self.on_start()
        with self.client.get("/me", name="GET /me (revoked)", catch_response=True,
                             headers={"Authorization": f"Bearer {self.token}"}) as reply:
            # 401/403 is the right answer, and so is a 503 while the session store is
            # down (failing closed); only a 2xx is a violation.
            if expect_refused(reply.status_code, endpoint="GET /me"):
                reply.success()
            else:
                reply.failure("revoked session let in")
        return None
