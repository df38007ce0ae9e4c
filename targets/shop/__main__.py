"""`python -m targets.shop ...`: parse settings, then run one uvicorn worker with uvloop and httptools."""

from __future__ import annotations

import logging
import sys

import uvicorn

from targets.shop.app import create_app
from targets.shop.config import parse_settings
from targets.shop.db import DatabaseSetupError, prepare_database


def main(argv: list[str] | None = None) -> int:
    settings = parse_settings(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        prepare_database(settings)
    except DatabaseSetupError as exc:
        logging.getLogger("targets.shop").error("cannot start: %s", exc)
        return 1
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, loop="uvloop", http="httptools",
                workers=1, access_log=settings.access_log, log_level="info",
                timeout_graceful_shutdown=3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
