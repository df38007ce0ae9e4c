"""What a fault entry may be: the Toxiproxy toxics with their attributes, `down`, and actions."""

from __future__ import annotations

# Attributes each toxic takes (TOXIPROXY_API.md), as (required, optional); all are
# non-negative integers. Real Toxiproxy reads a missing one as 0 (a latency toxic without
# `latency` does nothing); our embedded proxy refuses it, and so do we, before the run.
TOXIC_ATTRIBUTES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "latency": (("latency",), ("jitter",)),
    "bandwidth": (("rate",), ()),
    "slow_close": (("delay",), ()),
    "timeout": (("timeout",), ()),
    "reset_peer": (("timeout",), ()),
    "slicer": (("average_size",), ("size_variation", "delay")),
    "limit_data": (("bytes",), ()),
}

# `down` is not a toxic: it is the proxy's `enabled: false`.
DOWN = "down"

# Non-network actions on the real Redis; instant (end == start). Value: (required, optional) attributes.
ACTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "flush_cache": ((), ()),
    "restart_redis": ((), ()),
    "set_maxmemory": (("maxmemory",), ("policy",)),
    "expire_key": (("key",), ()),
}

MAXMEMORY_POLICIES = (
    "noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
    "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
)

FAULT_TYPES = (*TOXIC_ATTRIBUTES, DOWN, *ACTIONS)
