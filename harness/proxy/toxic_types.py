"""The toxic types and the attributes each takes: a table with no imports, so that checking
an experiment file (harness.experiment) reads it without loading the proxy's server."""

from __future__ import annotations

STREAMS = ("upstream", "downstream")  # the real server lists upstream toxics first

# type -> (required attributes, optional attributes defaulting to 0); all integers.
# The API reads a missing one as 0, as the real server does; experiment files must name
# the required ones (a latency fault without `latency` is a broken experiment).
ATTRIBUTES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "latency": (("latency",), ("jitter",)),
    "bandwidth": (("rate",), ()),
    "slow_close": (("delay",), ()),
    "timeout": (("timeout",), ()),
    "reset_peer": (("timeout",), ()),
    "slicer": (("average_size",), ("size_variation", "delay")),
    "limit_data": (("bytes",), ()),
}
