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
    Call it after check_allowed_hosts and before any load. A /populate that fails (a
    `listen` port taken) may have removed a proxy it was replacing: every proxy that was
    there before is put back as it was, so a user's service is never left cut off.
    """
    where = experiment.target_source or experiment.source or "the experiment file"
    try:
        before = client.proxies()
    except Exception as exc:
        raise ProxySetupError(unreachable_api(where, client.api_url, exc)) from exc
    body = populate_body(experiment)
    if body:
        try:
            client.populate(body)
        except Exception as exc:
            restored = _restore(client, before, [p["name"] for p in body])
            raise ProxySetupError(
                f"{where}: proxies: creating {', '.join(p['name'] for p in body)} on "
                f"{client.api_url} failed: {exc}; check `listen` (a port free on the "
                f"Toxiproxy host) and `upstream`{restored}") from exc
    try:
        existing = client.proxies()
    except Exception as exc:
        raise ProxySetupError(unreachable_api(where, client.api_url, exc)) from exc
    missing = [name for name in experiment.proxies if name not in existing]
    if missing:
        raise ProxySetupError(
            f"{where}: proxies: {', '.join(missing)} not found on {client.api_url} "
            f"(it has: {', '.join(sorted(existing)) or 'none'}); create it in Toxiproxy's "
            "config, or give `upstream` and `listen` so stampede creates it")
    return list(experiment.proxies)


def unreachable_api(where: object, api_url: str, exc: Exception) -> str:
    """The message for a Toxiproxy API that does not answer: the API address, not the proxies."""
    return (f"{where}: target.toxiproxy_url: the Toxiproxy API at {api_url} does not answer "
            f"({type(exc).__name__}); is Toxiproxy running there, and is that its API port "
            "(8474 by default)?")


def _restore(client: Any, before: dict[str, dict[str, Any]], names: list[str]) -> str:
    """Put back proxies a failed /populate removed or changed; what was done, for the message."""
    try:
        now = client.proxies()
    except Exception as exc:
        return f"; could not check what the failed /populate left ({exc})"
    lost = [name for name in names if name in before and
            {k: now.get(name, {}).get(k) for k in ("listen", "upstream")}
            != {k: before[name].get(k) for k in ("listen", "upstream")}]
    if not lost:
        return "; the proxies that were there are unchanged"
    specs = [{"name": n, "listen": before[n]["listen"], "upstream": before[n]["upstream"],
              "enabled": before[n].get("enabled", True)} for n in lost]
    try:
        client.populate(specs)
    except Exception as exc:
        by_hand = "; ".join(f"{spec['name']} listen {spec['listen']} upstream {spec['upstream']}"
                            for spec in specs)
        return f"; WARNING: {', '.join(lost)} could not be put back ({exc}): recreate {by_hand}"
    return f"; {', '.join(lost)} put back as it was"
