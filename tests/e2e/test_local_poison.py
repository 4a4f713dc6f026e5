"""A poison message on the local stack's run queue never holds up the good message behind it in its group."""

from __future__ import annotations

import json
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3

GOOD_WITHIN_SECONDS = 45


def test_a_good_run_now_behind_a_poison_one_in_its_group_succeeds_within_45_seconds(tmp_path: Path) -> None:
    # GIVEN the local stack with one schedule that fires only far in the future
    (tmp_path / "target.json").write_text(
        json.dumps(
            {
                "id": "target",
                "name": "run on demand",
                "trigger": {"type": "once", "at": "2099-01-01T00:00:00Z"},
                "run_config": {"model": "echo", "task_message": "ping", "auto_execute": True},
            }
        )
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agentcron.local",
            "--for",
            "90",
            "--examples",
            str(tmp_path),
            "--api-port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    seen: list[str] = []

    def wait_for(pattern: str, seconds: float) -> re.Match[str]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                continue
            seen.append(line)
            if match := re.search(pattern, line):
                return match
        raise AssertionError(f"no line matching {pattern!r} within {seconds} s:\n" + "".join(seen))

    try:
        endpoint = wait_for(r"and (http://\S+) \(S3, SQS", 60).group(1)
        wait_for(r"claim loop and executors running", 60)
        sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
        (url,) = [u for u in sqs.list_queues()["QueueUrls"] if "RunQueue" in u and "DeadLetter" not in u]
        (dead_letters,) = [u for u in sqs.list_queues()["QueueUrls"] if "RunDeadLetterQueue" in u]
        # WHEN a run-now for an unknown schedule is sent, then a good one, in the same message group
        sent = time.monotonic()
        for dedup, body in (
            ("poison", {"type": "run_now", "schedule_id": "ghost"}),
            ("good", {"type": "run_now", "schedule_id": "target", "task_message": "after the poison"}),
        ):
            sqs.send_message(
                QueueUrl=url,
                MessageBody=json.dumps(body),
                MessageGroupId="manual",
                MessageDeduplicationId=dedup,
            )
        # THEN the good run succeeds within 45 s
        wait_for(r"success\s+target\b", GOOD_WITHIN_SECONDS)
        assert time.monotonic() - sent < GOOD_WITHIN_SECONDS
        # AND the poison message is on the dead-letter queue, with its reason
        got = sqs.receive_message(QueueUrl=dead_letters, MessageAttributeNames=["All"], WaitTimeSeconds=5)
        (poison,) = got["Messages"]
        assert json.loads(poison["Body"])["schedule_id"] == "ghost"
        assert "Schedule not found: ghost" in poison["MessageAttributes"]["reason"]["StringValue"]
    finally:
        process.terminate()
        process.wait(timeout=30)
