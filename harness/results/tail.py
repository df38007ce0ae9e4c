"""Reading JSON-lines files while another process appends to them.

The orchestrator (halts, progress, lost workers) and the live view read files the
Locust master is still writing. A reader takes only complete lines: a line being
written waits for the next read, never decoded half done. Finished runs are read
whole by harness.results.jsonl instead.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from harness.results.records import RequestRecord, SecondTotals


class Tail:
    """The complete lines appended to a file since the previous read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0  # bytes consumed: always just after a newline

    def read(self) -> bytes:
        """New complete lines, newlines included; b"" while the file does not exist."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return b""
        end = data.rfind(b"\n") + 1
        self.offset += end
        return data[:end]

    def lines(self) -> list[bytes]:
        return self.read().split(b"\n")[:-1]


def complete_lines(path: Path) -> list[bytes]:
    """The complete lines of a file being appended to (a torn last line left out)."""
    return Tail(path).lines()


_REQUEST = msgspec.json.Decoder(RequestRecord)


class RequestTail:
    """requests.jsonl as the master appends it: per-second totals for halts and progress."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tail = Tail(path)
        self.seconds: dict[int, SecondTotals] = {}  # run second -> all endpoints' totals
        self.requests = 0
        self.failures = 0

    def poll(self) -> None:
        for line in self._tail.lines():
            rec = _REQUEST.decode(line)
            failed = rec.failed
            sec = self.seconds.setdefault(int(rec.t), SecondTotals())
            sec.count += rec.count
            sec.failures += failed
            for bucket, n in rec.hist.items():
                sec.hist[bucket] = sec.hist.get(bucket, 0) + n
            self.requests += rec.count
            self.failures += failed

    def last_second(self) -> tuple[int, int, int] | None:
        """(t, requests, failures) of the latest second seen, or None before the first."""
        if not self.seconds:
            return None
        t = max(self.seconds)
        return t, self.seconds[t].count, self.seconds[t].failures


class LineCount:
    """Complete lines appended to a file so far, read incrementally (violations.jsonl)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tail = Tail(path)
        self.lines = 0

    def poll(self) -> int:
        self.lines += self._tail.read().count(b"\n")
        return self.lines
