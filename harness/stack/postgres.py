"""A real PostgreSQL child process on 127.0.0.1, from the binaries `pgserver` ships.

pgserver's own launcher listens on a Unix socket only; the database proxy needs TCP,
so we run its `initdb` and `postgres` ourselves. PostgreSQL refuses to run as root,
so under root it runs as the unprivileged user pgserver itself would create.
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import tempfile
import warnings
from pathlib import Path

from harness.ports import LOOPBACK, free_port, wait_for_port
from harness.processes import announce

SERVICE_USER = "pgserver"


# importing pgserver asks platformdirs for a runtime dir, which warns when XDG_RUNTIME_DIR
# is unset (containers, CI): noise in every run's terminal, and harmless to us
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def postgres_bin_dir() -> Path:
    from pgserver._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _prepare_for_root(datadir: Path) -> str | None:
    """Under root: make sure the service user exists and can read binaries and own the data."""
    if os.geteuid() != 0:
        return None
    import stat

    from pgserver.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    entry = ensure_user_exists(SERVICE_USER)
    if entry is None:
        raise RuntimeError(f"could not create the service user {SERVICE_USER!r} for PostgreSQL")
    bin_dir = postgres_bin_dir()
    ensure_prefix_permissions(datadir)
    ensure_prefix_permissions(bin_dir)
    read = stat.S_IRGRP | stat.S_IROTH
    execute = stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(bin_dir, read | execute)
    ensure_folder_permissions(bin_dir.parent / "lib", read)
    ensure_folder_permissions(bin_dir.parent / "share", read)
    os.chown(datadir, entry.pw_uid, entry.pw_gid)
    return SERVICE_USER


class PostgresServer:
    """One PostgreSQL cluster in its own folder, trust auth on loopback, user `postgres`."""

    def __init__(
        self,
        port: int = 0,
        workdir: Path | None = None,
        log_path: Path | None = None,
        host: str = LOOPBACK,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="stampede-pg-"))
        self.datadir = self.workdir / "data"
        self.log_path = log_path or self.workdir / "postgres.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._user: str | None = None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    def _initdb(self) -> None:
        self.datadir.mkdir(parents=True, exist_ok=True)
        self._user = _prepare_for_root(self.datadir)
        if (self.datadir / "PG_VERSION").exists():
            return
        subprocess.run(
            [
                str(postgres_bin_dir() / "initdb"),
                "-D", str(self.datadir),
                "--auth=trust",
                "--encoding=utf8",
                "-U", "postgres",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            user=self._user,
        )

    def start(self, timeout: float = 30.0) -> PostgresServer:
        self._initdb()
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child, closed with it
        if self._user:
            entry = pwd.getpwnam(self._user)
            os.chown(self.log_path, entry.pw_uid, entry.pw_gid)
        self.proc = subprocess.Popen(
            [
                str(postgres_bin_dir() / "postgres"),
                "-D", str(self.datadir),
                "-h", self.host,
                "-p", str(self.port),
                "-k", str(self.datadir),
                "-c", "max_connections=200",
                "-c", "fsync=off",
                "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            user=self._user,
            start_new_session=True,
        )
        log.close()
        announce(self.proc, "postgres", ports=[self.port], stop_signal=signal.SIGINT)
        try:
            wait_for_port(self.host, self.port, timeout)
            self._wait_ready(timeout)
        except Exception:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        """pg_isready answers 1 at once while the server is still starting up: ask again."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            done = subprocess.run(
                [
                    str(postgres_bin_dir() / "pg_isready"),
                    "-h", self.host, "-p", str(self.port), "-t", str(max(1, int(timeout))),
                ],
                stdout=subprocess.DEVNULL,
            )
            if done.returncode == 0:
                return
            if time.monotonic() > deadline or (self.proc and self.proc.poll() is not None):
                raise RuntimeError(f"PostgreSQL on {self.host}:{self.port} not ready "
                                   f"(pg_isready exit {done.returncode}); log: {self.log_path}")
            time.sleep(0.1)

    def stop(self, timeout: float = 10.0) -> None:
        """Fast shutdown (SIGINT): open sessions are cut, as when a database host goes away."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout)

    def create_database(self, name: str) -> str:
        """Create `name` if missing and return its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
