"""Read an experiment file and turn every problem into `file:line: field: what to write`."""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from harness.experiment.checks import check_experiment, did_you_mean, fill_defaults
from harness.experiment.model import Experiment
from harness.experiment.yamlmarks import line_of, load_marked


class ExperimentError(ValueError):
    """A bad experiment file; `problems` holds (line, field, message), all listed in the text."""

    def __init__(self, path: str | Path, problems: list[tuple[int, str, str]]) -> None:
        self.path = str(path)
        self.problems = sorted(problems, key=lambda p: p[0])
        lines = [
            ":".join([self.path] + ([str(line)] if line else []))
            + (f": {field}: {message}" if field else f": {message}")
            for line, field, message in self.problems
        ]
        if len(lines) > 1:
            lines.insert(0, f"{self.path}: {len(lines)} problems")
        super().__init__("\n".join(lines))


def load_experiment(path: str | Path, time_scale: float | None = None) -> Experiment:
    """Load, validate and time-scale an experiment file; raises ExperimentError naming each problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ExperimentError(path, [(0, "", f"cannot read the file: {exc.strerror or exc}")]) from None
    try:
        data, marks, duplicates = load_marked(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ExperimentError(path, [(line, "", f"not valid YAML: {exc.problem or exc}")]) from None
    if not isinstance(data, dict):
        raise ExperimentError(
            path, [(1, "", "expected a mapping of fields (name, load, faults, ...) at the top")]
        )

    problems = [
        (line, format_path(p), f'"{key}" is given twice; keep one') for p, line, key in duplicates
    ]
    try:
        experiment = Experiment.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            field_path, message = _describe(error)
            problems.append((line_of(marks, field_path), format_path(field_path), message))
        raise ExperimentError(path, problems) from None
    if problems:
        raise ExperimentError(path, problems)

    fill_defaults(experiment, path.stem)
    found = check_experiment(experiment, path.parent)
    if found:
        raise ExperimentError(
            path, [(line_of(marks, p), format_path(p), message) for p, message in found]
        )
    scale = experiment.time_scale if time_scale is None else time_scale
    if not scale > 0:
        raise ExperimentError(path, [(0, "--time-scale", f"expected a number more than 0, got {scale}")])
    experiment._source = path
    return experiment.scaled(scale)


def format_path(path: tuple[str | int, ...]) -> str:
    """('faults', 1, 'for') -> 'faults[1].for'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _describe(error: dict[str, Any]) -> tuple[tuple[str | int, ...], str]:
    """A pydantic error as (path in the file, message a person can act on)."""
    path, model = _follow(error["loc"])
    kind, given = error["type"], error.get("input")
    if kind == "extra_forbidden":
        key = str(path[-1])
        valid = _field_names(model)
        return path, (
            f'unknown field "{key}"{did_you_mean(key, valid)} Valid fields: {", ".join(valid)}'
        )
    if kind == "missing":
        return path, f"required field missing: add `{path[-1]}:`"
    if kind == "value_error":
        return path, error["msg"].removeprefix("Value error, ")
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return path, f"expected {expected.replace(chr(39), '')}, got {_show(given)}"
    if kind == "union_tag_invalid":
        return (*path, "kind"), f"expected embedded or external, got {_show(error['ctx']['tag'])}"
    if kind == "string_pattern_mismatch":
        return path, f"expected letters, digits, '_', '.' or '-' only, got {_show(given)}"
    return path, f"{error['msg'][0].lower()}{error['msg'][1:]}, got {_show(given)}"


def _show(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _follow(loc: tuple[Any, ...]) -> tuple[tuple[str | int, ...], type[BaseModel] | None]:
    """Walk pydantic's loc through the models: drop union tags, return the path and the model
    that holds the last element (for listing valid field names)."""
    annotation: Any = Experiment
    path: list[str | int] = []
    holder: type[BaseModel] | None = None
    for part in loc:
        annotation = _unwrap(annotation)
        members = _union_members(annotation)
        if members and isinstance(part, str):
            chosen = next((m for m in members if _kind_of(m) == part), None)
            if chosen is not None:
                annotation = chosen
                continue
        path.append(part)
        origin = typing.get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            holder = annotation
            field = next(
                (f for n, f in annotation.model_fields.items() if part in (n, f.alias)), None
            )
            annotation = field.annotation if field else None
        elif origin is list:
            holder, annotation = None, typing.get_args(annotation)[0]
        elif origin is dict:
            holder, annotation = None, typing.get_args(annotation)[1]
        else:
            holder, annotation = None, None
    return tuple(path), holder


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    members = _union_members(annotation)
    if members:
        real = [m for m in members if m is not type(None)]
        if len(real) == 1:
            return _unwrap(real[0])
    return annotation


def _union_members(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return tuple(_unwrap_annotated(a) for a in typing.get_args(annotation))
    return ()


def _unwrap_annotated(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _kind_of(model: Any) -> str | None:
    if isinstance(model, type) and issubclass(model, BaseModel) and "kind" in model.model_fields:
        args = typing.get_args(model.model_fields["kind"].annotation)
        return args[0] if args else None
    return None


def _field_names(model: type[BaseModel] | None) -> list[str]:
    if model is None:
        return []
    return [f.alias or n for n, f in model.model_fields.items()]
