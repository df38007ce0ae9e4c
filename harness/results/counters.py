"""Names the load writes into counters.jsonl and violations.jsonl, and the invariants read.

Locustfiles count and report through harness.load.checks; the correctness invariants
judge the same names. Spelt once here, the two sides cannot drift apart.
"""

from __future__ import annotations

# counters (counters.jsonl): something was checked, so a zero violation count means something
OWNERSHIP_CHECKED = "ownership_checked"
SESSION_PROBED = "session_probed"
RATE_LIMIT_GRANTED = "rate_limit_granted"
RATE_LIMIT_DENIED = "rate_limit_denied"
READ_CHECKED = "read_checked"

# violation kinds (violations.jsonl)
CROSS_USER = "cross_user"  # a personalised response carried another user's data
SESSION_GRANTED = "session_granted"  # a revoked or unknown session got a 2xx
STALE_READ = "stale_read"  # a read right after an acknowledged write showed an older version
