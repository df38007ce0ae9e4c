"""Running the fault proxy standalone: `stampede proxy` and `python -m harness.proxy`.

Like `toxiproxy-server`: serve the API on --host/--port, apply a /populate-style JSON
config at start, log each change on one line, stop cleanly on Ctrl-C or SIGTERM. A
config that does not parse or validate is reported with its file name before anything
starts, and the exit status is non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from pathlib import Path

from harness.proxy.errors import ApiError
from harness.proxy.registry import proxy_fields
from harness.proxy.server import ProxyServer

log = logging.getLogger("harness.proxy")


class ConfigError(Exception):
    """A config file we refuse to start with; the message names the file and the problem."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="API address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8474, help="API port (default 8474; 0 picks one)")
    parser.add_argument(
        "--config", type=Path, help="JSON array of proxies, as for POST /populate, created at start"
    )


def load_config(path: Path) -> list[dict]:
    """The proxies of a config file, every entry checked as /populate would check it."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        entries = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(entries, list):
        raise ConfigError(
            f"{path}: expected a JSON array of proxies like "
            '[{"name": "redis", "listen": "127.0.0.1:26379", "upstream": "127.0.0.1:6379"}]'
        )
    names = set()
    for number, entry in enumerate(entries, start=1):
        try:
            name = proxy_fields(entry, f" at proxy {number}")[0]
        except ApiError as exc:
            raise ConfigError(f"{path}: {exc.message}") from None
        if name in names:
            raise ConfigError(f"{path}: proxy {number}: duplicate name {name!r}; names must be unique")
        names.add(name)
    return entries


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


async def _serve(host: str, port: int, entries: list[dict]) -> int:
    server = ProxyServer(host, port)
    try:
        await server.start()
    except OSError as exc:
        print(f"stampede proxy: cannot serve the API on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    try:
        if entries:
            try:
                await server.populate(entries)
            except ApiError as exc:
                print(f"stampede proxy: config: {exc.message}", file=sys.stderr)
                return 1
            log.info("populated %d proxies from config", len(entries))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        log.info("stopping: closing every listener and connection")
        return 0
    finally:
        await server.close()


def main(host: str = "127.0.0.1", port: int = 8474, config: Path | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr, force=True
    )
    try:
        entries = load_config(config) if config else []
    except ConfigError as exc:
        print(f"stampede proxy: {exc}", file=sys.stderr)
        return 2
    raise_fd_limit()
    loop = new_event_loop()
    try:
        return loop.run_until_complete(_serve(host, port, entries))
    finally:
        loop.close()


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.proxy", description=__doc__.split("\n")[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    return main(args.host, args.port, args.config)
