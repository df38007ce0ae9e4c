"""A Locust file with no users: loaded next to the experiment's locustfile (`-f plugin,file`).

It installs the recorder in every Locust process of a run, locks the master's web UI
to its own address and page (harness.live.guard), and, when the experiment
gives `load.stages`, a load shape that follows them (`STAMPEDE_STAGES`, JSON).
"""

from __future__ import annotations

import json
import os

from locust import LoadTestShape, events

from harness.load import recorder


@events.init.add_listener
def _install_recorder(environment, **_kwargs) -> None:
    recorder.install(environment)
    if environment.web_ui is not None:  # `stampede run --ui`: the Game day tab
        from harness.live import guard, web

        options = environment.parsed_options
        guard.install(environment.web_ui.app, options.web_host, options.web_port)
        web.install(environment)


_STAGES = json.loads(os.environ.get("STAMPEDE_STAGES") or "null")

if _STAGES:

    class StampedeStages(LoadTestShape):
        """Each stage holds `users` (reached at `spawn_rate`) for its `duration` seconds."""

        stages = _STAGES

        def tick(self):
            run_time = self.get_run_time()
            end = 0.0
            for stage in self.stages:
                end += float(stage["duration"])
                if run_time < end:
                    return int(stage["users"]), float(stage.get("spawn_rate") or stage["users"])
            return None
