"""The shared latency histogram: bucketing, merging and percentiles."""

from harness.histogram import bucket_of, merged, percentile, upper_ms


def test_bucket_bounds_contain_the_latency():
    for ms in (0.011, 0.5, 1.0, 3.7, 49.9, 50.0, 1234.5, 60_000.0):
        index = bucket_of(ms)
        assert upper_ms(index - 1) < ms <= upper_ms(index) * 1.0000001


def test_percentile_is_within_bucket_resolution():
    hist: dict[int, int] = {}
    for ms in range(1, 1001):  # 1..1000 ms, uniform
        hist[bucket_of(ms)] = hist.get(bucket_of(ms), 0) + 1
    p50 = percentile(hist, 0.50)
    p99 = percentile(hist, 0.99)
    assert 500 <= p50 <= 500 * 1.06
    assert 990 <= p99 <= 990 * 1.06


def test_merge_adds_counts_and_accepts_json_keys():
    total = merged([{"3": 2}, {3: 1, 5: 4}])
    assert total == {3: 3, 5: 4}


def test_percentile_of_empty_histogram_is_none():
    assert percentile({}, 0.99) is None
