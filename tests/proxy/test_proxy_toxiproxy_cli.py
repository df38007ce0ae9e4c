"""The real `toxiproxy-cli` driving each server: every command checked by the state it
leaves (through the API), and its output compared between ours and the real server."""

from __future__ import annotations

import re
import subprocess

from harness.proxy.embedded import real_server_path

from .conftest import Api

CLI = real_server_path().with_name("toxiproxy-cli")


def cli(api: Api, *args: str) -> tuple[int, str]:
    result = subprocess.run([str(CLI), "-h", api.base, *args], capture_output=True, text=True, timeout=30)
    return result.returncode, re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", result.stdout + result.stderr)


def session(api: Api) -> list[tuple[int, str]]:
    """The CLI's commands in order, each followed by a check of what it did."""
    proxy = lambda: api("GET", "/proxies/cli").json()  # noqa: E731
    outputs = [cli(api, "list")]
    outputs.append(cli(api, "create", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "cli"))
    assert proxy()["upstream"] == "127.0.0.1:1" and proxy()["enabled"] is True
    outputs.append(cli(api, "list"))
    outputs.append(cli(api, "toggle", "cli"))
    assert proxy()["enabled"] is False
    outputs.append(cli(api, "toggle", "cli"))
    assert proxy()["enabled"] is True
    outputs.append(cli(api, "toxic", "add", "-t", "timeout", "cli"))  # no attributes: timeout 0
    assert proxy()["toxics"][0]["attributes"] == {"timeout": 0}
    outputs.append(cli(api, "toxic", "add", "-t", "latency", "-a", "latency=100", "-a", "jitter=5", "-n", "lat",
                       "-u", "--tox", "0.5", "cli"))
    lat = api("GET", "/proxies/cli/toxics/lat").json()
    assert lat["stream"] == "upstream" and lat["toxicity"] == 0.5 and lat["attributes"]["latency"] == 100
    outputs.append(cli(api, "toxic", "update", "-n", "lat", "-a", "latency=200", "cli"))
    assert api("GET", "/proxies/cli/toxics/lat").json()["attributes"] == {"latency": 200, "jitter": 5}
    outputs.append(cli(api, "inspect", "cli"))
    outputs.append(cli(api, "toxic", "remove", "-n", "lat", "cli"))
    assert [t["name"] for t in proxy()["toxics"]] == ["timeout_downstream"]
    outputs.append(cli(api, "delete", "cli"))
    assert api("GET", "/proxies/cli").status_code == 404
    outputs.append(cli(api, "delete", "cli"))
    outputs.append(cli(api, "toggle", "nope"))
    return outputs


def test_cli_session(api: Api) -> None:
    outputs = session(api)
    codes = [code for code, _ in outputs]
    assert codes == [0] * 11 + [1, 1], outputs
    assert "Added upstream latency toxic 'lat' on proxy 'cli'" in outputs[6][1]
    assert "proxy not found" in outputs[-1][1]


def test_cli_output_is_the_same_on_both(proxy_server, real_server) -> None:
    from .conftest import clean_api

    answers = {}
    for kind, server in (("ours", proxy_server), ("real", real_server)):
        for api in clean_api(server.api_url, kind):
            answers[kind] = session(api)
    assert answers["ours"] == answers["real"]
