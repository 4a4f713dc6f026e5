"""Claim cost grows with what is due, not with how many schedules exist (the sparse, sharded due index)."""

from __future__ import annotations

import copy
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto.dynamodb import models as moto_dynamodb
from moto.dynamodb.models.table import Table

from agentcron.application.claim import sweep
from agentcron.models import Schedule, ScheduleState
from agentcron.store.codec import schedule_item, serialize

NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
TOTAL = 10_000
DUE = 50


def seed(stack) -> None:
    """10,000 schedules written with unconditional batch puts (fast); the first 50 are due at NOW."""
    template = Schedule.model_validate(
        {
            "id": "template",
            "name": "hourly report",
            "trigger": {"type": "interval", "every_seconds": 3600, "anchor_at": NOW - timedelta(hours=1)},
            "created_at": NOW - timedelta(hours=1),
        }
    )
    requests = []
    for i in range(TOTAL):
        next_fire = NOW if i < DUE else NOW + timedelta(minutes=1 + i % 59)
        schedule = template.model_copy(
            update={"id": f"sched-{i:05d}", "state": ScheduleState(next_fire_at=next_fire)}
        )
        item = serialize(schedule_item(schedule, 1, stack.settings.due_shards))
        requests.append({"PutRequest": {"Item": item}})
    for start in range(0, len(requests), 25):
        stack.dynamodb.batch_write_item(
            RequestItems={stack.settings.schedules_table: requests[start : start + 25]}
        )


class _ShallowTableSnapshots:
    """moto snapshots every table in full (deepcopy) before each transaction, for its rollback: with 10,000
    items that is about a second per claim, a cost of the fake, not of DynamoDB. This test swaps in a shallow
    snapshot; that is sound here because it asserts that no transaction was cancelled (nothing rolled back).
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        return copy.copy(value) if isinstance(value, Table) else copy.deepcopy(value, memo)


@pytest.mark.slow
def test_a_sweep_reads_about_the_due_schedules_only(stack, monkeypatch):
    seed(stack)
    monkeypatch.setattr(moto_dynamodb, "copy", _ShallowTableSnapshots())
    operations: Counter[str] = Counter()
    items_read: Counter[str] = Counter()

    def count(event_name: str, parsed: dict[str, Any], **kwargs: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        operations[operation] += 1
        if "Count" in parsed:
            items_read[operation] += parsed["Count"]
        elif parsed.get("Item"):
            items_read[operation] += 1
        elif "Responses" in parsed:
            items_read[operation] += sum(len(v) for v in parsed["Responses"].values())

    stack.dynamodb.meta.events.register("after-call.dynamodb.*", count)
    report = sweep(stack.services(), NOW + timedelta(seconds=1))
    stack.dynamodb.meta.events.unregister("after-call.dynamodb.*", count)

    assert (report.schedules_due, report.runs_queued, report.errors, report.conflicts) == (DUE, DUE, 0, 0)
    assert "Scan" not in operations
    # Of 10,000 schedules: each due one's index key and item, plus one index entry per shard (the next fire).
    assert items_read["BatchGetItem"] == DUE, items_read
    assert items_read["Query"] <= DUE + stack.settings.due_shards, items_read
    # Per shard: the due keys, the one next entry after them, and the open runs.
    assert operations["Query"] == 3 * stack.settings.due_shards
    assert operations["BatchGetItem"] <= stack.settings.due_shards
    assert operations["TransactWriteItems"] == DUE
