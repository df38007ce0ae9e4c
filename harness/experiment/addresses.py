"""Every address an experiment can make the run reach or bind, and the allowed_hosts rule.

Traffic and faults go to loopback only unless the experiment names the host in
`allowed_hosts`. That must hold for every place a host can hide: each URL field, the
hosts of a libpq URL (`h1:5432,h2:5432` in the netloc, `?host=` and `?hostaddr=` in the
query), proxy addresses, and the embedded target's options (`host: 0.0.0.0` makes the
shop listen on every interface; `database_url` sends it elsewhere). A PostgreSQL URL that
names no host goes where libpq's PGHOST/PGHOSTADDR say, so those count for it. It reads
hosts out of strings (and those two variables) and never resolves or connects to them.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote, urlsplit

from harness.experiment.model import Experiment
from harness.masking import mask_secrets
from harness.problems import FieldPath, Problem

WILDCARDS = ("0.0.0.0", "::")  # a bind to every interface, not a host to reach
QUERY_HOST_KEYS = ("host", "hostaddr")  # libpq takes these over the netloc's host
LIBPQ_HOST_VARIABLES = ("PGHOST", "PGHOSTADDR")  # where libpq goes when a URL names no host
# Target option names whose value is an address the target binds or connects to.
HOST_OPTION_SUFFIXES = ("host", "hostname", "hostaddr", "bind", "address", "addr")


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_port(value: str) -> tuple[str, int] | None:
    """`127.0.0.1:6379` or `[::1]:6379` -> (host, port); None when it is not host:port."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return None
    return host.strip("[]"), int(port)


_KEYWORD_HOST = re.compile(r"(?:^|\s)(?:host|hostaddr)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\S+))",
                           re.IGNORECASE)


def keyword_hosts(dsn: str) -> list[str]:
    """Hosts of a libpq keyword string (`host=db.example port=5432 dbname=shop`)."""
    return _remote(_keyword_named(dsn))


def _keyword_named(dsn: str) -> list[str]:
    return [item.strip() for quoted, bare in _KEYWORD_HOST.findall(dsn)
            for item in (quoted or bare).split(",")]


def _remote(hosts: list[str]) -> list[str]:
    """Hosts to check: empty entries and Unix socket paths (local) left out."""
    return [host for host in hosts if host and not host.startswith(("/", "@"))]


def url_hosts(url: str) -> list[str]:
    """Every host a URL names: each of the netloc's (libpq allows `h1,h2:5433`) and each
    `host=`/`hostaddr=` of the query string, or of a libpq keyword string given instead of
    a URL. Unix socket paths are left out: they are local.

    Raises ValueError for a URL whose host a client could read differently from us.
    """
    return _remote(_named_hosts(url))


def libpq_default_hosts(url: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """The hosts libpq takes from PGHOST/PGHOSTADDR for a PostgreSQL URL (or keyword
    string) that names no host of its own, not even a socket path; [] otherwise."""
    if "://" in url and not urlsplit(url).scheme.lower().startswith("postgres"):
        return []
    try:
        if any(_named_hosts(url)):
            return []
    except ValueError:
        return []
    env = os.environ if environ is None else environ
    return _remote([item.strip() for name in LIBPQ_HOST_VARIABLES
                    for item in env.get(name, "").split(",")])


def _named_hosts(url: str) -> list[str]:
    if "://" not in url:
        return _keyword_named(url)
    parts = urlsplit(url)
    if "\\" in parts.netloc or any(ch.isspace() for ch in parts.netloc):
        raise ValueError(f'a URL with a backslash or a space in its address: "{url}"')
    hosts: list[str] = []
    netloc = parts.netloc.rpartition("@")[2]
    for entry in netloc.split(","):
        hosts.append(_strip_port(unquote(entry)))
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key.lower() in QUERY_HOST_KEYS:
            hosts += [unquote(item).strip() for item in value.split(",")]
    return hosts


def _strip_port(entry: str) -> str:
    if entry.startswith("["):
        return entry[1:].partition("]")[0]
    return entry.partition(":")[0] if entry.count(":") <= 1 else entry  # bare IPv6: no port


class Place(NamedTuple):
    """An address in the experiment: where it is written, the host, and where the host came
    from when not from the field itself (libpq's PGHOST for a URL that names none)."""

    path: FieldPath
    host: str
    via: str = ""


def _option_places(value: Any, path: FieldPath, hostish: bool) -> Iterator[Place]:
    """(path, host) for every address inside a target option, nested values included."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _option_places(item, (*path, key), _is_host_key(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _option_places(item, (*path, index), hostish)
    elif isinstance(value, str):
        if "://" in value or keyword_hosts(value):
            yield from _url_places(path, value)
        elif hostish:
            parsed = host_port(value)
            yield Place(path, parsed[0] if parsed else value.strip().strip("[]"))
    elif hostish and value is not None and not isinstance(value, bool):
        yield Place(path, str(value))  # `host: 167772161` is an address too (10.0.0.1)


def _is_host_key(key: object) -> bool:
    name = str(key).lower().replace("-", "_")
    return name.endswith(HOST_OPTION_SUFFIXES)


def _url_places(path: FieldPath, url: str) -> Iterator[Place]:
    try:
        hosts = url_hosts(url)
    except ValueError:
        yield Place(path, url)  # refused below: never loopback, and not a host anyone allowed
        return
    for host in hosts:
        yield Place(path, host)
    for host in libpq_default_hosts(url):
        yield Place(path, host, "PGHOST/PGHOSTADDR (the URL names no host)")


def address_places(exp: Experiment) -> list[Place]:
    """Every address in the experiment, wildcard binds included."""
    places: list[Place] = []
    target = exp.target
    if target.kind == "external":
        for key in ("base_url", "toxiproxy_url", "metrics_url", "prometheus_url",
                    "database_url", "redis_url"):
            url = getattr(target, key)
            if url:
                places += _url_places(("target", key), url)
    else:
        places += _option_places(target.options, ("target", "options"), False)
    for name, spec in exp.proxies.items():
        for key in ("upstream", "listen"):
            parsed = host_port(getattr(spec, key) or "")
            if parsed is None:
                continue
            wildcard = parsed[0] in ("", *WILDCARDS)
            if wildcard and (key == "upstream" or target.kind == "external"):
                continue  # connecting to 0.0.0.0 reaches this machine; an external
                # Toxiproxy listens on its own machine, whose address is checked already
            places.append(Place(("proxies", name, key), parsed[0] or "0.0.0.0"))
    return places


def host_problems(exp: Experiment) -> list[Problem]:
    """A problem for every address that is neither loopback nor in allowed_hosts."""
    allowed = {host.lower() for host in exp.allowed_hosts}
    problems: list[Problem] = [
        (
            ("allowed_hosts", index),
            f'expected a bare host name or address such as "redis.staging", got "{host}"; '
            f'write "{urlsplit(host).hostname or host}"',
        )
        for index, host in enumerate(exp.allowed_hosts)
        if "/" in host or "@" in host
    ]
    for path, host, via in address_places(exp):
        if is_loopback(host) or host.lower() in allowed:
            continue
        if host in WILDCARDS or host == "":
            problems.append((path, (
                f'"{host or "0.0.0.0"}" listens on every network interface, not only loopback; '
                f'add `allowed_hosts: ["{host or "0.0.0.0"}"]` if you mean to expose it')))
        elif "://" in host:
            problems.append((path, f"{mask_secrets(host)!r}: a URL whose address a client could "
                                   "read differently (a backslash or a space in it); write it plainly"))
        else:
            problems.append((path, (
                f'host "{host}"{f" (from {via})" if via else ""} is not a loopback address '
                f"and not in allowed_hosts; add `allowed_hosts: [{host}]` if you mean to send "
                "traffic and faults there")))
    return problems
