"""Benchmark workloads: many schedules, a chosen few due at one instant, written the fast way.

Schedules are stored exactly as the store stores them (``agentcron.store.codec.schedule_item``), but with
unconditional ``BatchWriteItem`` puts of 25: creating 100,000 schedules one conditional put at a time through
the API would measure the seeding, not the scheduler.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from agentcron.models import Schedule, ScheduleState
from agentcron.store.codec import schedule_item, serialize

BATCH = 25  # BatchWriteItem limit
HOURLY = 3600
TASK = "Reply with one short line: the benchmark is running."


def schedule_template(due_at: datetime, *, executes: bool = True) -> Schedule:
    """An hourly interval schedule whose grid passes through ``due_at``; it runs the ``echo`` model."""
    run_config: dict[str, Any] = {"model": "echo", "task_message": TASK, "auto_execute": executes}
    return Schedule.model_validate(
        {
            "id": "template",
            "name": "benchmark schedule",
            "trigger": {
                "type": "interval",
                "every_seconds": HOURLY,
                "anchor_at": due_at - timedelta(hours=1),
            },
            "created_at": due_at - timedelta(hours=1),
            "updated_at": due_at - timedelta(hours=1),
            "run_config": run_config,
        }
    )


def schedule_items(
    count: int,
    due: int,
    due_at: datetime,
    shards: int,
    *,
    start: int = 0,
    executes: bool = True,
    prefix: str = "bench",
) -> Iterator[dict[str, Any]]:
    """DynamoDB items of schedules ``<prefix>-<start>`` .. ``<prefix>-<start+count-1>``; the first ``due``
    fire at ``due_at``, the others 1 to 59 minutes later (every schedule is enabled, so every one is in the
    index)."""
    template = schedule_template(due_at, executes=executes)
    for i in range(start, start + count):
        next_fire = due_at if i - start < due else due_at + timedelta(minutes=1 + i % 59)
        schedule = template.model_copy(
            update={"id": f"{prefix}-{i:06d}", "state": ScheduleState(next_fire_at=next_fire)}
        )
        yield serialize(schedule_item(schedule, 1, shards))


def seed(
    client: Any,
    table: str,
    items: Iterator[dict[str, Any]],
    *,
    total: int,
    on_progress: Callable[[str], None] | None = None,
) -> float:
    """Write ``items`` with BatchWriteItem (retrying unprocessed ones); returns the seconds it took."""
    started = time.perf_counter()
    batch: list[dict[str, Any]] = []
    written = 0
    step = max(1_000, total // 10)

    def flush() -> None:
        nonlocal batch, written
        pending = {table: [{"PutRequest": {"Item": item}} for item in batch]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        before, written = written, written + len(batch)
        batch = []
        if on_progress and written // step != before // step:
            on_progress(f"seeded {written:,}/{total:,} schedules ({time.perf_counter() - started:.0f}s)")

    for item in items:
        batch.append(item)
        if len(batch) == BATCH:
            flush()
    if batch:
        flush()
    return time.perf_counter() - started


def interval_schedule_items(
    count: int, start: datetime, periods: tuple[int, ...], shards: int, *, prefix: str = "soak"
) -> Iterator[dict[str, Any]]:
    """``count`` schedules ``<prefix>-<i>`` firing every ``periods[i % len(periods)]`` seconds from ``start``
    on, their first slots spread over the period's seconds, so the offered rate is steady."""
    for i in range(count):
        every = periods[i % len(periods)]
        first = start + timedelta(seconds=(i // len(periods)) % every)
        schedule = Schedule.model_validate(
            {
                "id": f"{prefix}-{i:04d}",
                "name": f"every {every} seconds",
                "trigger": {"type": "interval", "every_seconds": every, "anchor_at": first},
                "created_at": start - timedelta(hours=1),
                "updated_at": start - timedelta(hours=1),
                "run_config": {"model": "echo", "task_message": TASK, "auto_execute": True},
                "state": {"next_fire_at": first},
            }
        )
        yield serialize(schedule_item(schedule, 1, shards))


def history_run_items(schedule_ids: list[str], total: int, before: datetime) -> Iterator[dict[str, Any]]:
    """``total`` finished runs (``success``, as the executor leaves them), spread over ``schedule_ids``, one
    minute apart going back from ``before``: the history a long-lived deployment keeps."""
    from agentcron.models import Run, RunStatus, TokenUsage
    from agentcron.store.codec import run_item

    for n in range(total):
        schedule_id = schedule_ids[n % len(schedule_ids)]
        slot = (before - timedelta(minutes=1 + n // len(schedule_ids))).replace(microsecond=0)
        run = Run(
            run_id=f"{schedule_id}-{slot:%Y%m%dT%H%M%SZ}",
            schedule_id=schedule_id,
            scheduled_for=slot,
            claimed_at=slot,
            started_at=slot + timedelta(milliseconds=300),
            completed_at=slot + timedelta(milliseconds=600),
            status=RunStatus.success,
            session_id=f"history-{n}",
            dispatch_lag_ms=300,
            execution_duration_ms=300,
            attempt=1,
            usage=TokenUsage(input_tokens=18, output_tokens=10),
            final_answer="the benchmark is running",
        )
        item = run_item(run)
        item["purge_at"] = int((slot + timedelta(days=30)).timestamp())
        yield serialize(item)
