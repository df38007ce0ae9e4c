"""Make an external target's Toxiproxy hold the proxies the experiment's faults name.

Each entry under `proxies:` is the proxy's name in Toxiproxy and in the faults
(`proxy: redis`). With `upstream` (and `listen`) it is created through /populate, which
keeps a proxy that already matches, so a rerun changes nothing; with `expect: true` it must
already exist (staging, where the platform team owns Toxiproxy's config).
"""

from __future__ import annotations

from typing import Any

from harness.experiment.model import Experiment


class ProxySetupError(RuntimeError):
    """A proxy the experiment needs is missing or could not be created; names the file to fix."""


def populate_body(experiment: Experiment) -> list[dict[str, Any]]:
    """The /populate request body: one {name, listen, upstream} per proxy to create."""
    return [
        {"name": name, "listen": spec.listen, "upstream": spec.upstream, "enabled": True}
        for name, spec in experiment.proxies.items()
        if not spec.expect and spec.upstream is not None
    ]


def prepare_proxies(experiment: Experiment, client: Any) -> list[str]:
    """Create the declared proxies and check the expected ones exist; returns every name.

    `client` is a harness.faults.client.FaultClient (anything with populate() and proxies()).
    Call it after check_allowed_hosts and before any load.
    """
    where = experiment.target_source or experiment.source or "the experiment file"
    body = populate_body(experiment)
    if body:
        try:
            client.populate(body)
        except Exception as exc:
            raise ProxySetupError(
                f"{where}: proxies: creating {', '.join(p['name'] for p in body)} on "
                f"{client.api_url} failed: {exc}; check `listen` (a port free on the "
                "Toxiproxy host) and `upstream`") from exc
    try:
        existing = client.proxies()
    except Exception as exc:
        raise ProxySetupError(f"{where}: target.toxiproxy_url: cannot list proxies on "
                              f"{client.api_url}: {exc}") from exc
    missing = [name for name in experiment.proxies if name not in existing]
    if missing:
        raise ProxySetupError(
            f"{where}: proxies: {', '.join(missing)} not found on {client.api_url} "
            f"(it has: {', '.join(sorted(existing)) or 'none'}); create it in Toxiproxy's "
            "config, or give `upstream` and `listen` so stampede creates it")
    return list(experiment.proxies)
