"""The search on its own (pure logic): an oracle stands in for the runs."""

from __future__ import annotations

import pytest

from harness.explore.search import Search


def search(threshold: float, *, lies: dict[float, int] | None = None, max_probes: int = 12,
           start: float = 0, stop: float = 2000, resolution: float = 25) -> tuple[Search, list]:
    """Run the search against `value <= threshold passes`; `lies` flips the first N probes at a value."""
    s = Search(start, stop, resolution, max_probes)
    lies = dict(lies or {})
    probed = []
    for _ in range(100):  # bounded: the search must stop well before this
        step = s.next_step()
        if step is None:
            break
        value = s.value(step)
        passed = value <= threshold
        if lies.get(value, 0) > 0:
            lies[value] -= 1
            passed = not passed
        s.record(step, passed)
        probed.append((value, passed))
    else:
        pytest.fail("the search did not stop")
    return s, probed


def margin(s: Search) -> tuple[float | None, float | None]:
    low, high = s.bracket()
    return (None if low is None else s.value(low)), (None if high is None else s.value(high))


def test_bisects_to_one_resolution_step_and_repeats_both_ends() -> None:
    s, probed = search(455)
    assert margin(s) == (450, 475)
    assert s.resolved()
    assert [v for v, _ in probed].count(450) == 2 and [v for v, _ in probed].count(475) == 2
    assert len(probed) <= 12


@pytest.mark.parametrize("liar", [1000, 500, 250, 375])  # values the honest search probes
def test_one_lying_probe_far_from_the_boundary_moves_the_margin_less_than_a_step(liar: float) -> None:
    honest, _ = search(455, max_probes=24)
    s, probed = search(455, lies={liar: 1}, max_probes=24)
    assert any(v == liar and (v <= 455) != ok for v, ok in probed), "the lie was told"
    low, high = margin(s)
    assert s.resolved()
    assert low is not None and abs(low - margin(honest)[0]) <= 25
    assert high is not None and high - low <= 25


def test_a_lie_at_the_boundary_is_outvoted_best_of_three() -> None:
    s, probed = search(455, lies={475: 1}, max_probes=24)
    assert margin(s) == (450, 475) and s.resolved()
    assert [ok for v, ok in probed if v == 475] == [True, False, False]


def test_nothing_passes_and_everything_passes() -> None:
    s, _ = search(-1)
    assert margin(s) == (None, 0) and s.resolved()
    s, probed = search(5000)
    assert margin(s) == (2000, None) and s.resolved()
    assert len(probed) <= 10


def test_a_spent_budget_leaves_the_bracket_open() -> None:
    s, probed = search(455, max_probes=4)
    assert len(probed) == 4 and not s.resolved()
    low, high = margin(s)
    assert low is not None and high is not None and low <= 455 < high


def test_the_last_step_is_the_end_of_the_range_even_off_the_grid() -> None:
    s = Search(5, 62, 10, 12)
    assert s.last_step == 6 and s.value(6) == 62 and s.value(5) == 55
    assert s.step_of(62) == 6 and s.step_of(5) == 0


def test_a_broken_monotonic_assumption_is_reported() -> None:
    s = Search(0, 100, 10, 12)
    s.record(s.step_of(50), False)
    s.record(s.step_of(50), False)
    s.record(s.step_of(80), True)
    s.record(s.step_of(80), True)
    assert s.not_monotonic() == [(80, 50)]
