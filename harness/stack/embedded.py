"""The embedded stack: redis-server, PostgreSQL, the fault proxy and the target, as children.

Started in dependency order and stopped in reverse order on every exit path (the
runner wraps it in `with`, and turns SIGINT/SIGTERM into an orderly exit). The target
reaches Redis and PostgreSQL only through the proxies `redis` and `db`, so both can
be slowed, cut or taken down; the harness itself (collectors, actions, write check)
uses the direct addresses.

Every child is announced to the run's guardian (harness.guardian), which stops them if the
orchestrator is killed. Only the target also dies with the orchestrator (PR_SET_PDEATHSIG):
it holds no state. The fault proxy must live until the guardian has undone the faults
through its API, and the databases get a clean shutdown from the guardian instead.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import redis
import requests

from harness.ports import LOOPBACK, free_port
from harness.processes import announce, announce_folder, die_with_parent, stop_process
from harness.stack.base import RedisAction, StackError
from harness.stack.postgres import PostgresServer
from harness.stack.redis_server import RedisServer
from harness.target_service import TargetService, target_service

__all__ = ["EmbeddedStack", "StackError"]


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "\n".join("    " + line for line in text)


class EmbeddedStack:
    """Every process a default run needs, on free loopback ports, in one temp folder."""

    kind = "embedded"

    def __init__(self, log_dir: Path, flaws: Iterable[str] = (),
                 options: Mapping[str, object] | None = None,
                 service: TargetService | None = None, workdir: Path | None = None) -> None:
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="stampede-stack-"))
        self.service = service or target_service()
        self.flaws = sorted(self.service.parse_flaws(flaws))
        self.options = dict(options or {})
        self.password = secrets.token_urlsafe(24)
        self.password_file = self.workdir / "redis-password"
        self.redis: RedisServer | None = None
        self.postgres: PostgresServer | None = None
        self.proxy: Any = None
        self.target: subprocess.Popen[bytes] | None = None
        self.target_port = 0
        self.redis_proxy_port = 0
        self.db_proxy_port = 0

    # addresses ---------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.target_port}"

    @property
    def metrics_url(self) -> str:
        return f"{self.base_url}{self.service.metrics_path}"

    @property
    def toxiproxy_url(self) -> str:
        assert self.proxy is not None, "the stack is not started"
        return str(self.proxy.api_url)

    @property
    def database_url(self) -> str:
        """Direct (not proxied) URL of the source of truth, for collectors and the write check."""
        assert self.postgres is not None, "the stack is not started"
        return self.postgres.url(self.service.database)

    @property
    def write_rules(self) -> Mapping[str, str]:
        return self.service.writes

    def redis_client(self, **kwargs: Any) -> redis.Redis:
        """A client on the real Redis (not through the proxy), for INFO and the actions."""
        assert self.redis is not None, "the stack is not started"
        return redis.Redis(host=self.redis.host, port=self.redis.port, password=self.password,
                           socket_timeout=2.0, socket_connect_timeout=2.0, **kwargs)

    def addresses(self) -> dict[str, str | None]:
        """What `stampede up` prints and experiment.json records: no secret in clear."""
        assert self.redis is not None, "the stack is not started"
        return {
            "target": self.base_url,
            "metrics": self.metrics_url,
            "toxiproxy_api": self.toxiproxy_url,
            "redis_via_proxy": f"redis://:***@{LOOPBACK}:{self.redis_proxy_port}/0",
            "redis_direct": f"redis://:***@{LOOPBACK}:{self.redis.port}/0",
            "redis_password_file": str(self.password_file),
            "db_via_proxy": f"postgresql://postgres@{LOOPBACK}:{self.db_proxy_port}/{self.service.database}",
            "db_direct": self.database_url,
        }

    # lifecycle ---------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> EmbeddedStack:
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, timeout: float) -> None:
        from harness.proxy.embedded import spawn, stack_server

        if self._own_workdir:
            announce_folder(self.workdir)
        fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.password + "\n")

        self.redis = RedisServer(password=self.password, workdir=self.workdir / "redis",
                                 log_path=self.log_dir / "redis.log")
        try:
            self.redis.start()
        except Exception as exc:
            raise StackError(f"redis-server did not start: {exc}; log: {self.redis.log_path}") from exc

        self.postgres = PostgresServer(workdir=self.workdir / "postgres",
                                       log_path=self.log_dir / "postgres.log")
        try:
            self.postgres.start()
            self.postgres.create_database(self.service.database)
        except Exception as exc:
            raise StackError(
                f"PostgreSQL did not start: {exc}; log: {self.postgres.log_path}\n"
                f"{_log_tail(self.postgres.log_path)}") from exc

        self.redis_proxy_port = free_port()
        self.db_proxy_port = free_port()
        try:  # its own session (see spawn): a terminal's Ctrl-C cannot kill it before rollback
            self.proxy = spawn(host=LOOPBACK, port=0, log_path=self.log_dir / "proxy.log",
                               server=stack_server())  # ours unless --toxiproxy-server
        except Exception as exc:
            raise StackError(f"the fault proxy did not start: {exc}; log: "
                             f"{self.log_dir / 'proxy.log'}") from exc
        # no die_with_parent: after a SIGKILL the guardian undoes the faults through its API
        announce(self.proxy.proc, "fault proxy", needed_for_rollback=True, ports=(
            int(self.proxy.api_url.rsplit(":", 1)[1]), self.redis_proxy_port, self.db_proxy_port))
        resp = requests.post(f"{self.proxy.api_url}/populate", timeout=5, json=[
            {"name": "redis", "listen": f"{LOOPBACK}:{self.redis_proxy_port}",
             "upstream": f"{LOOPBACK}:{self.redis.port}"},
            {"name": "db", "listen": f"{LOOPBACK}:{self.db_proxy_port}",
             "upstream": f"{LOOPBACK}:{self.postgres.port}"},
        ])
        if resp.status_code != 201:
            raise StackError(f"creating proxies on {self.proxy.api_url} failed: {resp.text}")

        self._start_target(timeout)

    def _start_target(self, timeout: float) -> None:
        self.target_port = free_port()
        # secrets go through the environment: a command line is readable by anyone (ps)
        env = dict(os.environ) | self.service.environment(
            f"redis://:{self.password}@{LOOPBACK}:{self.redis_proxy_port}/0",
            f"postgresql://postgres@{LOOPBACK}:{self.db_proxy_port}/{self.service.database}")
        cmd = self.service.command(LOOPBACK, self.target_port, self.flaws, self.options)
        log_path = self.log_dir / "target.log"
        with open(log_path, "ab") as log:
            self.target = subprocess.Popen(  # stateless: it may die with the orchestrator
                cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                cwd=Path(__file__).resolve().parents[2], start_new_session=True,
                preexec_fn=die_with_parent())
        announce(self.target, "target", ports=[self.target_port])
        deadline = time.monotonic() + timeout
        while True:
            if self.target.poll() is not None:
                raise StackError(f"the target exited with status {self.target.returncode} "
                                 f"while starting; log: {log_path}\n{_log_tail(log_path)}")
            try:
                health = f"{self.base_url}{self.service.health_path}"
                if requests.get(health, timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise StackError(f"the target did not answer GET {self.service.health_path} "
                                 f"with 200 within "
                                 f"{timeout:.0f}s; log: {log_path}\n{_log_tail(log_path)}")
            time.sleep(0.1)

    def restart_target(self, timeout: float = 60.0) -> None:
        """The target alone, stopped and started again on a new port (its dependencies stay up):
        a fresh process with nothing left over from the load before, such as a connection
        pool an outage shrank or an open breaker."""
        stop_process(self.target, timeout=10)
        self.target = None
        self._start_target(timeout)

    def stop(self) -> None:
        """Reverse order: the target first, so it never sees its dependencies vanish as a fault."""
        stop_process(self.target, timeout=10)
        self.target = None
        if self.proxy is not None:
            try:
                self.proxy.stop()
            finally:
                self.proxy = None
        if self.postgres is not None:
            self.postgres.stop()
        if self.redis is not None:
            self.redis.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> EmbeddedStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # actions on the real Redis, for the fault schedule ---------------------------
    def actions(self) -> dict[str, RedisAction]:
        def flush_cache() -> None:
            with self.redis_client() as r:
                r.flushall()

        def restart_redis() -> None:
            assert self.redis is not None, "the stack is not started"
            self.redis.restart()

        def set_maxmemory(maxmemory: str, policy: str | None = None) -> None:
            with self.redis_client() as r:
                r.config_set("maxmemory", maxmemory)
                if policy:
                    r.config_set("maxmemory-policy", policy)

        def expire_key(key: str) -> None:
            with self.redis_client() as r:
                r.delete(key)

        return {"flush_cache": flush_cache, "restart_redis": restart_redis,
                "set_maxmemory": set_maxmemory, "expire_key": expire_key}
