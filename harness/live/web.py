"""The Game day tab, added to the Locust master's web UI (Flask) when `stampede run --ui`.

Locust's extension points are used as its own examples use them: `extended_tabs` in the
template arguments adds the tab, routes on `web_ui.app` serve its data. Locust's tab
component can only show a table of text, and the tab needs buttons, so the index page
also loads `gameday/tab.js`, which draws the panel while the tab is selected.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from harness.live.control import request_halt
from harness.live.state import live_state, verdicts_so_far

TAB = {"title": "Game day", "key": "gameday"}
SCRIPT = Path(__file__).with_name("static") / "tab.js"
JUDGE_EVERY = 2.0  # seconds: judging reads the whole folder, the tab polls each second


def install(environment: Any) -> None:
    """Add the tab and its routes; a no-op without a web UI or outside a stampede run."""
    from flask import Response, jsonify, request

    web_ui = environment.web_ui
    results_dir = os.environ.get("STAMPEDE_RESULTS_DIR")
    if web_ui is None or not results_dir:
        return
    folder = Path(results_dir)
    web_ui.template_args["extended_tabs"] = [TAB]
    cache: dict[str, Any] = {"at": 0.0, "verdicts": [], "error": None}
    app = web_ui.app

    @app.route("/gameday/state")
    def gameday_state() -> Any:
        state = live_state(folder)
        if time.monotonic() - cache["at"] > JUDGE_EVERY:
            try:
                cache.update(verdicts=verdicts_so_far(folder), error=None)
            except Exception as exc:  # too little data yet, a half-written file: say so
                cache.update(verdicts=[], error=f"{type(exc).__name__}: {exc}")
            cache["at"] = time.monotonic()
        return jsonify({**state, "verdicts": cache["verdicts"], "judge_error": cache["error"]})

    @app.route("/gameday/halt", methods=["POST"])
    def gameday_halt() -> Any:
        request_halt(folder)
        return jsonify({"ok": True, "message": "halt requested: the orchestrator rolls every "
                                               "fault back and stops the load"})

    @app.route("/gameday/tab.js")
    def gameday_script() -> Any:
        return Response(SCRIPT.read_text(), mimetype="application/javascript",
                        headers={"Cache-Control": "no-store"})

    @app.before_request
    def stop_is_halt() -> None:
        """Locust's own Stop button would stop the load but leave faults on: make it a halt."""
        if request.path == "/stop" and request.method == "POST":
            request_halt(folder, "halted with the web UI's Stop button")

    @app.after_request
    def add_script(response: Any) -> Any:
        if request.path == "/" and response.mimetype == "text/html" \
                and not response.direct_passthrough:
            html = response.get_data(as_text=True)
            response.set_data(html.replace(
                "</body>", '<script src="./gameday/tab.js"></script></body>', 1))
        return response
