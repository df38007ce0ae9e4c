"""The suite file as pydantic models, and their errors as `field: what to write`.

Each experiment entry is validated on its own, so one bad entry never hides the problems
of the others; `validate` reports a model's errors and still returns the fields that were
fine, so the checks after it (file exists, experiment valid, flaws known) go on as far as
they can. Paths and lines are the suite loader's business (harness/suites.py).
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic_core import ErrorDetails

from harness.durations import parse_duration
from harness.problems import did_you_mean

Where = tuple[str | int, ...]
SchemaProblem = tuple[Where, str]
M = TypeVar("M", bound=BaseModel)


def _positive(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"expected a number > 0, got {value!r}")
    return float(value)


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _experiment_list(value: object) -> list[object]:
    if not isinstance(value, list) or not value:
        raise ValueError(MISSING["experiments"])
    return value


def _flaws(value: object) -> list[str]:
    """`flaws: x` is `flaws: [x]`; names are checked by the target service, not here."""
    return [str(f) for f in (value if isinstance(value, list) else [value])]


Positive = Annotated[float, BeforeValidator(_positive)]
Text = Annotated[str, BeforeValidator(_text)]
MISSING = {
    "experiments": "expected a list of experiment files (and pauses)",
    "file": "missing: the experiment file to run",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SuiteFile(_Strict):
    """The top of a suite file; each `experiments` item is checked on its own (RunEntry or
    PauseEntry), so one bad entry never hides another's problems."""

    name: Text = ""
    description: Text = ""
    time_scale: Positive | None = None
    experiments: Annotated[list[object], BeforeValidator(_experiment_list)]


class RunEntry(_Strict):
    """`- path.yaml`, `- {file: path.yaml, time_scale: 0.5, flaws: [...]}`, or
    `- {explore: path.yaml, ...}` (a margin search, harness/explore)."""

    file: str | None = None
    explore: str | None = None
    time_scale: Positive | None = None
    flaws: Annotated[list[str], BeforeValidator(_flaws)] | None = None


class PauseEntry(_Strict):
    """`- {pause: 2m, message: "..."}`: wait (Enter or the live view's button ends it early)."""

    pause: Annotated[float, BeforeValidator(parse_duration)]
    message: Text = ""


def validate(model: type[M], data: dict[str, object], here: Where = (),
             fields_word: str = "Valid fields") -> tuple[M | None, list[SchemaProblem]]:
    """The model of `data` and its problems; with problems, the model of the fields that were
    fine (None when a required one is missing or bad)."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        errors = exc.errors()
    problems = [_describe(model, error, here, fields_word) for error in errors]
    bad = {error["loc"][0] for error in errors if error["loc"]}
    try:
        return model.model_validate({k: v for k, v in data.items() if k not in bad}), problems
    except ValidationError:
        return None, problems


def _describe(model: type[BaseModel], error: ErrorDetails, here: Where,
              fields_word: str) -> SchemaProblem:
    key = str(error["loc"][0]) if error["loc"] else ""
    where = (*here, key) if key else here
    kind = error["type"]
    if kind == "extra_forbidden":
        valid = list(model.model_fields)
        return where, (f'unknown field "{key}"{did_you_mean(key, valid)} '
                       f"{fields_word}: {', '.join(valid)}")
    if kind == "missing":
        return where, MISSING.get(key, f"required field missing: add `{key}:`")
    if kind == "value_error":
        return where, error["msg"].removeprefix("Value error, ")
    message = error["msg"]
    return where, f"{message[0].lower()}{message[1:]}, got {error.get('input')!r}"
