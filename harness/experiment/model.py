"""The experiment file as pydantic models: shape here, cross-field rules in checks.py.

`extra="forbid"` everywhere, so a typo'd field is an error rather than a silently
ignored setting. Times are floats in seconds; `Experiment.scaled()` applies `time_scale`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr

from harness.durations import parse_duration
from harness.experiment.explore import ExploreSpec
from harness.experiment.toxics import ACTIONS, DOWN
from harness.masking import mask_secrets
from harness.signals.model import Expression, Signals, default_signals, signals_from

Duration = Annotated[float, BeforeValidator(parse_duration)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
DEFAULT_LOCUSTFILE = "targets/shop/locustfile.py"
EMBEDDED_PROXIES = ("redis", "db")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _default_kind(value: Any) -> Any:
    """`target: {flaws: [...]}` means the embedded target; only `external` must be said."""
    if isinstance(value, dict) and "kind" not in value:
        return {"kind": "embedded", **value}
    return value


class EmbeddedTarget(Strict):
    kind: Literal["embedded"] = "embedded"
    service: str = "shop"  # a registered target service (entry-point group stampede.targets)
    flaws: list[str] = []
    options: dict[str, Any] = {}


class WriteRule(Strict):
    """How acknowledged writes of one kind are read back, one of: `sql` against
    `database_url` (`%(ids)s` is the list of ids as text; it returns the ids found), or
    `http`, a request through `base_url` after the faults are healed (`GET /things/{id}`:
    2xx present, 404 lost, anything else an error the verdict names)."""

    sql: str | None = None
    http: str | None = None


class ExternalTarget(Strict):
    kind: Literal["external"]
    base_url: str
    toxiproxy_url: str
    metrics_url: str | None = None
    prometheus_url: str | None = None  # signals from this server's query_range, not /metrics
    database_url: str | None = None
    redis_url: str | None = None  # the team's Redis, for flush_cache, expire_key, set_maxmemory
    ownership_field: str = "user_id"  # the JSON field personalised responses carry the owner in
    signals: dict[str, Any] | None = None  # harness.signals; checked in checks.py
    writes: dict[str, WriteRule] = {}


Target = Annotated[
    EmbeddedTarget | ExternalTarget, Field(discriminator="kind"), BeforeValidator(_default_kind)
]


def _proxy_shorthand(value: Any) -> Any:
    return {"upstream": value} if isinstance(value, str) else value


class ProxySpec(Strict):
    """A proxy to create (`upstream`, optional `listen`) or, with `expect: true`, one that must exist."""

    upstream: str | None = None
    listen: str = "127.0.0.1:0"
    expect: bool = False


def _user_class_shorthand(value: Any) -> Any:
    if isinstance(value, str):
        return {"name": value}
    if isinstance(value, dict) and len(value) == 1:
        ((key, weight),) = value.items()
        if key not in ("name", "weight"):
            return {"name": key, "weight": weight}
    return value


class UserClass(Strict):
    name: str
    weight: int = Field(1, ge=1)


class Stage(Strict):
    duration: Duration
    users: int = Field(ge=0)
    spawn_rate: float | None = Field(None, gt=0)


DEFAULT_USERS = 10


class LoadSpec(Strict):
    locustfile: str = DEFAULT_LOCUSTFILE
    user_classes: list[Annotated[UserClass, BeforeValidator(_user_class_shorthand)]] = []
    users: int | None = Field(None, ge=1)
    spawn_rate: float | None = Field(None, gt=0)
    stages: list[Stage] = []
    duration: Duration | None = None
    workers: int = Field(1, ge=1)
    halt_on_worker_loss: bool = False  # a Locust worker lost mid-run aborts the run (exit 2)

    def peak_users(self) -> int:
        """Users at the busiest moment: `users`, else the largest stage, else 10."""
        return self.users or max((s.users for s in self.stages), default=DEFAULT_USERS)


class SteadyState(Strict):
    from_: Duration = Field(alias="from")
    to: Duration


class FaultSpec(Strict):
    name: Name | None = None
    at: Duration
    for_: Duration | None = Field(None, alias="for")
    until: Duration | None = None
    proxy: str | None = None
    type: str
    attributes: dict[str, Any] = {}
    stream: Literal["downstream", "upstream"] = "downstream"
    toxicity: float = Field(1.0, ge=0.0, le=1.0)

    @property
    def is_action(self) -> bool:
        return self.type in ACTIONS

    @property
    def is_down(self) -> bool:
        return self.type == DOWN

    @property
    def start(self) -> float:
        return self.at

    @property
    def end(self) -> float:
        if self.until is not None:
            return self.until
        if self.for_ is not None:
            return self.at + self.for_
        return self.at


class HaltCondition(Strict):
    metric: Literal["error_rate", "p99_ms", "violations"]
    above: float = Field(ge=0)
    for_: Duration = Field(0.0, alias="for")


@dataclass(frozen=True)
class PlannedFault:
    """One fault as the schedule applies it: times in run seconds, `end == start` for actions."""

    name: str
    proxy: str | None
    type: str
    start: float
    end: float
    stream: str = "downstream"
    toxicity: float = 1.0
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def is_action(self) -> bool:
        return self.type in ACTIONS

    @property
    def is_down(self) -> bool:
        return self.type == DOWN


class Experiment(Strict):
    name: Name | None = None
    description: str = ""
    target: Target = EmbeddedTarget()
    allowed_hosts: list[str] = []
    proxies: dict[Name, Annotated[ProxySpec, BeforeValidator(_proxy_shorthand)]] = {}
    load: LoadSpec
    steady_state: SteadyState | None = None
    faults: list[FaultSpec] = []
    invariants: list[dict[str, Any]] = []
    halt: list[HaltCondition] = []
    time_scale: float = Field(1.0, gt=0)
    explore: ExploreSpec | None = None  # `stampede explore` searches one value (docs/explore.md)

    _source: Path | None = PrivateAttr(None)
    _target_source: Path | None = PrivateAttr(None)

    @property
    def source(self) -> Path | None:
        """The file this experiment was loaded from."""
        return self._source

    @property
    def target_source(self) -> Path | None:
        """The target file whose target, proxies and allowed_hosts replaced the experiment's."""
        return self._target_source

    @property
    def duration(self) -> float:
        return self.load.duration or 0.0

    def signals(self) -> Signals:
        """What the invariants read, as expressions: the target's `signals` over the
        defaults (stampede's own metrics). Problems are load_experiment's to report."""
        target = self.target
        if not isinstance(target, ExternalTarget):
            return default_signals()
        return signals_from(target.signals, scrape=not target.prometheus_url)[0]

    def signal_queries(self) -> set[str]:
        """Named database queries the invariants count (single_flight, backend_protected)."""
        queries = set()
        for entry in self.invariants:
            if entry.get("name") == "single_flight":
                queries.add(str(entry.get("query") or "product"))
            elif entry.get("name") == "backend_protected" and entry.get("query"):
                queries.add(str(entry["query"]))
        return queries

    def signal_series(self) -> dict[str, Expression]:
        """Series key -> expression: every signal a run of this experiment records."""
        return self.signals().series(self.signal_queries())

    def proxy_names(self) -> list[str]:
        """Proxies a fault may name: `redis` and `db` come with the embedded target."""
        implicit = list(EMBEDDED_PROXIES) if self.target.kind == "embedded" else []
        return implicit + [name for name in self.proxies if name not in implicit]

    def faults_timeline(self) -> list[PlannedFault]:
        """The faults in the order they start (names are filled in by the loader)."""
        planned = [
            PlannedFault(
                name=spec.name or "",
                proxy=None if spec.is_action else spec.proxy,
                type=spec.type,
                start=spec.start,
                end=spec.end,
                stream=spec.stream,
                toxicity=spec.toxicity,
                attributes=dict(spec.attributes),
            )
            for spec in self.faults
        ]
        return sorted(planned, key=lambda f: (f.start, f.end))

    def scaled(self, factor: float) -> Experiment:
        """A copy with every schedule time multiplied by factor (toxic attributes stay as written)."""
        copy = self.model_copy(deep=True)
        copy._source = self._source
        copy._target_source = self._target_source

        def scale(value: float) -> float:
            return round(value * factor, 6)

        load = copy.load
        if load.duration is not None:
            load.duration = scale(load.duration)
        for stage in load.stages:
            stage.duration = scale(stage.duration)
        if copy.steady_state is not None:
            copy.steady_state.from_ = scale(copy.steady_state.from_)
            copy.steady_state.to = scale(copy.steady_state.to)
        for spec in copy.faults:
            spec.at = scale(spec.at)
            if spec.for_ is not None:
                spec.for_ = scale(spec.for_)
            if spec.until is not None:
                spec.until = scale(spec.until)
        for cond in copy.halt:
            cond.for_ = scale(cond.for_)
        copy.time_scale = factor
        return copy

    def resolved(self) -> dict[str, Any]:
        """The `experiment.json` of docs/results-format.md (secrets masked, see harness.masking)."""
        load = self.load
        stages, end = [], 0.0
        for stage in load.stages:
            end = round(end + stage.duration, 6)
            stages.append({**stage.model_dump(), "end": end})
        target = mask_secrets(self.target.model_dump())  # options too: `database_url`, tokens
        steady = self.steady_state
        return {
            "name": self.name,
            "description": self.description,
            "source": str(self._source) if self._source else None,
            "duration": self.duration,
            "time_scale": self.time_scale,
            "steady_state": {"start": steady.from_, "end": steady.to} if steady else None,
            "faults": [asdict(fault) for fault in self.faults_timeline()],
            "invariants": [dict(entry) for entry in self.invariants],
            "halt": [cond.model_dump(by_alias=True) for cond in self.halt],
            "target": target,
            "signals": {"source": ("prometheus" if isinstance(self.target, ExternalTarget)
                                   and self.target.prometheus_url else "scrape"),
                        "series": self.signals().describe(self.signal_queries())},
            "proxies": {name: spec.model_dump() for name, spec in self.proxies.items()},
            "allowed_hosts": list(self.allowed_hosts),
            "load": {
                "locustfile": load.locustfile,
                "user_classes": [uc.model_dump() for uc in load.user_classes],
                "users": load.users,
                "spawn_rate": load.spawn_rate,
                "stages": stages,
                "duration": load.duration,
                "workers": load.workers,
                "halt_on_worker_loss": load.halt_on_worker_loss,
            },
        }
