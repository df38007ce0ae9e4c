"""allowed_hosts covers every address: URL hosts and query hosts, options, proxies, binds."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.experiment import load_experiment
from harness.experiment.addresses import libpq_default_hosts, url_hosts
from harness.experiment.loader import ExperimentError

LOAD = "load: {users: 2, duration: 10s}"
EXTERNAL = "kind: external, base_url: 'http://127.0.0.1:8000', toxiproxy_url: 'http://127.0.0.1:8474'"


def load(tmp_path: Path, text: str):
    path = tmp_path / "exp.yaml"
    path.write_text(textwrap.dedent(text))
    return load_experiment(path)


def test_url_hosts_reads_every_host_a_client_would() -> None:
    assert url_hosts("postgresql://u:pw@h1:5432,[::1]:5433/db?host=h3,h4&hostaddr=10.0.0.9") == \
        ["h1", "::1", "h3", "h4", "10.0.0.9"]
    assert url_hosts("postgresql://u@%2Fvar%2Frun%2Fpg/db?host=/tmp") == []  # Unix sockets
    assert url_hosts("http://127.0.0.1@evil.example:80/") == ["evil.example"]
    assert url_hosts("dbname=shop host = 'h1,h2' hostaddr=10.0.0.1") == ["h1", "h2", "10.0.0.1"]
    with pytest.raises(ValueError):
        url_hosts("http://evil.example\\@127.0.0.1/")


def test_a_postgresql_url_naming_no_host_counts_libpq_defaults() -> None:
    env = {"PGHOST": "db.prod.example.com,/var/run/postgresql", "PGHOSTADDR": "192.0.2.5"}
    for url in ("postgresql:///shop", "postgresql://u:pw@/shop", "postgres://@:5433/shop",
                "dbname=shop user=u"):
        assert libpq_default_hosts(url, env) == ["db.prod.example.com", "192.0.2.5"], url
    for url in ("postgresql://u@127.0.0.1/shop", "postgresql:///shop?host=/tmp",
                "dbname=shop host=127.0.0.1", "redis:///0", "http://127.0.0.1/"):
        assert libpq_default_hosts(url, env) == [], url  # names one (a socket too), or not libpq
    assert libpq_default_hosts("postgresql:///shop", {}) == []


def test_pghost_is_checked_for_a_url_that_names_no_host(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    target = f"target: {{{EXTERNAL}, database_url: 'postgresql://u@/shop'}}\n{LOAD}\n"
    monkeypatch.setenv("PGHOST", "db.prod.example.com")
    with pytest.raises(ExperimentError) as caught:
        load(tmp_path, target)
    assert 'exp.yaml:1: target.database_url: host "db.prod.example.com" (from PGHOST' in \
        str(caught.value)
    load(tmp_path, f"allowed_hosts: [db.prod.example.com]\n{target}")
    monkeypatch.setenv("PGHOST", "127.0.0.1")
    load(tmp_path, target)


@pytest.mark.parametrize(("target", "field", "host"), [
    ("{options: {host: 0.0.0.0}}", "target.options.host", "0.0.0.0"),
    ("{options: {host: '::'}}", "target.options.host", "::"),
    ("{options: {host: 192.0.2.1}}", "target.options.host", "192.0.2.1"),
    ("{options: {host: 167772161}}", "target.options.host", "167772161"),
    ("{options: {database_url: 'postgresql://postgres@10.9.9.9:5432/shop'}}",
     "target.options.database_url", "10.9.9.9"),
    ("{options: {database_url: 'postgresql://u@127.0.0.1/shop?host=db.prod.example.com'}}",
     "target.options.database_url", "db.prod.example.com"),
    ("{options: {redis_url: 'redis://127.0.0.1:1,cache.example:6379/0'}}",
     "target.options.redis_url", "cache.example"),
    (f"{{{EXTERNAL}, database_url: 'postgresql://u@127.0.0.1/shop?hostaddr=192.0.2.7'}}",
     "target.database_url", "192.0.2.7"),
    (f"{{{EXTERNAL}, database_url: 'dbname=shop host=db.prod.example.com user=u'}}",
     "target.database_url", "db.prod.example.com"),
    ("{options: {database_url: \"dbname=shop hostaddr='192.0.2.8'\"}}",
     "target.options.database_url", "192.0.2.8"),
    (f"{{{EXTERNAL}, metrics_url: 'http://127.0.0.1:1,metrics.example/'}}",
     "target.metrics_url", "metrics.example"),
])
def test_each_address_is_checked(tmp_path: Path, target: str, field: str, host: str) -> None:
    with pytest.raises(ExperimentError) as caught:
        load(tmp_path, f"target: {target}\n{LOAD}\n")
    assert f"exp.yaml:1: {field}: " in str(caught.value) and f'"{host}"' in str(caught.value)
    listed = f'"{host}"' if ":" in host or host.isdigit() else host
    load(tmp_path, f"target: {target}\nallowed_hosts: [{listed}]\n{LOAD}\n")  # allowed: fine


def test_an_embedded_proxy_listening_everywhere_needs_allowing(tmp_path: Path) -> None:
    text = f"proxies: {{api: {{upstream: '127.0.0.1:9000', listen: '0.0.0.0:9001'}}}}\n{LOAD}\n"
    with pytest.raises(ExperimentError, match=r"exp.yaml:1: proxies.api.listen: \"0.0.0.0\" listens"):
        load(tmp_path, text)
    load(tmp_path, "allowed_hosts: ['0.0.0.0']\n" + text)


def test_a_url_read_differently_by_clients_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ExperimentError, match=r"target.base_url: .*backslash"):
        load(tmp_path, f"target: {{{EXTERNAL.replace('127.0.0.1:8000', 'evil.example' + chr(92) * 2 + '@127.0.0.1:8000')}}}\n{LOAD}\n")


@pytest.mark.parametrize(("options", "message"), [
    ("{cache_timeout: 50}", 'unknown option "cache_timeout"; did you mean "cache_timeout_ms"?'),
    ("{product_ttl: soon}", "expected a number, got 'soon'"),
    ("{rate_limit: 1.5}", "expected a whole number, got 1.5"),
    ("{access_log: 3}", "a switch: write true or false, got 3"),
    ("{port: 9000}", "the embedded stack picks a free port itself"),
    ("{admin_token: t0ken}", "a secret here would be on the target's command line"),
    ("{database_url: 'postgresql://u:pw@127.0.0.1/shop'}", "a secret here"),
])
def test_target_options_checked_before_anything_starts(tmp_path: Path, options: str,
                                                        message: str) -> None:
    with pytest.raises(ExperimentError) as caught:
        load(tmp_path, f"target: {{options: {options}}}\n{LOAD}\n")
    assert "exp.yaml:1: target.options." in str(caught.value)
    assert message in str(caught.value), caught.value


def test_good_target_options_pass(tmp_path: Path) -> None:
    exp = load(tmp_path, "target: {options: {product_ttl: 1, rate_limit: 100, access_log: true,"
                         " warm: null, host: 127.0.0.1}}\n" + LOAD + "\n")
    assert exp.target.options["product_ttl"] == 1


def test_check_before_start_sees_overrides_made_after_load(tmp_path: Path) -> None:
    from harness.experiment.hosts import check_before_start

    exp = load(tmp_path, LOAD + "\n")
    check_before_start(exp)
    exp.load.workers = 100_000  # `stampede run --workers 100000`
    exp.target.options["host"] = "0.0.0.0"
    with pytest.raises(ExperimentError) as caught:
        check_before_start(exp)
    assert "load.workers: expected at most 1024 workers" in str(caught.value)
    assert 'target.options.host: "0.0.0.0" listens on every' in str(caught.value)
