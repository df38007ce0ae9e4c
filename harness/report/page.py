"""The report page: one self-contained HTML file (inline CSS and SVG, no scripts, no network)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from jinja2 import Environment

from harness.invariants.verdict import Verdict, fmt

MAX_VIOLATIONS = 500

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>stampede report: {{ title }}</title>
<style>
 body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
        max-width: 1100px; padding: 0 20px 40px; color: #222; }
 h1 { font-size: 22px; margin: 22px 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
 .meta { color: #555; } .meta b { color: #222; }
 table { border-collapse: collapse; width: 100%; font-size: 13px; }
 th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e3e3e3; vertical-align: top; }
 th { background: #f5f5f5; } td.num { text-align: right; white-space: nowrap; }
 .pass { color: #1a7f37; font-weight: 600; } .fail { color: #cf222e; font-weight: 700; }
 .status-completed { color: #1a7f37; } .status-aborted, .status-failed { color: #cf222e; }
 .reason { color: #444; font-size: 12px; }
 figure { margin: 8px 0 18px; } svg.chart { width: 100%; height: auto; display: block; }
 .empty { color: #777; font-style: italic; }
 section.matrix td.cell { text-align: center; }
 section.matrix th + th { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap;
                          vertical-align: bottom; text-align: left; padding: 6px 4px; }
 section.matrix td.cell { padding: 4px 2px; font-size: 12px; }
</style></head>
<body>
<h1>{{ title }}</h1>
<p class="meta">run <b>{{ run_id }}</b> · status <b class="status-{{ status }}">{{ status }}</b>
 · {{ duration }} · {{ requests }} requests, {{ failures }} failed{% if started %} · started {{ started }}{% endif %}
 {% if halt_reason %}<br>halted: <b>{{ halt_reason }}</b>{% endif %}
 {% if error %}<br>error: <b>{{ error }}</b>{% endif %}</p>

<section id="verdicts"><h2>Verdicts: {{ passed }} passed, {{ failed }} failed</h2>
{% if verdicts %}<table><tr><th>invariant</th><th>window</th><th>measured</th><th>bound</th><th>result</th></tr>
{% for v in verdicts %}<tr><td>{{ v.id }}<div class="reason">{{ v.reason }}</div></td><td>{{ v.window }}</td>
<td class="num">{{ v.measured_text() }}</td><td class="num">{{ v.bound_text() }}</td>
<td class="{{ 'pass' if v.passed else 'fail' }}">{{ 'pass' if v.passed else 'FAIL' }}</td></tr>
{% endfor %}</table>{% else %}<p class="empty">no invariants judged</p>{% endif %}
</section>

{% if matrix %}<section class="matrix" id="matrix"><h2>Failure handling matrix</h2>
<table><tr><th>scenario</th>{% for name in matrix_columns %}<th>{{ name }}</th>{% endfor %}{% if margins %}<th>margin</th>{% endif %}</tr>
{% for scenario, cells in matrix.items() %}<tr><td>{{ scenario }}</td>
{% for name in matrix_columns %}{% set v = cells.get(name) %}<td class="cell {{ '' if v is none else ('pass' if v.passed else 'fail') }}" title="{{ v.reason if v else '' }}">{{ '' if v is none else ('pass' if v.passed else 'FAIL') }}</td>{% endfor %}{% if margins %}<td class="margin">{{ margins.get(scenario, '') }}</td>{% endif %}</tr>
{% endfor %}</table></section>{% endif %}

<section id="charts"><h2>Charts</h2>
<p class="meta">Shaded: each fault from its actual onset to heal; dashed line: an instant action.</p>
{% for title, svg in charts %}<figure title="{{ title }}">{{ svg | safe }}</figure>
{% endfor %}</section>

<section id="timeline"><h2>Faults: planned vs actual</h2>
<figure title="Fault timeline">{{ timeline_svg | safe }}</figure>
{% if faults %}<table><tr><th>fault</th><th>type</th><th>proxy</th><th>planned</th><th>actual</th><th>lag (onset / heal)</th><th>error</th></tr>
{% for f in faults %}<tr><td>{{ f.name }}</td><td>{{ f.type }}</td><td>{{ f.proxy or '-' }}</td>
<td class="num">{{ '%.3f' % f.planned_start }}s – {{ '%.3f' % f.planned_end }}s</td>
<td class="num">{% if f.start is not none %}{{ '%.3f' % f.start }}s – {{ '%.3f' % f.heal }}s{% else %}not applied{% endif %}</td>
<td class="num">{% if f.start is not none %}{{ '%.0f' % ((f.start - f.planned_start) * 1000) }} ms / {% if f.end is not none %}{{ '%.0f' % ((f.end - f.planned_end) * 1000) }} ms{% else %}-{% endif %}{% else %}-{% endif %}</td>
<td>{{ f.error or '' }}</td></tr>
{% endfor %}</table>{% endif %}
{% if events %}<h2>Events</h2><table><tr><th>t</th><th>event</th><th>details</th></tr>
{% for e in events %}<tr><td class="num">{{ '%.1f' % e.t }}s</td><td>{{ e.kind }}</td><td>{{ e.details }}</td></tr>{% endfor %}
</table>{% endif %}
</section>

<section id="violations"><h2>Violations ({{ violation_count }})</h2>
{% if violations %}<table><tr><th>t</th><th>kind</th><th>endpoint</th><th>expected</th><th>received</th></tr>
{% for v in violations %}<tr><td class="num">{{ '%.1f' % (v.t or 0) }}s</td><td>{{ v.kind }}</td><td>{{ v.endpoint }}</td><td>{{ v.expected }}</td><td>{{ v.received }}</td></tr>
{% endfor %}</table>{% if violation_count > violations|length %}<p class="empty">first {{ violations|length }} of {{ violation_count }} shown; all are in violations.jsonl</p>{% endif %}
{% else %}<p class="empty">no violations recorded</p>{% endif %}
</section>
<p class="meta">written by stampede {{ written }}</p>
</body></html>
"""

_env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_template = _env.from_string(TEMPLATE)


def render(*, result: Any, verdicts: list[Verdict], charts: list[tuple[str, str]],
           timeline_svg: str, matrix: dict[str, list[Verdict]] | None = None,
           margins: dict[str, str] | None = None) -> str:
    summary = result.summary
    started = result.started_at
    events = [
        {"t": float(e.get("t", 0.0)), "kind": e["kind"],
         "details": ", ".join(f"{k}={v}" for k, v in e.items() if k not in ("t", "ts", "kind"))}
        for e in result.timeline if e.get("kind") in ("phase", "halt", "worker_lost", "action")
    ]
    cells: dict[str, dict[str, Verdict]] = {}
    columns: list[str] = []
    for scenario, scenario_verdicts in (matrix or {}).items():
        row = cells.setdefault(scenario, {})
        for v in scenario_verdicts:
            row[v.invariant] = v if v.invariant not in row or not v.passed else row[v.invariant]
            if v.invariant not in columns:
                columns.append(v.invariant)
    failed = sum(not v.passed for v in verdicts)
    return _template.render(
        title=result.experiment.get("name") or summary.get("name") or result.path.name,
        run_id=summary.get("run_id") or result.path.name,
        status=result.status,
        duration=fmt(result.duration, "s"),
        requests=f"{result.requests():,}", failures=f"{result.failures():,}",
        started=dt.datetime.fromtimestamp(started, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        if started else None,
        halt_reason=summary.get("halt_reason"), error=summary.get("error"),
        verdicts=verdicts, passed=len(verdicts) - failed, failed=failed,
        matrix=cells, matrix_columns=columns, margins=margins or {},
        charts=charts, timeline_svg=timeline_svg, faults=result.faults, events=events,
        violations=result.violations[:MAX_VIOLATIONS], violation_count=len(result.violations),
        written=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
    )
