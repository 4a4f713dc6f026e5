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


def test_a_run_now_for_an_unknown_schedule_is_a_failed_item(stack, app) -> None:
    event = load_event("sqs-run-now.json", {"daily-news": "ghost-c3"})
    assert _invoke(app, event) == {"batchItemFailures": [{"itemIdentifier": _ids(event)[0]}]}
    assert stack.store.list_runs("ghost-c3")[0] == []


def test_malformed_messages_are_failed_items(stack, app) -> None:
    event = load_event("sqs-malformed.json", {})
    result = _invoke(app, event)
    assert result == {"batchItemFailures": [{"itemIdentifier": i} for i in _ids(event)]}
    reasons = [e["reason"] for e in app.log_lines() if e.get("message") == "malformed run message"]
    assert reasons[0].startswith("message body is not JSON")
    assert "got 'explode'" in reasons[1]


def test_a_mixed_batch_fails_only_the_malformed_messages_and_their_group_followers(stack, app) -> None:
    # GIVEN three schedules: two with a queued slot, one targeted by run-now
    ids = {"daily-news": "news-d4", "weekly-report": "report-d4", "hourly-check": "check-d4"}
    for schedule_id in ids.values():
        _schedule(stack, schedule_id)
    news = _queue_slot(stack, "news-d4")
    report = _queue_slot(stack, "report-d4")
    event = load_event("sqs-batch-mixed.json", ids)
    good_news, bad_type, report_follower, truncated, run_now = _ids(event)
    # WHEN the batch is handled
    result = _invoke(app, event)
    # THEN exactly the malformed messages, and the follower held back in the bad message's group, are retried
    assert result == {
        "batchItemFailures": [{"itemIdentifier": i} for i in (bad_type, report_follower, truncated)]
    }
    # AND the good messages in other groups were processed
    assert stack.store.get_run("news-d4", news.run_id).status is RunStatus.success
    check_runs, _ = stack.store.list_runs("check-d4")
    assert [r.status for r in check_runs] == [RunStatus.success]
    # AND the held-back follower's run is untouched, still queued for its redelivery
    assert stack.store.get_run("report-d4", report.run_id).status is RunStatus.queued


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
