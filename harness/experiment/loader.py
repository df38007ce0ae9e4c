"""Read an experiment file and turn every problem into `file:line: field: what to write`."""

from __future__ import annotations

import os
import re
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from harness.experiment.bounds import bound_problems, non_finite_problems, time_scale_problem
from harness.experiment.checks import check_experiment, fill_defaults
from harness.experiment.model import Experiment
from harness.experiment.target_options import target_option_problems
from harness.experiment.yamlmarks import line_of, load_marked
from harness.problems import Problem, did_you_mean


class ExperimentError(ValueError):
    """A bad experiment file; `problems` holds (line, field, message), all listed in the text.

    `elsewhere` holds problems of a second file read with it (the target file), as
    (file, line, field, message): a user fixes the file the message names.
    """

    def __init__(
        self,
        path: str | Path,
        problems: list[tuple[int, str, str]],
        elsewhere: list[tuple[str, int, str, str]] | None = None,
    ) -> None:
        self.path = str(path)
        self.problems = sorted(problems, key=lambda p: p[0])
        self.elsewhere = sorted(elsewhere or [], key=lambda p: (p[0], p[1]))
        located = [(self.path, *p) for p in self.problems] + self.elsewhere
        lines = [
            ":".join([file] + ([str(line)] if line else []))
            + (f": {field}: {message}" if field else f": {message}")
            for file, line, field, message in located
        ]
        if len(lines) > 1:
            lines.insert(0, f"{self.path}: {len(lines)} problems")
        super().__init__("\n".join(lines))


# What a target file may hold: the fields that describe where a run goes, not what it does.
TARGET_FILE_FIELDS = ("target", "proxies", "allowed_hosts")


def load_experiment(
    path: str | Path,
    time_scale: float | None = None,
    target_file: str | Path | None = None,
    overrides: dict[tuple[str | int, ...], Any] | None = None,
) -> Experiment:
    """Load, validate and time-scale an experiment file; raises ExperimentError naming each problem.

    With `target_file`, that file's `target`, `proxies` and `allowed_hosts` replace the
    experiment's own (all three, even the ones it leaves out), so one experiment file runs
    unchanged against the embedded stack, docker-compose or staging.

    `overrides` sets values as if the file said so (`("faults", 0, "for"): 12`), before any
    check: `stampede explore` runs each probe through the same checks as the file.
    """
    path = Path(path)
    data, marks, duplicates = _read_mapping(
        path, "expected a mapping of fields (name, load, faults, ...) at the top"
    )
    for where, value in (overrides or {}).items():
        _set_in(data, where, value)
    places = _Places(path, marks)
    problems = [(p, f'"{key}" is given twice; keep one') for p, _, key in duplicates]
    target_problems: list[Problem] = []
    if target_file is not None:
        target_path = Path(target_file)
        target_data, target_marks, target_dups = _read_mapping(
            target_path, "expected a mapping with `target:` (and `proxies:`, `allowed_hosts:`)"
        )
        places = _Places(path, marks, target_path, target_marks)
        target_data, unset = expand_env(target_data)
        target_problems = (
            [(p, f'"{key}" is given twice; keep one') for p, _, key in target_dups]
            + _target_file_fields(target_data)
            + [(p, f"environment variable {name} is not set; export {name}=... first "
                   "(secrets such as passwords stay out of the file)") for p, name in unset])
        problems = [p for p in problems if p[0][0] not in TARGET_FILE_FIELDS]
        data = {key: value for key, value in data.items() if key not in TARGET_FILE_FIELDS}
        data.update({key: target_data[key] for key in TARGET_FILE_FIELDS if key in target_data})
    experiment = None
    non_finite = non_finite_problems(data)  # NaN and infinities, said once for each place
    try:
        experiment = Experiment.model_validate(data)
    except ValidationError as exc:
        told = {place for place, _ in non_finite}
        problems += [p for p in (_describe(dict(e)) for e in exc.errors()) if p[0] not in told]
    # every problem of the target file at once: its own fields, then what validation found
    places.errors(target_problems, in_target_file=True, more=problems + non_finite)
    assert experiment is not None  # a failed validation always has errors, raised above

    places.errors(bound_problems(experiment))  # what follows assumes sane numbers
    fill_defaults(experiment, path.stem)
    proxies_hint = f"`proxies:` in {target_file}" if target_file is not None else "`proxies:`"
    problems = check_experiment(experiment, path.parent, proxies_hint=proxies_hint)
    problems += target_option_problems(experiment.target)
    places.errors(problems)
    scale = experiment.time_scale if time_scale is None else time_scale
    scale_problem = time_scale_problem(scale)
    if time_scale is not None and scale_problem:
        raise ExperimentError(path, [(0, "--time-scale", scale_problem)])
    experiment._source = path
    experiment._target_source = places.target_path
    return experiment.scaled(scale)


def _set_in(data: Any, where: tuple[str | int, ...], value: Any) -> None:
    """Set one value deep in the file's data; a missing last key is added, like a default."""
    for part in where[:-1]:
        data = data[part]
    data[where[-1]] = value


class _Places:
    """Which file and line a field path points at: target fields live in the target file."""

    def __init__(
        self,
        path: Path,
        marks: dict[tuple[str | int, ...], int],
        target_path: Path | None = None,
        target_marks: dict[tuple[str | int, ...], int] | None = None,
    ) -> None:
        self.path, self.marks = path, marks
        self.target_path, self.target_marks = target_path, target_marks or {}

    def errors(self, problems: list[Problem], in_target_file: bool = False,
               more: list[Problem] | None = None) -> None:
        """Raise one ExperimentError for all problems, if any (in the file each belongs to).

        `in_target_file`: `problems` are all the target file's; `more` are placed by path."""
        ours: list[tuple[int, str, str]] = []
        theirs: list[tuple[str, int, str, str]] = []
        placed = [(p, in_target_file) for p in problems] + [(p, False) for p in more or []]
        for (field_path, message), whole_file in placed:
            mine = bool(field_path) and field_path[0] in TARGET_FILE_FIELDS
            if self.target_path and (whole_file or mine):
                line = line_of(self.target_marks, field_path)
                theirs.append((str(self.target_path), line, format_path(field_path), message))
            else:
                ours.append((line_of(self.marks, field_path), format_path(field_path), message))
        if theirs and not ours:
            raise ExperimentError(theirs[0][0], [(line, f, m) for _, line, f, m in theirs])
        if ours or theirs:
            raise ExperimentError(self.path, ours, theirs)


def _read_mapping(path: Path, expected: str) -> tuple[dict[str, Any], dict[tuple[str | int, ...], int], list[Any]]:
    """Read a YAML file holding a mapping, with line marks; file and syntax errors name the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ExperimentError(path, [(0, "", f"cannot read the file: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError as exc:
        line = exc.object[:exc.start].count(b"\n") + 1
        raise ExperimentError(path, [(line, "", (
            f"not a UTF-8 text file (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
            "an experiment is a YAML text file"))]) from None
    try:
        data, marks, duplicates = load_marked(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ExperimentError(path, [(line, "", f"not valid YAML: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:  # a reader error: control characters, a binary file
        line = text[:getattr(exc, "position", 0) or 0].count("\n") + 1
        raise ExperimentError(path, [(line, "", f"not a YAML text file: {exc}")]) from None
    if not isinstance(data, dict):
        raise ExperimentError(path, [(1, "", expected)])
    return data, marks, duplicates


ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(value: Any, path: tuple[str | int, ...] = ()) -> tuple[Any, list[tuple[tuple[str | int, ...], str]]]:
    """Replace `${NAME}` in every string with the environment's value, so a target file can
    name a password without holding it; returns (value, [(path, unset name)])."""
    if isinstance(value, dict):
        out, unset = {}, []
        for key, item in value.items():
            out[key], more = expand_env(item, (*path, key))
            unset += more
        return out, unset
    if isinstance(value, list):
        pairs = [expand_env(item, (*path, index)) for index, item in enumerate(value)]
        return [v for v, _ in pairs], [u for _, more in pairs for u in more]
    if not isinstance(value, str):
        return value, []
    missing = [name for name in ENV_REFERENCE.findall(value) if name not in os.environ]
    if missing:
        return value, [(path, name) for name in missing]
    return ENV_REFERENCE.sub(lambda m: os.environ[m.group(1)], value), []


# Fields of `target:` that people put at the top of a target file.
UNDER_TARGET = ("signals", "writes", "metrics_url", "prometheus_url", "database_url",
                "redis_url", "ownership_field", "base_url", "toxiproxy_url")


def _target_file_fields(data: dict[str, Any]) -> list[Problem]:
    """A target file says where to run, never what to run: other fields are refused."""
    problems: list[Problem] = []
    for key in data:
        if key in TARGET_FILE_FIELDS:
            continue
        if key in UNDER_TARGET:
            fix = f"indent it under `target:` (target.{key})"
        else:
            fix = f"{did_you_mean(str(key), TARGET_FILE_FIELDS).rstrip('.')} (what the run " \
                  "does belongs in the experiment file)"
        problems.append(((str(key),), f'a target file holds only {", ".join(TARGET_FILE_FIELDS)}, '
                                      f'not "{key}": {fix}'.replace(": ;", ";")))
    if "target" not in data:
        problems.append(((), "required field missing: add `target:` (kind: external, base_url, ...)"))
    return problems


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
