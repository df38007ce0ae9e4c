"""Toxic definitions as the API sees them: names, types, streams, attributes and their checks.

What a toxic does to the bytes of one link lives in `stages.py`; this module only
holds what is stored, listed and validated, so the API can reject bad input before
anything changes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from harness.proxy.errors import INVALID_STREAM, INVALID_TOXIC_TYPE, ApiError, bad_body
from harness.proxy.toxic_types import ATTRIBUTES, STREAMS

_order = itertools.count(1)


@dataclass
class Toxic:
    """One toxic on one proxy; `seq` orders it in its stream's chain (new ones go last)."""

    name: str
    type: str
    stream: str
    toxicity: float
    attributes: dict[str, int]
    seq: int = field(default_factory=lambda: next(_order))

    @property
    def chain(self) -> str:
        """The link it runs on: `stream`, read case-insensitively as the real server does."""
        return self.stream.lower()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": self.toxicity,
            "attributes": dict(self.attributes),
        }

    def describe(self) -> str:
        attrs = " ".join(f"{key}={value}" for key, value in self.attributes.items())
        return f"type={self.type} stream={self.stream} toxicity={self.toxicity:g} {attrs}".rstrip()


def _toxicity(value: object) -> float:
    """Any number, as the real server takes it: above 1 always applies, 0 or below never."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_body(f"toxicity must be a number, got {value!r}")
    return float(value)


def check_attributes(toxic_type: str, given: object, base: dict[str, int] | None = None) -> dict[str, int]:
    """`given` merged over `base` (or over zeros): the toxic's attributes as the real server
    decodes them. A missing one is 0, an unknown one is ignored, a negative one is kept; a
    value that is not an integer is a 400. (Experiment files are checked more strictly,
    in harness.experiment.)"""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise bad_body("attributes must be a JSON object")
    required, optional = ATTRIBUTES[toxic_type]
    names = required + optional
    merged = {key: 0 for key in names}
    merged.update(base or {})
    for key, value in given.items():
        if key not in names:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad_body(f"attribute {key!r} of {toxic_type} must be an integer, got {value!r}")
        merged[key] = value
    return merged


def parse_toxic(body: object) -> Toxic:
    """A new toxic from a POST body, checked in the real server's order (stream, type, attributes)."""
    if not isinstance(body, dict):
        raise bad_body("expected a JSON object")
    stream = body.get("stream") or "downstream"
    if not isinstance(stream, str) or stream.lower() not in STREAMS:
        raise ApiError(*INVALID_STREAM)
    toxic_type = body.get("type", "")
    if not isinstance(toxic_type, str):
        raise bad_body("type must be a string")
    name = body.get("name") or f"{toxic_type}_{stream.lower()}"
    if not isinstance(name, str):
        raise bad_body("name must be a string")
    if toxic_type not in ATTRIBUTES:
        raise ApiError(*INVALID_TOXIC_TYPE)
    toxicity = _toxicity(body.get("toxicity", 1.0))
    attributes = check_attributes(toxic_type, body.get("attributes"))
    return Toxic(name=name, type=toxic_type, stream=stream, toxicity=toxicity, attributes=attributes)


def parse_update(toxic: Toxic, body: object) -> tuple[float, dict[str, int]]:
    """New (toxicity, attributes) for an update; name, type and stream never change."""
    if not isinstance(body, dict):
        raise bad_body("expected a JSON object")
    toxicity = _toxicity(body.get("toxicity", toxic.toxicity))
    attributes = check_attributes(toxic.type, body.get("attributes"), base=toxic.attributes)
    return toxicity, attributes
