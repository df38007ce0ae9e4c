"""Time-series charts of a run as inline SVG (matplotlib), every one with the faults shaded.

SVG keeps the report one self-contained, crisp file; text stays text (svg.fonttype none)
and long runs are averaged down to ~1,200 points so a file stays small.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Sequence

import numpy as np
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from harness.results.faults import FaultWindow
from harness.results.run_result import RunResult, counter_rate, split_key

MAX_POINTS = 1200
FAULT_COLOURS = ("#e4572e", "#4c72b0", "#8172b2", "#55a868", "#c44e52", "#dd8452")
_SVG_START = re.compile(r"^.*?(<svg\b)", re.S)


def _downsample(t: np.ndarray, *ys: np.ndarray) -> tuple[np.ndarray, ...]:
    """Average consecutive points so no series draws more than MAX_POINTS."""
    k = int(np.ceil(len(t) / MAX_POINTS)) if len(t) > MAX_POINTS else 1
    if k == 1:
        return (t, *ys)
    n = len(t) // k * k
    out = [t[:n].reshape(-1, k).mean(axis=1)]
    for y in ys:
        with warnings.catch_warnings():  # an all-gap bin is NaN, as it should be
            warnings.simplefilter("ignore", RuntimeWarning)
            out.append(np.nanmean(y[:n].reshape(-1, k), axis=1))
    return tuple(out)


def _shade(ax: Axes, faults: Sequence[FaultWindow]) -> None:
    """Shade each fault from actual onset to heal (a line for instant actions), labelled on top."""
    for i, f in enumerate(faults):
        colour = FAULT_COLOURS[i % len(FAULT_COLOURS)]
        if f.heal - f.onset > 0.05:
            ax.axvspan(f.onset, f.heal, color=colour, alpha=0.13, lw=0)
        else:
            ax.axvline(f.onset, color=colour, lw=1.2, ls="--")
        ax.text(f.onset, 1.0, f" {f.name}", transform=ax.get_xaxis_transform(), fontsize=7,
                color=colour, va="bottom", ha="left", clip_on=False)


def chart(title: str, ylabel: str, series: Sequence[tuple[str, np.ndarray, np.ndarray]],
          faults: Sequence[FaultWindow], xmax: float, salt: str, step: bool = False,
          ylim: tuple[float, float] | None = None, yticks: dict[float, str] | None = None) -> str:
    """One chart as an <svg> element string; series are (label, t, y) with NaN for gaps."""
    fig = Figure(figsize=(10, 2.3))
    ax = fig.add_axes((0.07, 0.2, 0.78, 0.62))
    has_data = False
    for label, t, y in series:
        if len(t) == 0 or np.all(np.isnan(y)):
            continue
        has_data = True
        t, y = _downsample(np.asarray(t, float), np.asarray(y, float))
        if step:
            ax.step(t, y, where="post", lw=1.3, label=label)
        else:
            ax.plot(t, y, lw=1.1, label=label)
    if not has_data:
        ax.text(0.5, 0.5, "no data in this run (metric absent or never scraped)",
                transform=ax.transAxes, ha="center", va="center", color="#777", fontsize=9)
    _shade(ax, faults)
    ax.set_xlim(0, max(xmax, 1.0))
    if ylim:
        ax.set_ylim(*ylim)
    elif has_data:
        ax.set_ylim(bottom=0)
    if yticks:
        ax.set_yticks(list(yticks), list(yticks.values()))
    ax.set_title(title, loc="left", fontsize=10, pad=12)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.set_xlabel("run time (s)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.25, lw=0.5)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if has_data and len(series) > 1:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _svg(fig, salt)


def timeline_chart(faults: Sequence[FaultWindow], xmax: float, salt: str) -> str:
    """Planned (hollow) and actual (filled) bars per fault, one row each."""
    fig = Figure(figsize=(10, 0.6 + 0.38 * max(1, len(faults))))
    ax = fig.add_axes((0.17, 0.25 if len(faults) < 3 else 0.12, 0.68, 0.6 if len(faults) < 3 else 0.78))
    names = []
    for row, f in enumerate(faults):
        colour = FAULT_COLOURS[row % len(FAULT_COLOURS)]
        width = max(f.planned_end - f.planned_start, xmax / 400)
        ax.broken_barh([(f.planned_start, width)], (row - 0.38, 0.34), facecolors="none",
                       edgecolors=colour, lw=1.0, label="planned" if row == 0 else None)
        if f.start is not None:
            width = max(f.heal - f.start, xmax / 400)
            ax.broken_barh([(f.start, width)], (row + 0.04, 0.34), facecolors=colour, alpha=0.8,
                           label="actual" if row == 0 else None)
        else:
            ax.text(f.planned_start, row + 0.2, " not applied" + (f": {f.error}" if f.error else ""),
                    fontsize=7, color="#c00", va="center")
        names.append(f"{f.name} ({f.type})")
    ax.set_yticks(range(len(faults)), names, fontsize=7)
    ax.set_ylim(-0.6, max(1, len(faults)) - 0.4)
    ax.invert_yaxis()
    ax.set_xlim(0, max(xmax, 1.0))
    ax.set_xlabel("run time (s)", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    ax.grid(axis="x", alpha=0.25, lw=0.5)
    if faults:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    else:
        ax.text(0.5, 0.5, "no faults in this run", transform=ax.transAxes, ha="center",
                va="center", color="#777", fontsize=9)
    return _svg(fig, salt)


def _svg(fig: Figure, salt: str) -> str:
    buf = io.StringIO()
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": salt, "path.simplify": True}):
        fig.savefig(buf, format="svg")
    text = _SVG_START.sub(r"\1", buf.getvalue(), count=1)
    # scale with the page: keep the viewBox, let CSS set the width
    text = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1', text, count=1)
    return text.replace("<svg", f'<svg class="chart" data-chart="{salt}"', 1)


def hit_ratio(result: RunResult) -> tuple[str, np.ndarray, np.ndarray] | None:
    """Cache hit ratio between scrapes: the target's counters, else Redis keyspace counters."""
    for source, hit_args, miss_args, label in (
        ("target", ("stampede_cache_requests_total",), ("stampede_cache_requests_total",),
         "target hit/(hit+miss)"),
        ("redis", ("keyspace_hits",), ("keyspace_misses",), "Redis keyspace"),
    ):
        labels_hit = {"result": "hit"} if source == "target" else {}
        labels_miss = {"result": "miss"} if source == "target" else {}
        hits = result.metric(*hit_args, source=source, **labels_hit)
        misses = result.metric(*miss_args, source=source, **labels_miss)
        if hits is None or misses is None:
            continue
        t, h = counter_rate(*hits)
        t2, m = counter_rate(*misses)
        if len(t) != len(t2):
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(h + m > 0, h / (h + m) * 100, np.nan)
        return label, t, ratio
    return None


def all_charts(result: RunResult) -> list[tuple[str, str]]:
    """(title, svg) for every chart of the report, in reading order."""
    faults, end = result.faults, result.duration
    per = result.per_second()
    t = per["t"] + 0.5
    with np.errstate(invalid="ignore", divide="ignore"):
        err = np.where(per["count"] > 0, per["failures"] / per["count"] * 100, np.nan)
    p50 = result.latency_series(0.5)
    p99 = result.latency_series(0.99)
    charts = [
        ("Requests/s", chart("Requests/s", "requests/s",
                             [("all", t, per["count"]), ("failed", t, per["failures"])],
                             faults, end, "requests")),
        ("Error rate", chart("Error rate", "% failed", [("error rate", t, err)], faults, end,
                             "errors")),
        ("Latency p50 / p99", chart("Latency p50 / p99", "ms", [("p50", t, p50), ("p99", t, p99)],
                                    faults, end, "latency")),
    ]
    states = []
    for key in result.metric_keys("stampede_circuit_state"):
        dep = split_key(key)[1].get("dependency", key)
        series = result.metric("stampede_circuit_state", dependency=dep)
        if series is not None:
            states.append((dep, *series))
    charts.append(("Circuit state", chart(
        "Circuit breaker state per dependency", "state", states, faults, end, "circuit",
        step=True, ylim=(-0.15, 2.15), yticks={0: "closed", 1: "open", 2: "half-open"})))
    ratio = hit_ratio(result)
    charts.append(("Cache hit ratio", chart("Cache hit ratio", "% hits", [ratio] if ratio else [],
                                            faults, end, "hitratio", ylim=(0, 102))))
    db = result.metric_rate("stampede_db_queries_total")
    charts.append(("Database queries/s", chart(
        "Database queries/s", "queries/s", [("queries/s", *db)] if db else [], faults, end, "db")))
    memory = result.metric("used_memory", source="redis")
    charts.append(("Redis memory", chart(
        "Redis used memory", "MiB", [("used_memory", memory[0], memory[1] / 2**20)] if memory else [],
        faults, end, "memory")))
    evictions = result.metric_rate("evicted_keys", source="redis")
    charts.append(("Redis evictions/s", chart(
        "Redis evictions/s", "keys/s", [("evicted", *evictions)] if evictions else [], faults, end,
        "evictions")))
    return charts
