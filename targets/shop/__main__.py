"""`python -m targets.shop ...`: parse settings, then run one uvicorn worker with uvloop and httptools."""

from __future__ import annotations

import copy
import logging
import sys

import uvicorn
from uvicorn.config import LOGGING_CONFIG

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
    log_config = copy.deepcopy(LOGGING_CONFIG)
    log_config["handlers"]["access"]["stream"] = "ext://sys.stderr"  # every log line on stderr
    uvicorn.run(app, host=settings.host, port=settings.port, loop="uvloop", http="httptools",
                workers=1, access_log=settings.access_log, log_level="info", log_config=log_config,
                timeout_graceful_shutdown=3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
