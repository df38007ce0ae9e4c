"""Run one experiment's fault schedule until killed: the SIGKILL tests' stand-in for a run.

    python schedule_child.py API_URL EXPERIMENT_FILE
"""

from __future__ import annotations

import json
import sys
import threading
import time

from harness.experiment import load_experiment
from harness.faults import FaultClient, FaultSchedule, Rollback


def main() -> None:
    api_url, path = sys.argv[1:3]
    client = FaultClient(api_url)

    def emit(kind: str, **fields: object) -> None:
        print(json.dumps({"kind": kind, **fields}), flush=True)

    schedule = FaultSchedule(load_experiment(path), client, Rollback(client), emit)
    schedule.run(time.monotonic(), threading.Event())


if __name__ == "__main__":
    main()
