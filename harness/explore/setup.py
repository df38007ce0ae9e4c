"""The explore block checked against its experiment, and the experiment of each probe.

A probe's experiment is the file with one value changed, loaded through the same checks as
the file itself (`load_experiment(overrides=...)`): a value the field cannot take is
refused the way a typo in the file would be, and `from`, `to` and the first grid step are
tried before anything starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from harness.experiment import ExperimentError, format_path, load_experiment
from harness.experiment.explore import ExploreSpec
from harness.experiment.flaws import set_flaws
from harness.experiment.model import EmbeddedTarget, Experiment
from harness.experiment.yamlmarks import line_of, load_marked

Where = tuple[str | int, ...]
DURATION_FIELDS = ("for", "at", "until", "duration", "from", "to")
ATTRIBUTE_UNITS = {"latency": "ms", "jitter": "ms", "timeout": "ms", "delay": "ms",
                   "rate": "KB/s", "bytes": "bytes", "average_size": "bytes"}
FIXED = ("target", "proxies", "allowed_hosts", "explore", "name", "time_scale")


@dataclass
class Explore:
    """What `stampede explore` searches: the file, its block, and where the value lives."""

    path: Path
    spec: ExploreSpec
    experiment: Experiment  # as written, time-scaled: names the search and its invariants
    where: Where  # the varied value's place in the file's data (faults by index)
    label: str  # how the margin line names it: "redis-latency latency"
    unit: str  # "ms", "s", "users", ...
    time_scale: float | None = None
    flaws: list[str] | None = None

    @property
    def name(self) -> str:
        return self.experiment.name or self.path.stem

    def experiment_at(self, value: float) -> Experiment:
        """The experiment with the varied value set (ExperimentError when it cannot take it)."""
        exact: float | int = int(value) if float(value).is_integer() else value
        experiment = load_experiment(self.path, time_scale=self.time_scale,
                                     overrides={self.where: exact})
        if self.flaws is not None:
            set_flaws(experiment, self.flaws, self.path)
        return experiment

    def show(self, value: float | None) -> str:
        """A value as the margin line writes it: `450 ms`, `12.5 s`, `40 users`."""
        if value is None:
            return "-"
        text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3g}"
        return f"{text} {self.unit}".rstrip() if self.unit != "s" else f"{value:g} s"


def load_explore(path: str | Path, time_scale: float | None = None,
                 flaws: list[str] | None = None) -> Explore:
    """The explore file checked whole; ExperimentError names file, line and field of each problem."""
    path = Path(path)
    experiment = load_experiment(path, time_scale=time_scale)
    data, marks, _ = load_marked(path.read_text(encoding="utf-8"))

    def refuse(field: str, message: str) -> ExperimentError:
        return ExperimentError(path, [(line_of(marks, ("explore", field)), f"explore.{field}",
                                       message)])

    spec = experiment.explore
    if spec is None:
        raise ExperimentError(path, [(1, "explore", "no `explore:` block: add one with "
                                      "vary, from, to and resolution (docs/explore.md)")])
    if not isinstance(experiment.target, EmbeddedTarget):
        raise ExperimentError(path, [(line_of(marks, ("target",)), "target",
                                      "stampede explore needs the embedded target: it resets "
                                      "the cache, the proxy and the database between probes")])
    try:
        where, holder = resolve(experiment, spec.vary)
    except LookupError as exc:
        raise refuse("vary", str(exc)) from None
    if spec.to <= spec.from_:
        raise refuse("to", f"expected a value above `from` ({spec.from_:g}), got {spec.to:g}: the "
                           "search assumes larger values are harsher and that `from` passes")
    if spec.resolution > spec.to - spec.from_:
        raise refuse("resolution", f"expected at most to - from ({spec.to - spec.from_:g}), "
                                   f"got {spec.resolution:g}")
    leaf = str(where[-1])
    unit = ("s" if leaf in DURATION_FIELDS else "users" if leaf == "users"
            else ATTRIBUTE_UNITS.get(leaf, "") if holder == "attributes" else "")
    label = f"{_owner(experiment, where)} {leaf}"
    explore = Explore(path, spec, experiment, where, label, unit, time_scale, flaws)
    for field, value in (("from", spec.from_), ("to", spec.to),
                         ("resolution", spec.from_ + spec.resolution)):
        try:
            explore.experiment_at(value)
        except ExperimentError as exc:
            said = "; ".join(f"{f}: {m}" if f else m for _, f, m in exc.problems) or str(exc)
            raise refuse(field, f"{spec.vary} cannot be {value:g}: {said}") from None
        except ValueError as exc:  # --flaw names a flaw the service does not have
            raise ExperimentError(path, [(0, "--flaw", str(exc))]) from None
    return explore


def _owner(experiment: Experiment, where: Where) -> str:
    """The fault's name for a fault's value, else the section (`load`)."""
    if where[0] == "faults" and isinstance(where[1], int):
        return experiment.faults[where[1]].name or ""
    return str(where[0])


def resolve(experiment: Experiment, vary: str) -> tuple[Where, str]:
    """`faults.redis-latency.attributes.latency` -> (("faults", 0, "attributes", "latency"),
    "attributes"): the place in the file's data, and what holds it. LookupError says what
    exists there instead."""
    parts = vary.split(".")
    if parts[0] in FIXED:
        raise LookupError(f'"{parts[0]}" cannot be varied: the stack starts once for the whole '
                          "search; vary a fault (faults.<name>.<field>) or the load (load.users)")
    node: Any = experiment
    where: list[str | int] = []
    holder = ""
    for depth, part in enumerate(parts):
        here = ".".join(parts[:depth]) or "the experiment"
        if isinstance(node, BaseModel):
            fields = {(f.alias or n): n for n, f in type(node).model_fields.items()}
            if part not in fields:
                raise LookupError(f'{vary}: {here} has no "{part}"; it has: {", ".join(fields)}')
            node, holder = getattr(node, fields[part]), part
            where.append(part)
        elif isinstance(node, list):
            names = [getattr(item, "name", None) for item in node]
            if part.isdigit() and int(part) < len(node):
                index = int(part)
            elif part in names:
                index = names.index(part)
            else:
                shown = ", ".join(str(n) for n in names if n) or f"0 to {len(node) - 1}"
                raise LookupError(f'{vary}: {here} has no "{part}"; it has: {shown or "nothing"}')
            node = node[index]
            where.append(index)
        elif isinstance(node, dict):
            if part not in node:
                raise LookupError(f'{vary}: {here} has no "{part}"; it has: '
                                  f'{", ".join(map(str, node)) or "nothing"} (set the value in '
                                  "the file to vary it)")
            node = node[part]
            where.append(part)
        else:
            raise LookupError(f'{vary}: {here} is a value, it has no "{part}"')
    if isinstance(node, bool) or not isinstance(node, int | float):
        raise LookupError(f"{vary} is not a number in this experiment ({format_path(tuple(where))}"
                          f" is {node!r}); vary a number, a duration or a count")
    return tuple(where), holder
