"""Durations as people write them (`500ms`, `30s`, `2m`, `1h`, `1m30s`, `45`), in one place.

Experiment files (`for:`, `at:`), invariant parameters (`within:`) and windows
(`after:<fault>:30s`) all read through `parse_duration`, so a form accepted in one place
is accepted in every other. Only `re` is imported: the experiment and results packages
both use it without importing each other.
"""

from __future__ import annotations

import math
import re

_SIMPLE = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)?\s*$")
_COMPOUND = re.compile(r"^\s*(?:\d+(?:\.\d+)?(?:ms|h|m|s))+\s*$")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
EXAMPLES = "30s, 2m or 500ms"


def parse_duration(value: object) -> float:
    """Seconds from `30s`, `2m`, `500ms`, `1h`, `1m30s` or a plain number of seconds (>= 0).

    Negative, NaN and infinite numbers are refused: no schedule or bound means them.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like {EXAMPLES}, got {value!r}")
    if isinstance(value, int | float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError(f"expected a duration like {EXAMPLES}, got {value}")
        if value < 0:
            raise ValueError(f"expected a duration of 0 or more, got {value}")
        return float(value)
    if isinstance(value, str):
        simple = _SIMPLE.match(value)
        if simple:
            return float(simple.group(1)) * _UNIT_SECONDS[simple.group(2)]
        if _COMPOUND.match(value):
            return sum(float(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(value))
    shown = f'"{value}"' if isinstance(value, str) else repr(value)
    raise ValueError(f"expected a duration like {EXAMPLES}, got {shown}")


def is_duration(value: object) -> bool:
    """Whether parse_duration reads `value` (for syntax checks that only need yes or no)."""
    try:
        parse_duration(value)
    except ValueError:
        return False
    return True
