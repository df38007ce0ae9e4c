"""The caching chapter's invariants: pure functions of a RunResult and their parameters.

Import `judge`, `check`, `expect`, `INVARIANTS` and `Verdict` from here; the functions live
in modules named for what they watch (traffic, breaker, cache, correctness). They take a
RunResult, which knows nothing of them: `expect(run, "bounded_error_rate", max=0.01)`.
"""

from harness.invariants.registry import INVARIANTS, check, expect, judge, validate_invariant
from harness.invariants.verdict import Verdict

__all__ = ["INVARIANTS", "Verdict", "check", "expect", "judge", "validate_invariant"]
