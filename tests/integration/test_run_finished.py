"""Operations on moto: the Run Finished event, auto-pause after consecutive failures, schedule expiry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from agentcron.application.claim import sweep
from agentcron.events import DETAIL_TYPE, SOURCE, RunFinishedPublisher
from agentcron.application.runs import finish_run
from agentcron.models import Run, RunStatus, ScheduleSpec, TokenUsage, slot_run_id
from agentcron.store.codec import deserialize
from botocore.stub import Stubber

NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)


def create(stack, schedule_id: str = "s1", **fields) -> None:
    stack.create_every(schedule_id, 60, NOW, **fields)


def running_run(stack, schedule_id: str, at: datetime) -> Run:
    run = Run(run_id=slot_run_id(schedule_id, at), schedule_id=schedule_id, scheduled_for=at, claimed_at=at)
    assert stack.store.create_run(run, at, redelivery_seconds=120)
    started = stack.store.start_run(schedule_id, run.run_id, at + timedelta(seconds=2), lease_seconds=960)
    assert started is not None
    return started


def fail(stack, schedule_id: str, at: datetime, reason: str = "model said no") -> None:
    run = running_run(stack, schedule_id, at)
    assert finish_run(stack.services(), schedule_id, run.run_id, RunStatus.failed, now=at + timedelta(seconds=5), reason=reason
    )


def succeed(stack, schedule_id: str, at: datetime) -> None:
    run = running_run(stack, schedule_id, at)
    assert finish_run(stack.services(), schedule_id, run.run_id, RunStatus.success, now=at + timedelta(seconds=5))


@pytest.fixture
def bus_queue(stack):
    """An EventBridge rule on the default bus matching Run Finished, delivering to an SQS queue."""
    events, sqs = boto3.client("events"), boto3.client("sqs")
    url = sqs.create_queue(QueueName="run-finished")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="run-finished", EventPattern=json.dumps({"source": [SOURCE], "detail-type": [DETAIL_TYPE]})
    )
    events.put_targets(Rule="run-finished", Targets=[{"Id": "q", "Arn": arn}])

    def received() -> list[dict]:
        out = []
        while True:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages") or []
            if not messages:
                return out
            for message in messages:
                out.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    return received


# --------------------------------------------------------------------------- Run Finished


def test_a_finished_run_publishes_one_event_and_a_duplicate_finish_none(stack, bus_queue) -> None:
    publisher = RunFinishedPublisher(boto3.client("events"))
    stack.on_run_finished = publisher.publish
    create(stack)
    run = running_run(stack, "s1", NOW)
    stack.store.bind_session("s1", run.run_id, "sess-1")
    usage = TokenUsage(input_tokens=120, output_tokens=30)
    done = NOW + timedelta(seconds=9)
    assert finish_run(stack.services(), "s1", run.run_id, RunStatus.success, now=done, usage=usage, reason="done")
    assert finish_run(stack.services(), "s1", run.run_id, RunStatus.failed, now=done, reason="late duplicate") is None
    assert bus_queue() == []  # collected until the invocation ends
    publisher.flush()

    events = bus_queue()
    assert len(events) == 1
    event = events[0]
    assert (event["source"], event["detail-type"]) == ("agentcron", "Run Finished")
    assert event["detail"] == {
        "project_id": "default",
        "schedule_id": "s1",
        "run_id": run.run_id,
        "status": "success",
        "session_id": "sess-1",
        "usage": {"input_tokens": 120, "output_tokens": 30},
        "scheduled_for": "2026-03-02T12:00:00.000000Z",
        "completed_at": "2026-03-02T12:00:09.000000Z",
        "outcome_reason": "done",
        "trigger": "schedule",
        "attempt": 1,
    }


def test_the_reapers_timed_out_run_is_announced(stack, bus_queue) -> None:
    publisher = RunFinishedPublisher(boto3.client("events"))
    stack.on_run_finished = publisher.publish
    create(stack)
    run = running_run(stack, "s1", NOW)
    sweep(stack.services(), NOW + timedelta(seconds=2000))
    publisher.flush()
    assert stack.store.get_run("s1", run.run_id).status is RunStatus.timed_out
    assert [(e["detail"]["run_id"], e["detail"]["status"]) for e in bus_queue()] == [
        (run.run_id, "timed_out")
    ]


def test_claimed_skipped_and_missed_records_publish_nothing(stack) -> None:
    seen: list[Run] = []
    stack.on_run_finished = seen.append
    create(stack, misfire_policy={"type": "skip", "grace_seconds": 1})
    report = sweep(stack.services(), NOW + timedelta(minutes=10))
    assert report.runs_missed > 0
    assert seen == []


def test_a_failing_publish_is_counted_and_never_fails_the_run(stack) -> None:
    client = boto3.client("events")
    failures: list[Run] = []
    publisher = RunFinishedPublisher(client, "ops-bus", on_failure=failures.append)
    stack.on_run_finished = publisher.publish
    create(stack)
    run = running_run(stack, "s1", NOW)
    with Stubber(client) as stub:
        stub.add_client_error("put_events", "InternalException", "EventBridge is down")
        finished = finish_run(stack.services(), "s1", run.run_id, RunStatus.success, now=NOW + timedelta(seconds=5))
        publisher.flush()
        stub.assert_no_pending_responses()
    assert finished is not None and finished.status is RunStatus.success
    assert stack.store.get_run("s1", run.run_id).status is RunStatus.success
    assert [r.run_id for r in failures] == [run.run_id]


def test_a_partially_failed_put_events_is_a_failure(stack) -> None:
    client = boto3.client("events")
    failures: list[Run] = []
    publisher = RunFinishedPublisher(client, "ops-bus", on_failure=failures.append)
    run = Run(run_id="r1", schedule_id="s1", scheduled_for=NOW, claimed_at=NOW, status=RunStatus.failed)
    with Stubber(client) as stub:
        stub.add_response(
            "put_events",
            {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "Throttling", "ErrorMessage": "slow down"}]},
            {
                "Entries": [
                    {
                        "Source": "agentcron",
                        "DetailType": "Run Finished",
                        "Detail": _any(),
                        "EventBusName": "ops-bus",
                    }
                ]
            },
        )
        publisher.publish(run)
        publisher.flush()
    assert failures == [run]


def test_events_go_ten_per_request_and_a_refused_one_is_reported_alone(stack) -> None:
    client = boto3.client("events")
    failures: list[Run] = []
    publisher = RunFinishedPublisher(client, "ops-bus", on_failure=failures.append)
    runs = [
        Run(run_id=f"r{i:02d}", schedule_id="s1", scheduled_for=NOW, claimed_at=NOW, status=RunStatus.success)
        for i in range(23)
    ]
    for run in runs:
        publisher.publish(run)
    refused = [{"EventId": "e"}] * 4 + [{"ErrorCode": "Throttling", "ErrorMessage": "slow down"}] + [{"EventId": "e"}] * 5
    with Stubber(client) as stub:
        stub.add_response("put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "e"}] * 10})
        stub.add_response("put_events", {"FailedEntryCount": 1, "Entries": refused})
        stub.add_response("put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "e"}] * 3})
        publisher.flush()
        stub.assert_no_pending_responses()
    assert failures == [runs[14]]
    publisher.flush()  # nothing left: no request


def _any():
    from botocore.stub import ANY

    return ANY


def test_a_raising_listener_does_not_undo_the_transition(stack) -> None:
    def boom(run: Run) -> None:
        raise RuntimeError("listener bug")

    stack.on_run_finished = boom
    create(stack)
    run = running_run(stack, "s1", NOW)
    assert finish_run(stack.services(), "s1", run.run_id, RunStatus.success, now=NOW + timedelta(seconds=5))
    assert stack.store.get_run("s1", run.run_id).status is RunStatus.success


# --------------------------------------------------------------------------- auto-pause


def _schedule_item(stack, schedule_id: str = "s1") -> dict:
    item = stack.dynamodb.get_item(
        TableName=stack.settings.schedules_table, Key={"schedule_id": {"S": schedule_id}}
    )
    return deserialize(item["Item"])


def test_the_nth_consecutive_failure_pauses_the_schedule_with_a_note(stack) -> None:
    create(stack, max_consecutive_failures=2)
    fail(stack, "s1", NOW, reason="first")
    assert stack.store.get_schedule("s1").enabled
    fail(stack, "s1", NOW + timedelta(minutes=1), reason="quota exceeded")
    schedule = stack.store.get_schedule("s1")
    assert schedule.enabled is False
    assert schedule.pause_note == "auto-paused after 2 consecutive failures (last: quota exceeded)"
    assert schedule.state.next_fire_at is None
    item = _schedule_item(stack)
    assert "due_shard" not in item and "next_fire_at" not in item  # left the due index
    assert item["enabled"] is False
    report = sweep(stack.services(), NOW + timedelta(hours=1))
    assert report.runs_queued == 0


def test_a_success_in_between_resets_the_count(stack) -> None:
    create(stack, max_consecutive_failures=2)
    fail(stack, "s1", NOW)
    succeed(stack, "s1", NOW + timedelta(minutes=1))
    fail(stack, "s1", NOW + timedelta(minutes=2))
    schedule = stack.store.get_schedule("s1")
    assert schedule.enabled and schedule.pause_note is None
    assert schedule.state.consecutive_failures == 1


def test_without_a_limit_failures_never_pause(stack) -> None:
    create(stack)
    for minute in range(4):
        fail(stack, "s1", NOW + timedelta(minutes=minute))
    schedule = stack.store.get_schedule("s1")
    assert schedule.enabled and schedule.state.consecutive_failures == 4


def test_timed_out_runs_count_towards_auto_pause(stack) -> None:
    create(stack, max_consecutive_failures=1)
    running_run(stack, "s1", NOW)
    sweep(stack.services(), NOW + timedelta(seconds=2000))
    schedule = stack.store.get_schedule("s1")
    assert schedule.enabled is False
    assert schedule.pause_note is not None and schedule.pause_note.startswith(
        "auto-paused after 1 consecutive"
    )
    assert "lease expired" in schedule.pause_note


def test_max_consecutive_failures_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_consecutive_failures"):
        ScheduleSpec.model_validate(
            {"name": "x", "trigger": {"type": "interval", "every_seconds": 60}, "max_consecutive_failures": 0}
        )


# --------------------------------------------------------------------------- expiry


def test_expires_at_must_be_in_the_future_at_create(stack) -> None:
    with pytest.raises(ValueError, match="^expires_at must be in the future$"):
        create(stack, expires_at=NOW)


def test_an_expired_schedule_stops_firing_and_disables_itself(stack) -> None:
    create(stack, expires_at=NOW + timedelta(seconds=150), misfire_policy={"type": "catch_up_all"})
    report = sweep(stack.services(), NOW + timedelta(hours=2))
    runs, _ = stack.store.list_runs("s1", limit=100)
    assert sorted(r.scheduled_for for r in runs) == [
        NOW + timedelta(seconds=60),
        NOW + timedelta(seconds=120),
    ]
    assert report.runs_queued + report.runs_skipped == 2  # queue_one: the second is skipped
    schedule = stack.store.get_schedule("s1")
    assert schedule.enabled is False
    assert schedule.pause_note == "expired at 2026-03-02T12:02:30Z"
    assert "due_shard" not in _schedule_item(stack)


def test_a_slot_exactly_at_expires_at_is_not_run(stack) -> None:
    create(stack, expires_at=NOW + timedelta(seconds=120), misfire_policy={"type": "catch_up_all"})
    sweep(stack.services(), NOW + timedelta(hours=1))
    runs, _ = stack.store.list_runs("s1", limit=100)
    assert [r.scheduled_for for r in runs] == [NOW + timedelta(seconds=60)]
    assert stack.store.get_schedule("s1").pause_note == "expired at 2026-03-02T12:02:00Z"
