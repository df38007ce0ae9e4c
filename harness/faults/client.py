"""A Toxiproxy v2 API client whose every call is bounded by a timeout.

Why not toxiproxy-python's objects directly: they keep the API host and port as class
attributes (one API per process) and pass no timeout to requests, so a hung fault proxy
would hang the run and its rollback. This client speaks the same HTTP API (Toxiproxy's
v2 API, described in its README: https://github.com/Shopify/toxiproxy) with requests and a
timeout on every call, and works against the real Toxiproxy and our embedded one alike.
"""

from __future__ import annotations

import threading
from typing import Any, cast

import requests

DEFAULT_API = "http://127.0.0.1:8474"


class FaultError(RuntimeError):
    """A fault proxy call failed; the message names the API URL and the server's error body."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def unreachable(self) -> bool:
        """Nothing listens at the API: a proxy that is gone holds no faults."""
        return self.status is None and "connection refused" in str(self).lower()


class FaultClient:
    """Calls to one Toxiproxy API; thread-safe (one lock around a kept-alive session)."""

    def __init__(self, api_url: str = DEFAULT_API, timeout: float = 2.0) -> None:
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        # The real server refuses browser user agents; say who we are.
        self._session.headers["User-Agent"] = "stampede-faults/0.1"
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FaultClient({self.api_url!r})"

    def close(self) -> None:
        self._session.close()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        url = self.api_url + path
        try:
            with self._lock:
                response = self._session.request(method, url, json=body, timeout=self.timeout)
        except requests.ConnectionError as exc:
            reason = "connection refused" if "refused" in str(exc).lower() else str(exc)
            raise FaultError(f"{method} {url}: {reason}") from None
        except requests.Timeout:
            raise FaultError(f"{method} {url}: no answer within {self.timeout:g}s") from None
        if response.status_code >= 400:
            try:
                detail = response.json().get("error") or response.text
            except ValueError:
                detail = response.text
            raise FaultError(
                f"{method} {url}: HTTP {response.status_code}: {detail.strip()}",
                status=response.status_code,
            )
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def version(self) -> str:
        answer = self._call("GET", "/version")
        return answer.get("version", "") if isinstance(answer, dict) else str(answer)

    def proxies(self) -> dict[str, dict[str, Any]]:
        return cast(dict[str, dict[str, Any]], self._call("GET", "/proxies"))

    def get_proxy(self, name: str) -> dict[str, Any]:
        return cast(dict[str, Any], self._call("GET", f"/proxies/{name}"))

    def populate(self, proxies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Create or keep proxies (`{name, listen, upstream}`), returning them as stored."""
        return cast(list[dict[str, Any]], self._call("POST", "/populate", proxies)["proxies"])

    def create_proxy(self, name: str, listen: str, upstream: str, enabled: bool = True) -> dict[str, Any]:
        body = {"name": name, "listen": listen, "upstream": upstream, "enabled": enabled}
        return cast(dict[str, Any], self._call("POST", "/proxies", body))

    def delete_proxy(self, name: str) -> None:
        self._call("DELETE", f"/proxies/{name}")

    def add_toxic(
        self,
        proxy: str,
        name: str,
        type: str,
        stream: str = "downstream",
        toxicity: float = 1.0,
        attributes: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        body = {
            "name": name,
            "type": type,
            "stream": stream,
            "toxicity": toxicity,
            "attributes": attributes or {},
        }
        return cast(dict[str, Any], self._call("POST", f"/proxies/{proxy}/toxics", body))

    def toxics(self, proxy: str) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._call("GET", f"/proxies/{proxy}/toxics"))

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")

    def set_enabled(self, proxy: str, enabled: bool) -> dict[str, Any]:
        return cast(dict[str, Any], self._call("POST", f"/proxies/{proxy}", {"enabled": enabled}))

    def reset(self) -> None:
        """Every proxy enabled, every toxic removed (on this API, not only ours)."""
        self._call("POST", "/reset")
