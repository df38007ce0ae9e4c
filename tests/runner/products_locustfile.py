"""A light locustfile on the reference shop for the runner's end-to-end tests: cached product reads."""

import random

from locust import FastHttpUser, constant, task


class ProductReader(FastHttpUser):
    wait_time = constant(0.05)

    @task
    def product(self) -> None:
        self.client.get(f"/products/{random.randint(1, 200)}", name="/products/{id}")
