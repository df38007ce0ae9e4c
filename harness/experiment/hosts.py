"""The allowed_hosts guard as one call, for code that builds or edits an Experiment itself.

`load_experiment` already refuses such files; a runner calls this again just before the
first request or fault, so an experiment changed in code (or built without a file) cannot
slip a non-loopback host past the check.
"""

from __future__ import annotations

from harness.experiment.addresses import host_problems
from harness.experiment.bounds import bound_problems
from harness.experiment.loader import TARGET_FILE_FIELDS, ExperimentError, format_path
from harness.experiment.model import Experiment
from harness.experiment.target_options import target_option_problems
from harness.problems import Problem


def check_allowed_hosts(experiment: Experiment) -> None:
    """Raise ExperimentError naming the file, the field and the fix for every host that is
    neither loopback nor listed in allowed_hosts. Resolves and connects to nothing."""
    _raise(experiment, host_problems(experiment))


def check_before_start(experiment: Experiment) -> None:
    """The load-time guards again, on the experiment as it will run: after command-line
    overrides (`--workers`, `--flaw`) or edits in code. Hosts, bounds, target options."""
    problems = (host_problems(experiment) + bound_problems(experiment)
                + target_option_problems(experiment.target))
    _raise(experiment, problems)


def check_reachable(experiment: Experiment) -> None:
    """Before anything starts (no results folder yet): an external target's Toxiproxy API
    answers, and a Prometheus server (target.prometheus_url) answers and accepts every
    signal. ExperimentError names the URL otherwise."""
    from harness.experiment.proxies import unreachable_api
    from harness.faults.client import FaultClient
    from harness.signals.source import prometheus_preflight

    problems: list[Problem] = []
    target = experiment.target
    if target.kind == "external":
        client = FaultClient(target.toxiproxy_url, timeout=3.0)
        try:
            client.proxies()
        except Exception as exc:
            where = experiment.target_source or experiment.source or "the experiment file"
            message = unreachable_api(where, client.api_url, exc)
            problems.append((("target", "toxiproxy_url"), message.split(": ", 2)[2]))
        finally:
            client.close()
    _raise(experiment, problems + prometheus_preflight(experiment))


def _raise(experiment: Experiment, problems: list[Problem]) -> None:
    if not problems:
        return
    source = experiment.source or "<experiment>"
    target_source = experiment.target_source
    ours, theirs = [], []
    for path, message in problems:
        if target_source is not None and path[0] in TARGET_FILE_FIELDS:
            theirs.append((str(target_source), 0, format_path(path), message))
        else:
            ours.append((0, format_path(path), message))
    if theirs and not ours:
        raise ExperimentError(theirs[0][0], [(0, field, message) for _, _, field, message in theirs])
    raise ExperimentError(source, ours, theirs)
