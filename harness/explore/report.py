"""The explore folder's report.html: each invariant's measured value against the varied value.

One self-contained file like a run's report (inline SVG from matplotlib, no scripts): the
margin line, one chart per invariant with its bound drawn and the margin marked, and the
probes in the order they ran, each linking to its own run report.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from jinja2 import Environment
from matplotlib.figure import Figure

from harness.invariants.verdict import fmt
from harness.report.charts import _svg

PASS, FAIL, MARGIN = "#1a7f37", "#cf222e", "#4c72b0"

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>stampede explore: {{ d.name }}</title>
<style>
 body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
        max-width: 1100px; padding: 0 20px 40px; color: #222; }
 h1 { font-size: 22px; margin: 22px 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
 .meta { color: #555; } .meta b { color: #222; }
 .margin { font-size: 16px; padding: 10px 12px; background: #f3f6fb; border-left: 4px solid #4c72b0; }
 table { border-collapse: collapse; width: 100%; font-size: 13px; }
 th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e3e3e3; vertical-align: top; }
 th { background: #f5f5f5; } td.num { text-align: right; white-space: nowrap; }
 .pass { color: #1a7f37; font-weight: 600; } .fail { color: #cf222e; font-weight: 700; }
 figure { margin: 8px 0 18px; } svg.chart { width: 100%; height: auto; display: block; }
</style></head>
<body>
<h1>explore: {{ d.name }}</h1>
<p class="meta">varied <b>{{ d.vary }}</b> from <b>{{ '%g' % d.from }}</b> to <b>{{ '%g' % d.to }}</b>
 {{ d.unit }}, resolution {{ '%g' % d.resolution }} · {{ d.probes|length }} of {{ d.max_probes }} probes
 · time scale {{ d.time_scale }}{% if d.flaws %} · flaws: <b>{{ d.flaws|join(', ') }}</b>{% endif %}
 {% if d.seconds %} · {{ '%.0f' % d.seconds }} s{% endif %}</p>
<p class="margin" id="margin">{{ d.summary }}</p>
{% if d.error %}<p class="fail">{{ d.error }}</p>{% endif %}
{% if d.not_monotonic %}<p class="fail">Not monotonic: {% for m in d.not_monotonic %}{{ '%g' % m.passed }} passed above {{ '%g' % m.above_failing }}, which failed. {% endfor %}The margin rests on an assumption these probes contradict.</p>{% endif %}

<section id="charts"><h2>Invariants against {{ d.label }}</h2>
<p class="meta">Dots: each probe's measured value (green passed, red failed); dashed line: the bound;
blue band: up to the margin; red line: the smallest failing value.</p>
{% for title, svg in charts %}<figure title="{{ title }}">{{ svg | safe }}</figure>
{% endfor %}</section>

<section id="probes"><h2>Probes in the order they ran</h2>
<table><tr><th>#</th><th>{{ d.label }}</th><th>result</th><th>first broken invariant</th><th>wall time</th><th>run</th></tr>
{% for p in d.probes %}<tr><td class="num">{{ p.n }}</td><td class="num">{{ '%g' % p.value }}</td>
<td class="{{ 'pass' if p.passed else 'fail' }}">{{ 'pass' if p.passed else 'FAIL' }}{% if p.status != 'completed' %} ({{ p.status }}){% endif %}</td>
<td>{{ p.first_broken.text if p.first_broken else '' }}</td><td class="num">{{ '%.0f' % p.seconds }} s</td>
<td><a href="{{ p.results }}/report.html">{{ p.results }}</a></td></tr>
{% endfor %}</table></section>
<p class="meta">written by stampede {{ written }}</p>
</body></html>
"""

_template = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True).from_string(TEMPLATE)


def invariant_chart(data: dict[str, Any], vid: str, salt: str) -> str:
    """Measured value per probe against the varied value, the bound, the margin."""
    points = [(p["value"], v) for p in data["probes"] for v in p["verdicts"] if v["id"] == vid]
    fig = Figure(figsize=(10, 2.6))
    ax = fig.add_axes((0.08, 0.2, 0.74, 0.64))
    unit = next((v["unit"] for _, v in points if v.get("unit")), "")
    for passed, colour, label in ((True, PASS, "passed"), (False, FAIL, "failed")):
        xs = [x for x, v in points if v["passed"] is passed and v["measured"] is not None]
        ys = [v["measured"] for _, v in points if v["passed"] is passed
              and v["measured"] is not None]
        if xs:
            ax.scatter(xs, ys, s=26, color=colour, label=label, zorder=3)
    bounds = {v["bound"] for _, v in points if v["bound"] is not None}
    for bound in bounds:
        ax.axhline(bound, color="#555", ls="--", lw=1.0,
                   label=f"bound {fmt(bound, unit)}" if len(bounds) == 1 else None)
    if data["margin"] is not None:
        ax.axvspan(data["from"], data["margin"], color=MARGIN, alpha=0.10, lw=0)
        ax.axvline(data["margin"], color=MARGIN, lw=1.4, label=f"margin {data['margin']:g}")
    if data["smallest_failing"] is not None:
        ax.axvline(data["smallest_failing"], color=FAIL, lw=1.0, ls=":",
                   label=f"fails at {data['smallest_failing']:g}")
    if not points:
        ax.text(0.5, 0.5, "not judged in any probe", transform=ax.transAxes, ha="center",
                va="center", color="#777", fontsize=9)
    span = data["to"] - data["from"]
    ax.set_xlim(data["from"] - span * 0.02, data["to"] + span * 0.02)
    ax.set_ylim(bottom=0)
    ax.set_title(vid, loc="left", fontsize=10, pad=10)
    ax.set_xlabel(f"{data['label']} ({data['unit']})" if data["unit"] else data["label"], fontsize=8)
    ax.set_ylabel(f"measured ({unit})" if unit else "measured", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.25, lw=0.5)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _svg(fig, salt)


def write_explore_report(folder: Path, data: dict[str, Any]) -> Path:
    """Render report.html into the explore folder from explore.json's data."""
    ids: list[str] = []
    for probe in data["probes"]:
        for verdict in probe["verdicts"]:
            if verdict["id"] not in ids:
                ids.append(verdict["id"])
    charts = [(vid, invariant_chart(data, vid, f"invariant-{n}")) for n, vid in enumerate(ids)]
    written = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    path = folder / "report.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(_template.render(d=data, charts=charts, written=written), encoding="utf-8")
    tmp.replace(path)
    return path
