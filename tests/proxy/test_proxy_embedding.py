"""The Python ways to run the proxy: ProxyServer on your loop, run_in_thread, spawn."""

from __future__ import annotations

import asyncio
import socket

import requests

from harness.proxy import ProxyServer, run_in_thread, spawn


def listening(address: str) -> bool:
    host, port = address.removeprefix("http://").rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError:
        return False
    return True


def test_proxy_server_on_a_running_loop() -> None:
    async def main() -> tuple[int, str, str]:
        server = ProxyServer(port=0)
        await server.start()
        loop = asyncio.get_running_loop()
        try:
            created = await loop.run_in_executor(None, lambda: requests.post(
                f"{server.api_url}/proxies", json={"name": "x", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"}, timeout=10))
            return created.status_code, created.json()["listen"], server.api_url
        finally:
            await server.close()

    status, listen, api_url = asyncio.run(asyncio.wait_for(main(), 30))
    assert status == 201
    assert not listening(listen) and not listening(api_url)  # close() stopped proxies and API


def test_run_in_thread_stop_closes_everything() -> None:
    proxy = run_in_thread()
    listen = requests.post(f"{proxy.api_url}/proxies", json={"name": "x", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"},
                           timeout=10).json()["listen"]
    assert listening(listen) and listening(proxy.api_url)
    proxy.stop()
    assert not proxy.thread.is_alive()
    assert not listening(listen) and not listening(proxy.api_url)


def test_spawn_stop_ends_the_process() -> None:
    with spawn() as proxy:
        assert requests.get(f"{proxy.api_url}/version", timeout=10).ok
    assert proxy.proc.poll() is not None
    assert not listening(proxy.api_url)
