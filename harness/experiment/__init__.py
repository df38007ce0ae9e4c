"""Experiment files: YAML schema, validation with file:line errors, time scaling.

    from harness.experiment import load_experiment
    experiment = load_experiment("experiments/redis_outage.yaml", time_scale=0.25)
    experiment.resolved()   # the experiment.json of docs/results-format.md

    # the same experiment against docker-compose or staging: the target file's target,
    # proxies and allowed_hosts replace the experiment's own
    experiment = load_experiment("experiments/default.yaml",
                                 target_file="experiments/targets/compose.yaml")
"""

from harness.durations import parse_duration
from harness.experiment.hosts import check_allowed_hosts
from harness.experiment.loader import ExperimentError, format_path, load_experiment
from harness.experiment.model import Experiment, FaultSpec, PlannedFault
from harness.experiment.proxies import ProxySetupError, populate_body, prepare_proxies
from harness.experiment.toxics import ACTIONS, DOWN, FAULT_TYPES, TOXIC_ATTRIBUTES
from harness.experiment.units import parse_size

__all__ = [
    "ACTIONS",
    "DOWN",
    "FAULT_TYPES",
    "TOXIC_ATTRIBUTES",
    "Experiment",
    "ExperimentError",
    "FaultSpec",
    "PlannedFault",
    "ProxySetupError",
    "check_allowed_hosts",
    "format_path",
    "load_experiment",
    "parse_duration",
    "parse_size",
    "populate_body",
    "prepare_proxies",
]
