"""Who may talk to the live view: its own address only, and orders only from its own page.

Any web page a person has open can send requests to 127.0.0.1 (cross-site request
forgery), and a hostile DNS name can be pointed at 127.0.0.1 after the page loaded (DNS
rebinding). So every request must name the address the view was bound to in its Host
header, and a state-changing request (anything but GET/HEAD/OPTIONS) whose Origin, or
Referer when the browser sent no Origin, is another site is refused. No CORS header is
ever sent: no other origin may read the view either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol
from urllib.parse import urlsplit

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
WILDCARDS = ("", "*", "0.0.0.0", "::", "[::]")


class Headers(Protocol):
    """A dict, or http.server's case-insensitive message: anything with `get`."""

    def get(self, name: str, /) -> str | None: ...


def allowed_hosts(bind_host: str, port: int) -> frozenset[str]:
    """Host header values (`host:port`, lowercase) naming a view bound to bind_host:port.

    A loopback or every-interface bind is also reached as 127.0.0.1, localhost and [::1].
    """
    host = bind_host.strip().lower()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal, as a Host header writes it
    names = set() if host in WILDCARDS else {host}
    if host in WILDCARDS or host in LOOPBACK_NAMES or host.startswith("127."):
        names.update(LOOPBACK_NAMES)
    hosts = {f"{name}:{port}" for name in names}
    if port == 80:
        hosts |= names  # a browser leaves the default port out
    return frozenset(hosts)


def refusal(method: str, headers: Headers, allowed: Iterable[str]) -> str | None:
    """Why this request must be refused (403), or None when it may go on."""
    hosts = frozenset(allowed)
    host = (headers.get("Host") or "").strip().lower()
    if host not in hosts:
        return f"Host {host or '(none)'!r} is not this view's address"
    origin = headers.get("Origin")
    if origin is None and method.upper() not in SAFE_METHODS:
        referer = headers.get("Referer")
        origin = _origin_of(referer) if referer else None
    if origin is None:
        return None  # not sent by a browser page (curl, scripts): nothing to forge
    parts = urlsplit(origin.strip().lower())
    if parts.scheme != "http" or parts.netloc not in hosts:
        return f"Origin {origin!r} is not this view's own"
    return None


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class GuardMiddleware:
    """WSGI middleware in front of the whole app (Locust's routes and ours): checks every
    request before any route or before_request hook runs, strips CORS headers after."""

    def __init__(self, app: Callable[..., Any], allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = frozenset(allowed)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        headers = {"Host": environ.get("HTTP_HOST", "")}
        for name, key in (("Origin", "HTTP_ORIGIN"), ("Referer", "HTTP_REFERER")):
            if key in environ:
                headers[name] = environ[key]
        reason = refusal(environ.get("REQUEST_METHOD", "GET"), headers, self.allowed)
        if reason is not None:
            body = f"refused: {reason}\n".encode()
            start_response("403 Forbidden", [("Content-Type", "text/plain; charset=utf-8"),
                                             ("Content-Length", str(len(body)))])
            return [body]

        def no_cors(status: str, response_headers: list[tuple[str, str]], *rest: Any) -> Any:
            kept = [(k, v) for k, v in response_headers
                    if not k.lower().startswith("access-control-")]
            return start_response(status, kept, *rest)

        return self.app(environ, no_cors)


def install(app: Any, bind_host: str, port: int) -> None:
    """Put the guard in front of a Flask app served at bind_host:port."""
    app.wsgi_app = GuardMiddleware(app.wsgi_app, allowed_hosts(bind_host, port))
