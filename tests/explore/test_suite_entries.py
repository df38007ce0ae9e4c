"""Explore entries of a suite: checked like the rest, and their margins in the matrix."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from harness.suites import Step, SuiteError, load_suite, print_matrix

REPO = Path(__file__).resolve().parents[2]


def test_explore_entries_load_with_their_flaws_and_a_bad_one_is_named(tmp_path: Path) -> None:
    latency = REPO / "experiments" / "explore" / "redis_latency_margin.yaml"
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"experiments:\n  - {{explore: {latency}, flaws: [no_cache_timeout]}}\n"
                     f"  - {REPO / 'experiments' / 'redis_outage.yaml'}\n")
    entries = load_suite(suite).entries
    assert [(e.name, e.explore, e.flaws) for e in entries] == [
        ("redis_latency_margin", True, ["no_cache_timeout"]), ("redis_outage", False, None)]

    plain = REPO / "experiments" / "redis_outage.yaml"  # no explore: block
    suite.write_text(f"experiments:\n  - {{explore: {plain}}}\n  - {{file: {plain}, explore: {plain}}}\n")
    with pytest.raises(SuiteError) as caught:
        load_suite(suite)
    text = str(caught.value)
    assert f"{suite}:2: experiments[0].explore:" in text and "no `explore:` block" in text
    assert f"{suite}:3: experiments[1]: give `file` (run it) or `explore` (search it), not both" in text


def test_the_matrix_shows_each_margin_in_its_own_column() -> None:
    steps = [Step("redis_outage", "x", None, "completed", 0, []),
             Step("redis_latency_margin (explore)", "y", None, "completed", 1, [],
                  "450 ms (fails at 475 ms)")]
    out = io.StringIO()
    print_matrix(steps, file=out)
    lines = out.getvalue().splitlines()
    assert any("margin" in line for line in lines)
    row = next(line for line in lines if "redis_latency_margin" in line)
    assert "450 ms (fails at 475 ms)" in row
    out = io.StringIO()
    print_matrix(steps[:1], file=out)
    assert "margin" not in out.getvalue()  # no explore entry, no column


def test_the_suite_report_shows_each_margin_beside_the_runs(tmp_path: Path) -> None:
    from invariants.builders import ResultsBuilder

    from harness.invariants import check
    from harness.results import RunResult
    from harness.suites import Suite, write_suite_files

    b = ResultsBuilder(tmp_path / "run")
    b.traffic(0, 60, rps=10)
    run_dir = b.write()
    verdicts = [check(RunResult.load(run_dir), "bounded_error_rate", window="steady")]
    steps = [Step("redis_outage", "x", run_dir, "completed", 0, verdicts),
             Step("redis_latency_margin (explore)", "y", tmp_path / "explore", "completed", 0, [],
                  "450 ms (fails at 475 ms)")]
    report = write_suite_files(tmp_path, Suite("prelaunch", tmp_path / "s.yaml"), steps)
    assert report is not None
    html = report.read_text()
    assert "<th>margin</th>" in html and '<td class="margin">450 ms (fails at 475 ms)</td>' in html
    assert '"margin": "450 ms (fails at 475 ms)"' in (tmp_path / "suite.json").read_text()
