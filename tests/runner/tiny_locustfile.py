"""A locustfile for the runner's own tests: fast requests to a tiny local server."""

from locust import FastHttpUser, constant, task

from harness.load import checks


class TinyUser(FastHttpUser):
    wait_time = constant(0.005)

    @task(3)
    def ok(self) -> None:
        self.client.get("/ok")
        checks.count("ownership_checked")

    @task(1)
    def missing(self) -> None:
        self.client.get("/missing", name="/missing")
