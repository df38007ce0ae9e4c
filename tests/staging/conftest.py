"""Shared by the staging tests: our fault proxy in a thread, and a small experiment for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.proxy import EmbeddedProxy, run_in_thread

LATENCY_EXPERIMENT = """\
load: {users: 1, duration: 10s}
faults:
  - {at: 2s, for: 2s, proxy: redis, type: latency, attributes: {latency: 300}}
"""


@pytest.fixture
def proxy() -> Iterator[EmbeddedProxy]:
    with run_in_thread() as server:
        yield server
