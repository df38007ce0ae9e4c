"""Rules that span fields: faults inside the run, known proxies, loopback-only hosts, and so on.

Each check returns (path, message) problems; the loader adds the file and line.
They run on the unscaled experiment, so messages use the numbers as written.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.experiment.addresses import host_port as _host_port
from harness.experiment.addresses import host_problems as host_problems
from harness.experiment.addresses import is_loopback as is_loopback
from harness.experiment.locustfile import resolve_locustfile
from harness.experiment.model import (
    DEFAULT_LOCUSTFILE,
    EMBEDDED_PROXIES,
    EmbeddedTarget,
    Experiment,
    ExternalTarget,
    FaultSpec,
    SteadyState,
)
from harness.experiment.target_checks import external_target_problems
from harness.experiment.toxics import (
    ACTIONS,
    FAULT_TYPES,
    MAXMEMORY_POLICIES,
    TOXIC_ATTRIBUTES,
)
from harness.experiment.units import format_seconds as fmt
from harness.experiment.units import parse_size
from harness.invariants.registry import ParamProblem, entry_problems, valid_parameters
from harness.problems import Problem, did_you_mean
from harness.target_service import target_service

EPS = 1e-9


def fill_defaults(exp: Experiment, file_stem: str) -> None:
    """Defaults that depend on other fields: name, duration from stages, fault names."""
    if exp.name is None:
        exp.name = file_stem
    load = exp.load
    if load.duration is None and load.stages:
        load.duration = round(sum(stage.duration for stage in load.stages), 6)
    if load.users is not None and load.spawn_rate is None:
        load.spawn_rate = float(load.users)  # all users within the first second
    counts: Counter[tuple[str | None, str]] = Counter()
    for spec in exp.faults:
        if spec.name is None:
            key = (None if spec.is_action else spec.proxy, spec.type)
            counts[key] += 1
            prefix = spec.type if key[0] is None else f"{spec.proxy}-{spec.type}"
            spec.name = f"{prefix}-{counts[key]}"
    if exp.steady_state is None and load.duration:
        starts = [spec.start for spec in exp.faults]
        end = min(starts) if starts else load.duration
        if end > 0:
            exp.steady_state = SteadyState(from_=0.0, to=end)


def check_experiment(
    exp: Experiment, source_dir: Path | None = None, proxies_hint: str = "`proxies:`"
) -> list[Problem]:
    """Every cross-field problem; proxies_hint says where proxies are declared (a target file)."""
    problems: list[Problem] = []
    problems += _check_target(exp)
    problems += host_problems(exp)
    problems += _check_load(exp)
    problems += _check_locustfile(exp, source_dir)
    if exp.load.duration:
        problems += _check_steady(exp)
        for index, spec in enumerate(exp.faults):
            problems += _check_fault(exp, index, spec, proxies_hint)
        problems += _check_fault_overlaps(exp)
    problems += _check_invariants(exp)
    problems += _check_halt(exp)
    return problems


def _check_target(exp: Experiment) -> list[Problem]:
    problems: list[Problem] = []
    target = exp.target
    if isinstance(target, EmbeddedTarget):
        problems += _check_embedded_service(target)
        for name in exp.proxies:
            if name in EMBEDDED_PROXIES:
                problems.append((
                    ("proxies", name),
                    f'the embedded target creates proxy "{name}" itself; remove it or pick another name',
                ))
    else:
        problems += external_target_problems(exp, target)
        for key in ("base_url", "toxiproxy_url", "metrics_url"):
            url = getattr(target, key)
            if url is not None and urlsplit(url).scheme not in ("http", "https"):
                problems.append((("target", key), f'expected an http:// or https:// URL, got "{url}"'))
        for key in ("base_url", "toxiproxy_url"):
            url = getattr(target, key)
            if url and not urlsplit(url).hostname:
                problems.append((("target", key), f'expected a URL with a host, got "{url}"'))
    for name, spec in exp.proxies.items():
        if spec.upstream is None and not spec.expect:
            problems.append((
                ("proxies", name),
                "expected an upstream like 127.0.0.1:6379 (or `expect: true` for a proxy that already exists)",
            ))
        for key in ("upstream", "listen"):
            value = getattr(spec, key)
            if value is not None and _host_port(value) is None:
                problems.append((("proxies", name, key), f'expected host:port, got "{value}"'))
        if target.kind == "external" and not spec.expect and "listen" not in spec.model_fields_set:
            problems.append((
                ("proxies", name),
                "expected `listen: HOST:PORT`, the address your service connects to for this "
                "dependency (e.g. 0.0.0.0:26379); a free port would be one it cannot know",
            ))
    return problems


def _check_embedded_service(target: EmbeddedTarget) -> list[Problem]:
    """An unknown service or flaw of an embedded target: refused before anything starts."""
    try:
        service = target_service(target.service)
    except LookupError as exc:
        return [(("target", "service"), str(exc))]
    known = sorted(service.flaws)
    problems: list[Problem] = [
        (("target", "flaws", index),
         f'unknown flaw "{flaw}"{did_you_mean(flaw, known)} Known flaws: {", ".join(known)}')
        for index, flaw in enumerate(target.flaws) if flaw not in service.flaws
    ]
    return problems


def _check_load(exp: Experiment) -> list[Problem]:
    load = exp.load
    problems: list[Problem] = []
    if load.users is not None and load.stages:
        problems.append((("load", "stages"), "give either `users` (with spawn_rate) or `stages`, not both"))
    elif load.users is None and not load.stages:
        problems.append((("load",), "expected `users: N` (with spawn_rate) or `stages: [...]`"))
    if load.stages and load.spawn_rate is not None and load.users is None:
        problems.append((("load", "spawn_rate"), "with stages, give spawn_rate per stage"))
    if load.duration is None:
        problems.append((("load",), "expected `duration: 2m` (how long the load runs)"))
    elif load.duration <= 0:
        problems.append((("load", "duration"), "expected a duration more than 0"))
    elif load.stages:
        total = sum(stage.duration for stage in load.stages)
        if total > load.duration + EPS:
            problems.append((
                ("load", "stages"),
                f"stages last {fmt(total)} but load.duration is {fmt(load.duration)}; "
                "shorten the stages or lengthen the run",
            ))
    return problems


def _check_locustfile(exp: Experiment, source_dir: Path | None) -> list[Problem]:
    """A locustfile the user named must exist (the default one is the project's business)."""
    if exp.load.locustfile == DEFAULT_LOCUSTFILE:
        return []

    try:
        resolve_locustfile(exp.load.locustfile, source_dir)
    except FileNotFoundError as exc:
        return [(("load", "locustfile"), str(exc).removeprefix("load.locustfile: "))]
    return []


def _check_steady(exp: Experiment) -> list[Problem]:
    """A baseline window must be inside the run and free of faults: a fault in it skews every
    comparison with the baseline (recovery time, latency bounds), so this is an error."""
    steady = exp.steady_state
    if steady is None:
        return []
    duration = exp.duration
    if steady.to <= steady.from_:
        return [(("steady_state", "to"), f"expected `to` after `from` ({fmt(steady.from_)})")]
    if steady.to > duration + EPS:
        return [(("steady_state", "to"), f"{fmt(steady.to)} is after the run ends ({fmt(duration)})")]
    problems: list[Problem] = []
    for index, spec in enumerate(exp.faults):
        start, end = spec.start, spec.end
        overlaps = start < steady.to - EPS and end > steady.from_ + EPS
        instant_inside = start == end and steady.from_ - EPS <= start <= steady.to + EPS
        if overlaps or instant_inside:
            problems.append((
                ("steady_state",),
                f'the baseline window {fmt(steady.from_)}-{fmt(steady.to)} overlaps fault "{spec.name}" '
                f"({fmt(start)}-{fmt(end)}); move the window before the first fault "
                f"(faults[{index}])",
            ))
    return problems


def _check_fault(
    exp: Experiment, index: int, spec: FaultSpec, proxies_hint: str = "`proxies:`"
) -> list[Problem]:
    here = ("faults", index)
    problems: list[Problem] = []
    if spec.type not in FAULT_TYPES:
        problems.append((
            (*here, "type"),
            f'unknown fault type "{spec.type}"{did_you_mean(spec.type, FAULT_TYPES)} '
            f"Valid: {', '.join(FAULT_TYPES)}",
        ))
        return problems
    fields_set = spec.model_fields_set
    target = exp.target
    if spec.is_action and isinstance(target, ExternalTarget):
        if spec.type == "restart_redis":
            problems.append((
                (*here, "type"),
                '"restart_redis" needs the embedded target: stampede restarts only a Redis it '
                "started itself; use `flush_cache` (with target.redis_url) or a `down` fault",
            ))
        elif target.redis_url is None:
            problems.append((
                (*here, "type"),
                f'"{spec.type}" talks to Redis directly: give the target file '
                "`target.redis_url: redis://:${REDIS_PASSWORD}@HOST:PORT/0` (the service's own "
                "Redis, not the proxy), or use a proxy fault such as `down`",
            ))
    if spec.is_action:
        for key in ("for_", "until", "proxy", "stream", "toxicity"):
            if key in fields_set:
                shown = key.rstrip("_")
                problems.append((
                    (*here, shown),
                    f'"{spec.type}" is an instant action on Redis; remove `{shown}`',
                ))
    else:
        if spec.proxy is None:
            problems.append((here, f"expected `proxy:` (one of {', '.join(exp.proxy_names())})"))
        elif spec.proxy not in exp.proxy_names():
            names = exp.proxy_names()
            problems.append((
                (*here, "proxy"),
                f'unknown proxy "{spec.proxy}"{did_you_mean(spec.proxy, names)} '
                f"Known proxies: {', '.join(names) or 'none'} (declare others under {proxies_hint})",
            ))
        if spec.for_ is None and spec.until is None:
            problems.append((here, "expected `for: 30s` or `until: 1m` (when the fault heals)"))
        elif spec.for_ is not None and spec.until is not None:
            problems.append(((*here, "until"), "give `for` or `until`, not both"))
        elif spec.for_ is not None and spec.for_ <= 0:
            problems.append(((*here, "for"), "expected a duration more than 0"))
        elif spec.until is not None and spec.until <= spec.at:
            problems.append(((*here, "until"), f"expected a time after `at` ({fmt(spec.at)})"))
        if spec.is_down:
            for key in ("stream", "toxicity"):
                if key in fields_set:
                    problems.append(((*here, key), f"`down` disables the whole proxy; remove `{key}`"))
    problems += _check_attributes(here, spec)
    duration = exp.duration
    if spec.start >= duration:
        problems.append((
            (*here, "at"),
            f"{fmt(spec.start)} is not before the run ends ({fmt(duration)}); "
            "move it earlier or lengthen load.duration",
        ))
    elif spec.end > duration + EPS:
        key = "until" if spec.until is not None else "for"
        problems.append((
            (*here, key),
            f"the fault ends at {fmt(spec.end)}, after the run ends ({fmt(duration)}); "
            "shorten it or lengthen load.duration",
        ))
    return problems


def _check_attributes(here: tuple[str | int, ...], spec: FaultSpec) -> list[Problem]:
    attrs = spec.attributes
    problems: list[Problem] = []
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    if not spec.is_down:
        required, optional = (ACTIONS if spec.is_action else TOXIC_ATTRIBUTES)[spec.type]
    allowed: tuple[str, ...] = required + optional
    for key in required:
        if key not in attrs:
            problems.append((
                (*here, "attributes") if "attributes" in spec.model_fields_set else here,
                f'"{spec.type}" needs attribute `{key}`',
            ))
    for key, value in attrs.items():
        path = (*here, "attributes", key)
        if key not in allowed:
            takes = f"takes {', '.join(allowed)}" if allowed else "takes no attributes"
            problems.append((path, f'"{spec.type}" {takes}, not "{key}"{did_you_mean(key, allowed)}'))
        elif spec.type == "set_maxmemory" and key == "maxmemory":
            try:
                attrs[key] = parse_size(value)
            except ValueError as exc:
                problems.append((path, str(exc)))
        elif spec.type == "set_maxmemory" and key == "policy":
            if value not in MAXMEMORY_POLICIES:
                problems.append((path, f'expected one of {", ".join(MAXMEMORY_POLICIES)}, got "{value}"'))
        elif spec.type == "expire_key":
            if not isinstance(value, str) or not value:
                problems.append((path, f'expected a key name, got "{value}"'))
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            problems.append((path, f"expected a number of 0 or more, got {value!r}"))
        elif value != int(value):
            problems.append((path, f"expected a whole number, got {value!r}"))
        else:
            attrs[key] = int(value)
    return problems


def _check_fault_overlaps(exp: Experiment) -> list[Problem]:
    """Names must be unique (they name toxics and windows such as `during:<name>`), and two
    `down` faults on one proxy must not overlap: the first to heal would re-enable it early."""
    problems: list[Problem] = []
    first_index: dict[str, int] = {}
    for index, spec in enumerate(exp.faults):
        if spec.name in first_index:
            problems.append((
                ("faults", index, "name"),
                f'fault name "{spec.name}" is already used by faults[{first_index[spec.name]}]; '
                "names must be unique",
            ))
        else:
            first_index[spec.name or ""] = index
    downs = [(i, s) for i, s in enumerate(exp.faults) if s.is_down and s.proxy]
    for pos, (i, a) in enumerate(downs):
        for j, b in downs[pos + 1:]:
            if a.proxy == b.proxy and a.start < b.end - EPS and b.start < a.end - EPS:
                problems.append((
                    ("faults", j),
                    f'"{b.name}" takes proxy "{b.proxy}" down while "{a.name}" (faults[{i}]) '
                    "already has it down; merge them or move one",
                ))
    return problems


def _check_invariants(exp: Experiment) -> list[Problem]:
    problems: list[Problem] = []
    for index, entry in enumerate(exp.invariants):
        if not isinstance(entry.get("name"), str):
            problems.append((("invariants", index), "expected `name:` (which invariant to judge)"))
            continue
        found = entry_problems(dict(entry))
        problems += [_invariant_problem(index, entry["name"], p) for p in found]
        if not found:
            problems += _check_fault_references(exp, index, entry)
    return problems


def _invariant_problem(index: int, name: str, problem: ParamProblem) -> Problem:
    """At the parameter's own line; an unknown one comes with the parameters there are."""
    path: tuple[str | int, ...] = ("invariants", index)
    if problem.key is None:
        return path, problem.message
    message = problem.message
    if problem.kind == "unknown":
        message += f"; {name} takes {', '.join(valid_parameters(name)) or 'no parameters'}"
    return (*path, problem.key), message


def _check_fault_references(exp: Experiment, index: int, entry: dict[str, Any]) -> list[Problem]:
    """`fault: X`, `window: during:X` and `after:X[:30s]` must name a fault of this file."""
    names = [spec.name or "" for spec in exp.faults]
    problems: list[Problem] = []
    for key, value in entry.items():
        if not isinstance(value, str):
            continue
        if key == "fault":
            ref = value
        elif value.startswith(("during:", "after:")):
            ref = value.split(":")[1]
        else:
            continue
        if ref not in names:
            problems.append((
                ("invariants", index, key),
                f'no fault named "{ref}"{did_you_mean(ref, names)} '
                f"Faults: {', '.join(names) or 'none'}",
            ))
    return problems


def _check_halt(exp: Experiment) -> list[Problem]:
    return [
        (("halt", index, "above"), f"error_rate is a fraction from 0 to 1, got {cond.above}")
        for index, cond in enumerate(exp.halt)
        if cond.metric == "error_rate" and cond.above > 1
    ]
