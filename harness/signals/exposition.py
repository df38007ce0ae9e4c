"""Prometheus text exposition read as the service wrote it: names exactly as exposed.

prometheus_client's parser renames what it reads (a counter `circuit` comes back as
`circuit_total`), so a selector written against the service's /metrics would miss it.
This reader keeps every sample line's own name and labels and skips comments.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


@dataclass(frozen=True)
class Sample:
    name: str
    labels: tuple[tuple[str, str], ...]
    value: float

    def label_dict(self) -> dict[str, str]:
        return dict(self.labels)


class ExpositionError(ValueError):
    """A line that is not Prometheus text format; the message gives the line number."""


def parse_exposition(text: str) -> list[Sample]:
    """Every sample line of a /metrics body (text format 0.0.4 or OpenMetrics), in order."""
    samples: list[Sample] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            samples.append(_parse_line(line))
        except (ValueError, IndexError) as exc:
            raise ExpositionError(f"line {number}: {exc}: {raw[:120]!r}") from None
    return samples


def _parse_line(line: str) -> Sample:
    match = _NAME.match(line)
    if not match:
        raise ValueError("no metric name")
    name, pos = match.group(0), match.end()
    labels: list[tuple[str, str]] = []
    if pos < len(line) and line[pos] == "{":
        pos += 1
        while True:
            while line[pos] in " ,":
                pos += 1
            if line[pos] == "}":
                pos += 1
                break
            lmatch = _LABEL_NAME.match(line, pos)
            if not lmatch:
                raise ValueError("bad label name")
            pos = lmatch.end()
            while line[pos] == " ":
                pos += 1
            if line[pos] != "=":
                raise ValueError('expected "=" after a label name')
            pos += 1
            while line[pos] == " ":
                pos += 1
            if line[pos] != '"':
                raise ValueError("expected a quoted label value")
            value, pos = _quoted(line, pos + 1)
            labels.append((lmatch.group(0), value))
    rest = line[pos:].split()
    if not rest:
        raise ValueError("no value")
    return Sample(name, tuple(labels), _number(rest[0]))


def _quoted(line: str, pos: int) -> tuple[str, int]:
    out: list[str] = []
    while line[pos] != '"':
        if line[pos] == "\\":
            out.append(_ESCAPES.get(line[pos + 1], "\\" + line[pos + 1]))
            pos += 2
        else:
            out.append(line[pos])
            pos += 1
    return "".join(out), pos + 1


def _number(text: str) -> float:
    lowered = text.lower()
    if lowered in ("+inf", "inf"):
        return math.inf
    if lowered == "-inf":
        return -math.inf
    return float(text)
