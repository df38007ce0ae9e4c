"""Switching the embedded service's flaws: `--flaw` on the command line, `flaws:` in a suite."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from harness.experiment.model import EmbeddedTarget, Experiment
from harness.target_service import target_service


def set_flaws(experiment: Experiment, flaws: Iterable[str], source: str | Path) -> list[str]:
    """Replace the embedded service's flaws with `flaws` and return them (ValueError naming
    the valid ones, or saying the target is not embedded)."""
    target = experiment.target
    if not isinstance(target, EmbeddedTarget):
        raise ValueError(f"{source}: --flaw needs the embedded reference target; this run's "
                         f"target is {target.kind} (switch the flaw on in that service instead)")
    try:
        target.flaws = sorted(target_service(target.service).parse_flaws(flaws))
    except (ValueError, LookupError) as exc:
        raise ValueError(f"{source}: --flaw: {exc}") from None
    return target.flaws
