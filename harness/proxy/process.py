"""Set-up shared by the API process and the worker processes, with no HTTP imports (a
worker never loads aiohttp): the event loop, the file-descriptor limit, log levels."""

from __future__ import annotations

import asyncio
import logging


def raise_fd_limit() -> None:
    """Allow as many sockets as the hard limit permits (each client costs two), as Go does."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, ValueError, OSError):
        pass


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (about twice the forwarding rate), else the stock loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


LOG_LEVELS = {"trace": logging.DEBUG, "debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
              "warning": logging.WARNING, "error": logging.ERROR, "fatal": logging.CRITICAL}
