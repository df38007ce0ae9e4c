"""Fixed log-spaced latency buckets: mergeable by adding counts, percentiles within ~6%.

Bucket i holds latencies in (upper_ms(i-1), upper_ms(i)]; 40 buckets a decade from 10 µs.
Writers (the Locust recorder) and readers (RunResult) share this one definition.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

# bucket index -> count; JSON gives the indices as strings, our own dicts as ints
AnyHistogram = Mapping[int, int] | Mapping[str, int]

FLOOR_MS = 0.01
BUCKETS_PER_DECADE = 40


def bucket_of(latency_ms: float) -> int:
    if latency_ms <= FLOOR_MS:
        return 0
    return math.ceil(math.log10(latency_ms / FLOOR_MS) * BUCKETS_PER_DECADE - 1e-9)


def upper_ms(index: int) -> float:
    return FLOOR_MS * 10 ** (index / BUCKETS_PER_DECADE)


def merge(into: dict[int, int], other: AnyHistogram) -> dict[int, int]:
    """Add other's counts into `into` (keys may be str, as they come back from JSON)."""
    for key, count in other.items():
        index = int(key)
        into[index] = into.get(index, 0) + count
    return into


def merged(histograms: Iterable[AnyHistogram]) -> dict[int, int]:
    total: dict[int, int] = {}
    for hist in histograms:
        merge(total, hist)
    return total


def percentile(hist: AnyHistogram, q: float) -> float | None:
    """Latency in ms at quantile q (0..1): the upper edge of the bucket holding it; None if empty."""
    items = sorted((int(k), v) for k, v in hist.items() if v)
    total = sum(v for _, v in items)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for index, count in items:
        seen += count
        if seen >= rank:
            return upper_ms(index)
    return upper_ms(items[-1][0])
