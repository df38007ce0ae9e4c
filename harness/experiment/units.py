"""Durations (`30s`, `2m`, `500ms`) and memory sizes (`2mb`) as people write them."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)?\s*$")
_COMPOUND = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|h|m|s))+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
_SIZE = re.compile(r"^\s*(\d+)\s*(b|kb|mb|gb|k|m|g)?\s*$", re.IGNORECASE)


def parse_duration(value: object) -> float:
    """Seconds from `30s`, `2m`, `500ms`, `1h`, `1m30s` or a plain number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like 30s, 2m or 500ms, got {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"expected a duration of 0 or more, got {value}")
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        if _COMPOUND.match(value.strip()):
            return sum(float(n) * _DURATION_UNITS[u] for n, u in _PART.findall(value))
    shown = f'"{value}"' if isinstance(value, str) else repr(value)
    raise ValueError(f"expected a duration like 30s, 2m or 500ms, got {shown}")


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
