"""Pure logic of the Prometheus source: a run longer than one query may hold is fetched in
pieces, each step exactly once (a stand-in client answers every step with 1)."""

from __future__ import annotations

from harness.signals.prometheus import MAX_POINTS, PrometheusClient, PrometheusSignals


class EveryStep(PrometheusClient):
    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9")
        self.calls: list[tuple[float, float]] = []

    def query_range(self, expr: str, start: float, end: float,
                    step: float = 1.0) -> dict[float, float]:
        self.calls.append((start, end))
        return {round(start + i, 3): 1.0 for i in range(int(end - start) + 1)}


def test_a_long_run_is_fetched_in_pieces_each_step_once() -> None:
    client = EveryStep()
    steps = PrometheusSignals(client, {"db_inflight": "x"}, "127.0.0.1:1").fetch(100.0, 25100.0)
    stamps = [s.ts for s in steps]
    assert stamps == [100.0 + i for i in range(25001)]
    assert all(s.samples == {"db_inflight": 1.0} for s in steps)
    assert all(end - start < MAX_POINTS for start, end in client.calls)
