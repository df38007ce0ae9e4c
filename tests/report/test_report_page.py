"""Report edge cases without a browser: bare folders, the suite matrix, verdicts reused."""

from __future__ import annotations

from invariants.builders import ResultsBuilder

from harness.invariants import check
from harness.report import write_report
from harness.results import RunResult


def test_a_bare_folder_still_reports_with_empty_charts(tmp_path) -> None:
    b = ResultsBuilder(tmp_path, steady=None)
    b.traffic(0, 20, rps=5)
    html = write_report(b.write()).read_text()
    assert html.count('class="chart"') == 9
    assert html.count("no data in this run") == 5  # circuit, hit ratio, db, memory, evictions
    assert "no faults in this run" in html and "no invariants judged" in html


def test_matrix_section_shows_scenario_by_invariant(tmp_path) -> None:
    b = ResultsBuilder(tmp_path)
    b.fault("redis-outage", 30, 45)
    b.traffic(0, 60, rps=10)
    b.traffic(30, 45, rps=10, error_rate=0.3)
    path = b.write()
    run = RunResult.load(path)
    outage = [check(run, "bounded_error_rate", window="during:redis-outage"),
              check(run, "no_data_loss")]
    latency = [check(run, "bounded_error_rate", window="steady")]
    html = write_report(path, matrix={"redis_outage": outage, "redis_latency": latency}).read_text()
    matrix = html[html.index('id="matrix"'):html.index('id="charts"')]
    assert "<th>bounded_error_rate</th>" in matrix and "<th>no_data_loss</th>" in matrix
    assert matrix.count("FAIL") == 2 and matrix.count(">pass<") == 1
    assert "redis_latency" in matrix
    assert "<th>margin</th>" not in matrix  # no explore entry, no margin column


def test_matrix_section_shows_an_explore_entry_margin_in_its_own_column(tmp_path) -> None:
    b = ResultsBuilder(tmp_path)
    b.traffic(0, 60, rps=10)
    path = b.write()
    run = RunResult.load(path)
    matrix = {"redis_outage": [check(run, "bounded_error_rate", window="steady")],
              "redis_latency_margin (explore)": []}
    html = write_report(path, matrix=matrix,
                        margins={"redis_latency_margin (explore)": "450 ms (fails at 475 ms)"}
                        ).read_text()
    section = html[html.index('id="matrix"'):html.index('id="charts"')]
    assert "<th>margin</th>" in section
    row = section[section.index("<td>redis_latency_margin (explore)</td>"):]
    row = row[:row.index("</tr>")]
    assert '<td class="margin">450 ms (fails at 475 ms)</td>' in row
    outage_row = section[section.index("<td>redis_outage</td>"):]
    assert '<td class="margin"></td>' in outage_row[:outage_row.index("</tr>")]


def test_stored_verdicts_are_reused(tmp_path) -> None:
    b = ResultsBuilder(tmp_path)
    b.traffic(0, 60, rps=10)
    b.invariant("bounded_error_rate")
    path = b.write()
    (path / "verdicts.json").write_text(
        '{"verdicts": [{"invariant": "bounded_error_rate", "id": "bounded_error_rate[all]",'
        ' "window": "all", "passed": false, "measured": 7.0, "bound": 5.0, "unit": "%",'
        ' "reason": "judged earlier with other bounds"}]}')
    assert "judged earlier with other bounds" in write_report(path).read_text()
