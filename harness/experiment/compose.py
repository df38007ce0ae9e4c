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
    svc = {role: defined[name] for role, name in names.items()}
    c = _Reporter(str(compose_path))
    t = _Reporter(str(target_path))

    shop_port = int(_flag(_argv(svc["shop"].get("command")), "--port") or 8000)
    # Toxiproxy: its API port, and the proxies its -config file creates
    toxi_args = _argv(svc["toxiproxy"].get("command"))
    api_port = int(_flag(toxi_args, "-port") or DEFAULT_PORTS["toxiproxy"])
    config_in_container = _flag(toxi_args, "-config")
    proxies: dict[str, dict[str, Any]] = {}
    if not config_in_container:
        c.add(f"services.{names['toxiproxy']}.command", "expected -config=/path/to/toxiproxy.json")
    else:
        host_file = _mounted_from(svc["toxiproxy"], config_in_container)
        if host_file is None:
            c.add(f"services.{names['toxiproxy']}.volumes",
                  f"nothing is mounted at {config_in_container} (the -config file)")
        else:
            config_path = (compose_path.parent / host_file).resolve()
            try:
                proxies = {p["name"]: p for p in json.loads(config_path.read_text())}
            except (OSError, ValueError, KeyError, TypeError) as exc:
                c.add(f"services.{names['toxiproxy']}.volumes", f"cannot read {host_file}: {exc}")
            for name, proxy in proxies.items():
                host, port = _split(proxy.get("upstream", ""))
                role = _role_of(host, names)
                if role is None:
                    c.add(f"{host_file}: {name}.upstream", f"{host!r} is not a compose service")
                elif port != _service_port(svc[role], role):
                    c.add(f"{host_file}: {name}.upstream",
                          f"port {port}, but {host} listens on {_service_port(svc[role], role)}")

    for role, port in (("toxiproxy", api_port), ("shop", shop_port)):
        if port not in _published(svc[role]):
            c.add(f"services.{names[role]}.ports", f"port {port} is not published "
                  "(a facilitator's browser or `stampede faults clear` on the host needs it)")

    # the shop reaches Redis and PostgreSQL only through those proxies, with the right passwords
    shop_env = _env(svc["shop"])
    for proxy_name, var in PROXY_ENV.items():
        where = f"services.{names['shop']}.environment.{var}"
        url = shop_env.get(var)
        if url is None:
            c.add(where, "not set")
            continue
        parts = urlsplit(url)
        if parts.hostname != names["toxiproxy"]:
            c.add(where, f"goes to {parts.hostname}, not through {names['toxiproxy']}")
        listen = proxies.get(proxy_name, {}).get("listen")
        if proxies and listen is None:
            c.add(where, f"the Toxiproxy config has no proxy `{proxy_name}`")
        elif listen is not None and parts.port != _split(listen)[1]:
            c.add(where, f"port {parts.port}, but proxy `{proxy_name}` listens on {_split(listen)[1]}")
    redis_password = _env(svc["redis"]).get("REDIS_PASSWORD")
    if urlsplit(shop_env.get("SHOP_REDIS_URL", "")).password != redis_password:
        c.add(f"services.{names['shop']}.environment.SHOP_REDIS_URL",
              "its password is not the redis service's REDIS_PASSWORD")
    pg_env = _env(svc["postgres"])
    db_url = urlsplit(shop_env.get("SHOP_DATABASE_URL", ""))
    if (db_url.username, db_url.password, db_url.path.lstrip("/")) != (
        pg_env.get("POSTGRES_USER", "postgres"), pg_env.get("POSTGRES_PASSWORD"),
        pg_env.get("POSTGRES_DB", pg_env.get("POSTGRES_USER", "postgres"))):
        c.add(f"services.{names['shop']}.environment.SHOP_DATABASE_URL",
              "user, password or database differ from the postgres service's POSTGRES_*")

    # the target file: every URL is a service on the port it listens on
    target = target_doc.get("target") or {}
    if target.get("kind") != "external":
        t.add("target.kind", "expected external")
    for key, role, port in (("base_url", "shop", shop_port), ("metrics_url", "shop", shop_port),
                            ("toxiproxy_url", "toxiproxy", api_port),
                            ("database_url", "postgres", DEFAULT_PORTS["postgres"])):
        url = target.get(key)
        if url is None:
            if key != "metrics_url":
                t.add(f"target.{key}", "missing")
            continue
        parts = urlsplit(url)
        if (parts.hostname, parts.port) != (names[role], port):
            t.add(f"target.{key}", f"{parts.hostname}:{parts.port} is not service "
                                   f"{names[role]} on port {port}")
    if target.get("database_url"):
        db = urlsplit(target["database_url"])
        if (db.username, db.path.lstrip("/")) != (pg_env.get("POSTGRES_USER", "postgres"),
                                                  pg_env.get("POSTGRES_DB")):
            t.add("target.database_url", "user or database differ from the postgres service")
        for var in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", target["database_url"]):
            if var not in _env(svc["master"]):
                c.add(f"services.{names['master']}.environment",
                      f"{var} is not set, but {target_path.name} needs it (target.database_url)")
    allowed = {h.lower() for h in target_doc.get("allowed_hosts") or []}
    for key in ("base_url", "toxiproxy_url", "metrics_url", "database_url"):
        url_host = urlsplit(str(target.get(key) or "")).hostname
        if url_host and not is_loopback(url_host) and url_host.lower() not in allowed:
            t.add("allowed_hosts", f"{url_host} (target.{key}) is not listed")
    for name, spec in (target_doc.get("proxies") or {}).items():
        spec = spec if isinstance(spec, dict) else {"upstream": spec}
        if spec.get("expect") and proxies and name not in proxies:
            t.add(f"proxies.{name}", "expected to exist, but the Toxiproxy config does not create it")

    # the master runs this target file; the workers find the master
    master_args = _argv(svc["master"].get("command"))
    if "run" not in master_args:
        c.add(f"services.{names['master']}.command", "expected `stampede run EXPERIMENT ...`")
    given = _flag(master_args, "--target")
    if given is None or Path(given).name != target_path.name:
        c.add(f"services.{names['master']}.command",
              f"expected --target .../{target_path.name}, got {given}")
    out = _flag(master_args, "--out")
    if out and _mounted_from(svc["master"], out) is None:
        c.add(f"services.{names['master']}.volumes", f"--out {out} is not a mounted folder "
                                                     "(results would vanish with the container)")
    master = _flag(_argv(svc["worker"].get("command")), "--master")
    host, port = _split(master or "")
    if host != names["master"]:
        c.add(f"services.{names['worker']}.command", f"--master {master}: expected {names['master']}")
    elif port not in (None, DEFAULT_PORTS["master"]):
        c.add(f"services.{names['worker']}.command", f"--master port {port}: the master listens "
                                                     f"on {DEFAULT_PORTS['master']}")
    for role in ("shop", "master", "worker"):
        build = svc[role].get("build")
        dockerfile = build.get("dockerfile") if isinstance(build, dict) else None
        context = build.get("context", ".") if isinstance(build, dict) else build
        if context is None:
            c.add(f"services.{names[role]}.build", "expected a build from the repository")
        elif not (compose_path.parent / context / (dockerfile or "Dockerfile")).is_file():
            c.add(f"services.{names[role]}.build", f"{dockerfile or 'Dockerfile'} not found")
    return c.problems + t.problems


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
