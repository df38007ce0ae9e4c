"""redis-server's password never appears in its argv, which anyone on the machine can read."""

from __future__ import annotations

import stat
from pathlib import Path

import psutil

from harness.stack.redis_server import RedisServer, quote_config

PASSWORD = 'pa ss"wo\\rd-\u00e9'


def test_password_in_a_private_config_file_not_argv(tmp_path: Path) -> None:
    with RedisServer(password=PASSWORD, workdir=tmp_path / "redis") as server:
        assert server.proc is not None
        cmdline = " ".join(psutil.Process(server.proc.pid).cmdline())
        assert "requirepass" not in cmdline and "pa ss" not in cmdline, cmdline
        assert stat.S_IMODE(server.config_path.stat().st_mode) == 0o600
        assert server.client().ping()  # the quoted password is the one redis-server checks
        refused = RedisServer(port=server.port, password="wrong", workdir=tmp_path / "other")
        try:
            refused.client().ping()
        except Exception as exc:  # redis.AuthenticationError: wrong password
            assert "WRONGPASS" in str(exc) or "invalid" in str(exc).lower(), exc
        else:
            raise AssertionError("a wrong password was accepted")


def test_quote_config_escapes() -> None:
    assert quote_config('a"b\\c') == '"a\\"b\\\\c"'
    assert quote_config("\n") == '"\\x0a"'
