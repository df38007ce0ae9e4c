"""allowed_hosts is enforced before any traffic: `stampede run` on a file that names a
non-loopback host exits 3, says which file, field and fix, and never tries to connect.

The child Python gets tests/staging/connect_guard.py as its sitecustomize, which records
(and blocks) every non-loopback lookup or connect. The guard is first shown to catch one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

GUARD = Path(__file__).with_name("connect_guard.py")
ROOT = Path(__file__).resolve().parents[2]

STAGING = """\
name: staging_run
target:
  kind: external
  base_url: http://192.0.2.10:8000                  # TEST-NET-1: documentation only
  toxiproxy_url: http://toxiproxy.staging.example:8474
load:
  users: 2
  duration: 10s
proxies:
  redis: {expect: true}
faults:
  - {at: 2s, for: 2s, proxy: redis, type: latency, attributes: {latency: 300}}
"""


@pytest.fixture
def guarded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every Python started from here on loads the guard; returns its log file."""
    site = tmp_path / "guard"
    site.mkdir()
    shutil.copy(GUARD, site / "sitecustomize.py")
    log = tmp_path / "connects.log"
    log.write_text("")
    monkeypatch.setenv("PYTHONPATH", f"{site}:{ROOT}")
    monkeypatch.setenv("STAMPEDE_CONNECT_LOG", str(log))
    return log


def test_the_guard_sees_and_blocks_a_non_loopback_connect(guarded: Path) -> None:
    """The other side of the test below: an attempt does land in the log (and is blocked)."""
    code = (
        "import socket, requests\n"
        "srv = socket.create_server(('127.0.0.1', 0)); port = srv.getsockname()[1]\n"
        "socket.create_connection(('127.0.0.1', port), timeout=2).close()\n"
        "try:\n"
        "    requests.get('http://192.0.2.10:8000/', timeout=0.5)\n"
        "except requests.ConnectionError as exc:\n"
        "    print('blocked' if 'test guard' in str(exc) else exc)\n"
        "try:\n"
        "    socket.socket().connect(('192.0.2.10', 6379))\n"
        "except OSError as exc:\n"
        "    print('blocked' if 'test guard' in str(exc) else exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.split() == ["blocked", "blocked"], (
        out.stdout + out.stderr)
    attempts = [line.split()[1:] for line in guarded.read_text().splitlines()]
    assert attempts == [["resolve", "192.0.2.10"], ["connect", "192.0.2.10"]]  # not loopback


def run_guarded(tmp_path: Path, args: list[str]) -> tuple[int, str, set[int], Path]:
    """`stampede run ARGS --out DIR`: (exit status, output, child pids ever seen, DIR)."""
    out = tmp_path / "results"
    env = dict(os.environ, STAMPEDE_STATE_DIR=str(tmp_path / "state"))
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", *args, "--out", str(out)],
                            cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    children: set[int] = set()
    deadline = time.monotonic() + 90
    while proc.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(psutil.NoSuchProcess):
            children |= {c.pid for c in psutil.Process(proc.pid).children(recursive=True)}
        time.sleep(0.05)
    output, _ = proc.communicate(timeout=10)
    return proc.returncode, output, children, out


def test_run_refuses_a_non_loopback_target_before_any_connection(
    tmp_path: Path, guarded: Path
) -> None:
    experiment = tmp_path / "staging.yaml"
    experiment.write_text(STAGING)
    code, output, children, out = run_guarded(tmp_path, [str(experiment)])
    assert code == 3, output
    assert (f'{experiment}:4: target.base_url: host "192.0.2.10" is not a loopback address and '
            "not in allowed_hosts; add `allowed_hosts: [192.0.2.10]`") in output
    assert f"{experiment}:5: target.toxiproxy_url: host \"toxiproxy.staging.example\"" in output
    assert guarded.read_text() == ""  # no lookup, no connect: nothing left this machine
    assert children == set()  # no child process either (none seen while it ran)
    assert not out.exists() or not any(out.iterdir())


def test_run_refuses_a_target_file_naming_an_unlisted_host(tmp_path: Path, guarded: Path) -> None:
    """The default game day with a staging target file that forgot allowed_hosts."""
    target = tmp_path / "staging-target.yaml"
    target.write_text("target:\n  kind: external\n  base_url: http://10.0.0.1:8000\n"
                      "  toxiproxy_url: http://10.0.0.1:8474\n"
                      "proxies:\n  redis: {expect: true}\n  db: {expect: true}\n")
    code, output, children, out = run_guarded(
        tmp_path, [str(ROOT / "experiments" / "default.yaml"), "--target", str(target)])
    assert code == 3, output
    assert (f'{target}:3: target.base_url: host "10.0.0.1" is not a loopback address and not '
            "in allowed_hosts; add `allowed_hosts: [10.0.0.1]`") in output
    assert f"{target}:4: target.toxiproxy_url" in output
    assert guarded.read_text() == "" and children == set()
    assert not out.exists() or not any(out.iterdir())


EMBEDDED_BYPASSES = {
    # the shop listening on every interface
    "bind": ("options: {host: 0.0.0.0}", "target.options.host", '"0.0.0.0" listens on every'),
    # the shop's database elsewhere
    "database": ("options: {database_url: 'postgresql://postgres@10.9.9.9:5432/shop'}",
                 "target.options.database_url", 'host "10.9.9.9"'),
    # psycopg takes the query's host over the netloc's
    "query host": ("options: {database_url: 'postgresql://u@127.0.0.1/shop?host=db.prod.example.com'}",
                   "target.options.database_url", 'host "db.prod.example.com"'),
}


@pytest.mark.parametrize("case", EMBEDDED_BYPASSES, ids=list(EMBEDDED_BYPASSES))
def test_run_refuses_each_bypass_before_anything_starts(
    tmp_path: Path, guarded: Path, case: str
) -> None:
    """Each way issue 13 found around allowed_hosts: exit 3 at file:line:field, nothing started."""
    option, field, message = EMBEDDED_BYPASSES[case]
    experiment = tmp_path / "bypass.yaml"
    experiment.write_text(f"name: bypass\ntarget:\n  {option}\nload: {{users: 2, duration: 10s}}\n")
    code, output, children, out = run_guarded(tmp_path, [str(experiment)])
    assert code == 3, output
    assert f"{experiment}:3: {field}: {message}" in output, output
    assert guarded.read_text() == "" and children == set()
    assert not out.exists() or not any(out.iterdir())


def test_run_refuses_a_query_hostaddr_of_an_external_database(tmp_path: Path, guarded: Path) -> None:
    experiment = tmp_path / "hostaddr.yaml"
    experiment.write_text(
        "target:\n  kind: external\n  base_url: http://127.0.0.1:8000\n"
        "  toxiproxy_url: http://127.0.0.1:8474\n"
        "  database_url: postgresql://u@localhost/shop?sslmode=disable&hostaddr=192.0.2.7\n"
        "load: {users: 2, duration: 10s}\n")
    code, output, children, _ = run_guarded(tmp_path, [str(experiment)])
    assert code == 3, output
    assert f'{experiment}:5: target.database_url: host "192.0.2.7"' in output, output
    assert guarded.read_text() == "" and children == set()
