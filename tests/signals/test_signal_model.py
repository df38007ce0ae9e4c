"""Signals over the defaults: the defaults are stampede's contract, problems come all at once."""

from __future__ import annotations

from harness.signals.evaluate import EventBreakerState, ScrapeEvaluator
from harness.signals.model import EventBreaker, default_signals, dependency_problems, signals_from

from .test_promql import OPOSSUM, STAMPEDE


def test_defaults_read_stampedes_own_metrics():
    signals = default_signals()
    series = signals.series(queries=["product"])
    assert series['breaker_open{dependency="redis"}'] == 'stampede_circuit_state{dependency="redis"} == 1'
    assert series['breaker_half_open{dependency="db"}'] == 'stampede_circuit_state{dependency="db"} == 2'
    assert series['cache_requests{result="stale"}'] == 'stampede_cache_requests_total{result="stale"}'
    assert series['db_queries{query="product"}'] == 'stampede_db_queries_total{query="product"}'
    values = ScrapeEvaluator(series).evaluate_text(STAMPEDE)
    assert values['breaker_open{dependency="redis"}'] == 0
    assert values['breaker_half_open{dependency="redis"}'] == 2
    assert values['cache_requests{result="hit"}'] == 5120
    assert "db_inflight" not in values  # never exposed: absent, so a verdict can say so


def test_given_signals_replace_their_defaults_only():
    signals, problems = signals_from({
        "breaker_open": {"redis": 'app_cb_state{name="redis",state="open"}'},
        "cache_requests": {"hit": 'app_cache_total{outcome="hit"}'},
    })
    assert problems == []
    series = signals.series()
    assert series['breaker_open{dependency="redis"}'] == 'app_cb_state{name="redis",state="open"}'
    assert 'breaker_open{dependency="db"}' not in series
    assert not any(key.startswith("breaker_half_open") for key in series)
    assert 'cache_requests{result="miss"}' not in series
    assert series["db_queries"] == "stampede_db_queries_total"  # left out: the default
    assert signals.db_query("product") == 'stampede_db_queries_total{query="product"}'


def test_a_given_db_queries_has_no_per_query_default():
    signals, _ = signals_from({"db_queries": "app_db_total"})
    assert signals.db_query("product") is None
    signals, _ = signals_from({"db_queries": "app_db_total",
                               "db_queries_by_query": {"product": 'app_db_total{q="p"}'}})
    assert signals.db_query("product") == 'app_db_total{q="p"}'


def test_every_problem_is_reported_at_once_with_its_path():
    _, problems = signals_from({
        "breaker_opn": {"redis": "x"},
        "breaker_open": {"redis": "sum(x)", "db": {"opens": "a"}},
        "cache_requests": {"hits": "x", "miss": 3},
        "db_queries": "rate(x[1m])",
    })
    paths = [path for path, _ in problems]
    assert ("breaker_opn",) in paths
    assert ("breaker_open", "redis") in paths
    assert ("breaker_open", "db") in paths
    assert ("cache_requests", "hits") in paths
    assert ("cache_requests", "miss") in paths
    assert ("db_queries",) in paths
    assert any("prometuus" not in m and "prometheus_url" in m for _, m in problems)


def test_with_a_prometheus_server_any_promql_is_left_to_it():
    _, problems = signals_from({"db_queries": "sum(rate(x[1m]))"}, scrape=False)
    assert problems == []


def test_breaker_signal_for_a_dependency_no_proxy_guards_is_refused():
    signals, _ = signals_from({"breaker_open": {"cache": "x", "redis": "y"}})
    problems = dependency_problems(signals, ["redis", "db"])
    assert [path for path, _ in problems] == [("breaker_open", "cache")]
    assert dependency_problems(default_signals(), []) == []  # defaults are never refused


def test_event_counter_breaker_is_open_while_opens_lead_leaves_since_the_first_reading():
    state = EventBreakerState()
    readings = [(3, 3), (3, 3), (4, 3), (4, 3), (4, 4), (5, 4), (5, 5), (0, 0), (1, 0)]
    assert [state.update(o, leave) for o, leave in readings] == [0, 0, 1, 1, 0, 1, 0, 0, 1]


def test_event_counter_breaker_from_a_scrape_counts_absent_series_as_zero():
    signals, problems = signals_from({"breaker_open": {"redis": {
        "opens": 'circuit{name="redis",event="open"}',
        "leaves": 'circuit{name="redis",event="halfOpen"}'}}})
    assert problems == []
    assert isinstance(signals.breaker_open["redis"], EventBreaker)
    evaluator = ScrapeEvaluator(signals.series())
    key = 'breaker_open{dependency="redis"}'
    assert key not in evaluator.evaluate_text("")  # nothing exposed before the first event
    assert evaluator.evaluate_text('circuit{name="redis",event="open"} 1\n')[key] == 1
    # 10 openings and 10 half-opens since the first reading: not open any more
    assert evaluator.evaluate_text(OPOSSUM)[key] == 0
