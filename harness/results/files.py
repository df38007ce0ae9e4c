"""The names of the files in a results folder (docs/results-format.md), in one place.

Writers and readers run in different processes (orchestrator, Locust master, live view,
`stampede check` days later); a name spelt once cannot drift between them.
"""

from __future__ import annotations

EXPERIMENT_YAML = "experiment.yaml"  # the experiment file as given
EXPERIMENT = "experiment.json"  # the resolved experiment
SUMMARY = "summary.json"
TIMELINE = "timeline.jsonl"
REQUESTS = "requests.jsonl"
COUNTERS = "counters.jsonl"
METRICS = "metrics.jsonl"
VIOLATIONS = "violations.jsonl"
WRITES = "writes.jsonl"
WRITE_CHECK = "write_check.json"
VERDICTS = "verdicts.json"
REPORT = "report.html"
LOAD_START = ".load_start.json"  # {"ts"}: run time 0, written by the Locust master
HALT_REQUEST = "halt-request.json"  # {"ts", "reason"}: the live view asks for a halt
WORKERS_LOST = ".workers_lost.jsonl"  # {"ts", "worker", "how"}: the master saw one go
LOGS = "logs"  # child process logs
RUNNER_ERROR_LOG = "runner-error.log"  # in LOGS: the orchestrator's traceback

COMPACTED = (REQUESTS, METRICS, COUNTERS)  # gzipped once the run ended (the bulky ones)
TMP_SUFFIX = ".tmp"  # a file being written atomically, renamed when complete


def stream_file(stream: str) -> str:
    """The file of a Locust-side event stream ("violations", "writes", "requests", ...)."""
    return f"{stream}.jsonl"
