"""The caching chapter's invariants: pure functions of a RunResult and their parameters.

Import `judge`, `check`, `INVARIANTS` and `Verdict` from here; the functions live in
modules named for what they watch (traffic, breaker, cache, correctness).
"""

from harness.invariants.registry import INVARIANTS, check, judge, validate_invariant
from harness.invariants.verdict import Verdict

__all__ = ["INVARIANTS", "Verdict", "check", "judge", "validate_invariant"]
