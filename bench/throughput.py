"""Benchmark 3 (the burst): 1,000 runs due at one instant, through the local stack, until all are terminal.

The local stack of ``make run`` (:mod:`bench.localstack`): moto servers in processes of their own with the
template's resources, the real claim handler (``functions/claim/app.py``) invoked by the claim loop
(``agentcron.local.loops.ClaimLoop``) as EventBridge Scheduler would (sweeping every second inside the
invocation), and executor workers (``agentcron.local.workers``: the SQS event source's part, in worker
processes) invoking the real executor handler with the offline ``echo`` model. The schedules are seeded
due at one instant a few seconds ahead; the claim loop starts at that instant.

Figures come from the run records the system wrote: fire lag = ``started_at - scheduled_for`` (the
``dispatch_lag_ms`` the executor records), when the sweep that claimed them started (``claimed_at``, the
sweep's instant) and ``started_at - claimed_at`` (the claim transactions, the queue and the wait for a free
executor), the time until the last run was terminal, runs per second; and the CPU each process of the stack
used per run (the figure that holds on a shared machine). The benchmark polls the sparse indexes (nothing
left due, nothing left open) to know when to stop.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import NOISY_MACHINE, distribution, fake_aws_env, progress
from bench.localstack import SWEEP_SECONDS, CpuMeter, all_runs, count_due, count_open, local_stack, per_run_ms
from bench.meter import ApiMeter
from bench.workload import schedule_items, seed

NAME = "throughput"
FULL_RUNS = 1_000
QUICK_RUNS = 30
EXECUTORS = 8  # executor workers in all (Lambda would scale out; locally, a few threads per process)
EXECUTOR_PROCESSES = 2
# The outbox re-sends a run still queued after RedeliverySeconds (template default 120). The local workers
# take a while to reach the last of 1,000 runs (deployed, Lambda scales the executor out), and re-sends
# would add work exactly when the backlog is deepest: raised so the burst measures the pipeline itself.
REDELIVERY_SECONDS = 3600
POLL_SECONDS = 1.0  # the stop condition only: the figures come from the run records
TIMEOUT_SECONDS = 900
TERMINAL = ("success", "failed", "skipped", "missed", "cancelled", "timed_out")


def run(
    *,
    quick: bool = False,
    runs: int | None = None,
    executors: int = EXECUTORS,
    executor_processes: int = EXECUTOR_PROCESSES,
) -> dict[str, Any]:
    fake_aws_env()
    import boto3

    runs = runs or (QUICK_RUNS if quick else FULL_RUNS)
    progress(f"throughput: starting the local stack ({runs:,} runs, {executors} executor workers)")
    with local_stack(
        prefix="bench",
        executors=executors,
        executor_processes=executor_processes,
        redelivery_seconds=REDELIVERY_SECONDS,
    ) as stack:
        # Counts the claim loop's calls (its clients are made on its first invocation, from the default
        # session); the executor processes count their own. The benchmark's client is not counted.
        meter = ApiMeter()
        boto3.setup_default_session()
        meter.attach(boto3.DEFAULT_SESSION.events)
        settings, dynamodb = stack.settings, stack.dynamodb
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
        time.sleep(max(0.0, (due_at - datetime.now(UTC)).total_seconds()))
        cpu = CpuMeter(stack).start()
        started = time.perf_counter()
        stack.start_claim_loop()  # its first invocation sweeps at once: at the due instant
        progress(f"throughput: {runs:,} runs due at {due_at:%H:%M:%S}Z; claim loop started")
        done = _wait_terminal(dynamodb, settings, due_at, runs, started)
        wall = time.perf_counter() - started
        cpu_used = cpu.read()
        stack.stop.set()
        records = all_runs(dynamodb, settings.runs_table)
        errors = stack.errors
    executor_calls, executor_errors = stack.executor_calls()  # written when the worker processes stopped
    logging.disable(logging.CRITICAL)  # the claim loop's daemon thread may still be sweeping: keep it quiet
    total = meter.total()
    calls = Counter(total.calls) + executor_calls
    cancelled = sum(
        n for k, n in (Counter(total.errors) + executor_errors).items() if "TransactionCanceled" in k
    )
    return _report(
        records,
        runs,
        executors,
        executor_processes,
        due_at,
        wall,
        seed_seconds,
        done,
        errors,
        calls,
        cancelled,
        cpu_used,
    )


def _wait_terminal(client: Any, settings: Any, due_at: datetime, expected: int, started: float) -> bool:
    """Until nothing is left due at ``due_at`` (every slot claimed) and nothing open (every run terminal)."""
    last_report = 0.0
    while time.perf_counter() - started < TIMEOUT_SECONDS:
        due = count_due(client, settings, due_at)
        still_open = count_open(client, settings) if due == 0 else expected
        if due == 0 and still_open == 0:
            return True
        if time.perf_counter() - last_report >= 10:
            last_report = time.perf_counter()
            progress(f"throughput: {due:,} schedules due, {still_open:,} runs open (of {expected:,})")
        time.sleep(POLL_SECONDS)
    return False


def _ms(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return (later - earlier).total_seconds() * 1000


def _report(
    records: list[Any],
    runs: int,
    executors: int,
    executor_processes: int,
    due_at: datetime,
    wall: float,
    seed_seconds: float,
    done: bool,
    errors: list[str],
    calls: Counter[str],
    cancelled: int,
    cpu: dict[str, float],
) -> dict[str, Any]:
    statuses = Counter(str(getattr(r.status, "value", r.status)) for r in records)
    finished = [r.completed_at for r in records if r.completed_at is not None]
    last = max(finished) if finished else None
    to_terminal = _ms(last, due_at) / 1000 if last else None
    claimed = [r.claimed_at for r in records if r.claimed_at]
    fire_lag = [float(r.dispatch_lag_ms) for r in records if r.dispatch_lag_ms is not None]
    api_calls = sum(calls.values())
    return {
        "name": NAME,
        "config": {
            "moto_servers": "two processes: DynamoDB; S3, SQS and EventBridge",
            "redelivery_seconds": REDELIVERY_SECONDS,
            "runs": runs,
            "executor_workers": executors,
            "executor_processes": executor_processes,
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
            "cpu_seconds": cpu,
            "cpu_ms_per_run": per_run_ms(cpu, runs),
            "wall_seconds_observed": round(wall, 2),
            "seed_seconds": round(seed_seconds, 2),
            "outbox_resends": calls.get("sqs.SendMessage", 0),
            "api_calls": api_calls,
            "api_calls_per_run": round(api_calls / runs, 2),
            "calls": dict(sorted(calls.items())),
            "transactions_cancelled": cancelled,
            "loop_errors": errors[:10],
        },
        "notes": [
            "Fire lag is started_at - scheduled_for as the executor recorded it (dispatch_lag_ms); the "
            f"claim loop started at the due instant and swept every {SWEEP_SECONDS} s. Deployed, add the "
            "phase of the sweep (up to SweepSeconds, 5 s by default) and Lambda's own cold starts and SQS "
            "polling delay.",
            "The local stack as `make run` starts it: moto's DynamoDB in a process of its own (every request "
            "serialised, transactions undone per item: agentcron.local.atomic), S3, SQS and EventBridge in "
            f"another, the claim loop in the benchmark's process, {executors} executor workers in "
            f"{executor_processes} worker processes. Throughput is bounded by the fake and the machine's "
            "cores, "
            "not by DynamoDB or Lambda; cpu_ms_per_run says where the CPU went.",
            f"RedeliverySeconds was raised to {REDELIVERY_SECONDS} (template default 120) so the outbox does "
            "not re-send runs the local workers have not reached yet; outbox_resends counts any.",
            "api_calls counts every AWS call the claim loop, the executor handlers and their loops made "
            "(receive, delete), not the benchmark's own polling.",
            NOISY_MACHINE,
        ],
    }
