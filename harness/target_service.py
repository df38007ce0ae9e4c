"""What the embedded stack must know about a service it starts, as the service declares it.

The harness imports no target: a service package registers a `TargetService` under the
`stampede.targets` entry-point group (see pyproject.toml), and the embedded stack looks
it up by the name in `target.service`. The reference shop is one such package.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points

ENTRY_POINT_GROUP = "stampede.targets"
DEFAULT_SERVICE = "shop"


@dataclass(frozen=True)
class TargetService:
    """A service the embedded stack can start: its command, its flaws, its options, its writes.

    `command(host, port, flaws, options)` is the argv to start it listening on host:port;
    Redis and the database reach it through `environment(redis_url, database_url)`, never
    argv (a command line is readable by anyone). `target.options` become `--flags` after
    that; `option_parser` lets them be checked at load. `writes` maps each write kind the
    service's locustfile records to the SQL that finds acknowledged ids in `database`
    (`%(ids)s` is the list of ids as text; it returns the ids found, as text).
    """

    name: str
    database: str
    command: Callable[[str, int, Iterable[str], Mapping[str, object]], list[str]]
    environment: Callable[[str, str], dict[str, str]]
    flaws: Mapping[str, str] = field(default_factory=dict)  # name -> what it breaks
    # its command line, to check target.options against before anything starts
    option_parser: Callable[[], argparse.ArgumentParser] | None = None
    writes: Mapping[str, str] = field(default_factory=dict)  # write kind -> read-back SQL
    health_path: str = "/health"
    metrics_path: str = "/metrics"

    def parse_flaws(self, values: Iterable[str]) -> frozenset[str]:
        """Flaw names (each value may be comma-separated); ValueError names the valid ones."""
        names = {v.strip() for value in values for v in str(value).split(",") if v.strip()}
        unknown = sorted(names - set(self.flaws))
        if unknown:
            raise ValueError(f"unknown flaw {', '.join(unknown)}: valid flaws of {self.name} "
                             f"are {', '.join(self.flaws)}")
        return frozenset(names)


def option_flags(options: Mapping[str, object]) -> list[str]:
    """`{cache_timeout_ms: 20, access_log: true}` -> `--cache-timeout-ms 20 --access-log`."""
    args: list[str] = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            args.append(flag)
        elif value not in (False, None):
            args += [flag, str(value)]
    return args


def python_module_command(module: str) -> Callable[[str, int, Iterable[str], Mapping[str, object]],
                                                   list[str]]:
    """The usual command: `python -m MODULE --host H --port P [--flaw F]... [--option V]...`."""
    def command(host: str, port: int, flaws: Iterable[str],
                options: Mapping[str, object]) -> list[str]:
        argv = [sys.executable, "-m", module, "--host", host, "--port", str(port)]
        for flaw in flaws:
            argv += ["--flaw", flaw]
        return argv + option_flags(options)

    return command


def target_service(name: str = DEFAULT_SERVICE) -> TargetService:
    """The registered service `name`; LookupError lists the registered ones."""
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    if name not in found:
        raise LookupError(f'no embedded target service "{name}" is installed; registered: '
                          f'{", ".join(sorted(found)) or "none"} (a package registers one '
                          f'under the "{ENTRY_POINT_GROUP}" entry-point group)')
    service = found[name].load()
    if not isinstance(service, TargetService):
        raise LookupError(f'entry point "{name}" in "{ENTRY_POINT_GROUP}" is not a TargetService')
    return service
