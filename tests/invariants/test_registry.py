"""validate_invariant errors, ids, judge_results, exit codes and the verdict table."""

from __future__ import annotations

import io
import json

import pytest

from harness.invariants import INVARIANTS, check, expect, validate_invariant
from harness.invariants.registry import unique_ids
from harness.results import RunResult
from harness.verdicts import exit_code, judge_results, print_verdicts, read_verdicts

from .builders import ResultsBuilder


def test_every_design_invariant_is_registered() -> None:
    assert set(INVARIANTS) == {
        "bounded_error_rate", "circuit_breaker_opens", "circuit_breaker_closes",
        "no_cross_user_data", "recovery_time", "backend_protected", "latency_bounded",
        "single_flight", "stale_served", "sessions_fail_closed", "no_data_loss",
        "rate_limit_holds", "hit_rate_recovers",
        "read_your_writes", "db_concurrency_bounded"}  # added by the experiment catalogue
    for inv in INVARIANTS.values():
        required = {k: 1 for k, f in inv.params.model_fields.items() if f.is_required()}
        validate_invariant({"name": inv.name, **required})


@pytest.mark.parametrize(("entry", "words"), [
    ({"name": "bounded_eror_rate"}, ["unknown invariant 'bounded_eror_rate'",
                                     "did you mean 'bounded_error_rate'", "valid names:"]),
    ({"name": "circuit_breaker_opens", "withn": "5s"},
     ["unknown parameter 'withn'", "did you mean 'within'", "valid parameters: dependency, fault, within"]),
    ({"name": "circuit_breaker_opens", "within": "5 minutes"}, ["within: expected a duration"]),
    ({"name": "backend_protected"}, ["missing required parameter 'max_qps'"]),
    ({"name": "bounded_error_rate", "window": "durin:x"}, ["window 'durin:x' is not valid", "during:<fault>"]),
    ({"name": "bounded_error_rate", "max": 5}, ["a fraction 0..1"]),
    ({"name": "backend_protected", "max_qps": 5, "stat": "p99"}, ["expected one of max, mean"]),
    ("bounded_error_rate", ["must be a mapping"]),
])
def test_validate_invariant_names_the_problem(entry, words) -> None:
    with pytest.raises(ValueError) as info:
        validate_invariant(entry)
    for word in words:
        assert word in str(info.value)


def test_durations_read_as_in_an_experiment_file() -> None:
    """`within:` takes what `for:` takes (tests/experiment/test_experiment_files.py), no more."""
    validate_invariant({"name": "circuit_breaker_opens", "within": "1m30s"})
    validate_invariant({"name": "recovery_time", "max": "1m30s", "baseline": "after:x:1m30s"})
    with pytest.raises(ValueError, match="within: expected a duration of 0 or more, got -5"):
        validate_invariant({"name": "circuit_breaker_opens", "within": -5})
    with pytest.raises(ValueError, match="within: expected a duration like"):
        validate_invariant({"name": "circuit_breaker_opens", "within": float("nan")})
    with pytest.raises(ValueError, match="window 'after:x:-5s' is not valid"):
        validate_invariant({"name": "bounded_error_rate", "window": "after:x:-5s"})


def test_ids_are_readable_and_unique() -> None:
    entries = [{"name": "circuit_breaker_opens", "dependency": "redis"},
               {"name": "bounded_error_rate", "window": "during:redis-outage"},
               {"name": "bounded_error_rate", "window": "during:redis-outage", "max": 0.1},
               {"name": "no_data_loss"}]
    assert unique_ids(entries) == ["circuit_breaker_opens[redis]",
                                   "bounded_error_rate[during:redis-outage]",
                                   "bounded_error_rate[during:redis-outage]#2", "no_data_loss"]


def test_repeated_ids_are_named_by_their_fault() -> None:
    entries = [{"name": "circuit_breaker_opens", "dependency": "redis", "fault": "redis-latency"},
               {"name": "circuit_breaker_opens", "dependency": "redis", "fault": "redis-outage"},
               {"name": "circuit_breaker_closes", "dependency": "redis", "fault": "redis-outage"}]
    assert unique_ids(entries) == ["circuit_breaker_opens[redis,redis-latency]",
                                   "circuit_breaker_opens[redis,redis-outage]",
                                   "circuit_breaker_closes[redis]"]


def test_check_and_expect_judge_a_run_from_python(tmp_path) -> None:
    run = RunResult.load(folder(tmp_path))
    assert check(run, "bounded_error_rate", window="steady", max=0.01).passed
    assert expect(run, "bounded_error_rate", window="steady", max=0.01).id == "bounded_error_rate[steady]"
    with pytest.raises(AssertionError, match=r"^bounded_error_rate\[during:redis-outage\]: error rate 10.0%"):
        expect(run, "bounded_error_rate", window="during:redis-outage", max=0.05)


def folder(tmp_path, status="completed"):
    b = ResultsBuilder(tmp_path, status=status)
    b.fault("redis-outage", 30, 45)
    b.traffic(0, 60, rps=20, error_rate=0.0)
    b.traffic(30, 45, rps=20, error_rate=0.1)
    b.invariant("bounded_error_rate", window="steady", max=0.01)
    b.invariant("bounded_error_rate", window="during:redis-outage", max=0.05)
    b.invariant("latency_bounded", window="during:nope")
    return b.write()


def test_judge_results_writes_verdicts_and_exit_codes(tmp_path) -> None:
    path = folder(tmp_path)
    verdicts = judge_results(path)
    assert [v.passed for v in verdicts] == [True, False, False]
    assert verdicts[2].reason.startswith("cannot judge: no fault named 'nope'")
    stored = json.loads((path / "verdicts.json").read_text())
    assert stored["exit_code"] == 1 and len(stored["verdicts"]) == 3
    assert read_verdicts(path) == verdicts
    assert exit_code(verdicts[:1], {"status": "completed"}) == 0
    assert exit_code(verdicts, {"status": "completed"}) == 1
    assert exit_code(verdicts[:1], {"status": "aborted"}) == 2


def test_experiment_file_replaces_invariants_and_bounds(tmp_path) -> None:
    path = folder(tmp_path / "run")
    experiment = tmp_path / "looser.yaml"
    experiment.write_text(
        "name: unit\nload: {users: 1, duration: 60s}\n"
        "faults:\n  - {name: redis-outage, at: 30s, for: 15s, proxy: redis, type: down}\n"
        "invariants:\n  - {name: bounded_error_rate, window: 'during:redis-outage', max: 0.2}\n")
    try:
        verdicts = judge_results(path, experiment)
    except ValueError as exc:  # the schema package may ask for more fields than this file has
        pytest.fail(f"experiment file rejected: {exc}")
    assert [(v.id, v.passed) for v in verdicts] == [("bounded_error_rate[during:redis-outage]", True)]


def test_print_verdicts_table(tmp_path) -> None:
    out = io.StringIO()
    print_verdicts(judge_results(folder(tmp_path)), file=out)
    text = out.getvalue()
    assert "bounded_error_rate[steady]" in text and "FAIL" in text and "pass" in text
    assert "error rate 10.0% in during:redis-outage" in text
    assert "1 passed, 2 failed" in text


def test_a_malformed_folder_fails_one_verdict_not_the_run(tmp_path) -> None:
    path = folder(tmp_path)
    data = json.loads((path / "experiment.json").read_text())
    data["steady_state"] = {"begin": 5}  # no start/end
    (path / "experiment.json").write_text(json.dumps(data))
    verdicts = judge_results(path)
    assert [v.passed for v in verdicts] == [False, False, False]
    assert "cannot judge: malformed results (KeyError" in verdicts[0].reason
    assert verdicts[1].reason.startswith("error rate 10.0% in during:redis-outage")
