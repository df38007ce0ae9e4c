"""`/metrics` in the Prometheus text format, with the real server's metric names.

`-proxy-metrics` adds `toxiproxy_proxy_received_bytes_total` and
`toxiproxy_proxy_sent_bytes_total` (labels direction, listener, proxy, upstream);
`-runtime-metrics` adds the `process_*` gauges of the API process (the real server also
has Go's `go_*`, which a Python process has no equivalent for). With neither flag
/metrics is a 404.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class MetricsOptions:
    proxy: bool = False
    runtime: bool = False

    @property
    def enabled(self) -> bool:
        return self.proxy or self.runtime


class Named(Protocol):
    """What a proxy's metric labels show."""

    name: str
    listen: str
    upstream: str


def _labels(**labels: str) -> str:
    inner = ",".join(f'{key}="{value.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
                     for key, value in sorted(labels.items()))
    return "{" + inner + "}"


def proxy_lines(proxies: Iterable[Named], counts: dict[str, dict[str, list[int]]]) -> list[str]:
    proxies = sorted(proxies, key=lambda p: p.name)
    lines = []
    for index, metric in enumerate(("received", "sent")):
        name = f"toxiproxy_proxy_{metric}_bytes_total"
        lines += [f"# HELP {name} ", f"# TYPE {name} counter"]
        for proxy in proxies:
            for direction in ("downstream", "upstream"):
                labels = _labels(direction=direction, listener=proxy.listen, proxy=proxy.name,
                                 upstream=proxy.upstream)
                lines.append(f"{name}{labels} {counts[proxy.name][direction][index]}")
    return lines


def _gauge(name: str, kind: str, help_text: str, value: float) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value:.10g}"]


def runtime_lines() -> list[str]:
    """The process collector's metrics, read from /proc as Prometheus' Go client does."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    page = os.sysconf("SC_PAGE_SIZE")
    with open("/proc/self/statm") as f:
        virtual_pages, resident_pages = (int(x) for x in f.read().split()[:2])
    with open("/proc/self/stat") as f:
        start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/stat") as f:
        boot = next(int(line.split()[1]) for line in f if line.startswith("btime"))
    soft_fds, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    _, virtual_max = resource.getrlimit(resource.RLIMIT_AS)
    lines: list[str] = []
    lines += _gauge("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
                    usage.ru_utime + usage.ru_stime)
    lines += _gauge("process_max_fds", "gauge", "Maximum number of open file descriptors.", soft_fds)
    lines += _gauge("process_open_fds", "gauge", "Number of open file descriptors.", len(os.listdir("/proc/self/fd")))
    lines += _gauge("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", resident_pages * page)
    lines += _gauge("process_start_time_seconds", "gauge",
                    "Start time of the process since unix epoch in seconds.",
                    boot + start_ticks / os.sysconf("SC_CLK_TCK"))
    lines += _gauge("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", virtual_pages * page)
    lines += _gauge("process_virtual_memory_max_bytes", "gauge",
                    "Maximum amount of virtual memory available in bytes.",
                    virtual_max if virtual_max != resource.RLIM_INFINITY else 2.0**64)
    return lines


def render(options: MetricsOptions, proxies: Iterable[Named], counts: dict[str, dict[str, list[int]]]) -> str:
    """`counts`: per proxy and direction, [received, sent] (summed over worker processes)."""
    lines = runtime_lines() if options.runtime else []
    if options.proxy:
        lines += proxy_lines(proxies, counts)
    return "\n".join(lines) + "\n"


