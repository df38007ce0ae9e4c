"""One named TCP proxy: its listener, its open connections and its toxics."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from harness.proxy.errors import TOXIC_EXISTS, TOXIC_NOT_FOUND, ApiError, bad_body
from harness.proxy.link import Connection
from harness.proxy.toxic_types import STREAMS
from harness.proxy.toxics import Toxic

log = logging.getLogger("harness.proxy")


def split_address(value: object, field: str, allow_port_zero: bool) -> tuple[str, int]:
    """`host:port` (or `[v6]:port`) as a pair, or a 400 naming the field."""
    if not isinstance(value, str) or ":" not in value:
        raise bad_body(f"{field} must be \"host:port\", got {value!r}")
    host, _, port_text = value.rpartition(":")
    host = host.strip("[]")
    try:
        port = int(port_text)
    except ValueError:
        raise bad_body(f"{field} has a bad port in {value!r}") from None
    if not (0 if allow_port_zero else 1) <= port <= 65535:
        raise bad_body(f"{field} port out of range in {value!r}")
    return host, port


def listen_address(listen: str) -> tuple[str, int]:
    """(host, port) to bind, or the real server's 500 for an address Go cannot listen on."""
    host, colon, port_text = listen.rpartition(":")
    if not colon:
        raise ApiError(f"listen tcp: address {listen}: missing port in address", 500)
    if not port_text.isdigit() or int(port_text) > 65535:
        raise ApiError(f"listen tcp: address {port_text}: invalid port", 500)
    return host.strip("[]"), int(port_text)


class Proxy:
    """Listens on `listen`, dials `upstream` for each client, runs toxics on the links."""

    def __init__(self, name: str, listen: str, upstream: str, reuse_port: bool = False) -> None:
        self.name = name
        self.reuse_port = reuse_port
        self.listen = listen
        self.upstream = upstream
        self.enabled = False
        self.toxics: dict[str, Toxic] = {}
        self.connections: dict[Connection, None] = {}  # in accept order: -seed repeats draws
        self.byte_counts = {stream: [0, 0] for stream in STREAMS}  # [received, sent], for /metrics
        self.server: asyncio.AbstractServer | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": [toxic.to_json() for toxic in self.toxic_list()],
        }

    def describe(self) -> str:
        return f"listen={self.listen} upstream={self.upstream} enabled={str(self.enabled).lower()}"

    # -- listener -------------------------------------------------------------------------
    async def start(self) -> None:
        """Bind and accept; a taken address is the real server's 500 `listen tcp ...` error."""
        if self.enabled:
            return
        host, port = listen_address(self.listen)
        if not host and not socket.has_dualstack_ipv6():
            host = "0.0.0.0"  # every interface on a host without IPv6, as Go does
        family = socket.AF_INET6 if ":" in host or not host else socket.AF_INET
        try:  # no host (`listen` left out): every interface, as the real server does
            sock = socket.create_server((host, port), family=family, backlog=1024, reuse_port=self.reuse_port,
                                        dualstack_ipv6=host in ("", "::") and socket.has_dualstack_ipv6())
        except OSError as exc:
            reason = (exc.strerror or str(exc)).lower()
            raise ApiError(f"listen tcp {self.listen}: bind: {reason}", 500) from None
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: Connection(self).client, sock=sock)
        bound_host, bound_port = sock.getsockname()[:2]
        self.listen = f"[{bound_host}]:{bound_port}" if family == socket.AF_INET6 else f"{bound_host}:{bound_port}"
        self.enabled = True

    def stop(self) -> None:
        """Close the listener (new clients are refused) and every open connection."""
        if self.server is not None:
            self.server.close()
            self.server = None
        for conn in list(self.connections):
            conn.abort()
        self.connections.clear()
        self.enabled = False

    def upstream_address(self) -> tuple[str, int]:
        """Where to dial; an upstream that is not `host:port` fails at dial time, as in Go."""
        try:
            return split_address(self.upstream, "upstream", allow_port_zero=False)
        except ApiError as exc:
            raise OSError(exc.message) from None

    async def same_listen(self, listen: str) -> bool:
        """Whether `listen` names the address this proxy is bound to (`localhost:P` does
        for 127.0.0.1:P): then an update or /populate keeps it running."""
        if listen == self.listen:
            return True
        try:
            host, port = split_address(listen, "listen", allow_port_zero=True)
            bound_host, bound_port = split_address(self.listen, "listen", allow_port_zero=True)
        except ApiError:
            return False
        if port == 0 or port != bound_port:
            return False
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host or None, port, type=socket.SOCK_STREAM)
        except OSError:
            return False
        return any(info[4][0] == bound_host for info in infos)

    def log_dial_failure(self, exc: BaseException) -> None:
        log.warning("proxy %s could not reach upstream %s: %s", self.name, self.upstream, exc)

    # -- toxics ---------------------------------------------------------------------------
    def toxic_list(self) -> list[Toxic]:
        return [t for stream in STREAMS for t in self.toxics_on(stream)]

    def toxics_on(self, stream: str) -> list[Toxic]:
        return sorted((t for t in self.toxics.values() if t.chain == stream), key=lambda t: t.seq)

    def get_toxic(self, name: str) -> Toxic:
        try:
            return self.toxics[name]
        except KeyError:
            raise ApiError(*TOXIC_NOT_FOUND) from None

    def add_toxic(self, toxic: Toxic) -> None:
        if toxic.name in self.toxics:
            raise ApiError(*TOXIC_EXISTS)
        self.toxics[toxic.name] = toxic
        for conn in self._ready_connections():
            conn.links[toxic.chain].add_toxic(toxic)

    def update_toxic(self, toxic: Toxic, toxicity: float, attributes: dict[str, int]) -> None:
        toxic.toxicity = toxicity
        toxic.attributes = attributes
        for conn in self._ready_connections():
            conn.links[toxic.chain].update_toxic(toxic)

    def remove_toxic(self, name: str) -> Toxic:
        toxic = self.get_toxic(name)
        del self.toxics[name]
        for conn in self._ready_connections():
            conn.links[toxic.chain].remove_toxic(toxic)
        return toxic

    def _ready_connections(self) -> list[Connection]:
        return [conn for conn in self.connections if conn.ready and not conn.closed]
