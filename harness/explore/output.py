"""What a search comes to: explore.json, the exit status, and the one-line `margin:` summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.exit_codes import ExitCode
from harness.explore.probes import SearchOutcome, broken_text
from harness.explore.setup import Explore


def margin_of(outcome: SearchOutcome) -> tuple[float | None, float | None]:
    """(largest passing value below the smallest failing one, smallest failing value)."""
    search = outcome.search
    low, high = search.bracket()
    return (None if low is None else search.value(low)), (None if high is None else search.value(high))


def exit_code(explore: Explore, outcome: SearchOutcome) -> int:
    """0 a margin of at least `require`, 1 below it or nothing passes; 2, 3, 128+N as the search stopped."""
    if outcome.exit_code != ExitCode.PASSED:
        return outcome.exit_code
    margin, _ = margin_of(outcome)
    if margin is None:
        return int(ExitCode.INVARIANT_FAILED)
    require = explore.spec.require
    if require is not None and margin < require.min:
        return int(ExitCode.INVARIANT_FAILED)
    return int(ExitCode.PASSED)


def margin_line(explore: Explore, outcome: SearchOutcome) -> str:
    """`margin: redis-latency latency 450 ms (fails at 475 ms: latency_bounded 1,240 ms > 500 ms)`."""
    margin, failing = margin_of(outcome)
    spec = explore.spec
    if margin is None and failing is None:
        return f"margin: {explore.label} unknown ({outcome.error or 'no probe completed'})"
    if margin is None:
        text = f"margin: {explore.label} none: even {explore.show(failing)} fails"
    else:
        text = f"margin: {explore.label} {explore.show(margin)}"
    if failing is None:
        text += f" (no failure up to {explore.show(spec.to)}, the end of the range)"
    else:
        probe = next(p for p in outcome.probes if p.value == failing and not p.passed
                     and p.status == "completed")
        broken = probe.first_broken
        why = broken_text(broken) if broken else probe.status
        if margin is not None:
            text += f" (fails at {explore.show(failing)}: {why})"
        else:
            text += f" ({why})"
    if not outcome.search.resolved():
        text += " [not settled: the probe budget ran out before both ends held]"
    if spec.require is not None and (margin is None or margin < spec.require.min):
        text += f" below the required {explore.show(spec.require.min)}"
    return text


def explore_json(explore: Explore, outcome: SearchOutcome, code: int) -> dict[str, Any]:
    """The search as data: the answer first, then every probe in the order it ran."""
    margin, failing = margin_of(outcome)
    spec = explore.spec
    return {
        "name": explore.name,
        "source": str(explore.path),
        "vary": spec.vary,
        "label": explore.label,
        "unit": explore.unit,
        "from": spec.from_,
        "to": spec.to,
        "resolution": spec.resolution,
        "max_probes": spec.max_probes,
        "require": None if spec.require is None else spec.require.min,
        "time_scale": explore.experiment.time_scale,
        "flaws": list(getattr(explore.experiment_at(spec.from_).target, "flaws", [])),
        "margin": margin,
        "smallest_failing": failing,
        "settled": outcome.search.resolved(),
        "not_monotonic": [{"passed": p, "above_failing": f}
                          for p, f in outcome.search.not_monotonic()],
        "exit_code": code,
        "error": outcome.error,
        "stack_seconds": round(outcome.stack_seconds, 1),
        "summary": margin_line(explore, outcome),
        "probes": [{
            "n": p.n,
            "value": p.value,
            "passed": p.passed,
            "status": p.status,
            "seconds": p.seconds,
            "results": p.results_dir.name,
            "first_broken": None if p.first_broken is None else {
                "invariant": p.first_broken.id, "measured": p.first_broken.measured,
                "bound": p.first_broken.bound, "unit": p.first_broken.unit,
                "text": broken_text(p.first_broken)},
            "verdicts": [v.to_dict() for v in p.verdicts],
        } for p in outcome.probes],
    }


def write_explore_json(folder: Path, data: dict[str, Any]) -> Path:
    path = folder / "explore.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(path)
    return path
