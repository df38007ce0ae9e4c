"""Ports of a process tree, and whether a port is free again, for the kill tests."""

from __future__ import annotations

import contextlib
import socket

import psutil

from .processes import descendants


def listening_ports(pid: int) -> set[int]:
    """TCP ports the process tree under `pid` listens on, as the kernel reports them."""
    ports = set()
    for proc in descendants(pid):
        with contextlib.suppress(psutil.Error):
            ports |= {c.laddr.port for c in proc.net_connections(kind="tcp")
                      if c.status == psutil.CONN_LISTEN}
    return ports


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
