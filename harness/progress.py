"""What a person watching a run sees: elapsed/total, phase, active faults, requests/s, errors.

On a terminal it is a rich Live line redrawn in place; in CI logs (not a TTY) it is
one plain line every few seconds, so the log stays readable.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.live import Live


@dataclass
class Status:
    elapsed: float = 0.0
    total: float = 0.0
    phase: str = "starting"
    active_faults: list[str] = field(default_factory=list)
    rps: float = 0.0
    error_rate: float = 0.0
    requests: int = 0

    def line(self) -> str:
        faults = ", ".join(self.active_faults) or "none"
        return (f"[{self.elapsed:6.1f}s / {self.total:.0f}s] phase {self.phase:<10} "
                f"faults: {faults:<24} {self.rps:7.0f} req/s  errors {self.error_rate:6.1%}  "
                f"total {self.requests:,}")


class Progress:
    """`update(status)` as often as you like; output is throttled."""

    def __init__(self, stream: IO[str] | None = None, interval: float = 5.0,
                 live: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.interval = interval
        self.live_mode = self.stream.isatty() if live is None else live
        self._live: Live | None = None
        self._last = 0.0

    def start(self) -> None:
        if self.live_mode:
            from rich.console import Console
            from rich.live import Live

            self._live = live = Live("", console=Console(file=self.stream),
                                     refresh_per_second=4, transient=False)
            live.start()

    def update(self, status: Status) -> None:
        if self._live is not None:
            self._live.update(status.line())
            return
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            print(status.line(), file=self.stream, flush=True)

    def message(self, text: str) -> None:
        """A line that must not be throttled (fault applied, halt)."""
        if self._live is not None:
            self._live.console.print(text)
        else:
            print(text, file=self.stream, flush=True)

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
