"""What a fault entry may be: the Toxiproxy toxics with their attributes, `down`, and actions."""

from __future__ import annotations

from harness.proxy.toxics import ATTRIBUTES

# Attributes each toxic takes, as (required, optional): the embedded proxy's own table, so
# the file is checked exactly as the proxy will check it. Real Toxiproxy reads a missing one
# as 0 (a latency toxic without `latency` does nothing); our proxy refuses it, and so do we,
# before the run.
TOXIC_ATTRIBUTES = ATTRIBUTES

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
