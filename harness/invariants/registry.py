"""The invariants an experiment may name: their parameter models, judges, ids and docs rows.

An experiment's `invariants:` entry is `{name: ..., <param>: <value>, ...}`; the parameters
are validated by that invariant's model (harness/invariants/params.py), and unknown names
or parameters are errors listing the valid ones (the experiment loader calls
`entry_problems` to point at the line of each).
"""

from __future__ import annotations

import difflib
import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, Literal, NamedTuple, TypeVar

from pydantic import BeforeValidator, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from harness.durations import parse_duration
from harness.invariants import breaker, cache, correctness, traffic
from harness.invariants import params as m
from harness.invariants.params import InvariantParams
from harness.invariants.verdict import Verdict, outcome
from harness.results.run_result import RunResult

P = TypeVar("P", bound=InvariantParams)


@dataclass(frozen=True)
class Invariant(Generic[P]):
    """One invariant: its parameter model, the function judging a run, and the id parameters."""

    name: str
    params: type[P]
    judge: Callable[[RunResult, P], Verdict]
    id_keys: tuple[str, ...] = ()

    def parse(self, entry: Mapping[str, object]) -> P:
        """The entry's parameters validated (None means the default, as if left out)."""
        return self.params.model_validate(_given(entry))


def _given(entry: Mapping[str, object]) -> dict[str, object]:
    return {k: v for k, v in entry.items() if k != "name" and v is not None}


INVARIANTS: dict[str, Invariant[Any]] = {inv.name: inv for inv in (
    Invariant("bounded_error_rate", m.BoundedErrorRate, traffic.bounded_error_rate,
              ("window", "endpoint")),
    Invariant("latency_bounded", m.LatencyBounded, traffic.latency_bounded,
              ("window", "endpoint")),
    Invariant("recovery_time", m.RecoveryTime, traffic.recovery_time, ("fault",)),
    Invariant("circuit_breaker_opens", m.CircuitBreakerOpens, breaker.circuit_breaker_opens,
              ("dependency",)),
    Invariant("circuit_breaker_closes", m.CircuitBreakerCloses, breaker.circuit_breaker_closes,
              ("dependency",)),
    Invariant("no_cross_user_data", m.NoCrossUserData, correctness.no_cross_user_data,
              ("window",)),
    Invariant("sessions_fail_closed", m.SessionsFailClosed, correctness.sessions_fail_closed,
              ("window",)),
    Invariant("read_your_writes", m.ReadYourWrites, correctness.read_your_writes, ("window",)),
    Invariant("no_data_loss", m.NoDataLoss, correctness.no_data_loss),
    Invariant("rate_limit_holds", m.RateLimitHolds, correctness.rate_limit_holds, ("window",)),
    Invariant("backend_protected", m.BackendProtected, cache.backend_protected, ("window",)),
    Invariant("db_concurrency_bounded", m.DbConcurrencyBounded, cache.db_concurrency_bounded,
              ("window",)),
    Invariant("single_flight", m.SingleFlight, cache.single_flight, ("fault",)),
    Invariant("stale_served", m.StaleServed, cache.stale_served, ("window",)),
    Invariant("hit_rate_recovers", m.HitRateRecovers, cache.hit_rate_recovers, ("fault",)),
)}


class ParamProblem(NamedTuple):
    """One thing wrong with an entry: the parameter it is about (None: the entry) and what.

    `kind` says how the message reads: "value" after "<key>: ", the others ("unknown",
    "missing", "name", "entry") on their own, as they name the key themselves.
    """

    key: str | None
    message: str
    kind: Literal["value", "unknown", "missing", "name", "entry"] = "value"


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def valid_parameters(name: str) -> list[str]:
    return sorted(INVARIANTS[name].params.model_fields)


def entry_problems(entry: object) -> list[ParamProblem]:
    """Everything wrong with one `invariants:` entry, each tied to the parameter it is about."""
    if not isinstance(entry, dict):
        return [ParamProblem(None, f"an invariant must be a mapping with a `name`, got {entry!r}",
                             "entry")]
    name = entry.get("name")
    if name not in INVARIANTS:
        valid = sorted(INVARIANTS)
        return [ParamProblem("name", f"unknown invariant {name!r}{_suggest(str(name), valid)}; "
                                     f"valid names: {', '.join(valid)}", "name")]
    inv = INVARIANTS[name]
    try:
        inv.parse(entry)
    except ValidationError as exc:
        return [_describe(inv.params, error) for error in exc.errors()]
    return []


def _describe(model: type[InvariantParams], error: ErrorDetails) -> ParamProblem:
    key = str(error["loc"][0]) if error["loc"] else None
    kind, given = error["type"], error.get("input")
    if kind == "extra_forbidden" and key is not None:
        suggestion = _suggest(key, sorted(model.model_fields))
        return ParamProblem(key, f"unknown parameter {key!r}{suggestion}", "unknown")
    if kind == "missing":
        return ParamProblem(key, f"missing required parameter {key!r}", "missing")
    if kind == "value_error":
        return ParamProblem(key, error["msg"].removeprefix("Value error, "))
    if kind == "literal_error" and key is not None:
        choices = typing.get_args(model.model_fields[key].annotation)
        return ParamProblem(key, f"expected one of {', '.join(choices)}, got {given!r}")
    message = error["msg"]
    return ParamProblem(key, f"{message[0].lower()}{message[1:]}, got {given!r}")


def validate_invariant(entry: object) -> None:
    """Raise ValueError naming each bad field and listing the valid names or parameters."""
    problems = entry_problems(entry)
    if not problems:
        return
    if not isinstance(entry, dict) or entry.get("name") not in INVARIANTS:
        raise ValueError(problems[0].message)
    name = str(entry["name"])
    text = "; ".join(f"{p.key}: {p.message}" if p.kind == "value" else p.message for p in problems)
    raise ValueError(f"invariant {name}: {text} "
                     f"(valid parameters: {', '.join(valid_parameters(name)) or 'none'})")


def params_of(entry: Mapping[str, object]) -> dict[str, object]:
    """The entry's parameters as written, with defaults filled in (unvalidated: for ids)."""
    fields = INVARIANTS[str(entry["name"])].params.model_fields
    params = {k: (None if f.is_required() else f.default) for k, f in fields.items()}
    params.update(_given(entry))
    return params


def doc_row(name: str) -> str:
    """The invariant's row of the docs table: name, parameters (defaults), passes when."""
    model = INVARIANTS[name].params
    cells = [_param_doc(key, f) for key, f in model.model_fields.items()]
    passes = " ".join(inspect.cleandoc(model.__doc__ or "").split())
    return f"| `{name}` | {', '.join(cells) or '—'} | {passes} |"


def _param_doc(key: str, f: FieldInfo) -> str:
    """`max` (30s): the default as an experiment file would write it."""
    literal = typing.get_origin(f.annotation) is typing.Literal
    choices = typing.get_args(f.annotation) if literal else ()
    if f.description:
        shown: str | None = f.description
    elif f.is_required():
        shown = "required"
    elif choices:
        shown = " \\| ".join(choices)
    elif f.default is None:
        shown = None
    elif _is_duration(f) and f.default:
        shown = f"{f.default:g}s"
    else:
        shown = str(f.default)
    return f"`{key}`" + (f" ({shown})" if shown is not None else "")


def _is_duration(f: FieldInfo) -> bool:
    return any(isinstance(v, BeforeValidator) and v.func is parse_duration for v in f.metadata)


def verdict_id(entry: Mapping[str, object]) -> str:
    """Readable id, e.g. bounded_error_rate[during:redis-outage] or circuit_breaker_opens[redis]."""
    name = str(entry.get("name", "?"))
    if name not in INVARIANTS:
        return name
    params = params_of(entry)
    parts = [str(params[k]) for k in INVARIANTS[name].id_keys if params.get(k) is not None]
    return f"{name}[{','.join(parts)}]" if parts else name


def unique_ids(entries: Sequence[Mapping[str, object]]) -> list[str]:
    """verdict_id for each entry, distinct: ids that repeat are told apart by the fault each
    entry names (`circuit_breaker_opens[redis,redis-outage]`), then by #2, #3."""
    bases = [verdict_id(entry) for entry in entries]
    repeated = {b for b in bases if bases.count(b) > 1}
    seen: dict[str, int] = {}
    out = []
    for entry, base in zip(entries, bases, strict=True):
        fault = entry.get("fault")
        if base in repeated and isinstance(fault, str) and fault:
            base = f"{base[:-1]},{fault}]" if base.endswith("]") else f"{base}[{fault}]"
        seen[base] = seen.get(base, 0) + 1
        out.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
    return out


def judge(result: RunResult, entry: Mapping[str, object], id: str | None = None) -> Verdict:
    """One entry judged on one run; bad entries and unresolvable windows fail with the reason."""
    name = str(entry.get("name", "?"))
    vid = id or verdict_id(entry)
    try:
        validate_invariant(entry)
        inv = INVARIANTS[name]
        verdict = inv.judge(result, inv.parse(entry))
    except ValueError as exc:
        verdict = outcome(False, None, None, "", "-", f"cannot judge: {exc}")
    except (KeyError, TypeError, IndexError) as exc:  # a malformed folder: fail this one, judge the rest
        verdict = outcome(False, None, None, "", "-",
                          f"cannot judge: malformed results ({type(exc).__name__}: {exc})")
    return replace(verdict, invariant=name, id=vid)


def check(result: RunResult, name: str, **params: object) -> Verdict:
    """Judge one invariant from Python: check(run, "bounded_error_rate", window="steady")."""
    return judge(result, {"name": name, **params})


def expect(result: RunResult, name: str, **params: object) -> Verdict:
    """Judge one invariant and raise AssertionError with its reason unless it passed."""
    verdict = check(result, name, **params)
    if not verdict.passed:
        raise AssertionError(f"{verdict.id}: {verdict.reason}")
    return verdict
