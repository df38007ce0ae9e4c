"""Installed as `sitecustomize` in a child Python: records, and blocks, every attempt to
resolve or connect to anything but loopback, so a test can prove nothing was sent.

The attempt is refused before the real call, so a documentation address such as
192.0.2.10 never sees a packet even if the code under test is wrong. Covers Python-level
sockets (requests, urllib3, redis-py, asyncio); C libraries with their own sockets
(libpq, zmq) are not seen.
"""

import errno
import ipaddress
import os
import socket

LOG = os.environ["STAMPEDE_CONNECT_LOG"]


def _local(host: object) -> bool:
    if not isinstance(host, str | bytes):
        return True
    name = host.decode() if isinstance(host, bytes) else host
    if name in ("", "localhost", "*") or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name.split("%")[0])
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _record(kind: str, host: object) -> None:
    with open(LOG, "a", encoding="utf-8") as log:
        log.write(f"{os.getpid()} {kind} {host}\n")


_connect, _connect_ex, _getaddrinfo = (
    socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo)


def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _local(address[0]):
        _record("connect", address[0])
        raise OSError(errno.ENETUNREACH, f"connect to {address[0]} blocked by the test guard")
    return _connect(self, address)


def connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _local(address[0]):
        _record("connect", address[0])
        return errno.ENETUNREACH
    return _connect_ex(self, address)


def getaddrinfo(host, *args, **kwargs):
    if host is not None and not _local(host):
        _record("resolve", host)
        raise socket.gaierror(socket.EAI_NONAME, f"lookup of {host} blocked by the test guard")
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect = connect
socket.socket.connect_ex = connect_ex
socket.getaddrinfo = getaddrinfo
