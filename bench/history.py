"""Benchmark: what a run costs on the local stack with 10 runs stored, and with 10,000 (does history cost?).

On one local stack (:mod:`bench.localstack`, as ``make run`` starts it), three bursts of the same size, each
of fresh schedules due at one instant: with 10 finished runs in the runs table, after 10,000 more finished
runs were written (as the executor leaves them, spread over that burst's schedules, so their partitions
hold history too), and again with 10 after they were deleted. For each burst: CPU milliseconds per run of
every process of the stack (moto servers, claim loop, executor processes) from the due instant until every
run is terminal, and wall seconds. ``ratio`` is the 10,000 burst's total CPU per run over the mean of the two
10 bursts (a machine that got busier or quieter in between moves both sides): 1.0 means a run costs the
same whatever the history. The executor processes do the same work whatever is stored, so their own ratio
(``ratio_by_process.executor_processes``) shows how much the machine itself drifted.

moto as it comes copies every table a transaction touches, and sorts and walks the whole table for every
query; the local stack's moto (``agentcron.local.atomic``, ``agentcron.local.indexes``) does neither.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import NOISY_MACHINE, distribution, fake_aws_env, progress, ratio
from bench.localstack import CpuMeter, all_runs, count_due, count_open, local_stack, per_run_ms
from bench.workload import history_run_items, schedule_items, seed

NAME = "history"
SMALL_HISTORY = 10
LARGE_HISTORY = 10_000
FULL_RUNS = 300
QUICK_RUNS = 60
EXECUTORS = 8
EXECUTOR_PROCESSES = 2
TIMEOUT_SECONDS = 600


def run(
    *,
    quick: bool = False,
    runs: int | None = None,
    large_history: int = LARGE_HISTORY,
    executors: int = EXECUTORS,
    executor_processes: int = EXECUTOR_PROCESSES,
) -> dict[str, Any]:
    fake_aws_env()
    runs = runs or (QUICK_RUNS if quick else FULL_RUNS)
    phases: dict[str, dict[str, Any]] = {}
    with local_stack(
        prefix="history", executors=executors, executor_processes=executor_processes, redelivery_seconds=3600
    ) as stack:
        stack.start_claim_loop()
        table = stack.settings.runs_table
        seed(stack.dynamodb, table, history_run_items(["small-000000"], SMALL_HISTORY, datetime.now(UTC)),
             total=SMALL_HISTORY)  # fmt: skip
        phases["small"] = _burst(stack, "small", runs, SMALL_HISTORY)
        started = time.perf_counter()
        extra = list(history_run_items([f"large-{i:06d}" for i in range(runs)], large_history - SMALL_HISTORY,
                                       datetime.now(UTC)))  # fmt: skip
        seed(stack.dynamodb, table, iter(extra), total=len(extra))
        progress(f"history: {large_history:,} runs stored ({time.perf_counter() - started:.1f}s to write)")
        phases["large"] = _burst(stack, "large", runs, large_history)
        _delete(stack.dynamodb, table, extra)
        progress(f"history: back to {SMALL_HISTORY} stored runs (plus the bursts' own)")
        phases["small_again"] = _burst(stack, "again", runs, SMALL_HISTORY)
        records = all_runs(stack.dynamodb, table)
        errors = list(stack.errors)
    logging.disable(logging.CRITICAL)
    small, large, again = phases["small"], phases["large"], phases["small_again"]

    def baseline(key: str) -> float:
        return (small["cpu_ms_per_run"][key] + again["cpu_ms_per_run"][key]) / 2

    return {
        "name": NAME,
        "config": {
            "runs_per_burst": runs,
            "stored_runs": [SMALL_HISTORY, large_history],
            "executor_workers": executors,
            "executor_processes": executor_processes,
            "model": "echo",
        },
        "figures": {
            "after_10_runs": small,
            "after_10000_runs": large,
            "after_10_runs_again": again,
            "ratio": ratio(large["cpu_ms_per_run"]["total"], baseline("total"), 2),
            "ratio_by_process": {
                key: ratio(large["cpu_ms_per_run"][key], baseline(key), 2) for key in small["cpu_ms_per_run"]
            },
            "wall_ratio": ratio(
                large["seconds_to_all_terminal"],
                ((small["seconds_to_all_terminal"] or 0) + (again["seconds_to_all_terminal"] or 0)) / 2,
                2,
            ),
            "runs_table_items_at_end": len(records),
            "loop_errors": errors[:10],
        },
        "notes": [
            "CPU per run: every process of the local stack (moto's DynamoDB server, the S3/SQS/EventBridge "
            "server, the claim loop's process, the executor worker processes) from the burst's due instant "
            "until its last run is terminal, divided by the runs; it includes the claim loop's idle sweeps "
            "over those seconds. ratio = after 10,000 stored runs / the mean of the two bursts after 10.",
            NOISY_MACHINE,
        ],
    }


def _delete(client: Any, table: str, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), 25):
        pending: dict[str, Any] = {
            table: [
                {"DeleteRequest": {"Key": {"schedule_id": item["schedule_id"], "run_id": item["run_id"]}}}
                for item in items[start : start + 25]
            ]
        }
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def _burst(stack: Any, phase: str, runs: int, stored: int) -> dict[str, Any]:
    settings, dynamodb = stack.settings, stack.dynamodb
    due_at = (datetime.now(UTC) + timedelta(seconds=3 + runs // 300)).replace(microsecond=0)
    items = schedule_items(runs, runs, due_at, settings.due_shards, prefix=phase)
    seed(dynamodb, settings.schedules_table, items, total=runs)
    time.sleep(max(0.0, (due_at - datetime.now(UTC)).total_seconds()))
    cpu = CpuMeter(stack).start()
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:  # the stop condition only: the figures come from the run records
        time.sleep(1)
        if count_due(dynamodb, settings, due_at) == 0 and count_open(dynamodb, settings) == 0:
            break
    used = cpu.read()
    records = [r for r in all_runs(dynamodb, settings.runs_table) if r.schedule_id.startswith(f"{phase}-")]
    records = [r for r in records if r.scheduled_for == due_at]
    last = max((r.completed_at for r in records if r.completed_at), default=None)
    progress(f"history: {phase} burst of {runs} runs done ({stored:,} stored before it)")
    return {
        "stored_runs_before": stored,
        "runs": len(records),
        "statuses": sorted({str(getattr(r.status, "value", r.status)) for r in records}),
        "seconds_to_all_terminal": round((last - due_at).total_seconds(), 2) if last else None,
        "fire_lag_ms": distribution(
            float(r.dispatch_lag_ms) for r in records if r.dispatch_lag_ms is not None
        ),
        "cpu_seconds": used,
        "cpu_ms_per_run": per_run_ms(used, runs),
    }
