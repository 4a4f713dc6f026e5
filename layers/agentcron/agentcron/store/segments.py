"""Segments of long runs: which executor invocation owns a ``running`` run, recorded on the run item.

A run longer than one Lambda invocation is executed in *segments*: segment 0 is the invocation that started
it, and each hand-off sends a ``continue`` message for segment N+1. The run item's ``segment`` attribute
(absent = 0) names the segment that owns the run, so a duplicate or stale ``continue`` message can never run
the agent twice: taking over for segment N+1 is a conditional write that needs ``segment == N`` and a
``running`` run, and it succeeds once.

Ownership while working is (``attempt``, ``segment``): a lease renewal is conditional on both, so an executor
whose run was taken over (lease expired -> attempt + 1) or finished elsewhere learns it at its next checkpoint
and stops. Functions take a :class:`~agentcron.store.Store` (its client and runs table).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from agentcron.models import Run, RunStatus
from agentcron.store.base import condition_failed
from agentcron.store.codec import Update, deserialize, epoch_ms, run_from_item

if TYPE_CHECKING:
    from agentcron.store import Store

SEGMENT = "segment"


def _segment_is(update: Update, segment: int) -> str:
    if segment == 0:
        return f"attribute_not_exists({update.n(SEGMENT)}) OR {update.n(SEGMENT)} = {update.v(0)}"
    return f"{update.n(SEGMENT)} = {update.v(segment)}"


def _apply(store: Store, schedule_id: str, run_id: str, update: Update) -> dict | None:
    """The updated item, or None when the condition (or the run) is not there."""
    try:
        response = store.client.update_item(
            **update.request(store.runs_table, {"schedule_id": schedule_id, "run_id": run_id}),
            ReturnValues="ALL_NEW",
        )
    except ClientError as exc:
        if condition_failed(exc):
            return None
        raise
    return response.get("Attributes")


def current_segment(store: Store, schedule_id: str, run_id: str) -> int:
    """The segment that owns the run now (0 when it never continued, or when the run does not exist)."""
    item = store.client.get_item(
        TableName=store.runs_table,
        Key={"schedule_id": {"S": schedule_id}, "run_id": {"S": run_id}},
        ProjectionExpression="#segment",
        ExpressionAttributeNames={"#segment": SEGMENT},
        ConsistentRead=True,
    ).get("Item")
    return int(deserialize(item).get(SEGMENT, 0)) if item else 0


def begin_segment(
    store: Store, schedule_id: str, run_id: str, segment: int, now: datetime, *, lease_seconds: int
) -> Run | None:
    """Take a ``running`` run over for ``segment`` (owned by ``segment - 1`` until now) and renew its lease.

    None when the run is not running or another segment owns it: a duplicate or stale continue message,
    acknowledged without running anything.
    """
    if segment < 1:
        return None
    lease_until = epoch_ms(now + timedelta(seconds=lease_seconds))
    update = Update().set(SEGMENT, segment).set("lease_until", lease_until)
    update.when(f"{update.n('status')} = {update.v(RunStatus.running.value)}")
    update.when(_segment_is(update, segment - 1))
    item = _apply(store, schedule_id, run_id, update)
    return run_from_item(item) if item else None


def renew_lease(store: Store, run: Run, segment: int, now: datetime, *, lease_seconds: int) -> bool:
    """Extend the lease of ``run`` while this executor still owns it (same attempt, same segment, running)."""
    update = Update().set("lease_until", epoch_ms(now + timedelta(seconds=lease_seconds)))
    update.when(f"{update.n('status')} = {update.v(RunStatus.running.value)}")
    update.when(f"{update.n('attempt')} = {update.v(run.attempt)}")
    update.when(_segment_is(update, segment))
    return _apply(store, run.schedule_id, run.run_id, update) is not None
