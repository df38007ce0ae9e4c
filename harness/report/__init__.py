"""The HTML report of a run: `write_report(results_dir)` -> results_dir/report.html.

One file that opens anywhere without network: verdicts, charts with the faults shaded,
planned vs actual fault timeline, violations; and, for suites, a scenario x invariant matrix.
"""

from __future__ import annotations

from pathlib import Path

from harness.invariants.verdict import Verdict
from harness.results import files
from harness.results.atomic import write_atomic


def write_report(results_dir: str | Path, matrix: dict[str, list[Verdict]] | None = None,
                 margins: dict[str, str] | None = None) -> Path:
    """Render report.html from the folder (judging it first if verdicts.json is missing).

    `matrix` maps scenario name -> its verdicts, for the suite's failure handling matrix;
    `margins` scenario name -> an explore entry's margin, shown in a column of its own.
    A run that did not complete is judged afresh as a partial run: every verdict says so
    (`stampede report` asks for --partial before it gets here).
    """
    from harness.report.charts import all_charts, timeline_chart
    from harness.report.page import render
    from harness.results.run_result import RunResult
    from harness.verdicts import JUDGEABLE, judge_results, read_verdicts, run_status

    results_dir = Path(results_dir)
    partial = run_status(results_dir) not in JUDGEABLE
    result = RunResult.load(results_dir)
    verdicts = None if partial else read_verdicts(results_dir)
    if verdicts is None:
        verdicts = judge_results(results_dir, partial=partial)
    html = render(result=result, verdicts=verdicts, charts=all_charts(result),
                  timeline_svg=timeline_chart(result.faults, result.duration, "timeline"),
                  matrix=matrix, margins=margins)
    path = results_dir / files.REPORT
    write_atomic(path, html)
    return path
