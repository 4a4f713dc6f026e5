"""Issue 14's features on moto, through the sweep and finish_run: max_runs ends a schedule, jitter holds a
slot back, exclusions and several triggers shape the runs, a stored cron the dialect refuses is paused, and
a run's end is notified to an SNS topic and a signed webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from agentcron.application.claim import sweep
from agentcron.application.runs import finish_run
from agentcron.domain.access import SYSTEM
from agentcron.domain.timing import jitter_offset
from agentcron.exceptions import InvalidInput
from agentcron.models import RunStatus, ScheduleSpec, slot_run_id
from agentcron.notify import Notifier

NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)  # a Monday


def create(stack, schedule_id: str = "s1", services: Any = None, **fields) -> None:
    data = {"id": schedule_id, "name": schedule_id, "created_at": NOW, "overlap_policy": "allow"}
    if "triggers" not in fields:
        data["trigger"] = {"type": "interval", "every_seconds": 60}
    data.update(fields)
    from agentcron.application.schedules import create_schedule

    create_schedule(services or stack.services(NOW), SYSTEM, ScheduleSpec.model_validate(data))


def runs_of(stack, schedule_id: str = "s1"):
    runs, _ = stack.store.list_runs(schedule_id, limit=1000)
    return list(reversed(runs))


def test_max_runs_ends_the_schedule_after_that_many_runs(stack):
    create(stack, max_runs=2, misfire_policy={"type": "catch_up_all"})
    sweep(stack.services(), NOW + timedelta(minutes=5))
    assert [r.scheduled_for for r in runs_of(stack)] == [
        NOW + timedelta(minutes=1),
        NOW + timedelta(minutes=2),
    ]
    schedule = stack.store.get_schedule("s1")
    assert schedule.enabled is False and schedule.state.next_fire_at is None
    assert schedule.pause_note == "ended after max_runs (2) runs"
    sweep(stack.services(), NOW + timedelta(minutes=10))
    assert len(runs_of(stack)) == 2


def test_a_jittered_slot_waits_for_its_delay_and_keeps_its_run_id(stack):
    create(stack, trigger={"type": "cron", "expr": "5 12 * * *"}, jitter_seconds=1800)
    slot = NOW + timedelta(minutes=5)
    fire = slot + timedelta(seconds=jitter_offset("s1", slot, 1800))
    assert fire > slot + timedelta(seconds=60)  # pinned: this slot's delay spans more than one sweep
    early = sweep(stack.services(), fire - timedelta(seconds=1))
    assert early.runs_queued == 0 and runs_of(stack) == []
    sweep(stack.services(), fire)
    (run,) = runs_of(stack)
    assert run.run_id == slot_run_id("s1", slot) and run.scheduled_for == slot and not run.was_catch_up


def test_excluded_slots_and_several_triggers_through_the_sweep(stack):
    create(
        stack,
        triggers=[{"type": "cron", "expr": "*/20 * * * *"}, {"type": "cron", "expr": "0,30 * * * *"}],
        exclude=[{"cron": "40 * * * *"}],
        misfire_policy={"type": "catch_up_all"},
    )
    sweep(stack.services(), NOW + timedelta(hours=1))
    minutes = [int((r.scheduled_for - NOW).total_seconds() // 60) for r in runs_of(stack)]
    assert minutes == [20, 30, 60]  # 40 excluded (not missed), 0 and 60 fire once though two triggers match
    schedule = stack.store.get_schedule("s1")
    assert schedule.state.total_missed_count == 0 and schedule.state.total_skipped_count == 0


def test_a_stored_cron_the_dialect_now_refuses_is_paused_by_the_sweep(stack):
    create(stack, trigger={"type": "cron", "expr": "*/5 * * * *"})
    table = stack.settings.schedules_table
    item = stack.dynamodb.get_item(TableName=table, Key={"schedule_id": {"S": "s1"}})["Item"]
    spec = json.loads(item["spec"]["S"])
    spec["trigger"]["expr"] = "H/5 * * * *"  # Jenkins' hash form: refused by this dialect
    stack.dynamodb.update_item(
        TableName=table,
        Key={"schedule_id": {"S": "s1"}},
        UpdateExpression="SET spec = :s",
        ExpressionAttributeValues={":s": {"S": json.dumps(spec)}},
    )
    report = sweep(stack.services(), NOW + timedelta(minutes=5))
    assert report.errors == 0 and runs_of(stack) == []
    schedule = stack.store.get_schedule("s1")
    assert schedule.enabled is False and schedule.trigger.expr == "H/5 * * * *"
    assert "is no longer accepted" in schedule.pause_note


# --------------------------------------------------------------------------- notify


class Poster:
    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes, dict[str, str]]] = []

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        self.calls.append((url, body, headers))
        return 200


@pytest.fixture
def notify_setup(stack):
    sns, ssm, sqs = boto3.client("sns"), boto3.client("ssm"), boto3.client("sqs")
    topic = sns.create_topic(Name="agentcron-runs")["TopicArn"]
    url = sqs.create_queue(QueueName="topic-copy")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    ssm.put_parameter(Name="/agentcron/webhooks/team", Value="s3cret", Type="SecureString")
    settings = replace(
        stack.settings, notify_topic_arns=f"{topic}, ", notify_secret_path="/agentcron/webhooks"
    )
    poster = Poster()
    notifier = Notifier(sns, ssm, fetcher=poster, sleep=lambda s: None)

    def services(now: datetime):
        return stack.services(now, settings=settings, notifier=notifier)

    return {"topic": topic, "queue": url, "poster": poster, "services": services, "sqs": sqs}


def test_a_failed_run_is_notified_to_the_topic_and_the_signed_webhook(stack, notify_setup):
    services = notify_setup["services"]
    hook = {
        "type": "webhook",
        "url": "https://hooks.example.com/agentcron",
        "secret_parameter": "/agentcron/webhooks/team",
    }
    create(
        stack,
        services=services(NOW),
        notify={
            "targets": [{"type": "sns", "topic_arn": notify_setup["topic"]}, hook],
            "statuses": ["failed"],
        },
        misfire_policy={"type": "catch_up_all"},
    )
    sweep(services(NOW + timedelta(minutes=2)), NOW + timedelta(minutes=2))
    first, second = runs_of(stack)
    end = NOW + timedelta(minutes=3)
    for run in (first, second):
        assert stack.store.start_run("s1", run.run_id, end - timedelta(seconds=30), lease_seconds=960)
    assert finish_run(services(end), "s1", first.run_id, RunStatus.failed, reason="model said no")
    assert finish_run(services(end), "s1", second.run_id, RunStatus.success)  # not asked for: not sent

    ((url, body, headers),) = notify_setup["poster"].calls
    assert url == hook["url"]
    payload = json.loads(body)
    assert (payload["run_id"], payload["status"], payload["outcome_reason"]) == (
        first.run_id,
        "failed",
        "model said no",
    )
    stamp, digest = (part.split("=", 1)[1] for part in headers["X-Agentcron-Signature"].split(","))
    assert stamp == str(int(end.timestamp()))
    assert digest == hmac.new(b"s3cret", stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["X-Agentcron-Delivery"] == first.run_id

    messages = notify_setup["sqs"].receive_message(QueueUrl=notify_setup["queue"], MaxNumberOfMessages=10)
    assert [json.loads(m["Body"])["run_id"] for m in messages.get("Messages", [])] == [first.run_id]


def test_a_second_finish_of_the_same_run_notifies_nothing(stack, notify_setup):
    services = notify_setup["services"]
    create(
        stack,
        services=services(NOW),
        notify={"targets": [{"type": "sns", "topic_arn": notify_setup["topic"]}]},
    )
    sweep(services(NOW + timedelta(minutes=1)), NOW + timedelta(minutes=1))
    (run,) = runs_of(stack)
    assert finish_run(services(NOW), "s1", run.run_id, RunStatus.cancelled)
    assert finish_run(services(NOW), "s1", run.run_id, RunStatus.cancelled) is None
    messages = notify_setup["sqs"].receive_message(QueueUrl=notify_setup["queue"], MaxNumberOfMessages=10)
    assert len(messages.get("Messages", [])) == 1


def test_a_topic_the_deployment_does_not_grant_is_refused(stack, notify_setup):
    other = "arn:aws:sns:us-east-1:123456789012:elsewhere"
    with pytest.raises(InvalidInput) as refused:
        create(
            stack,
            services=notify_setup["services"](NOW),
            notify={"targets": [{"type": "sns", "topic_arn": other}]},
        )
    assert refused.value.field == "notify.targets[0].topic_arn"


def test_the_claim_clock_sleeps_until_a_jittered_slot_is_due_and_claims_it_then(stack):
    from agentcron.application.claim import run_clock

    create(stack, trigger={"type": "interval", "every_seconds": 600}, jitter_seconds=300)
    slot = NOW + timedelta(minutes=10)
    fire = slot + timedelta(seconds=jitter_offset("s1", slot, 300))
    assert fire > slot  # pinned: this slot has a delay
    now = [slot]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += timedelta(seconds=seconds)

    run_clock(
        stack.services(lambda: now[0], settings=stack.resources.settings(sweep_seconds=50)),
        clock=lambda: now[0],
        sleep=sleep,
        awake_until=slot + timedelta(seconds=300),
    )
    (run,) = runs_of(stack)
    assert run.scheduled_for == slot and run.claimed_at == fire  # claimed at its jittered instant exactly
    assert sleeps[0] == min((fire - slot).total_seconds(), 50)
