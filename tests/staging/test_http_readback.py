"""Write read-back through the service (`writes: {KIND: {http: "GET /x/{id}"}}`), against a
real HTTP server: 2xx present, 404 lost, anything else an error the verdict names."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.invariants.registry import check
from harness.results.run_result import RunResult
from harness.writes import HttpReadBack, check_writes, sql_scheme_problem

STORED = {"c1", "c2", "a b/c"}
BROKEN = {"c9"}  # the service fails on these: neither present nor lost


@pytest.fixture
def service() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            from urllib.parse import unquote

            ident = unquote(self.path.removeprefix("/comments/"))
            status = 500 if ident in BROKEN else 200 if ident in STORED else 404
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def write_run(folder: Path, writes: list[tuple[str, str]]) -> Path:
    folder.mkdir()
    with open(folder / "writes.jsonl", "w") as f:
        for kind, ident in writes:
            f.write(json.dumps({"t": 1.0, "kind": kind, "id": ident}) + "\n")
    return folder


def test_present_lost_and_failed_read_backs(service: str, tmp_path: Path):
    run = write_run(tmp_path / "run", [("comment", "c1"), ("comment", "a b/c"),
                                       ("comment", "c3"), ("comment", "c9")])
    rules = {"comment": HttpReadBack.parse("GET /comments/{id}")}
    result = check_writes(run, None, rules, base_url=service)
    assert result["checked"] == 4
    assert result["missing"] == ["c3"]
    assert "1 of 4 read-backs of kind comment" in result["error"] and "c9: HTTP 500" in result["error"]
    verdict = check(RunResult(run), "no_data_loss")
    assert not verdict.passed and "c9: HTTP 500" in verdict.reason


def test_all_found_passes_and_one_lost_fails(service: str, tmp_path: Path):
    rules = {"comment": HttpReadBack.parse("GET /comments/{id}")}
    ok = write_run(tmp_path / "ok", [("comment", "c1"), ("comment", "c2")])
    check_writes(ok, None, rules, base_url=service)
    verdict = check(RunResult(ok), "no_data_loss")
    assert verdict.passed, verdict.reason
    assert "the service over HTTP" in verdict.reason
    lost = write_run(tmp_path / "lost", [("comment", "c1"), ("comment", "c4")])
    check_writes(lost, None, rules, base_url=service)
    verdict = check(RunResult(lost), "no_data_loss")
    assert not verdict.passed and "c4" in verdict.reason


def test_a_kind_without_a_rule_is_named(service: str, tmp_path: Path):
    run = write_run(tmp_path / "run", [("comment", "c1"), ("note", "n1")])
    check_writes(run, None, {"comment": HttpReadBack.parse("GET /comments/{id}")}, base_url=service)
    verdict = check(RunResult(run), "no_data_loss")
    assert not verdict.passed and "note" in verdict.reason


def test_an_unreachable_service_is_an_error_not_a_loss(tmp_path: Path):
    run = write_run(tmp_path / "run", [("comment", "c1")])
    result = check_writes(run, None, {"comment": HttpReadBack.parse("GET /comments/{id}")},
                          base_url="http://127.0.0.1:9")
    assert result["missing"] == [] and "ConnectionError" in result["error"]


def test_sql_rules_need_a_postgresql_url(tmp_path: Path):
    run = write_run(tmp_path / "run", [("note", "n1")])
    result = check_writes(run, "sqlite:///tmp/notes.db", {"note": "SELECT id FROM notes"})
    assert 'scheme "sqlite"' in result["error"] and "http" in result["error"]
    assert sql_scheme_problem("postgresql://u@h/db") is None
    assert sql_scheme_problem("postgresql+psycopg://u@h/db") is None
    assert "database_url" in (sql_scheme_problem(None) or "")


@pytest.mark.parametrize("text", ["/comments/{id}", "POST /comments/{id}", "GET /comments",
                                  "GET comments/{id}"])
def test_bad_rules_say_what_to_write(text: str):
    with pytest.raises(ValueError, match=r"GET /path/\{id\}"):
        HttpReadBack.parse(text)
