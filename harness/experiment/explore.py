"""The `explore:` block: which value of the experiment `stampede explore` searches, and how far.

Only the shape is checked here; whether `vary` names a value of this experiment, and whether
`from` and `to` are values that field can take, is checked by `harness.explore.setup`,
which tries them on the experiment itself.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from harness.durations import parse_duration

DEFAULT_MAX_PROBES = 12


def _number_or_duration(value: Any) -> Any:
    """`30s` -> 30.0 (for a fault's `for`); numbers pass as written, negative ones too, so the
    field itself says why it cannot take them."""
    if isinstance(value, str):
        return parse_duration(value)
    return value


Value = Annotated[float, BeforeValidator(_number_or_duration)]


class Require(BaseModel):
    """The margin a team asks for: below it, `stampede explore` exits 1."""

    model_config = ConfigDict(extra="forbid")
    min: Value


class ExploreSpec(BaseModel):
    """`vary` a path into the experiment from `from` to `to`, stopping at `resolution`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    vary: str = Field(min_length=1)
    from_: Value = Field(alias="from")
    to: Value
    resolution: Value = Field(gt=0)
    require: Require | None = None
    max_probes: int = Field(DEFAULT_MAX_PROBES, ge=3, le=60)
