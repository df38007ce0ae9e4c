"""What a fault entry may be: the Toxiproxy toxics with their attributes, `down`, and actions."""

from __future__ import annotations

from harness.proxy.toxic_types import ATTRIBUTES

# Attributes each toxic takes, as (required, optional): the proxy's own table (a module with
# no imports, so checking a file loads no HTTP server). Toxiproxy, real or ours, reads a
# missing attribute as 0 and ignores unknown ones (a latency toxic without `latency` does
# nothing); an experiment file is stricter: a missing required attribute, an unknown one or a
# negative value is refused before the run.
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
