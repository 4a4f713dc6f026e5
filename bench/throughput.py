"""Benchmark 3: 1,000 runs due at the same instant, through the local stack, until every one is terminal.

The local stack of ``make run``: a moto server with the template's resources, the real claim handler
(``functions/claim/app.py``) invoked by the claim loop (``agentcron.local.loops.ClaimLoop``) as EventBridge
Scheduler would (sweeping every second inside the invocation), and several executor workers
(``agentcron.local.loops.ExecutorLoop``: the SQS event source's part) invoking the real executor handler with
the offline ``echo`` model. One difference: the moto server runs in a process of its own
(:mod:`bench.moto_server`) rather than inside this one, so the fake and the handlers do not share one
interpreter lock. The schedules are seeded due at one instant a few seconds ahead; the claim loop starts at
that instant.

Figures come from the run records the system wrote: fire lag = ``started_at - scheduled_for`` (the
``dispatch_lag_ms`` the executor records), when the sweep that claimed them started (``claimed_at``, the
sweep's instant) and ``started_at - claimed_at`` (the claim transactions, the queue and the wait for a free
executor), the time until the last run was terminal, runs per second. The benchmark only polls a count of
terminal runs to know when to stop.

Every DynamoDB operation of moto is serialised by ``agentcron.local.atomic.serialize_moto_dynamodb`` (the
claim and executors write concurrently; DynamoDB is atomic per operation and moto is not), and every handler
shares this process: the figures are bounded by the fake and by a few threads, not by DynamoDB's or Lambda's
throughput. Two costs of moto that the services do not have are taken away in the server
(``bench.common.shallow_table_snapshots`` and ``fast_moto_sqs_clock``).
"""

from __future__ import annotations

import logging
import math
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import (
    NOISY_MACHINE,
    REGION,
    ROOT,
    distribution,
    fake_aws_env,
    progress,
)
from bench.meter import ApiMeter
from bench.workload import schedule_items, seed

NAME = "throughput"
FULL_RUNS = 1_000
QUICK_RUNS = 30
EXECUTORS = 4
SWEEP_SECONDS = 1  # the local stack's sweep period (`make run` default); the template's default is 5
# The outbox re-sends a run still queued after RedeliverySeconds (template default 120). A few local workers
# take minutes to reach the last of 1,000 runs (deployed, Lambda scales the executor out), and the re-sends
# would add work exactly when the backlog is deepest: raised so the burst measures the pipeline itself.
REDELIVERY_SECONDS = 3600
POLL_SECONDS = 0.5
TIMEOUT_SECONDS = 900
TERMINAL = ("success", "failed", "skipped", "missed", "cancelled", "timed_out")


def run(*, quick: bool = False, runs: int | None = None, executors: int = EXECUTORS) -> dict[str, Any]:
    fake_aws_env()
    import boto3

    runs = runs or (QUICK_RUNS if quick else FULL_RUNS)
    meter = ApiMeter()  # counts the handlers' calls too: their clients come from the default session
    boto3.setup_default_session()
    meter.attach(boto3.DEFAULT_SESSION.events)

    from agentcron.local.handlers import load_handler
    from agentcron.local.loops import ClaimLoop, ExecutorLoop
    from agentcron.local.resources import RUN_QUEUE

    progress(f"throughput: starting the local stack ({runs:,} runs, {executors} executor workers)")
    with ExitStack() as cleanup:
        endpoint = cleanup.enter_context(moto_server_process())
        with meter.pause():
            resources, settings = local_stack_environment(endpoint)
        for name in ("claim", "executor"):  # imported once here: concurrent first imports can trip each other
            load_handler(name)
        # The benchmark's own client (seeding, polling) comes from another session: it is not counted.
        dynamodb = boto3.session.Session().client("dynamodb", region_name=REGION, endpoint_url=endpoint)
        lead = 2 + math.ceil(runs / 300)  # seconds to seed before the instant they are due
        due_at = (datetime.now(UTC) + timedelta(seconds=lead + 1)).replace(microsecond=0)  # a whole second
        seed_seconds = seed(
            dynamodb,
            settings.schedules_table,
            schedule_items(runs, runs, due_at, settings.due_shards),
            total=runs,
        )
        late = (datetime.now(UTC) - due_at).total_seconds()
        if late > 0:
            raise RuntimeError(f"seeding took {seed_seconds:.1f}s and ran {late:.1f}s past the due instant")

        errors: list[str] = []
        stop = threading.Event()
        cleanup.callback(stop.set)
        workers = [
            ExecutorLoop(
                boto3.client("sqs"),
                resources.queue_urls[RUN_QUEUE],
                resources.queue_arns[RUN_QUEUE],
                REGION,
                stop,
                errors.append,
                name=f"executor-{i}",
            )
            for i in range(executors)
        ]
        for worker in workers:
            worker.start()
        time.sleep(max(0.0, (due_at - datetime.now(UTC)).total_seconds()))
        started = time.perf_counter()
        ClaimLoop(stop, errors.append).start()  # its first invocation sweeps at once: at the due instant
        progress(f"throughput: {runs:,} runs due at {due_at:%H:%M:%S}Z; claim loop started")
        done = _wait_terminal(dynamodb, settings.runs_table, runs, started)
        wall = time.perf_counter() - started
        stop.set()
        records = _runs(dynamodb, settings.runs_table)
        for worker in workers:
            worker.join(timeout=10)
        # The claim loop's daemon thread may still be sweeping while the server goes: keep it quiet.
        logging.disable(logging.CRITICAL)
    return _report(records, runs, executors, due_at, wall, seed_seconds, done, errors, meter)


@contextmanager
def moto_server_process() -> Iterator[str]:
    """``python -m bench.moto_server`` as a child process; yields its endpoint URL, stops it on exit."""
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.moto_server"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        address = (server.stdout.readline() if server.stdout else "").strip()
        if not address:
            raise RuntimeError("the moto server did not start")
        yield f"http://{address}"
    finally:
        if server.stdin:
            server.stdin.close()  # the server stops when its stdin closes
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def local_stack_environment(endpoint: str) -> tuple[Any, Any]:
    """What ``agentcron.local.stack.start_local_stack`` sets up, on an endpoint already serving.

    Resources from template.yaml, and the environment the handlers read (endpoint, dummy credentials,
    Powertools switches, resource names). ``RedeliverySeconds`` is raised (see ``REDELIVERY_SECONDS``).
    """
    import boto3
    from agentcron.config import Settings
    from agentcron.local.resources import create_resources

    os.environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "POWERTOOLS_SERVICE_NAME": "agentcron",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    clients = {
        name: boto3.client(name, region_name=REGION, endpoint_url=endpoint)
        for name in ("dynamodb", "sqs", "s3")
    }
    resources = create_resources(prefix="bench", **clients)
    os.environ.update(
        resources.environment(sweep_seconds=SWEEP_SECONDS, redelivery_seconds=REDELIVERY_SECONDS)
    )
    return resources, Settings.from_env()


def _wait_terminal(client: Any, table: str, expected: int, started: float) -> bool:
    """Poll a count of terminal runs until ``expected`` are terminal (True) or the timeout (False)."""
    names = {"#s": "status"}
    values = {f":t{i}": {"S": status} for i, status in enumerate(TERMINAL)}
    condition = f"#s IN ({', '.join(values)})"
    last_report = 0.0
    while time.perf_counter() - started < TIMEOUT_SECONDS:
        count, request = (
            0,
            {
                "TableName": table,
                "Select": "COUNT",
                "FilterExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            },
        )
        while True:
            page = client.scan(**request)
            count += page["Count"]
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        if count >= expected:
            return True
        if time.perf_counter() - last_report >= 10:
            last_report = time.perf_counter()
            progress(f"throughput: {count:,}/{expected:,} runs terminal")
        time.sleep(POLL_SECONDS)
    return False


def _runs(client: Any, table: str) -> list[Any]:
    from agentcron.store.codec import run_from_item

    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {"TableName": table}
    while True:
        page = client.scan(**request)
        items += page.get("Items") or []
        if "LastEvaluatedKey" not in page:
            return [run_from_item(item) for item in items]
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _ms(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return (later - earlier).total_seconds() * 1000


def _report(
    records: list[Any],
    runs: int,
    executors: int,
    due_at: datetime,
    wall: float,
    seed_seconds: float,
    done: bool,
    errors: list[str],
    meter: ApiMeter,
) -> dict[str, Any]:
    statuses = Counter(str(getattr(r.status, "value", r.status)) for r in records)
    finished = [r.completed_at for r in records if r.completed_at is not None]
    last = max(finished) if finished else None
    to_terminal = _ms(last, due_at) / 1000 if last else None
    claimed = [r.claimed_at for r in records if r.claimed_at]
    fire_lag = [float(r.dispatch_lag_ms) for r in records if r.dispatch_lag_ms is not None]
    totals = meter.total().totals()
    calls = meter.total().calls
    return {
        "name": NAME,
        "config": {
            "moto_server": "separate process",
            "redelivery_seconds": REDELIVERY_SECONDS,
            "runs": runs,
            "executor_workers": executors,
            "sweep_seconds": SWEEP_SECONDS,
            "model": "echo",
            "due_at": due_at.isoformat().replace("+00:00", "Z"),
        },
        "figures": {
            "completed": done,
            "runs_recorded": len(records),
            "statuses": dict(sorted(statuses.items())),
            "seconds_to_all_terminal": round(to_terminal, 2) if to_terminal is not None else None,
            "runs_per_second": round(runs / to_terminal, 1) if to_terminal else None,
            "sweep_started_ms_after_due": round(_ms(min(claimed), due_at), 1) if claimed else None,
            "fire_lag_ms": distribution(fire_lag),
            "claimed_to_started_ms": distribution(
                v for r in records if (v := _ms(r.started_at, r.claimed_at)) is not None
            ),
            "execution_ms": distribution(
                float(r.execution_duration_ms) for r in records if r.execution_duration_ms is not None
            ),
            "wall_seconds_observed": round(wall, 2),
            "seed_seconds": round(seed_seconds, 2),
            "outbox_resends": calls.get("sqs.SendMessage", 0),
            "api_calls": totals["api_calls"],
            "api_calls_per_run": round(totals["api_calls"] / runs, 2),
            "calls": dict(sorted(calls.items())),
            "transactions_cancelled": sum(
                n for k, n in meter.total().errors.items() if "TransactionCanceled" in k
            ),
            "loop_errors": errors[:10],
        },
        "notes": [
            "Fire lag is started_at - scheduled_for as the executor recorded it (dispatch_lag_ms); the "
            f"claim loop started at the due instant and swept every {SWEEP_SECONDS} s. Deployed, add the "
            "phase of the sweep (up to SweepSeconds, 5 s by default) and Lambda's own cold starts and SQS "
            "polling delay.",
            "moto's DynamoDB is serialised by agentcron.local.atomic.serialize_moto_dynamodb (needed for "
            "correctness: DynamoDB is atomic per operation, moto is not); the moto server runs in its own "
            "process, the claim loop and the executor workers share this one: throughput here is bounded by "
            "the fake and by a few local threads, not by DynamoDB or Lambda.",
            f"RedeliverySeconds was raised to {REDELIVERY_SECONDS} (template default 120) so the outbox does "
            "not re-send runs the local workers have not reached yet; outbox_resends counts any.",
            "moto snapshots every table a transaction touches (a deep copy, for its rollback), which grows "
            "with the tables: the snapshot was made shallow, as in the claim benchmark; "
            "transactions_cancelled must be 0 for the result to stand. moto's SQS clock was replaced by an "
            "equivalent cheap one (its receive read the clock thousands of times per call with 1,000 "
            "messages queued).",
            "api_calls counts every AWS call the handlers and the executor loops made (receive, delete), "
            "not the benchmark's own polling.",
            NOISY_MACHINE,
        ],
    }
