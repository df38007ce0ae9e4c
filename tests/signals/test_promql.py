"""The scrape source's PromQL subset: what it evaluates, what it refuses and why."""

from __future__ import annotations

import pytest

from harness.signals.exposition import ExpositionError, parse_exposition
from harness.signals.promql import SignalSyntaxError, parse_selector

# opossum-prometheus style: a counter without `_total`, series absent until the first event
OPOSSUM = """\
# HELP circuit A count of all circuit events
# TYPE circuit counter
circuit{name="redis",event="open"} 10
circuit{name="redis",event="halfOpen"} 10
circuit{name="redis",event="close"} 2
circuit{name="redis",event="reject"} 2942
circuit{name="db",event="open"} 1
"""
# resilience4j / Micrometer: one series per state, the current one at 1
RESILIENCE4J = """\
# TYPE resilience4j_circuitbreaker_state gauge
resilience4j_circuitbreaker_state{name="redis",state="closed"} 0.0
resilience4j_circuitbreaker_state{name="redis",state="open"} 1.0
resilience4j_circuitbreaker_state{name="redis",state="half_open"} 0.0
resilience4j_circuitbreaker_state{name="db",state="open"} 0.0
"""
# prometheus_client Enum: the label is named after the metric
ENUM = """\
# TYPE noteboard_breaker gauge
noteboard_breaker{noteboard_breaker="closed"} 0.0
noteboard_breaker{noteboard_breaker="open"} 1.0
"""
STAMPEDE = """\
# TYPE stampede_circuit_state gauge
stampede_circuit_state{dependency="redis"} 2.0
stampede_circuit_state{dependency="db"} 0.0
# TYPE stampede_cache_requests counter
stampede_cache_requests_total{result="hit"} 5120.0
stampede_cache_requests_created{result="hit"} 1.7e9
stampede_cache_requests_total{result="miss"} 33.0
"""


def value(expr: str, text: str) -> float:
    return parse_selector(expr).evaluate(parse_exposition(text))


def test_names_match_as_exposed_not_as_a_parser_renames_them():
    assert value('circuit{name="redis",event="open"}', OPOSSUM) == 10
    assert value('circuit_total{name="redis",event="open"}', OPOSSUM) == 0  # never exposed
    assert value("stampede_cache_requests_total", STAMPEDE) == 5153


def test_matching_series_are_summed_and_absent_is_zero():
    assert value('circuit{name="redis"}', OPOSSUM) == 10 + 10 + 2 + 2942
    assert value('circuit{name="redis",event=~"open|close"}', OPOSSUM) == 12
    assert value('circuit{name="redis",event!~"open|close"}', OPOSSUM) == 2952
    assert value('circuit{event!="reject"}', OPOSSUM) == 23
    assert value('circuit{name="cache",event="open"}', OPOSSUM) == 0
    assert value("nothing_here", OPOSSUM) == 0


def test_regex_is_anchored_as_promql_anchors_it():
    assert value('circuit{event=~"open"}', OPOSSUM) == 11  # not halfOpen
    assert value('circuit{event=~".*Open"}', OPOSSUM) == 10


def test_one_hot_state_gauges_and_enums():
    assert value('resilience4j_circuitbreaker_state{name="redis",state="open"}', RESILIENCE4J) == 1
    assert value('resilience4j_circuitbreaker_state{name="db",state="open"}', RESILIENCE4J) == 0
    assert value('noteboard_breaker{noteboard_breaker="open"}', ENUM) == 1


def test_comparison_keeps_series_that_hold_and_bool_turns_them_into_one_or_zero():
    assert value('stampede_circuit_state{dependency="redis"} == 1', STAMPEDE) == 0
    assert value('stampede_circuit_state{dependency="redis"} == 2', STAMPEDE) == 2
    assert value('stampede_circuit_state >= 1', STAMPEDE) == 2
    assert value('stampede_circuit_state == bool 0', STAMPEDE) == 1  # db reads 1, redis 0
    assert value('{__name__=~"stampede_circuit_.*"} > 0', STAMPEDE) == 2


@pytest.mark.parametrize("expr", [
    'sum(circuit{event="open"})', 'rate(circuit[1m])', 'increase(circuit[30s]) > 0',
    'circuit + 1', 'circuit{event="open"} - circuit{event="halfOpen"}', "a > b",
])
def test_anything_else_needs_a_prometheus_server(expr):
    with pytest.raises(SignalSyntaxError, match="prometheus_url"):
        parse_selector(expr)


@pytest.mark.parametrize(("expr", "says"), [
    ("circuit{event=open}", "must be quoted"),
    ('circuit{event=~"("}', "does not compile"),
    ("", "empty expression"),
    ('{event=""}', "excludes the empty value"),
])
def test_syntax_errors_say_what_to_write(expr, says):
    with pytest.raises(SignalSyntaxError, match=says):
        parse_selector(expr)


def test_exposition_keeps_escaped_label_values_and_special_numbers():
    text = 'm{path="/a\\"b",x="1"} +Inf 1700000000000\nm{path="c"} NaN\n'
    samples = parse_exposition(text)
    assert samples[0].label_dict() == {"path": '/a"b', "x": "1"}
    assert samples[0].value == float("inf")
    with pytest.raises(ExpositionError, match="line 1"):
        parse_exposition("m{path=} 1\n")
