"""Memory sizes (`2mb`) as people write them, and seconds as a plan shows them.

Durations are read by harness.durations, shared with the results package.
"""

from __future__ import annotations

import re

_SIZE = re.compile(r"^\s*(\d+)\s*(b|kb|mb|gb|k|m|g)?\s*$", re.IGNORECASE)


def parse_size(value: object) -> str:
    """A redis-server memory size (`2mb`, `512kb`, `1048576`), returned as Redis spells it."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and _SIZE.match(value):
        return value.strip().lower().replace(" ", "")
    raise ValueError(f'expected a memory size like 2mb, 512kb or 1048576, got "{value}"')


def format_seconds(seconds: float) -> str:
    """Short and exact enough for a plan: 0.5s, 30s, 2m05s."""
    if seconds < 60:
        return f"{seconds:g}s"
    minutes, rest = divmod(round(seconds, 3), 60)
    return f"{int(minutes)}m{rest:g}s" if rest else f"{int(minutes)}m"
