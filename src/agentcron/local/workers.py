"""Executor workers in processes of their own: ``python -m agentcron.local.workers`` (started by the stack).

A Lambda executor is its own process; on one machine, executor threads share one interpreter lock, and
with the offline ``echo`` model a run is mostly botocore work, so threads alone do not use a second core.
Each worker process runs a few :class:`agentcron.local.loops.ExecutorLoop` threads around the real
executor handler. The processes share nothing but the moto servers (state, the DynamoDB lock), which they
reach over HTTP like everything else, with the environment the parent exported. A process stops when its
stdin closes (the parent stopped or died) and prints its errors, one line each, on its stdout.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
from datetime import datetime


class ExecutorProcesses:
    """``count`` worker processes of ``threads`` executor loops each, on the run queue."""

    def __init__(
        self,
        count: int,
        threads: int,
        queue_url: str,
        queue_arn: str,
        region: str,
        *,
        module: str = "agentcron.local.workers",  # another entry point with this one's arguments (a meter)
    ) -> None:
        self.count, self.threads, self.module = count, threads, module
        self.queue_url, self.queue_arn, self.region = queue_url, queue_arn, region
        self.children: list[subprocess.Popen[str]] = []

    def start(self) -> ExecutorProcesses:
        for i in range(self.count):
            command = [
                sys.executable, "-m", self.module,
                "--threads", str(self.threads), "--name", f"executor-p{i}",
                "--queue-url", self.queue_url, "--queue-arn", self.queue_arn, "--region", self.region,
            ]  # fmt: skip
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            self.children.append(subprocess.Popen(command, stdin=subprocess.PIPE, text=True, env=env))
        return self

    @property
    def pids(self) -> list[int]:
        return [child.pid for child in self.children]

    def stop(self, timeout: float = 20) -> None:
        for child in self.children:
            if child.stdin:
                child.stdin.close()  # the worker stops taking messages, finishes its batch, exits
        for child in self.children:
            try:
                child.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self.children = []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agentcron.local.workers", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--name", default="executor")
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--queue-arn", required=True)
    parser.add_argument("--region", required=True)
    args = parser.parse_args(argv)

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us in order
    import boto3

    from agentcron.local.errors import ErrorReporter
    from agentcron.local.handlers import load_handler
    from agentcron.local.loops import ExecutorLoop

    def emit(line: str) -> None:
        print(f"{datetime.now().strftime('%H:%M:%S.%f')[:-3]}  {args.name}: {line}", flush=True)

    report = ErrorReporter(emit)  # the parent's log file ($AGENTCRON_LOCAL_LOG, inherited)

    load_handler("executor")  # imported once, before the threads start
    stop = threading.Event()
    sqs = boto3.client("sqs", region_name=args.region)
    loops = [
        ExecutorLoop(sqs, args.queue_url, args.queue_arn, args.region, stop, report, name=f"{args.name}-{i}")
        for i in range(max(1, args.threads))
    ]
    for loop in loops:
        loop.start()
    try:
        sys.stdin.read()  # until the parent closes our stdin (or dies)
    except KeyboardInterrupt:
        pass
    stop.set()
    for loop in loops:
        loop.join(timeout=15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
