"""The same requests to ours and to the real server, answers compared side by side.

Each script runs on a clean server of each kind; statuses must be equal and bodies equal
once normalised: the real server's `"Logger": {}` dropped, listen ports (which differ by
nature) replaced, and Go's json error details after "bad request body:" cut (ours cannot
name Go struct fields). Everything else must match to the byte.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from harness.proxy import EmbeddedProxy, ProxyProcess

from .conftest import Api, clean_api

Step = tuple[str, str, object]

SCRIPTS: dict[str, list[Step]] = {
    "proxies": [
        ("GET", "/proxies", None),
        ("POST", "/proxies", {"name": "db", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"}),
        ("POST", "/proxies", {"name": "db", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:2"}),
        ("POST", "/proxies", {"name": "off", "listen": "127.0.0.1:0", "upstream": "h:1", "enabled": False}),
        ("POST", "/proxies", {"listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"}),
        ("POST", "/proxies", {"name": "x"}),
        ("POST", "/proxies", {"name": "x", "upstream": ""}),
        ("POST", "/proxies", b"{not json"),
        ("POST", "/proxies", b""),
        ("POST", "/proxies", {"name": 5, "upstream": "127.0.0.1:1"}),
        ("POST", "/proxies", {"name": "x", "listen": "127.0.0.1:99999", "upstream": "127.0.0.1:1"}),
        ("POST", "/proxies", {"name": "x", "listen": "nocolon", "upstream": "127.0.0.1:1"}),
        ("GET", "/proxies/db", None),
        ("GET", "/proxies/nope", None),
        ("PATCH", "/proxies/db", {"enabled": False}),
        ("POST", "/proxies/db", {"upstream": "elsewhere"}),
        ("PATCH", "/proxies/nope", {}),
        ("PATCH", "/proxies/db", b"[oops"),
        ("POST", "/proxies/db", {"enabled": "no"}),
        ("GET", "/proxies", None),
        ("DELETE", "/proxies/off", None),
        ("DELETE", "/proxies/off", None),
        ("POST", "/reset", None),
        ("GET", "/proxies", None),
    ],
    "toxics": [
        ("POST", "/proxies", {"name": "db", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"}),
        ("POST", "/proxies/db/toxics", {"type": "latency", "attributes": {"latency": 100}}),
        ("POST", "/proxies/db/toxics", {"type": "latency", "attributes": {"latency": 100}}),
        ("POST", "/proxies/db/toxics", {"type": "timeout"}),
        ("POST", "/proxies/db/toxics", {"type": "latency", "name": "neg", "attributes": {"latency": -5, "x": 1}}),
        ("POST", "/proxies/db/toxics", {"type": "slicer", "stream": "upstream", "toxicity": 0.5}),
        ("POST", "/proxies/db/toxics", {"type": "bandwidth", "name": "bw", "toxicity": 2}),
        ("POST", "/proxies/db/toxics", {"type": "limit_data", "name": "ld", "stream": None}),
        ("POST", "/proxies/db/toxics", {"type": "slow_close", "name": "UP", "stream": "UPSTREAM"}),
        ("POST", "/proxies/db/toxics", {"type": "reset_peer", "name": "rp", "attributes": {"timeout": 10}}),
        ("POST", "/proxies/db/toxics", {"type": "teleport"}),
        ("POST", "/proxies/db/toxics", {"type": "latency", "stream": "sideways"}),
        ("POST", "/proxies/db/toxics", {"type": "latency", "name": "s", "attributes": {"latency": "100"}}),
        ("POST", "/proxies/db/toxics", {"type": "latency", "name": "f", "attributes": {"latency": 1.5}}),
        ("POST", "/proxies/db/toxics", b"{nope"),
        ("POST", "/proxies/nope/toxics", {"type": "latency"}),
        ("GET", "/proxies/db/toxics", None),
        ("GET", "/proxies/db/toxics/neg", None),
        ("GET", "/proxies/db/toxics/nope", None),
        ("PATCH", "/proxies/db/toxics/latency_downstream", {"attributes": {"jitter": 7}, "toxicity": 0.25,
                                                            "name": "renamed", "stream": "upstream"}),
        ("POST", "/proxies/db/toxics/latency_downstream", {"attributes": {"latency": "x"}}),
        ("PATCH", "/proxies/db/toxics/nope", {"toxicity": 1}),
        ("GET", "/proxies/db", None),
        ("DELETE", "/proxies/db/toxics/neg", None),
        ("DELETE", "/proxies/db/toxics/neg", None),
        ("POST", "/reset", None),
        ("GET", "/proxies/db/toxics", None),
    ],
    "populate": [
        ("POST", "/populate", [{"name": "a", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"},
                               {"name": "b", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:2", "enabled": False}]),
        ("POST", "/populate", [{"name": "ok", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"},
                               {"name": "broken", "listen": "127.0.0.1:0"}]),
        ("POST", "/populate", {"name": "x"}),
        ("POST", "/populate", b"[{"),
        ("GET", "/proxies", None),
    ],
    "misc": [
        ("GET", "/nothing/here", None),
        ("HEAD", "/proxies", None),
        ("GET", "/metrics", None),
    ],
}


def normalise(body: object) -> object:
    if isinstance(body, dict):
        if isinstance(body.get("error"), str) and body["error"].startswith("bad request body:"):
            body = {**body, "error": "bad request body: ..."}
        return {key: normalise(value) for key, value in body.items() if key != "Logger"}
    if isinstance(body, list):
        return [normalise(item) for item in body]
    if isinstance(body, str):
        return re.sub(r"^(127\.0\.0\.1|\[::\]|0\.0\.0\.0):\d+$", r"\1:PORT", body)
    return body


def run(api: Api, steps: list[Step]) -> list[tuple[str, int, str, object]]:
    answers = []
    for method, path, body in steps:
        kwargs = {"data": body} if isinstance(body, bytes) else {"json": body} if body is not None else {}
        reply = api(method, path, **kwargs)
        try:
            content: object = normalise(reply.json())
        except ValueError:
            content = reply.text
        kind = reply.headers.get("Content-Type", "").split(";")[0]
        answers.append((f"{method} {path}", reply.status_code, kind, content))
    return answers


@pytest.fixture
def both(proxy_server: EmbeddedProxy, real_server: ProxyProcess) -> Iterator[tuple[Api, Api]]:
    ours, real = clean_api(proxy_server.api_url, "ours"), clean_api(real_server.api_url, "real")
    yield next(ours), next(real)
    for gen in (ours, real):
        next(gen, None)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_same_answers(both: tuple[Api, Api], script: str) -> None:
    ours, real = both
    got, expected = run(ours, SCRIPTS[script]), run(real, SCRIPTS[script])
    for mine, theirs in zip(got, expected, strict=True):
        assert mine == theirs
