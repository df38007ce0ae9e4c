"""Check that a docker-compose file, its Toxiproxy config and an external target file agree.

No Docker engine is needed: the three files are read as data. What is checked is what
breaks a game day silently when one file is edited and the others are not: the target
file's URLs name compose services on the ports they listen on, the shop reaches Redis and
PostgreSQL through Toxiproxy listeners that the config creates, passwords are the same on
both sides, the master runs with this target file, and the workers find the master.

    problems = check_compose("docker-compose.yml", "experiments/targets/compose.yaml")

Service names are those of our docker-compose.yml; a copy that renames them can pass
`services=` (e.g. {"shop": "api"}).
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from harness.experiment.checks import is_loopback

SERVICES = {
    "redis": "redis",
    "postgres": "postgres",
    "toxiproxy": "toxiproxy",
    "shop": "shop",
    "master": "locust-master",
    "worker": "locust-worker",
}
DEFAULT_PORTS = {"redis": 6379, "postgres": 5432, "toxiproxy": 8474, "master": 5557}
PROXY_ENV = {"redis": "SHOP_REDIS_URL", "db": "SHOP_DATABASE_URL"}


def check_compose(
    compose_file: str | Path, target_file: str | Path, services: dict[str, str] | None = None
) -> list[str]:
    """Every disagreement as `file: where: what is wrong` (empty when they agree)."""
    compose_path, target_path = Path(compose_file), Path(target_file)
    names = {**SERVICES, **(services or {})}
    compose = yaml.safe_load(compose_path.read_text(encoding="utf-8")) or {}
    target_doc = yaml.safe_load(target_path.read_text(encoding="utf-8")) or {}
    defined = compose.get("services") or {}
    problems = [
        f"{compose_path}: services: no service `{name}` ({role})"
        for role, name in names.items()
        if name not in defined
    ]
    if problems:
        return problems
    files = _Files(compose_path, target_path, names,
                   {role: defined[name] for role, name in names.items()}, target_doc,
                   _Reporter(str(compose_path)), _Reporter(str(target_path)))
    shop_port = int(_flag(_argv(files.svc["shop"].get("command")), "--port") or 8000)
    api_port, proxies = _toxiproxy(files)
    for role, port in (("toxiproxy", api_port), ("shop", shop_port)):
        if port not in _published(files.svc[role]):
            files.compose.add(f"services.{names[role]}.ports", f"port {port} is not published "
                              "(a facilitator's browser or `stampede faults clear` on the host "
                              "needs it)")
    _shop_through_proxies(files, proxies)
    _target_urls(files, {"shop": shop_port, "toxiproxy": api_port,
                         "postgres": DEFAULT_PORTS["postgres"]}, proxies)
    _master_and_workers(files)
    _builds(files)
    return files.compose.problems + files.target.problems


@dataclass
class _Files:
    """The two files being checked against each other, and where each one's problems go."""

    compose_path: Path
    target_path: Path
    names: dict[str, str]  # role -> compose service name
    svc: dict[str, dict[str, Any]]  # role -> its compose service
    target_doc: dict[str, Any]
    compose: _Reporter
    target: _Reporter


def _toxiproxy(f: _Files) -> tuple[int, dict[str, dict[str, Any]]]:
    """Toxiproxy's API port, and the proxies its -config file creates (each upstream a
    compose service on the port it listens on)."""
    where = f"services.{f.names['toxiproxy']}"
    toxi_args = _argv(f.svc["toxiproxy"].get("command"))
    api_port = int(_flag(toxi_args, "-port") or DEFAULT_PORTS["toxiproxy"])
    config_in_container = _flag(toxi_args, "-config")
    if not config_in_container:
        f.compose.add(f"{where}.command", "expected -config=/path/to/toxiproxy.json")
        return api_port, {}
    host_file = _mounted_from(f.svc["toxiproxy"], config_in_container)
    if host_file is None:
        f.compose.add(f"{where}.volumes",
                      f"nothing is mounted at {config_in_container} (the -config file)")
        return api_port, {}
    proxies: dict[str, dict[str, Any]] = {}
    try:
        config = (f.compose_path.parent / host_file).resolve().read_text()
        proxies = {p["name"]: p for p in json.loads(config)}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        f.compose.add(f"{where}.volumes", f"cannot read {host_file}: {exc}")
    for name, proxy in proxies.items():
        host, port = _split(proxy.get("upstream", ""))
        role = _role_of(host, f.names)
        if role is None:
            f.compose.add(f"{host_file}: {name}.upstream", f"{host!r} is not a compose service")
        elif port != _service_port(f.svc[role], role):
            f.compose.add(f"{host_file}: {name}.upstream",
                          f"port {port}, but {host} listens on {_service_port(f.svc[role], role)}")
    return api_port, proxies


def _shop_through_proxies(f: _Files, proxies: dict[str, dict[str, Any]]) -> None:
    """The shop reaches Redis and PostgreSQL only through those proxies, with the passwords
    of the redis and postgres services."""
    shop = f"services.{f.names['shop']}.environment"
    shop_env = _env(f.svc["shop"])
    for proxy_name, var in PROXY_ENV.items():
        url = shop_env.get(var)
        if url is None:
            f.compose.add(f"{shop}.{var}", "not set")
            continue
        parts = urlsplit(url)
        if parts.hostname != f.names["toxiproxy"]:
            f.compose.add(f"{shop}.{var}", f"goes to {parts.hostname}, not through "
                                           f"{f.names['toxiproxy']}")
        listen = proxies.get(proxy_name, {}).get("listen")
        if proxies and listen is None:
            f.compose.add(f"{shop}.{var}", f"the Toxiproxy config has no proxy `{proxy_name}`")
        elif listen is not None and parts.port != _split(listen)[1]:
            f.compose.add(f"{shop}.{var}", f"port {parts.port}, but proxy `{proxy_name}` "
                                           f"listens on {_split(listen)[1]}")
    redis_password = _env(f.svc["redis"]).get("REDIS_PASSWORD")
    if urlsplit(shop_env.get("SHOP_REDIS_URL", "")).password != redis_password:
        f.compose.add(f"{shop}.SHOP_REDIS_URL",
                      "its password is not the redis service's REDIS_PASSWORD")
    pg_env = _env(f.svc["postgres"])
    db_url = urlsplit(shop_env.get("SHOP_DATABASE_URL", ""))
    if (db_url.username, db_url.password, db_url.path.lstrip("/")) != (
        pg_env.get("POSTGRES_USER", "postgres"), pg_env.get("POSTGRES_PASSWORD"),
        pg_env.get("POSTGRES_DB", pg_env.get("POSTGRES_USER", "postgres"))):
        f.compose.add(f"{shop}.SHOP_DATABASE_URL",
                      "user, password or database differ from the postgres service's POSTGRES_*")


def _target_urls(f: _Files, ports: dict[str, int], proxies: dict[str, dict[str, Any]]) -> None:
    """The target file: every URL a service on the port it listens on, every host allowed,
    every expected proxy created, every variable it needs set on the master."""
    target = f.target_doc.get("target") or {}
    if target.get("kind") != "external":
        f.target.add("target.kind", "expected external")
    for key, role in (("base_url", "shop"), ("metrics_url", "shop"),
                      ("toxiproxy_url", "toxiproxy"), ("database_url", "postgres")):
        url = target.get(key)
        if url is None:
            if key != "metrics_url":
                f.target.add(f"target.{key}", "missing")
            continue
        parts = urlsplit(url)
        if (parts.hostname, parts.port) != (f.names[role], ports[role]):
            f.target.add(f"target.{key}", f"{parts.hostname}:{parts.port} is not service "
                                          f"{f.names[role]} on port {ports[role]}")
    if target.get("database_url"):
        pg_env = _env(f.svc["postgres"])
        db = urlsplit(target["database_url"])
        if (db.username, db.path.lstrip("/")) != (pg_env.get("POSTGRES_USER", "postgres"),
                                                  pg_env.get("POSTGRES_DB")):
            f.target.add("target.database_url", "user or database differ from the postgres service")
        for var in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", target["database_url"]):
            if var not in _env(f.svc["master"]):
                f.compose.add(f"services.{f.names['master']}.environment",
                              f"{var} is not set, but {f.target_path.name} needs it "
                              "(target.database_url)")
    allowed = {h.lower() for h in f.target_doc.get("allowed_hosts") or []}
    for key in ("base_url", "toxiproxy_url", "metrics_url", "database_url"):
        url_host = urlsplit(str(target.get(key) or "")).hostname
        if url_host and not is_loopback(url_host) and url_host.lower() not in allowed:
            f.target.add("allowed_hosts", f"{url_host} (target.{key}) is not listed")
    for name, spec in (f.target_doc.get("proxies") or {}).items():
        spec = spec if isinstance(spec, dict) else {"upstream": spec}
        if spec.get("expect") and proxies and name not in proxies:
            f.target.add(f"proxies.{name}",
                         "expected to exist, but the Toxiproxy config does not create it")


def _master_and_workers(f: _Files) -> None:
    """The master runs this target file into a mounted folder; the workers find the master."""
    master_command = f"services.{f.names['master']}.command"
    master_args = _argv(f.svc["master"].get("command"))
    if "run" not in master_args:
        f.compose.add(master_command, "expected `stampede run EXPERIMENT ...`")
    given = _flag(master_args, "--target")
    if given is None or Path(given).name != f.target_path.name:
        f.compose.add(master_command, f"expected --target .../{f.target_path.name}, got {given}")
    out = _flag(master_args, "--out")
    if out and _mounted_from(f.svc["master"], out) is None:
        f.compose.add(f"services.{f.names['master']}.volumes", f"--out {out} is not a mounted "
                      "folder (results would vanish with the container)")
    worker_command = f"services.{f.names['worker']}.command"
    master = _flag(_argv(f.svc["worker"].get("command")), "--master")
    host, port = _split(master or "")
    if host != f.names["master"]:
        f.compose.add(worker_command, f"--master {master}: expected {f.names['master']}")
    elif port not in (None, DEFAULT_PORTS["master"]):
        f.compose.add(worker_command, f"--master port {port}: the master listens "
                                      f"on {DEFAULT_PORTS['master']}")


def _builds(f: _Files) -> None:
    """The shop, master and workers are built from this repository's Dockerfile."""
    for role in ("shop", "master", "worker"):
        build = f.svc[role].get("build")
        dockerfile = build.get("dockerfile") if isinstance(build, dict) else None
        context = build.get("context", ".") if isinstance(build, dict) else build
        if context is None:
            f.compose.add(f"services.{f.names[role]}.build", "expected a build from the repository")
        elif not (f.compose_path.parent / context / (dockerfile or "Dockerfile")).is_file():
            f.compose.add(f"services.{f.names[role]}.build", f"{dockerfile or 'Dockerfile'} not found")


class _Reporter:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[str] = []

    def add(self, where: str, what: str) -> None:
        self.problems.append(f"{self.file}: {where}: {what}")


def _argv(command: Any) -> list[str]:
    """A compose command as argv; `sh -c "..."` is looked into."""
    if command is None:
        return []
    argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
    if len(argv) >= 3 and argv[0] in ("sh", "/bin/sh", "bash") and argv[1] == "-c":
        return shlex.split(argv[2])
    return argv


def _flag(argv: list[str], name: str) -> str | None:
    """The value of `name VALUE` or `name=VALUE` in argv."""
    for index, arg in enumerate(argv):
        if arg == name and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _mounted_from(service: dict[str, Any], container_path: str) -> str | None:
    """The host side of the volume mounted at container_path (or at a parent folder of it)."""
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            source, target = volume.get("source"), volume.get("target")
        else:
            source, _, rest = str(volume).partition(":")
            target = rest.split(":")[0]
        if target and source and (container_path == target
                                  or container_path.startswith(target.rstrip("/") + "/")):
            return source if container_path == target else f"{source}{container_path[len(target):]}"
    return None


def _published(service: dict[str, Any]) -> set[int]:
    """Container ports a service publishes on the host (short and long syntax)."""
    ports: set[int] = set()
    for entry in service.get("ports") or []:
        value = entry.get("target") if isinstance(entry, dict) else str(entry).rsplit(":", 1)[-1]
        value = str(value).split("/")[0]
        if value.isdigit():
            ports.add(int(value))
    return ports


def _split(address: str) -> tuple[str, int | None]:
    host, sep, port = address.rpartition(":")
    if not sep:
        return address, None
    return host, int(port) if port.isdigit() else None


def _role_of(host: str, names: dict[str, str]) -> str | None:
    return next((role for role, name in names.items() if name == host), None)


def _service_port(service: dict[str, Any], role: str) -> int | None:
    """The port a service listens on inside the network: its official image's default,
    unless its command says --port."""
    port = _flag(_argv(service.get("command")), "--port")
    return int(port) if port else DEFAULT_PORTS.get(role)
