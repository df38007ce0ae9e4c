"""The explore report from explore.json data: one chart per invariant, the bound, the margin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.explore.report import write_explore_report


def verdict(vid: str, passed: bool, measured: float, bound: float, unit: str) -> dict[str, Any]:
    return {"invariant": vid.split("[")[0], "id": vid, "window": "all", "passed": passed,
            "measured": measured, "bound": bound, "unit": unit, "reason": "..."}


def data() -> dict[str, Any]:
    probes = []
    for n, (value, p99) in enumerate([(1000, 3162), (500, 531), (250, 240), (375, 410),
                                      (450, 480), (475, 501), (450, 470), (475, 520)], 1):
        ok = p99 <= 500
        probes.append({
            "n": n, "value": value, "passed": ok, "status": "completed", "seconds": 21.0,
            "results": f"probe-{n:02d}-{value}",
            "first_broken": None if ok else {"invariant": "latency_bounded[x]", "text": f"latency_bounded[x] {p99} ms > 500 ms"},
            "verdicts": [verdict("latency_bounded[x]", ok, p99, 500, "ms"),
                         verdict("bounded_error_rate[steady]", True, 0.2, 1.0, "%")]})
    return {"name": "m", "vary": "faults.f.attributes.latency", "label": "f latency", "unit": "ms",
            "from": 0.0, "to": 2000.0, "resolution": 25.0, "max_probes": 12, "time_scale": 0.25,
            "flaws": ["no_cache_timeout"], "margin": 450.0, "smallest_failing": 475.0,
            "summary": "margin: f latency 450 ms (fails at 475 ms: latency_bounded[x] 501 ms > 500 ms)",
            "not_monotonic": [{"passed": 900.0, "above_failing": 475.0}], "error": None,
            "seconds": 200.0, "probes": probes}


def test_report_has_a_chart_per_invariant_with_bound_and_margin(tmp_path: Path) -> None:
    html = write_explore_report(tmp_path, data()).read_text()
    assert html.count('<svg class="chart"') == 2
    assert 'data-chart="invariant-0"' in html and 'data-chart="invariant-1"' in html
    assert "bound 500 ms" in html and "margin 450" in html and "fails at 475" in html
    assert "margin: f latency 450 ms (fails at 475 ms" in html
    assert "Not monotonic: 900 passed above 475" in html
    assert html.count('href="probe-') == 8  # every probe links to its run's report
    lowered = html.lower()
    for fetch in ("<script", "<link", "<img", "@import", "url(http", 'href="http'):
        assert fetch not in lowered  # self-contained, like a run's report
