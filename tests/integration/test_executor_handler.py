"""The executor Lambda handler fed the sample events of events/ (ids rewritten to this test's schedules)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from agentcron.models import Run, RunStatus, RunTrigger, ScheduleSpec, slot_run_id

EVENTS = Path(__file__).resolve().parents[2] / "events"
SLOT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
NOW = SLOT + timedelta(seconds=7)
SENT_AT = datetime(2026, 3, 1, 9, 0, 5, 123000, tzinfo=UTC)  # SentTimestamp of every sample record


@dataclass
class LambdaContext:
    function_name: str = "agentcron-ExecutorFunction"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:agentcron-ExecutorFunction"
    aws_request_id: str = "7c1b2a9e-0d4f-4b8e-9a51-3f6c2e1d0b7a"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def load_event(name: str, ids: dict[str, str]) -> dict[str, Any]:
    """A sample event with the sample schedule ids replaced (bodies, group and de-duplication ids)."""
    text = (EVENTS / name).read_text()
    for old, new in ids.items():
        text = text.replace(old, new)
    return json.loads(text)


def _schedule(stack, schedule_id: str, **run_config: Any) -> ScheduleSpec:
    spec = ScheduleSpec.model_validate(
        {
            "id": schedule_id,
            "name": schedule_id.replace("-", " "),
            "trigger": {"type": "daily", "hour": 9, "minute": 0},
            "run_config": {"task_message": f"task of {schedule_id}", "auto_execute": True, **run_config},
        }
    )
    stack.create_schedule(spec, SLOT - timedelta(days=1))
    return spec


def _queue_slot(stack, schedule_id: str) -> Run:
    run = Run(
        run_id=slot_run_id(schedule_id, SLOT), schedule_id=schedule_id, scheduled_for=SLOT, claimed_at=SLOT
    )
    assert stack.store.create_run(run, SLOT, redelivery_seconds=stack.settings.redelivery_seconds)
    return run


@pytest.fixture
def app(stack, load_handler, monkeypatch: pytest.MonkeyPatch):
    """The handler module on the stack's environment, a fixed clock, its JSON logs in ``log_lines()``."""
    for key, value in stack.environment().items():
        monkeypatch.setenv(key, value)
    module = load_handler("executor")
    monkeypatch.setattr(module, "utcnow", lambda: NOW)
    buffer = io.StringIO()
    handler = module.logger.registered_handler
    monkeypatch.setattr(handler, "stream", buffer)
    module.log_lines = lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    return module


def _invoke(app, event: dict[str, Any]) -> dict[str, Any]:
    return app.lambda_handler(event, LambdaContext())


def _ids(event: dict[str, Any]) -> list[str]:
    return [record["messageId"] for record in event["Records"]]


def test_the_sample_run_event_executes_the_run(stack, app) -> None:
    _schedule(stack, "news-a1")
    run = _queue_slot(stack, "news-a1")
    event = load_event("sqs-run.json", {"daily-news": "news-a1"})
    assert _invoke(app, event) == {"batchItemFailures": []}
    stored = stack.store.get_run("news-a1", run.run_id)
    assert stored.status is RunStatus.success
    assert stored.final_answer == "echo: task of news-a1"
    assert stored.started_at == NOW
    # the outcome log line carries the correlation keys
    handled = [entry for entry in app.log_lines() if entry.get("message") == "run message handled"]
    assert handled and handled[0]["schedule_id"] == "news-a1"
    assert handled[0]["run_id"] == run.run_id
    assert handled[0]["status"] == "success"
    # a redelivery of the same event is acknowledged and changes nothing
    assert _invoke(app, event) == {"batchItemFailures": []}
    assert stack.store.get_run("news-a1", run.run_id) == stored


def test_the_sample_run_now_event_creates_one_run_with_the_override(stack, app) -> None:
    _schedule(stack, "news-b2")
    event = load_event("sqs-run-now.json", {"daily-news": "news-b2"})
    assert _invoke(app, event) == {"batchItemFailures": []}
    assert _invoke(app, event) == {"batchItemFailures": []}  # redelivered: same message id and SentTimestamp
    runs, _ = stack.store.list_runs("news-b2")
    assert len(runs) == 1
    run = runs[0]
    assert run.trigger is RunTrigger.run_now
    assert run.status is RunStatus.success
    assert run.scheduled_for == SENT_AT
    assert run.task_message == "Summarise only the technology headlines today."
    assert run.final_answer == "echo: Summarise only the technology headlines today."


def _dead_letters(stack) -> list[dict[str, Any]]:
    """Every message on the run dead-letter queue: body, group, de-duplication id and reason attribute."""
    url = stack.resources.queue_urls["RunDeadLetterQueue"]
    out: list[dict[str, Any]] = []
    while True:
        got = (
            stack.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages")
            or []
        )
        if not got:
            return out
        for m in got:
            out.append(
                {
                    "body": m["Body"],
                    "group_id": m["Attributes"]["MessageGroupId"],
                    "dedup_id": m["Attributes"]["MessageDeduplicationId"],
                    "reason": m["MessageAttributes"]["reason"]["StringValue"],
                }
            )
            stack.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def test_a_run_now_for_an_unknown_schedule_is_dead_lettered_at_once_and_acknowledged(stack, app) -> None:
    event = load_event("sqs-run-now.json", {"daily-news": "ghost-c3"})
    assert _invoke(app, event) == {"batchItemFailures": []}
    assert stack.store.list_runs("ghost-c3")[0] == []
    (dead,) = _dead_letters(stack)
    assert dead["body"] == event["Records"][0]["body"]
    assert dead["dedup_id"] == _ids(event)[0]  # the SQS message id: never merged with another poison message
    assert dead["reason"] == "ScheduleNotFound: Schedule not found: ghost-c3"


def test_malformed_messages_are_dead_lettered_with_their_reason(stack, app) -> None:
    event = load_event("sqs-malformed.json", {})
    assert _invoke(app, event) == {"batchItemFailures": []}
    reasons = [e["reason"] for e in app.log_lines() if e.get("message") == "malformed run message"]
    assert reasons[0].startswith("message body is not JSON")
    assert "got 'explode'" in reasons[1]
    dead = _dead_letters(stack)
    assert sorted(d["body"] for d in dead) == sorted(r["body"] for r in event["Records"])
    assert all(d["reason"].startswith("malformed: ") for d in dead)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"type": "run_now", "schedule_id": ""}', "schedule_id: String should match pattern"),
        ('{"type": "run", "schedule_id": "", "run_id": "r1"}', "schedule_id: String should match pattern"),
        ('{"type": "run", "schedule_id": "s1", "run_id": ""}', "run_id: String should have at least 1"),
        (
            '{"type": "continue", "schedule_id": "s1", "run_id": "r1", "segment": 1' + "0" * 40 + "}",
            "segment: Input should be less than or equal to 1000000",
        ),
        (
            '{"type": "continue", "schedule_id": "s1", "run_id": "r1", "segment": -1}',
            "segment: Input should be",
        ),
        ('{"type": "run_now", "schedule_id": "s1", "task_message": "\\ud800"}', "lone surrogate"),
        ('{"type": "run_now", "schedule_id": "s\\udfff"}', "lone surrogate"),
        ('{"type": "run_now", "schedule_id": "s1", "task_message": "' + "x" * 32_769 + '"}', "task_message"),
    ],
    ids=[
        "run-now-empty-id",
        "run-empty-id",
        "empty-run-id",
        "segment-1e40",
        "negative-segment",
        "surrogate-task",
        "surrogate-id",
        "long-task",
    ],
)
def test_invalid_field_values_are_permanent_errors_dead_lettered_at_once(stack, app, body, reason) -> None:
    event = load_event("sqs-run-now.json", {})
    event["Records"][0]["body"] = body
    assert _invoke(app, event) == {"batchItemFailures": []}
    (dead,) = _dead_letters(stack)
    assert dead["body"] == body
    assert reason in dead["reason"]


def test_a_good_message_behind_a_poison_one_in_its_group_runs_in_the_same_batch(stack, app) -> None:
    # GIVEN a batch where a poison run-now precedes a good run of the same FIFO group
    _schedule(stack, "news-p1")
    run = _queue_slot(stack, "news-p1")
    poison = load_event("sqs-run-now.json", {"daily-news": "ghost-p1"})["Records"][0]
    good = load_event("sqs-run.json", {"daily-news": "news-p1"})["Records"][0]
    poison["attributes"]["MessageGroupId"] = good["attributes"]["MessageGroupId"] = "news-p1"
    good["messageId"] = "good-after-poison"
    # WHEN the batch is handled
    result = _invoke(app, {"Records": [poison, good]})
    # THEN nothing is retried: the poison message is dead-lettered and the good one ran
    assert result == {"batchItemFailures": []}
    assert stack.store.get_run("news-p1", run.run_id).status is RunStatus.success
    assert [d["body"] for d in _dead_letters(stack)] == [poison["body"]]


def test_a_transient_error_is_retried_after_a_back_off_and_holds_its_group(stack, app, monkeypatch) -> None:
    # GIVEN DynamoDB throttling every request of the first message's run
    from botocore.exceptions import ClientError

    _schedule(stack, "news-t1")
    _queue_slot(stack, "news-t1")
    stack.sqs.send_message(
        QueueUrl=stack.settings.run_queue_url,
        MessageBody="{}",
        MessageGroupId="g",
        MessageDeduplicationId="d",
    )
    (received,) = stack.sqs.receive_message(
        QueueUrl=stack.settings.run_queue_url, MessageSystemAttributeNames=["All"]
    )["Messages"]
    first = load_event("sqs-run.json", {"daily-news": "news-t1"})["Records"][0]
    follower = dict(first, messageId="follower", receiptHandle="not-a-handle")
    first["receiptHandle"] = received["ReceiptHandle"]
    first["attributes"]["ApproximateReceiveCount"] = "2"
    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "UpdateItem")

    def throttle(*args: Any, **kwargs: Any) -> Any:
        raise throttled

    store = app.dependencies().store
    monkeypatch.setattr(store, "start_queued", throttle)
    monkeypatch.setattr(store, "start_run", throttle)
    seen: list[tuple[str, int]] = []
    queue = app.dependencies().queue
    real = queue.retry_later
    monkeypatch.setattr(
        queue, "retry_later", lambda handle, seconds: (seen.append((handle, seconds)), real(handle, seconds))
    )
    # WHEN the batch is handled
    result = _invoke(app, {"Records": [first, follower]})
    # THEN both are retried (the follower keeps FIFO order), nothing is dead-lettered
    assert result == {
        "batchItemFailures": [{"itemIdentifier": first["messageId"]}, {"itemIdentifier": "follower"}]
    }
    assert _dead_letters(stack) == []
    # AND the failed message comes back after the back-off of its second receive, not after 90 minutes
    assert seen[0] == (received["ReceiptHandle"], 2 * app.RETRY_SECONDS)
    assert [handle for handle, _ in seen] == [received["ReceiptHandle"], "not-a-handle"]


def test_a_poison_message_whose_dead_letter_send_fails_is_retried_not_dropped(
    stack, app, monkeypatch
) -> None:
    from agentcron.exceptions import QueueSendFailed

    def unavailable(*args: Any, **kwargs: Any) -> None:
        raise QueueSendFailed({"m": "unavailable"})

    monkeypatch.setattr(app.dependencies().queue, "dead_letter", unavailable)
    event = load_event("sqs-run-now.json", {"daily-news": "ghost-f1"})
    assert _invoke(app, event) == {"batchItemFailures": [{"itemIdentifier": _ids(event)[0]}]}


def test_retry_back_off_doubles_per_receive_up_to_its_cap(app) -> None:
    assert [app.retry_seconds(n) for n in (1, 2, 3, 4)] == [15, 30, 60, 120]
    assert app.retry_seconds(50) == app.RETRY_MAX_SECONDS


def test_a_mixed_batch_retries_nothing_when_only_permanent_errors_occur(stack, app) -> None:
    # GIVEN three schedules: two with a queued slot, one targeted by run-now
    ids = {"daily-news": "news-d4", "weekly-report": "report-d4", "hourly-check": "check-d4"}
    for schedule_id in ids.values():
        _schedule(stack, schedule_id)
    news = _queue_slot(stack, "news-d4")
    report = _queue_slot(stack, "report-d4")
    event = load_event("sqs-batch-mixed.json", ids)
    _good_news, bad_type, _report_follower, truncated, _run_now = _ids(event)
    # WHEN the batch is handled
    result = _invoke(app, event)
    # THEN nothing is retried: the malformed messages are dead-lettered, their group followers ran
    assert result == {"batchItemFailures": []}
    assert stack.store.get_run("news-d4", news.run_id).status is RunStatus.success
    check_runs, _ = stack.store.list_runs("check-d4")
    assert [r.status for r in check_runs] == [RunStatus.success]
    assert stack.store.get_run("report-d4", report.run_id).status is RunStatus.success
    bodies = {e["messageId"]: e["body"] for e in event["Records"]}
    assert sorted(d["body"] for d in _dead_letters(stack)) == sorted([bodies[bad_type], bodies[truncated]])


def test_handler_clients_and_settings_are_built_once(stack, app) -> None:
    first = app.dependencies()
    assert app.dependencies() is first
    assert first.settings.sessions_bucket == stack.settings.sessions_bucket


@dataclass
class ShortContext(LambdaContext):
    """An invocation close to its timeout: less time left than the continue margin."""

    remaining_ms: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_an_invocation_running_out_of_time_continues_the_run_in_a_follow_up_message(stack, app) -> None:
    # GIVEN a queued run and an invocation with less time left than CONTINUE_MARGIN_SECONDS
    from agentcron.local.loops import sqs_event

    _schedule(stack, "news-e5")
    run = _queue_slot(stack, "news-e5")
    event = load_event("sqs-run.json", {"daily-news": "news-e5"})
    # WHEN the handler gets the run
    assert app.lambda_handler(event, ShortContext()) == {"batchItemFailures": []}
    # THEN the run is still running and a continue message for segment 1 is on the run queue
    assert stack.store.get_run("news-e5", run.run_id).status is RunStatus.running
    url = stack.settings.run_queue_url
    received = stack.sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    )
    (message,) = received["Messages"]
    assert json.loads(message["Body"]) == {
        "type": "continue",
        "schedule_id": "news-e5",
        "run_id": run.run_id,
        "segment": 1,
    }
    assert message["Attributes"]["MessageGroupId"] == "news-e5"
    assert message["Attributes"]["MessageDeduplicationId"] == f"{run.run_id}:1"
    # WHEN the next invocation, with time to spare, gets that message
    follow_up = sqs_event(received["Messages"], "arn:aws:sqs:us-east-1:123456789012:runs.fifo", "us-east-1")
    assert app.lambda_handler(follow_up, LambdaContext()) == {"batchItemFailures": []}
    # THEN the same run finished, once
    runs, _ = stack.store.list_runs("news-e5")
    assert [(r.run_id, r.status, r.final_answer) for r in runs] == [
        (run.run_id, RunStatus.success, "echo: task of news-e5")
    ]
    statuses = [e.get("status") for e in app.log_lines() if e.get("message") == "run message handled"]
    assert statuses == ["continued", "success"]


def test_a_notifier_is_wired_only_when_the_deployment_configures_targets(
    stack, load_handler, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in stack.environment().items():
        monkeypatch.setenv(key, value)
    assert load_handler("executor").dependencies().notifier is None  # no targets: no read per finished run
    monkeypatch.setenv("NOTIFY_SECRET_PATH", "/agentcron/webhooks")
    services = load_handler("executor").dependencies()
    assert services.notifier is not None and services.settings.notify_secret_path == "/agentcron/webhooks"
