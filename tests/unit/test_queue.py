"""Queue adapter: message parsing with clear reasons, group ids, batched sends (a recording fake client)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from agentcron.exceptions import MalformedMessage
from agentcron.models import ContinueMessage, Run, RunMessage, RunNowMessage, Schedule
from agentcron.queue import QueueSendFailed, RunQueue, message_group_id, parse_message

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class FakeSqs:
    """Records calls; refuses the entries whose run id is in ``refuse``."""

    def __init__(self, refuse: set[str] = frozenset()) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.singles: list[dict[str, Any]] = []
        self.refuse = refuse

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        assert QueueUrl == "https://queue.example/runs.fifo"
        assert len(Entries) <= 10
        self.batches.append(Entries)
        failed = [
            {"Id": e["Id"], "Code": "InternalError", "Message": "try again", "SenderFault": False}
            for e in Entries
            if e["MessageDeduplicationId"] in self.refuse
        ]
        ok = [{"Id": e["Id"]} for e in Entries if e["MessageDeduplicationId"] not in self.refuse]
        return {"Successful": ok, "Failed": failed}

    def send_message(self, **kwargs: Any) -> dict[str, Any]:
        self.singles.append(kwargs)
        return {"MessageId": "m-1"}


def schedule(overlap: str = "queue_one") -> Schedule:
    return Schedule.model_validate(
        {
            "id": "s1",
            "name": "s1",
            "trigger": {"type": "interval", "every_seconds": 60},
            "overlap_policy": overlap,
        }
    )


def runs(n: int) -> list[Run]:
    return [Run(run_id=f"s1-{i:03d}", schedule_id="s1", scheduled_for=NOW, claimed_at=NOW) for i in range(n)]


# --------------------------------------------------------------------------- parsing


def test_parses_every_message_type():
    assert parse_message('{"type": "run", "schedule_id": "s1", "run_id": "r1"}') == RunMessage(
        schedule_id="s1", run_id="r1"
    )
    assert parse_message('{"type": "run_now", "schedule_id": "s1", "task_message": "hi"}') == RunNowMessage(
        schedule_id="s1", task_message="hi"
    )
    assert parse_message('{"type": "continue", "schedule_id": "s1", "run_id": "r1", "segment": 2}') == (
        ContinueMessage(schedule_id="s1", run_id="r1", segment=2)
    )


def test_a_sent_message_parses_back():
    message = RunNowMessage(schedule_id="s1", request_id="req-1")
    assert parse_message(message.model_dump_json()) == message


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "message body is not JSON"),
        ("", "message body is not JSON"),
        ('["run"]', "message body must be a JSON object"),
        ('{"schedule_id": "s1"}', "type is required"),
        (
            '{"type": "explode", "schedule_id": "s1"}',
            "type must be one of run, run_now, continue, got 'explode'",
        ),
        ('{"type": "run", "schedule_id": "s1"}', "run_id is required"),
        ('{"type": "continue", "schedule_id": "s1", "run_id": "r", "segment": "x"}', "segment"),
        ('{"type": "run_now"}', "schedule_id is required"),
        # out of bounds: permanent errors the executor dead-letters at once
        ('{"type": "run_now", "schedule_id": ""}', "schedule_id: String should match pattern"),
        ('{"type": "run_now", "schedule_id": "a/b"}', "schedule_id: String should match pattern"),
        ('{"type": "run", "schedule_id": "s1", "run_id": ""}', "run_id: String should have at least 1"),
        ('{"type": "continue", "schedule_id": "s1", "run_id": "r", "segment": 1' + "0" * 40 + "}", "segment"),
        ('{"type": "continue", "schedule_id": "s1", "run_id": "r", "segment": 0}', "segment"),
        ('{"type": "run_now", "schedule_id": "s1", "task_message": "a\\ud800b"}', "lone surrogate"),
        ('{"type": "run_now", "schedule_id": "s1", "request_id": "' + "r" * 257 + '"}', "request_id"),
    ],
)
def test_malformed_messages_name_the_reason(body, reason):
    with pytest.raises(MalformedMessage) as caught:
        parse_message(body)
    assert reason in str(caught.value)


# --------------------------------------------------------------------------- sending


def test_group_is_the_schedule_unless_overlap_allows_parallel_runs():
    assert message_group_id(schedule("queue_one"), "s1-001") == "s1"
    assert message_group_id(schedule("skip"), "s1-001") == "s1"
    assert message_group_id(schedule("allow"), "s1-001") == "s1-001"


def test_send_runs_in_batches_of_ten_with_the_run_id_as_dedup_id():
    sqs = FakeSqs()
    RunQueue(sqs, "https://queue.example/runs.fifo").send_runs(schedule(), runs(23))
    assert [len(b) for b in sqs.batches] == [10, 10, 3]
    entries = [e for batch in sqs.batches for e in batch]
    assert [e["MessageDeduplicationId"] for e in entries] == [f"s1-{i:03d}" for i in range(23)]
    assert {e["MessageGroupId"] for e in entries} == {"s1"}
    assert all(len({e["Id"] for e in batch}) == len(batch) for batch in sqs.batches)
    body = json.loads(entries[5]["MessageBody"])
    assert (body["type"], body["schedule_id"], body["run_id"]) == ("run", "s1", "s1-005")
    assert body["run"]["run_id"] == "s1-005" and body["schedule"]["id"] == "s1"  # what the executor needs


def test_refused_entries_are_reported_after_every_batch_was_tried():
    sqs = FakeSqs(refuse={"s1-003", "s1-012"})
    with pytest.raises(QueueSendFailed) as caught:
        RunQueue(sqs, "https://queue.example/runs.fifo").send_runs(schedule("allow"), runs(15))
    assert set(caught.value.failed) == {"s1-003", "s1-012"}
    assert len(sqs.batches) == 2


def test_no_runs_no_call():
    sqs = FakeSqs()
    RunQueue(sqs, "https://queue.example/runs.fifo").send_runs(schedule(), [])
    assert sqs.batches == []


def test_send_one_message_with_chosen_ids():
    sqs = FakeSqs()
    RunQueue(sqs, "https://queue.example/runs.fifo").send(
        RunMessage(schedule_id="s1", run_id="r1"), group_id="s1", dedup_id="r1.r1"
    )
    (call,) = sqs.singles
    assert call["MessageGroupId"] == "s1" and call["MessageDeduplicationId"] == "r1.r1"
    assert parse_message(call["MessageBody"]) == RunMessage(schedule_id="s1", run_id="r1")


def test_a_message_carrying_a_stored_spec_with_a_cron_the_dialect_now_refuses_still_parses() -> None:
    """The claim copies the stored spec into the message; stored data is read leniently (README, "The cron
    dialect"), so such a run still starts instead of failing as a malformed message."""
    import json as _json

    from agentcron.queue import parse_message

    body = {
        "type": "run",
        "schedule_id": "old",
        "run_id": "old-1",
        "schedule": {"id": "old", "name": "old", "trigger": {"type": "cron", "expr": "*/90 * * * *"}},
    }
    message = parse_message(_json.dumps(body))
    assert message.schedule is not None and message.schedule.trigger.expr == "*/90 * * * *"
