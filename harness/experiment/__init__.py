"""Experiment files: YAML schema, validation with file:line errors, time scaling.

    from harness.experiment import load_experiment
    experiment = load_experiment("experiments/redis_outage.yaml", time_scale=0.25)
    experiment.resolved()   # the experiment.json of docs/results-format.md
"""

from harness.experiment.loader import ExperimentError, format_path, load_experiment
from harness.experiment.model import Experiment, FaultSpec, PlannedFault, mask_password
from harness.experiment.toxics import ACTIONS, DOWN, FAULT_TYPES, TOXIC_ATTRIBUTES
from harness.experiment.units import parse_duration, parse_size

__all__ = [
    "ACTIONS",
    "DOWN",
    "FAULT_TYPES",
    "TOXIC_ATTRIBUTES",
    "Experiment",
    "ExperimentError",
    "FaultSpec",
    "PlannedFault",
    "format_path",
    "load_experiment",
    "mask_password",
    "parse_duration",
    "parse_size",
]
