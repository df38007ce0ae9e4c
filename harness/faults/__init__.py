"""The fault layer: a bounded Toxiproxy client, the schedule, and guaranteed rollback.

    client = FaultClient(api_url)
    Rollback.recover_stale()                  # undo what a SIGKILLed run left
    rollback = Rollback(client)
    schedule = FaultSchedule(experiment, client, rollback, emit, actions)
    try:
        schedule.run(time.monotonic(), stop_event)   # in a thread
    finally:
        rollback.rollback_all()
"""

from harness.faults.client import DEFAULT_API, FaultClient, FaultError
from harness.faults.rollback import Rollback, RollbackReport, clear_api
from harness.faults.schedule import FaultSchedule
from harness.faults.state import StateFile, state_dir

__all__ = [
    "DEFAULT_API",
    "FaultClient",
    "FaultError",
    "FaultSchedule",
    "Rollback",
    "RollbackReport",
    "StateFile",
    "clear_api",
    "state_dir",
]
