"""An orchestrator in miniature for the guardian's tests: it starts a guardian (or not), two
children (one that dies with its parent, one that ignores SIGTERM), applies a toxic if given
a proxy API, prints the children's pids, then waits to be killed or stands down."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from harness.faults import FaultClient, Rollback
from harness.guardian import Guardian
from harness.ports import free_port
from harness.processes import announce, die_with_parent, stop_process
from harness.results.writer import RunWriter

STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"


def main(run_dir: Path, mode: str, api: str | None) -> None:
    (run_dir / "logs").mkdir(parents=True, exist_ok=True)
    RunWriter(run_dir, "mini")  # summary.json says `running`
    guardian = None if mode == "unguarded" else Guardian.start(run_dir)
    port = free_port()
    mortal = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        preexec_fn=die_with_parent())
    announce(mortal, "mortal", ports=[port])
    stubborn = subprocess.Popen([sys.executable, "-c", STUBBORN], start_new_session=True)
    announce(stubborn, "stubborn")
    if api:
        Rollback(FaultClient(api)).add_toxic("redis", "slow", "latency",
                                             attributes={"latency": 100})
    print(json.dumps({"mortal": mortal.pid, "stubborn": stubborn.pid, "port": port}), flush=True)
    if mode == "stand-down" and guardian is not None:
        stop_process(mortal)
        stubborn.kill()
        stubborn.wait()
        print(json.dumps({"stand_down": guardian.stand_down()}), flush=True)
        return
    time.sleep(120)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
