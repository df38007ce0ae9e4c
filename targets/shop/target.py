"""The shop as the embedded stack sees it: registered under the `stampede.targets` entry points."""

from __future__ import annotations

import argparse

from harness.stack.target_service import TargetService, python_module_command
from targets.shop.config import build_parser
from targets.shop.flaws import FLAWS

# set by the stack itself: never a target option (the bind address stays loopback)
STACK_OWNED = {"host", "port", "redis_url", "database_url", "flaw", "help"}


def _options() -> dict[str, type]:
    """Every command-line option of the shop the stack does not set itself, with its type."""
    options: dict[str, type] = {}
    for action in build_parser()._actions:
        if action.dest in STACK_OWNED:
            continue
        if isinstance(action, argparse._StoreTrueAction):
            options[action.dest] = bool
        else:
            options[action.dest] = action.type or str
    return options


def _environment(redis_url: str, database_url: str) -> dict[str, str]:
    return {"SHOP_REDIS_URL": redis_url, "SHOP_DATABASE_URL": database_url, "SHOP_FLAWS": ""}


SHOP = TargetService(
    name="shop",
    database="shop",
    command=python_module_command("targets.shop"),
    environment=_environment,
    flaws={str(flaw): flaw.description for flaw in FLAWS},
    options=_options(),
    writes={"order": "SELECT id::text FROM orders WHERE id::text = ANY(%(ids)s)"},
)
