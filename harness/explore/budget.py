"""What a search will cost, for `stampede plan`: probes to settle it, the budget, the worst case."""

from __future__ import annotations

import math

from harness.explore.search import CONFIRMATIONS, Search
from harness.explore.setup import Explore

# Measured on the 2-core reference machine at time scale 0.25: Locust's start and wind-down,
# judging, the report and the reset (the target restarted) add 6-11 s to each probe's load
# window; the embedded stack takes 3-15 s to start once.
PROBE_OVERHEAD_S = 10.0
STACK_START_S = 15.0


def settle_probes(explore: Explore) -> int:
    """Probes for an undisturbed search to settle: the bisection, then each end repeated."""
    spec = explore.spec
    steps = Search(spec.from_, spec.to, spec.resolution, spec.max_probes).last_step
    return math.ceil(math.log2(steps)) + 2 * (CONFIRMATIONS - 1) if steps > 1 else 2 * CONFIRMATIONS


def worst_case_seconds(explore: Explore) -> float:
    """Every probe of the budget run, each as long as the longest probe can be."""
    spec = explore.spec
    longest = max(explore.experiment_at(v).duration for v in (spec.from_, spec.to))
    return STACK_START_S + spec.max_probes * (longest + PROBE_OVERHEAD_S)


def plan_lines(explore: Explore) -> list[str]:
    spec = explore.spec
    need = settle_probes(explore)
    worst = worst_case_seconds(explore)
    lines = [
        "",
        f"explore  {spec.vary} from {explore.show(spec.from_)} to {explore.show(spec.to)}, "
        f"resolution {explore.show(spec.resolution)}"
        + (f", require at least {explore.show(spec.require.min)}" if spec.require else ""),
        f"  probes   {need} to settle without noise (bisection, then each end of the bracket "
        f"probed {CONFIRMATIONS} times; a third where two disagree); budget {spec.max_probes}",
        f"  time     worst case {worst / 60:.1f} min: {spec.max_probes} probes x (load + about "
        f"{PROBE_OVERHEAD_S:g} s of start, judging and reset) + about {STACK_START_S:g} s "
        "to start the stack once",
    ]
    if need > spec.max_probes:
        lines.append(f"  warning  the budget ({spec.max_probes}) is below the {need} probes an "
                     "undisturbed search needs: raise max_probes or resolution")
    return lines
