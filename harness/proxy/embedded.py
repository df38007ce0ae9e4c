"""Starting the fault proxy from another program: in a thread, or as a child process.

`spawn` is what the embedded stack uses: the proxy then has its own process and GIL,
so forwarding never competes with the orchestrator. `run_in_thread` is for tests and
light use, and gives direct access to the loop and the server object.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import requests

from harness.ports import free_port
from harness.processes import stop_process
from harness.proxy.process import new_event_loop
from harness.proxy.server import ProxyServer

T = TypeVar("T")


class EmbeddedProxy:
    """A ProxyServer on its own event loop in a daemon thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.loop = new_event_loop()
        self.server = ProxyServer(host, port)
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="stampede-proxy", daemon=True)

    @property
    def api_url(self) -> str:
        return self.server.api_url

    def start(self, timeout: float = 10.0) -> EmbeddedProxy:
        self.thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the fault proxy did not start")
        if self._error is not None:
            raise self._error
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.server.start())
        except BaseException as exc:  # handed to start() in the caller's thread
            self._error = exc
            self._ready.set()
            self.loop.close()
            return
        self._ready.set()
        try:
            self.loop.run_forever()
        finally:
            self.loop.run_until_complete(self.server.close())
            pending = [task for task in asyncio.all_tasks(self.loop) if not task.done()]
            for task in pending:
                task.cancel()
            if pending:
                self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    def call(self, fn: Callable[[], Awaitable[T]], timeout: float = 10.0) -> T:
        """Run `await fn()` on the proxy's loop and return its result (for tests, inspection)."""

        async def wrapper() -> T:
            return await fn()

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Close every proxy and the API, then end the thread."""
        if self.thread.is_alive() and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout)

    def __enter__(self) -> EmbeddedProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_in_thread(host: str = "127.0.0.1", port: int = 0) -> EmbeddedProxy:
    """Start a fault proxy in a daemon thread of this process; port 0 picks a free one."""
    return EmbeddedProxy(host, port).start()


class ProxyProcess:
    """A `python -m harness.proxy` child process and its API address."""

    def __init__(self, proc: subprocess.Popen[bytes], api_url: str, log_path: Path | None) -> None:
        self.proc = proc
        self.api_url = api_url
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM (the proxy closes every listener), then SIGKILL if it lingers."""
        stop_process(self.proc, timeout)

    def __enter__(self) -> ProxyProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


REAL_SERVER_ENV = "STAMPEDE_TOXIPROXY_SERVER"


STACK_SERVER_ENV = "STAMPEDE_PROXY_SERVER"


def stack_server() -> Path | None:
    """The Toxiproxy binary the embedded stack runs instead of ours, if one was chosen
    (`stampede run/up --toxiproxy-server PATH`, which sets $STAMPEDE_PROXY_SERVER)."""
    value = os.environ.get(STACK_SERVER_ENV)
    return Path(value) if value else None


def real_server_path() -> Path:
    """Where the real toxiproxy-server binary is: $STAMPEDE_TOXIPROXY_SERVER, else
    `../shared/tools/toxiproxy/toxiproxy-server` beside the checkout (it may not exist)."""
    override = os.environ.get(REAL_SERVER_ENV)
    if override:
        return Path(override)
    root = Path(__file__).resolve().parents[2]
    return root.parent / "shared" / "tools" / "toxiproxy" / "toxiproxy-server"


def spawn(
    host: str = "127.0.0.1",
    port: int = 0,
    log_path: str | Path | None = None,
    config: str | Path | None = None,
    timeout: float = 15.0,
    server: str | Path | None = None,
    log_level: str = "info",
    extra_args: tuple[str, ...] = (),
) -> ProxyProcess:
    """Run the fault proxy as a child process and wait until its API answers.

    `server`: a Toxiproxy server binary (e.g. the real `toxiproxy-server`) to run instead
    of ours; it gets the same Go-style flags (`-host -port [-config]`) and LOG_LEVEL.
    `extra_args` go on its command line (e.g. `-proxy-metrics`). Output (one line per change) goes to `log_path`, or is discarded. Raises
    RuntimeError with the child's output if it exits first.
    """
    port = port or free_port(host)
    program = [str(server)] if server is not None else [sys.executable, "-m", "harness.proxy"]
    command = [*program, "-host", host, "-port", str(port)]
    if config is not None:
        command += ["-config", str(config)]
    command += list(extra_args)
    env = {**os.environ, "LOG_LEVEL": log_level}
    # with no log file the output goes to an anonymous temp file: read on failure, never blocks
    output = open(log_path, "ab") if log_path else tempfile.TemporaryFile()  # noqa: SIM115
    with output:
        proc = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)  # a terminal's Ctrl-C must not kill it before rollback
        api_url = f"http://{host}:{port}"
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                output.flush()
                with open(output.name if log_path else f"/proc/self/fd/{output.fileno()}", "rb") as f:
                    text = f.read()[-2000:].decode(errors="replace").strip()
                raise RuntimeError(f"the fault proxy exited with status {proc.returncode}: {text}")
            try:
                if requests.get(f"{api_url}/version", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                stop_process(proc)
                raise TimeoutError(f"the fault proxy did not answer on {api_url} within {timeout:.0f}s")
            time.sleep(0.05)
    return ProxyProcess(proc, api_url, Path(log_path) if log_path else None)
