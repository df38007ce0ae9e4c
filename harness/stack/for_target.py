"""The `Stack` an experiment's `target:` asks for."""

from __future__ import annotations

from pathlib import Path

from harness.experiment.model import EmbeddedTarget, ExternalTarget
from harness.stack.base import Stack


def stack_for(target: EmbeddedTarget | ExternalTarget, log_dir: Path) -> Stack:
    """An unstarted stack: the embedded one with the target's service, flaws and options,
    or the external one at the target's addresses."""
    if isinstance(target, ExternalTarget):
        from harness.stack.external import ExternalStack

        return ExternalStack(target)
    from harness.stack.embedded import EmbeddedStack
    from harness.target_service import target_service

    return EmbeddedStack(log_dir, flaws=target.flaws, options=target.options,
                         service=target_service(target.service))
