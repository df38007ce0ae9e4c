"""The live view during a suite's pause: no Locust master runs then, so the orchestrator
serves a small page on the same port, with the "Next experiment" button that ends the pause.

A Game day tab left open sees its master go away and reloads onto this page.
"""

from __future__ import annotations

import html
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness.live.guard import allowed_hosts, refusal
from harness.ports import LOOPBACK

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>stampede: paused</title>
<style>body{{font:16px system-ui,sans-serif;margin:3em;background:#1b1b1b;color:#eee}}
button{{font-size:1.2em;padding:.5em 1.5em;background:#2e7d32;color:#fff;border:0;border-radius:4px;cursor:pointer}}
</style></head><body>
<h1>Game day paused</h1><p id="message">{message}</p><p>Next: <b>{next}</b>.
The pause ends by itself in <span id="left">{left}</span> s.</p>
<button id="stampede-next" onclick="fetch('gameday/next',{{method:'POST'}}).then(()=>{{
const b=document.getElementById('stampede-next');b.disabled=true;b.textContent='starting the next experiment';
setTimeout(()=>location.reload(),3000)}})">Next experiment</button>
<script>let end=Date.now()+{left}*1000;setInterval(()=>{{
document.getElementById('left').textContent=Math.max(0,Math.round((end-Date.now())/1000))}},500);
</script></body></html>"""


@contextmanager
def serve_pause(port: int, message: str, seconds: float, next_name: str = "the next experiment",
                host: str = LOOPBACK) -> Iterator[threading.Event]:
    """Serve the pause page until the block ends; the event is set when someone clicks Next."""
    resume = threading.Event()
    end = time.monotonic() + seconds
    allowed = allowed_hosts(host, port)

    class Handler(BaseHTTPRequestHandler):
        def _send(self, code: int, body: str, kind: str) -> None:
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def _refused(self) -> bool:
            """A foreign Host or Origin (see harness.live.guard): 403, and nothing done."""
            reason = refusal(self.command, self.headers, allowed)
            if reason is not None:
                self._send(403, json.dumps({"error": f"refused: {reason}"}), "application/json")
            return reason is not None

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self._refused():
                return
            left = max(0, round(end - time.monotonic()))
            if self.path.startswith("/gameday/state"):
                self._send(200, json.dumps({"paused": True, "message": message,
                                            "next": next_name, "left": left}),
                           "application/json")
                return
            self._send(200, PAGE.format(message=html.escape(message or "(no message)"),
                                        next=html.escape(next_name), left=left),
                       "text/html; charset=utf-8")

        def do_POST(self) -> None:  # noqa: N802
            if self._refused():
                return
            if self.path.rstrip("/").endswith("/gameday/next"):
                resume.set()
                self._send(200, '{"ok": true}', "application/json")
            else:
                self._send(404, '{"error": "no such action"}', "application/json")

        def log_message(self, *_args: object) -> None:  # quiet: the terminal shows the run
            pass

    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError:  # the port is taken: the pause still works from the terminal
        yield resume
        return
    thread = threading.Thread(target=server.serve_forever, name="pause-page", daemon=True)
    thread.start()
    try:
        yield resume
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
