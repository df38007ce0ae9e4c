"""Verdict: what one invariant concluded about one run, in the words a CI log or a room reads."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.results.faults import FaultWindow


@dataclass
class Verdict:
    """passed, the measured value against its bound, and a one-line reason with the numbers."""

    invariant: str
    id: str
    window: str
    passed: bool
    measured: float | None
    bound: float | None
    unit: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        fields: dict[str, Any] = {k: data.get(k) for k in cls.__dataclass_fields__}
        return cls(**fields)

    def measured_text(self) -> str:
        return fmt(self.measured, self.unit)

    def bound_text(self) -> str:
        return fmt(self.bound, self.unit)


def fmt(value: float | None, unit: str = "") -> str:
    """A number as a person reads it: 12.4%, 1,234 requests, 312 ms, 4.0 s."""
    if value is None:
        return "-"
    if unit == "%":
        return f"{value:.1f}%" if value >= 0.1 or value == 0 else f"{value:.2f}%"
    if unit == "s":
        return f"{value:.1f} s"
    if float(value).is_integer() and abs(value) >= 1 or value == 0:
        text = f"{int(value):,}"
    elif abs(value) >= 100:
        text = f"{value:,.0f}"
    else:
        text = f"{value:.3g}" if abs(value) < 1 else f"{value:.1f}"
    return f"{text} {unit}".strip()


def heal_label(fault: FaultWindow) -> str:
    """The window of a judgement that runs from a fault's heal on: `after:x (heal at 45.0s)`."""
    return f"after:{fault.name} (heal at {fault.heal:.1f}s)"


def count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def outcome(passed: bool, measured: float | None, bound: float | None, unit: str,
            window: str, reason: str) -> Verdict:
    """A verdict before the registry names it (invariant and id are filled in by `judge`)."""
    return Verdict("", "", window, bool(passed), measured, bound, unit, reason)
