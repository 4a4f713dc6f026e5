"""The local stack of ``make run`` as the throughput, soak and history benchmarks drive it.

:func:`local_stack` starts it the way ``python -m agentcron.local`` does (``agentcron.local.stack``: the moto
servers in processes of their own, resources from template.yaml, the environment the handlers read), with
the claim loop on a thread of the benchmark's process and the executor workers in worker processes
(``agentcron.local.workers``) or, with ``executor_processes=0``, on threads of this process. It also reads how
much CPU each process of the stack used (:class:`CpuMeter`), the figure that holds on a shared machine when
wall-clock times do not.

The benchmark's own reads use the sparse indexes (:func:`count_due`, :func:`count_open`): a Scan every half
second over thousands of runs would load the server it measures.
"""

from __future__ import annotations

import atexit
import glob
import json
import os
import resource
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bench.common import REGION

SWEEP_SECONDS = 1  # the local stack's sweep period (`make run` default); the template's default is 5


@dataclass
class LocalRun:
    stack: Any
    settings: Any
    dynamodb: Any  # the benchmark's own client (another session: not metered)
    stop: threading.Event
    errors: list[str] = field(default_factory=list)
    executor_threads: list[Any] = field(default_factory=list)
    executor_processes: Any = None
    claim: Any = None
    calls_prefix: str = ""  # where the metered executor processes write their call counts

    def executor_calls(self) -> tuple[Counter[str], Counter[str]]:
        """(calls, errors) the executor processes counted (after they stopped)."""
        calls: Counter[str] = Counter()
        errors: Counter[str] = Counter()
        for path in glob.glob(f"{self.calls_prefix}.*.json") if self.calls_prefix else []:
            with open(path, encoding="utf-8") as f:
                counted = json.load(f)
            calls.update(counted["calls"])
            errors.update(counted["errors"])
        return calls, errors

    def start_claim_loop(self) -> None:
        from agentcron.local.loops import ClaimLoop

        self.claim = ClaimLoop(self.stop, self.errors.append)
        self.claim.start()

    def pids(self) -> dict[str, list[int]]:
        return {
            "moto_servers": self.stack.server_pids(),
            "executor_processes": self.executor_processes.pids if self.executor_processes else [],
        }


@contextmanager
def local_stack(
    *,
    prefix: str,
    executors: int,
    executor_processes: int,
    redelivery_seconds: int | None = None,
    sweep_seconds: int = SWEEP_SECONDS,
) -> Iterator[LocalRun]:
    """The local stack, executors running (``executors`` threads in all, spread over ``executor_processes``
    processes, or on this process when 0); the claim loop is started by the caller (``start_claim_loop``)."""
    import boto3

    from agentcron.local.handlers import load_handler
    from agentcron.local.loops import ExecutorLoop
    from agentcron.local.resources import RUN_QUEUE
    from agentcron.local.stack import start_local_stack
    from agentcron.local.workers import ExecutorProcesses

    overrides: dict[str, Any] = {"sweep_seconds": sweep_seconds}
    if redelivery_seconds is not None:
        overrides["redelivery_seconds"] = redelivery_seconds
    stack = start_local_stack(prefix=prefix, **overrides)
    stop = threading.Event()
    run = LocalRun(
        stack=stack,
        settings=stack.settings,
        dynamodb=boto3.session.Session().client(
            "dynamodb", region_name=REGION, endpoint_url=stack.endpoint("dynamodb")
        ),
        stop=stop,
    )
    queue_url, queue_arn = stack.resources.queue_urls[RUN_QUEUE], stack.resources.queue_arns[RUN_QUEUE]
    scratch = tempfile.TemporaryDirectory(prefix="agentcron-bench-calls-")
    run.calls_prefix = os.environ["AGENTCRON_BENCH_CALLS"] = os.path.join(scratch.name, "calls")
    try:
        for name in ("claim", "executor"):  # imported once here: concurrent first imports can trip each other
            load_handler(name)
        if executor_processes > 0:
            per_process = max(1, -(-executors // executor_processes))
            run.executor_processes = ExecutorProcesses(
                executor_processes, per_process, queue_url, queue_arn, REGION, module="bench.executor_worker"
            ).start()
        else:
            sqs = boto3.client("sqs")
            run.executor_threads = [
                ExecutorLoop(sqs, queue_url, queue_arn, REGION, stop, run.errors.append, name=f"executor-{i}")
                for i in range(executors)
            ]
            for worker in run.executor_threads:
                worker.start()
        yield run
    finally:
        stop.set()
        for worker in run.executor_threads:
            worker.join(timeout=10)
        if run.executor_processes is not None:
            run.executor_processes.stop()
        if run.claim is not None:
            run.claim.join(timeout=10)
        stack.stop()
        scratch_cleanup.append(scratch)


scratch_cleanup: list[Any] = []  # the call-count folders, removed at exit (read after the stack stopped)
atexit.register(lambda: [folder.cleanup() for folder in scratch_cleanup])


# --------------------------------------------------------------------------- reads through the indexes


def _count(client: Any, request: dict[str, Any]) -> int:
    total = 0
    request = dict(request, Select="COUNT")
    while True:
        page = client.query(**request)
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            return total
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def count_due(client: Any, settings: Any, at: datetime) -> int:
    """Schedules whose next fire is at or before ``at`` (the sparse ``due`` index, every shard)."""
    at_ms = str(int(at.timestamp() * 1000))
    return sum(
        _count(
            client,
            {
                "TableName": settings.schedules_table,
                "IndexName": "due",
                "KeyConditionExpression": "due_shard = :s AND next_fire_at <= :t",
                "ExpressionAttributeValues": {":s": {"N": str(shard)}, ":t": {"N": at_ms}},
            },
        )
        for shard in range(settings.due_shards)
    )


def count_open(client: Any, settings: Any) -> int:
    """Runs still queued or running (the sparse ``open`` index, every shard)."""
    return sum(
        _count(
            client,
            {
                "TableName": settings.runs_table,
                "IndexName": "open",
                "KeyConditionExpression": "open_shard = :s",
                "ExpressionAttributeValues": {":s": {"N": str(shard)}},
            },
        )
        for shard in range(settings.due_shards)
    )


def all_runs(client: Any, table: str) -> list[Any]:
    """Every run record (a Scan: once, at the end)."""
    from agentcron.store.codec import run_from_item

    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {"TableName": table}
    while True:
        page = client.scan(**request)
        items += page.get("Items") or []
        if "LastEvaluatedKey" not in page:
            return [run_from_item(item) for item in items if not item["schedule_id"]["S"].startswith("~")]
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# --------------------------------------------------------------------------- CPU per process


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _self_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """CPU seconds each part of the local stack used between :meth:`start` and :meth:`read`."""

    def __init__(self, run: LocalRun) -> None:
        self.run = run
        self._start: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        pids = self.run.pids()
        servers = pids["moto_servers"]
        out = {
            "handlers_process": _self_cpu_seconds(),  # this process: the claim loop (and executor threads)
            "moto_dynamodb": process_cpu_seconds(servers[0]) if servers else 0.0,
            "moto_s3_sqs_events": sum(process_cpu_seconds(pid) for pid in servers[1:]),
            "executor_processes": sum(process_cpu_seconds(pid) for pid in pids["executor_processes"]),
        }
        out["total"] = sum(out.values())
        return out

    def start(self) -> CpuMeter:
        self._start = self._now()
        self._wall = time.perf_counter()
        return self

    def read(self) -> dict[str, float]:
        now = self._now()
        out = {key: round(now[key] - self._start.get(key, 0.0), 2) for key in now}
        out["wall"] = round(time.perf_counter() - self._wall, 2)
        return out


def per_run_ms(cpu: dict[str, float], runs: int) -> dict[str, float]:
    """CPU milliseconds per run of each part (wall excluded)."""
    return {key: round(value * 1000 / runs, 1) for key, value in cpu.items() if key != "wall" and runs}
