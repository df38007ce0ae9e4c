"""The shop as the embedded stack sees it: registered under the `stampede.targets` entry points."""

from __future__ import annotations

from harness.stack.target_service import TargetService, python_module_command
from targets.shop.config import build_parser
from targets.shop.flaws import FLAWS


def _environment(redis_url: str, database_url: str) -> dict[str, str]:
    return {"SHOP_REDIS_URL": redis_url, "SHOP_DATABASE_URL": database_url, "SHOP_FLAWS": ""}


SHOP = TargetService(
    name="shop",
    database="shop",
    command=python_module_command("targets.shop"),
    environment=_environment,
    flaws={str(flaw): flaw.description for flaw in FLAWS},
    option_parser=build_parser,
    writes={"order": "SELECT id::text FROM orders WHERE id::text = ANY(%(ids)s)"},
)
