"""A worker process of the fault proxy: more event loops for the data path (`-workers N`).

The API process owns the proxies; a worker mirrors them. Its listeners share each proxy's
port with the API process and the other workers (SO_REUSEPORT: the kernel hands each new
connection to one of them), so the forwarding of N connections spreads over N cores. The
API process writes the whole state (proxies with their toxics) as one JSON line on the
worker's stdin after every change and waits for the reply line on its stdout before it
answers the API call, so a change is in force everywhere when the client hears back.
Each connection draws its toxicity where it lives. EOF on stdin ends the worker.

Requests: `{"op": "state", "proxies": [...]}` -> `{"ok": true}` or `{"error": "..."}`;
`{"op": "counts"}` -> `{"counts": {proxy: {direction: [received, sent]}}}`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import signal
import sys
from collections.abc import Callable
from typing import Any

from harness.proxy.errors import ApiError
from harness.proxy.proxy import Proxy
from harness.proxy.registry import Registry
from harness.proxy.toxics import Toxic

log = logging.getLogger("harness.proxy")


async def apply_state(registry: Registry, proxies: list[dict[str, Any]]) -> list[str]:
    """Make `registry` match the API process's state; returns the problems (bind failures)."""
    problems = []
    wanted = {spec["name"]: spec for spec in proxies}
    for name in [name for name in registry.proxies if name not in wanted]:
        registry.proxies.pop(name).stop()
    for name, spec in wanted.items():
        proxy = registry.proxies.get(name)
        if proxy is not None and (proxy.listen, proxy.upstream) != (spec["listen"], spec["upstream"]):
            proxy.stop()
            proxy = None
        if proxy is None:
            proxy = registry.proxies[name] = Proxy(name, spec["listen"], spec["upstream"], reuse_port=True)
        _apply_toxics(proxy, spec["toxics"])
        try:
            if spec["enabled"] and not proxy.enabled:
                await proxy.start()
            elif not spec["enabled"] and proxy.enabled:
                proxy.stop()
        except ApiError as exc:
            problems.append(f"{name}: {exc.message}")
    return problems


def _apply_toxics(proxy: Proxy, toxics: list[dict[str, Any]]) -> None:
    wanted = {spec["name"]: spec for spec in toxics}
    for toxic in list(proxy.toxics.values()):
        spec = wanted.get(toxic.name)
        if spec is None or spec["seq"] != toxic.seq:  # gone, or removed and added again
            proxy.remove_toxic(toxic.name)
    for spec in toxics:  # in chain order
        have = proxy.toxics.get(spec["name"])
        if have is None:
            proxy.add_toxic(Toxic(spec["name"], spec["type"], spec["stream"], spec["toxicity"],
                                  dict(spec["attributes"]), seq=spec["seq"]))
        elif (have.toxicity, have.attributes) != (spec["toxicity"], spec["attributes"]):
            proxy.update_toxic(have, spec["toxicity"], dict(spec["attributes"]))


async def serve(reader: asyncio.StreamReader, write: Callable[[bytes], object]) -> None:
    registry = Registry(reuse_port=True)
    try:
        while line := await reader.readline():
            request = json.loads(line)
            if request["op"] == "state":
                problems = await apply_state(registry, request["proxies"])
                reply: dict[str, Any] = {"error": "; ".join(problems)} if problems else {"ok": True}
            elif request["op"] == "counts":
                reply = {"counts": await registry.byte_counts()}
            else:
                reply = {"error": f"unknown op {request['op']!r}"}
            write(json.dumps(reply).encode() + b"\n")
    except (BrokenPipeError, ConnectionError):
        pass  # the API process is gone: so are we
    finally:
        registry.stop_all()


def main() -> int:
    from harness.proxy.process import LOG_LEVELS, new_event_loop, raise_fd_limit

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the API process decides when we stop
    if len(sys.argv) > 1:
        random.seed(int(sys.argv[1]))  # -seed of the API process, plus this worker's number
    level = LOG_LEVELS.get(os.environ.get("LOG_LEVEL", "info").lower(), logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s worker %(process)d %(message)s", stream=sys.stderr)
    raise_fd_limit()
    loop = new_event_loop()
    asyncio.set_event_loop(loop)

    async def run() -> None:
        reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        out = os.fdopen(sys.stdout.fileno(), "wb", buffering=0, closefd=False)
        await serve(reader, out.write)

    try:
        loop.run_until_complete(run())
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
