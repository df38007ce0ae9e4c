"""What each toxic does to the bytes of one link (one connection, one direction).

A link runs its stages one chunk at a time, in chain order: a stage takes a chunk and
hands zero or more chunks to `emit` (the rest of the chain), sleeping in between where
its toxic says so. A chunk is `(data, t_read)`; `data is None` is the end of the stream,
which reaches the end of the chain as "close the connection", as in the real server.

A stage is created when its toxic starts running on a link, and draws its toxicity
then: once per connection and direction. Removing the toxic interrupts the stage, which
then passes on what it holds at once (or closes the connection, for `timeout`).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from harness.proxy.toxics import Toxic


class Link(Protocol):
    """What a stage needs of its link (link.py): the loop, and ways to end the connection."""

    loop: asyncio.AbstractEventLoop

    def close_connection(self) -> None: ...

    def reset_connection(self) -> None: ...

Chunk = tuple[bytes | None, float]
Emit = Callable[[Chunk], Awaitable[None]]


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Stage:
    """Pass-through; also what a toxic does on a link where its toxicity draw came out false."""

    def __init__(self, toxic: Toxic, link: Link) -> None:
        self.toxic = toxic
        self.link = link
        self.seq = toxic.seq
        self.active = random.random() < toxic.toxicity
        self.removed = False
        self._waiter: asyncio.Future[None] | None = None

    @property
    def attrs(self) -> dict[str, int]:
        return self.toxic.attributes

    def start(self) -> None:
        """Called once the stage is in the link's chain (timers start here)."""

    async def handle(self, chunk: Chunk, emit: Emit) -> None:
        if self.active:
            await self.run(chunk, emit)
        else:
            await emit(chunk)

    async def run(self, chunk: Chunk, emit: Emit) -> None:
        await emit(chunk)

    async def sleep(self, seconds: float) -> None:
        """Sleep, unless the toxic is removed meanwhile: then return at once."""
        if seconds <= 0 or self.removed:
            return
        self._waiter = self.link.loop.create_future()
        timer = self.link.loop.call_later(seconds, _wake, self._waiter)
        try:
            await self._waiter
        finally:
            timer.cancel()
            self._waiter = None

    async def sleep_until(self, deadline: Callable[[], float]) -> None:
        """Sleep until time.monotonic() reaches `deadline()`, never less (loop timers round).

        The deadline is asked again after each wake-up, so an update of the toxic's
        attributes (which wakes us) applies to the chunk being held.
        """
        while not self.removed and (remaining := deadline() - time.monotonic()) > 0:
            await self.sleep(remaining)

    def remove(self) -> None:
        """The toxic was deleted: stop delaying; subclasses may close the connection."""
        self.removed = True
        if self._waiter is not None:
            _wake(self._waiter)
        self.stop()

    def update(self) -> None:
        """New attributes or toxicity: draw again, as the real server restarts the toxic."""
        self.active = random.random() < self.toxic.toxicity
        if self._waiter is not None:
            _wake(self._waiter)

    def stop(self) -> None:
        """The link is going away: cancel timers."""


class Latency(Stage):
    async def run(self, chunk: Chunk, emit: Emit) -> None:
        if chunk[0] is not None:
            jitter = random.uniform(-1, 1)  # drawn once per chunk, scaled by the current jitter
            await self.sleep_until(
                lambda: chunk[1] + (self.attrs["latency"] + jitter * self.attrs["jitter"]) / 1000
            )
        await emit(chunk)


class Bandwidth(Stage):
    """Caps throughput at `rate` KB/s (1 KB = 1000 bytes), in pieces of at most 100 ms.

    A rate of 0 or less holds the data until the toxic is removed or updated, as the
    real server's loop does (it sends empty pieces forever).
    """

    def __init__(self, toxic: Toxic, link: Link) -> None:
        super().__init__(toxic, link)
        self.next_free = 0.0

    async def run(self, chunk: Chunk, emit: Emit) -> None:
        data = chunk[0]
        if data is None:
            await emit(chunk)
            return
        while self.attrs["rate"] <= 0 and not self.removed:
            await self.sleep(0.1)  # woken early by an update or the removal
        rate = self.attrs["rate"] * 1000  # bytes per second
        if rate <= 0:
            await emit(chunk)
            return
        piece_size = max(rate // 10, 1)
        for start in range(0, len(data), piece_size):
            piece = data[start : start + piece_size]
            self.next_free = max(self.next_free, time.monotonic()) + len(piece) / rate
            await self.sleep_until(lambda: self.next_free)
            await emit((piece, chunk[1]))


class SlowClose(Stage):
    async def run(self, chunk: Chunk, emit: Emit) -> None:
        if chunk[0] is None:
            await self.sleep_until(lambda: chunk[1] + self.attrs["delay"] / 1000)
        await emit(chunk)


class Timeout(Stage):
    """Drops data; closes the connection after `timeout` ms without data (0: never)."""

    def __init__(self, toxic: Toxic, link: Link) -> None:
        super().__init__(toxic, link)
        self.timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self._arm()

    def _arm(self) -> None:
        self.stop()
        if self.active and self.attrs["timeout"] > 0:
            self.timer = self.link.loop.call_later(self.attrs["timeout"] / 1000, self.link.close_connection)

    async def run(self, chunk: Chunk, emit: Emit) -> None:
        if chunk[0] is None:
            await emit(chunk)
        else:
            self._arm()  # an idle timer: each chunk restarts it

    def update(self) -> None:
        super().update()
        self._arm()

    def remove(self) -> None:
        super().remove()
        # the real server closes every connection the toxic was on, also those whose
        # toxicity draw skipped it (they held nothing, but a client swapping servers must
        # see the same closes)
        self.link.close_connection()

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class ResetPeer(Stage):
    """After the first data, waits `timeout` ms and resets the connection (RST, SO_LINGER 0)."""

    def __init__(self, toxic: Toxic, link: Link) -> None:
        super().__init__(toxic, link)
        self.timer: asyncio.TimerHandle | None = None

    async def run(self, chunk: Chunk, emit: Emit) -> None:
        if self.timer is None:
            self.timer = self.link.loop.call_later(self.attrs["timeout"] / 1000, self.link.reset_connection)
        # data after the first chunk is dropped, as the real toxic stops reading

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()


class Slicer(Stage):
    """Cuts each chunk into pieces of average_size ± size_variation bytes, `delay` µs apart."""

    async def run(self, chunk: Chunk, emit: Emit) -> None:
        data = chunk[0]
        average, variation = self.attrs["average_size"], self.attrs["size_variation"]
        if data is None or average <= 0:
            await emit(chunk)
            return
        start = 0
        while start < len(data):
            if self.removed:
                await emit((data[start:], chunk[1]))
                return
            size = max(1, average + random.randint(-variation, variation))
            await emit((data[start : start + size], chunk[1]))
            start += size
            if start < len(data):
                await self.sleep(self.attrs["delay"] / 1_000_000)


class LimitData(Stage):
    """Lets `bytes` bytes through in this direction, then ends the stream (the connection closes).

    Checked when data arrives, as in the real server: `bytes: 0`, or a limit lowered below
    what already passed, ends the stream at the next chunk.
    """

    def __init__(self, toxic: Toxic, link: Link) -> None:
        super().__init__(toxic, link)
        self.passed = 0

    async def run(self, chunk: Chunk, emit: Emit) -> None:
        data = chunk[0]
        if data is None:
            await emit(chunk)
            return
        remaining = max(self.attrs["bytes"] - self.passed, 0)
        piece = data[:remaining]
        if piece:
            self.passed += len(piece)
            await emit((piece, chunk[1]))
        if self.passed >= self.attrs["bytes"]:  # also `bytes: 0`, or lowered below what passed
            await emit((None, chunk[1]))


STAGES: dict[str, type[Stage]] = {
    "latency": Latency,
    "bandwidth": Bandwidth,
    "slow_close": SlowClose,
    "timeout": Timeout,
    "reset_peer": ResetPeer,
    "slicer": Slicer,
    "limit_data": LimitData,
}


def make_stage(toxic: Toxic, link: Link) -> Stage:
    return STAGES[toxic.type](toxic, link)
