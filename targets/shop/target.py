"""The shop as the embedded stack sees it: registered under the `stampede.targets` entry points."""

from __future__ import annotations

from harness.target_service import TargetService, python_module_command
from targets.shop.config import build_parser
from targets.shop.flaws import FLAWS

PROFILE_READ_BACK = """
SELECT w.id FROM unnest(%(ids)s::text[]) AS w(id)
JOIN users u ON u.id = split_part(w.id, ':', 1)::int
WHERE u.version >= split_part(w.id, ':', 2)::int
"""


def _environment(redis_url: str, database_url: str) -> dict[str, str]:
    return {"SHOP_REDIS_URL": redis_url, "SHOP_DATABASE_URL": database_url, "SHOP_FLAWS": ""}


SHOP = TargetService(
    name="shop",
    database="shop",
    command=python_module_command("targets.shop"),
    environment=_environment,
    flaws={str(flaw): flaw.description for flaw in FLAWS},
    option_parser=build_parser,
    writes={
        "order": "SELECT id::text FROM orders WHERE id::text = ANY(%(ids)s)",
        # "<user id>:<version>": the acknowledged profile version, or a later one, is stored
        "profile": PROFILE_READ_BACK,
    },
)
