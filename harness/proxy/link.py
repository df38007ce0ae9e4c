"""One proxied TCP connection: two sockets (sides) and two one-way links between them.

Speed matters here: with no toxic on a link, bytes go from one transport straight to
the other inside `data_received` (no task, no queue), and back-pressure is the
transports' own pause/resume. Only while a toxic is on a link do its bytes go through
an inbox and a pump task that runs the toxic stages (see `stages.py`); when the last
toxic goes and the inbox is empty the link falls back to the straight path.

Closing follows the real server: there is no half-close, but each direction drains.
When one side ends (EOF, reset, or a toxic such as limit_data ending the stream), that
link's end-of-stream runs through its toxics (slow_close waits there) and then closes the
socket it writes to; the other direction, whose source that socket was, then gets its
end-of-stream behind what its toxics still hold (a delayed reply is still delivered),
and closes the remaining socket. The connection is gone when both directions are done.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import struct
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from harness.proxy.stages import Chunk, Stage, make_stage
from harness.proxy.toxics import Toxic


class Proxy(Protocol):
    """What a connection needs of its proxy (proxy.py): where to dial, which toxics, a registry."""

    connections: dict[Connection, None]  # in accept order, so -seed draws repeat
    byte_counts: dict[str, list[int]]

    def upstream_address(self) -> tuple[str, int]: ...

    def toxics_on(self, stream: str) -> list[Toxic]: ...

    def log_dial_failure(self, exc: BaseException) -> None: ...

INBOX_HIGH = 1 << 20  # bytes held by a toxic link before we stop reading its source
INBOX_LOW = 1 << 18


class Side(asyncio.Protocol):
    """The protocol of one socket: the client's (accepted) or the upstream's (dialled)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        # set by connection_made; None only before it (checked where that can be)
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.outgoing: Link = None  # type: ignore[assignment]  # the link this side feeds (set by Link)
        self.incoming: Link = None  # type: ignore[assignment]  # the link that writes to this side
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.conn.side_made(self)

    def data_received(self, data: bytes) -> None:
        self.outgoing.feed(data)

    def eof_received(self) -> bool:
        self.outgoing.feed_eof()
        return True  # we decide when to close, once the other link is flushed

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.incoming is not None:
            self.incoming.dest_gone()
        if self.outgoing is not None:
            self.outgoing.feed_eof()  # nothing more comes from here; drain what is held
        self.conn.side_lost()

    def pause_writing(self) -> None:
        self.incoming.dest_paused(True)

    def resume_writing(self) -> None:
        self.incoming.dest_paused(False)


class Link:
    """Bytes one way (`upstream`: client to server, `downstream`: server to client)."""

    def __init__(self, conn: Connection, stream: str, source: Side, dest: Side) -> None:
        self.conn = conn
        self.stream = stream
        self.source = source
        self.dest = dest
        self.loop = conn.loop
        self.stages: list[Stage] = []
        self.inbox: deque[Chunk] = deque()
        self.inbox_bytes = 0
        self.pump: asyncio.Task[None] | None = None
        self.dest_blocked = False
        self.inbox_blocked = False
        self.counts = conn.proxy.byte_counts[stream]  # [received, sent] of the proxy, this direction
        self.ended = False  # the end of the stream was fed in
        self.done = False  # the end reached the dest socket, which is closed
        self.writable = asyncio.Event()
        self.writable.set()
        source.outgoing = self
        dest.incoming = self

    # -- toxics -----------------------------------------------------------------
    def add_toxic(self, toxic: Toxic) -> None:
        stage = make_stage(toxic, self)
        self.stages.append(stage)
        stage.start()

    def update_toxic(self, toxic: Toxic) -> None:
        for stage in self.stages:
            if stage.toxic is toxic:
                stage.update()

    def remove_toxic(self, toxic: Toxic) -> None:
        for stage in list(self.stages):
            if stage.toxic is toxic:
                self.stages.remove(stage)
                stage.remove()
        if self.inbox and self.pump is None:
            self._kick()

    # -- bytes in -----------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        counts = self.counts
        counts[0] += len(data)
        if not self.stages and self.pump is None and self.conn.ready:
            self.dest.transport.write(data)  # the fast path
            counts[1] += len(data)
            return
        self.inbox.append((data, time.monotonic()))
        self.inbox_bytes += len(data)
        if self.inbox_bytes >= INBOX_HIGH and not self.inbox_blocked:
            self.inbox_blocked = True
            self._update_reading()
        self._kick()

    def feed_eof(self) -> None:
        if self.ended or self.conn.closed:
            return
        self.ended = True
        if not self.conn.ready and self.conn.dial is None:
            self.conn.close()  # the upstream was never reached
            return
        if not self.stages and self.pump is None and self.conn.ready:
            self.finish()
            return
        self.inbox.append((None, time.monotonic()))
        self._kick()

    def finish(self) -> None:
        """The stream's end left the toxics: close the dest; the other direction drains next."""
        if self.done:
            return
        self.done = True
        self.ended = True
        source = self.source.transport
        if source is not None and not source.is_closing():
            source.pause_reading()  # whatever it still sends has nowhere to go
        transport = self.dest.transport
        if transport is not None and not transport.is_closing():
            transport.close()  # after the bytes already written are flushed
        other = self.conn.links["downstream" if self.stream == "upstream" else "upstream"]
        if other.done:
            self.conn.close()
        else:
            other.feed_eof()

    def dest_gone(self) -> None:
        """The socket this link writes to is gone: never wait for it to drain again."""
        self.dest_blocked = False
        self.writable.set()

    # -- back-pressure --------------------------------------------------------------
    def dest_paused(self, paused: bool) -> None:
        self.dest_blocked = paused
        if paused:
            self.writable.clear()
        else:
            self.writable.set()
        self._update_reading()

    def _update_reading(self) -> None:
        transport = self.source.transport
        if transport is None or transport.is_closing() or self.done:
            return
        if self.dest_blocked or self.inbox_blocked:
            transport.pause_reading()
        else:
            transport.resume_reading()

    # -- the toxic path ---------------------------------------------------------------
    def _kick(self) -> None:
        """Run the pump (if the connection is ready: before that the inbox just fills)."""
        if self.pump is None and self.conn.ready and not self.conn.closed and not self.done:
            self.pump = self.loop.create_task(self._run_pump())

    async def _run_pump(self) -> None:
        try:
            while self.inbox and not self.conn.closed and not self.done:
                chunk = self.inbox.popleft()
                self.inbox_bytes -= len(chunk[0] or b"")
                if self.inbox_blocked and self.inbox_bytes <= INBOX_LOW:
                    self.inbox_blocked = False
                    self._update_reading()
                await self._push(0, chunk)
        finally:
            self.pump = None
        if self.inbox and not self.conn.closed and not self.done:  # fed while we were finishing
            self._kick()

    async def _push(self, after_seq: int, chunk: Chunk) -> None:
        """Hand a chunk to the first stage after `after_seq`, or write it out."""
        if self.conn.closed:
            return
        for stage in self.stages:
            if stage.seq > after_seq:
                await stage.handle(chunk, functools.partial(self._push, stage.seq))
                return
        data = chunk[0]
        if data is None:
            self.finish()
            return
        if data and not self.dest.lost and not self.done:
            self.dest.transport.write(data)
            self.counts[1] += len(data)
        if self.dest_blocked:
            await self.writable.wait()

    def close_connection(self) -> None:
        self.conn.close()

    def reset_connection(self) -> None:
        self.conn.reset()

    def stop(self) -> None:
        for stage in self.stages:
            stage.stop()
        if self.pump is not None and self.pump is not asyncio.current_task():
            self.pump.cancel()


class Connection:
    """A client accepted by a proxy, and the upstream socket dialled for it."""

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.loop = asyncio.get_running_loop()
        self.client = Side(self)
        self.upstream = Side(self)
        self.links = {
            "upstream": Link(self, "upstream", self.client, self.upstream),
            "downstream": Link(self, "downstream", self.upstream, self.client),
        }
        self.closed = False
        self.ready = False  # upstream dialled and the toxics in place
        self.dial: asyncio.Task[None] | None = None

    def side_made(self, side: Side) -> None:
        if side is self.client:
            # until the upstream answers; call_soon because uvloop starts reading after this
            self.loop.call_soon(self._hold_client)
            self.proxy.connections[self] = None
            self.dial = self.loop.create_task(self._dial())

    def _hold_client(self) -> None:
        if not self.ready and not self.closed:
            self.client.transport.pause_reading()

    async def _dial(self) -> None:
        try:
            host, port = self.proxy.upstream_address()
            await self.loop.create_connection(lambda: self.upstream, host, port)
        except (TimeoutError, OSError) as exc:
            self.proxy.log_dial_failure(exc)
            self.close()  # accept, fail to dial, close: what the real server does
            return
        finally:
            self.dial = None
        if self.closed:
            self.upstream.transport.abort()
            return
        for stream, link in self.links.items():
            for toxic in self.proxy.toxics_on(stream):
                link.add_toxic(toxic)
        self.ready = True
        for link in self.links.values():
            if link.inbox:
                link._kick()
        self.client.transport.resume_reading()

    def close(self) -> None:
        """Close both sockets once their pending bytes are written; forget this connection."""
        self._end(lambda transport: transport.close())

    def abort(self) -> None:
        """Drop both sockets now, even ones still flushing (proxy disabled or deleted)."""
        self._end(lambda transport: None)
        for side in (self.client, self.upstream):
            if side.transport is not None and not side.lost:
                side.transport.abort()

    def reset(self) -> None:
        """Close both sockets with SO_LINGER 0, so each peer gets a TCP RST."""

        def rst(transport: asyncio.Transport) -> None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()

        self._end(rst)

    def _end(self, finish: Callable[[asyncio.Transport], None]) -> None:
        if self.closed:
            return
        self.closed = True
        if self.dial is not None:
            self.dial.cancel()
        for link in self.links.values():
            link.stop()
        for side in (self.client, self.upstream):
            if side.transport is not None and not side.transport.is_closing():
                finish(side.transport)
        self.side_lost()

    def side_lost(self) -> None:
        """Forget the connection once closed and every socket it opened is gone."""
        sides = [s for s in (self.client, self.upstream) if s.transport is not None]
        if self.closed and all(s.lost for s in sides):
            self.proxy.connections.pop(self, None)
