"""Benchmark: the local stack at a steady offered rate for minutes, minute by minute (is it flat?).

60 schedules of the ``echo`` model firing every 5, 6 or 7 seconds (about 10 runs per second offered), their
first slots spread over the period, on the local stack of ``make run`` (:mod:`bench.localstack`: moto
servers in processes of their own, the claim loop sweeping every second, executor worker processes), for 10
minutes (``--quick``: 1 minute). Every run is stored; history grows by about 600 runs a minute.

Reported per minute of slots (from the run records): runs offered (slots scheduled in that minute), dispatch
lag p50/p99 (``dispatch_lag_ms``: ``started_at - scheduled_for``), runs finished in that minute (by
``completed_at``), and the CPU every process of the stack used in that minute per run finished. Flat means
the last minute's lag and cost are those of the first: nothing grows with the history.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import NOISY_MACHINE, distribution, fake_aws_env, percentile, progress
from bench.localstack import SWEEP_SECONDS, CpuMeter, all_runs, count_open, local_stack, per_run_ms
from bench.workload import interval_schedule_items, seed

NAME = "soak"
SCHEDULES = 60
PERIODS = (5, 6, 7)  # seconds: 20 schedules each, 4 + 3.33 + 2.86 = 10.2 runs per second offered
FULL_SECONDS = 600
QUICK_SECONDS = 60
EXECUTORS = 8
EXECUTOR_PROCESSES = 2
LAG_P99_TARGET_MS = 3000
DRAIN_SECONDS = 30


def offered_rate(schedules: int = SCHEDULES, periods: tuple[int, ...] = PERIODS) -> float:
    return sum(1 / periods[i % len(periods)] for i in range(schedules))


def run(
    *,
    quick: bool = False,
    seconds: int | None = None,
    schedules: int = SCHEDULES,
    executors: int = EXECUTORS,
    executor_processes: int = EXECUTOR_PROCESSES,
    name: str = NAME,
) -> dict[str, Any]:
    fake_aws_env()
    seconds = seconds or (QUICK_SECONDS if quick else FULL_SECONDS)
    rate = offered_rate(schedules)
    progress(f"soak: {schedules} schedules, {rate:.1f} runs/s offered, for {seconds} s")
    minutes_cpu: list[dict[str, float]] = []
    with local_stack(prefix="soak", executors=executors, executor_processes=executor_processes) as stack:
        settings, dynamodb = stack.settings, stack.dynamodb
        start = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0)
        seed(dynamodb, settings.schedules_table, interval_schedule_items(schedules, start, PERIODS,
             settings.due_shards), total=schedules)  # fmt: skip
        time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()))
        end = start + timedelta(seconds=seconds)
        cpu_total = CpuMeter(stack).start()
        stack.start_claim_loop()
        minute = CpuMeter(stack).start()
        next_mark = start + timedelta(minutes=1)
        while datetime.now(UTC) < end:
            time.sleep(min(1.0, max(0.0, (min(next_mark, end) - datetime.now(UTC)).total_seconds())))
            if datetime.now(UTC) >= next_mark:
                minutes_cpu.append(minute.read())
                minute = CpuMeter(stack).start()
                next_mark += timedelta(minutes=1)
                progress(f"soak: minute {len(minutes_cpu)} of {seconds / 60:g} done")
        if datetime.now(UTC) < next_mark and (seconds % 60):
            minutes_cpu.append(minute.read())
        stack.stop.set()  # no more claims; the executors finish what is queued
        drained = time.monotonic() + DRAIN_SECONDS
        while count_open(dynamodb, settings) and time.monotonic() < drained:
            time.sleep(1)
        cpu = cpu_total.read()
        records = all_runs(dynamodb, settings.runs_table)
        errors = list(stack.errors)
    executor_calls, _ = stack.executor_calls()
    logging.disable(logging.CRITICAL)
    return _report(records, start, end, seconds, schedules, rate, executors, executor_processes, minutes_cpu,
                   cpu, errors, executor_calls, name=name)  # fmt: skip


def _minute(at: datetime, start: datetime) -> int:
    return int((at - start).total_seconds() // 60)


def _report(
    records: list[Any],
    start: datetime,
    end: datetime,
    seconds: int,
    schedules: int,
    rate: float,
    executors: int,
    executor_processes: int,
    minutes_cpu: list[dict[str, float]],
    cpu: dict[str, float],
    errors: list[str],
    executor_calls: Counter[str],
    name: str = NAME,
) -> dict[str, Any]:
    in_window = [r for r in records if start <= r.scheduled_for < end]
    statuses = Counter(str(getattr(r.status, "value", r.status)) for r in in_window)
    lags = [float(r.dispatch_lag_ms) for r in in_window if r.dispatch_lag_ms is not None]
    started = [r for r in in_window if r.started_at is not None]
    # claimed_at is the instant of the sweep that claimed the slot: lag = (claimed_at - slot) + (started_at -
    # claimed_at), the claim loop's share (its sweep period, the gap between two invocations) and the rest.
    claim_wait = [(r.claimed_at - r.scheduled_for).total_seconds() * 1000 for r in started]
    after_claim = [(r.started_at - r.claimed_at).total_seconds() * 1000 for r in started]
    minutes = []
    for m in range(max(1, -(-seconds // 60))):
        slots = [r for r in in_window if _minute(r.scheduled_for, start) == m]
        lag = [float(r.dispatch_lag_ms) for r in slots if r.dispatch_lag_ms is not None]
        finished = sum(
            1 for r in records if r.completed_at is not None and _minute(r.completed_at, start) == m
        )
        pipeline = [
            (r.started_at - r.claimed_at).total_seconds() * 1000 for r in slots if r.started_at is not None
        ]
        row: dict[str, Any] = {
            "minute": m + 1,
            "runs_offered": len(slots),
            "runs_finished": finished,
            "dispatch_lag_ms_p50": round(percentile(lag, 50), 1) if lag else None,
            "dispatch_lag_ms_p99": round(percentile(lag, 99), 1) if lag else None,
            "claimed_to_started_ms_p99": round(percentile(pipeline, 99), 1) if pipeline else None,
        }
        if m < len(minutes_cpu) and finished:
            row["cpu_ms_per_run_finished"] = per_run_ms(minutes_cpu[m], finished)["total"]
        minutes.append(row)
    first, last = minutes[0], minutes[-1]
    full = [row for row in minutes if row["runs_offered"]]
    never_started = sum(1 for r in in_window if r.started_at is None)
    return {
        "name": name,
        "config": {
            "schedules": schedules,
            "periods_seconds": list(PERIODS),
            "offered_runs_per_second": round(rate, 2),
            "seconds": seconds,
            "executor_workers": executors,
            "executor_processes": executor_processes,
            "sweep_seconds": SWEEP_SECONDS,
            "model": "echo",
            "started_at": start.isoformat().replace("+00:00", "Z"),
        },
        "figures": {
            "runs": len(in_window),
            "runs_recorded_in_all": len(records),
            "statuses": dict(sorted(statuses.items())),
            "never_started": never_started,
            "dispatch_lag_ms": distribution(lags),
            "slot_to_claim_ms": distribution(claim_wait),
            "claimed_to_started_ms": distribution(after_claim),
            "lag_p99_within_target": bool(lags) and percentile(lags, 99) <= LAG_P99_TARGET_MS,
            "claimed_to_started_p99_within_target": bool(after_claim)
            and percentile(after_claim, 99) <= LAG_P99_TARGET_MS,
            "lag_p99_target_ms": LAG_P99_TARGET_MS,
            "per_minute": minutes,
            "lag_p50_last_to_first_minute": _ratio(last, first, "dispatch_lag_ms_p50"),
            "lag_p99_worst_minute_ms": max((row["dispatch_lag_ms_p99"] or 0) for row in full)
            if full
            else None,
            "finished_last_to_first_minute": _ratio(last, first, "runs_finished"),
            "cpu_per_run_last_to_first_minute": _ratio(last, first, "cpu_ms_per_run_finished"),
            "cpu_seconds": cpu,
            "cpu_ms_per_run": per_run_ms(cpu, len(in_window)),
            "outbox_resends": executor_calls.get("sqs.SendMessage", 0),
            "loop_errors": errors[:10],
        },
        "notes": [
            "Per minute of slots: runs offered, dispatch lag (started_at - scheduled_for, as the executor "
            "recorded it) p50/p99 of those slots, runs finished in that minute (completed_at), and the CPU "
            "all the stack's processes used in that minute per run finished. The first minute includes "
            "the claim loop's and the workers' first invocations.",
            "The claim clock sweeps at each next fire (its sleeps capped at SweepSeconds, "
            f"{SWEEP_SECONDS} s here) and each once-a-minute invocation stays awake past the next one's start, "
            "so slot_to_claim_ms is the claim's own delay (the sweep's duration, moto's); "
            "claimed_to_started_ms is the rest of the lag: the queue, the executors, moto.",
            "The local stack as `make run` starts it (moto servers in processes of their own, executor "
            "worker processes); history grows by every run, as the runs table keeps them.",
            NOISY_MACHINE,
        ],
    }


def _ratio(last: dict[str, Any], first: dict[str, Any], key: str) -> float | None:
    a, b = last.get(key), first.get(key)
    if a is None or not b:
        return None
    return round(a / b, 2)
