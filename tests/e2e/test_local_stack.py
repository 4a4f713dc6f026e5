"""`make run` end to end: the local stack, as a user starts it, runs a schedule's slots to `success`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path


def test_local_stack_runs_a_five_second_schedule_to_success(tmp_path: Path) -> None:
    # GIVEN one schedule firing every 2 seconds with the offline echo model
    (tmp_path / "fast.json").write_text(
        json.dumps(
            {
                "id": "fast",
                "name": "every two seconds",
                "trigger": {"type": "interval", "every_seconds": 2},
                "run_config": {"model": "echo", "task_message": "ping", "auto_execute": True},
            }
        )
    )
    # WHEN the local stack runs for a few seconds
    result = subprocess.run(
        [sys.executable, "-m", "agentcron.local", "--for", "12", "--examples", str(tmp_path), "--api-port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr[-3000:]
    # THEN it printed the upcoming fire times, and runs reached success within seconds of their slots
    assert re.search(r"schedule fast\s+interval\s+next: \d{4}-", out), out
    successes = [line for line in out.splitlines() if re.search(r"\bsuccess\s+fast\b", line)]
    assert len(successes) >= 2, out
    lags = [int(m.group(1)) for line in successes if (m := re.search(r"lag (\d+) ms", line))]
    assert lags and max(lags) < 5000, out
    assert "failed" not in re.sub(r"run transitions seen:.*", "", out), out


def test_a_term_signal_stops_the_local_stack_in_order(tmp_path: Path) -> None:
    import os
    import signal

    process = subprocess.Popen(
        [sys.executable, "-m", "agentcron.local", "--examples", str(tmp_path), "--api-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    for line in process.stdout:
        if "claim loop and executors running" in line:
            break
    children = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(process.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    assert children  # the moto servers and the executor processes
    process.send_signal(signal.SIGTERM)
    rest = process.communicate(timeout=60)[0]
    assert process.returncode == 0 and "stopping; run transitions seen" in rest
    for pid in children:
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            continue
        raise AssertionError(f"process {pid} of the local stack outlived it")
