"""The execute use case against the moto stack: outcomes, sessions in S3, counters, failures, cancellation."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agentcron.application import execute
from agentcron.agent import EchoProvider, ModelRequest, ModelResponse, ProviderError
from agentcron.models import (
    Message,
    Run,
    RunMessage,
    RunStatus,
    ScheduleSpec,
    TokenUsage,
    ToolCall,
    slot_run_id,
)
from agentcron.sessions import SessionStore

SLOT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
TASK = "summarise the news"


class Clock:
    """A hand-moved clock: every call returns ``at``; tests move it explicitly."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


class Recording:
    """Wraps a provider and records the requests it saw."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.requests = inner, []

    def __call__(self, model: str):
        self.model = model
        return self, model.partition(":")[2] or model

    name = "recording"

    def complete(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        return self.inner.complete(request)


def _spec(schedule_id: str = "daily-news", **run_config: Any) -> ScheduleSpec:
    config = {"task_message": TASK, "auto_execute": True, **run_config}
    return ScheduleSpec.model_validate(
        {
            "id": schedule_id,
            "name": "Daily news",
            "trigger": {"type": "daily", "hour": 9, "minute": 0},
            "run_config": config,
            "created_at": SLOT - timedelta(days=1),
            "updated_at": SLOT - timedelta(days=1),
        }
    )


def _queued_run(stack, spec: ScheduleSpec) -> Run:
    """A schedule and one queued slot run, as a claim would leave them."""
    stack.create_schedule(spec, SLOT - timedelta(days=1))
    run = Run(run_id=slot_run_id(spec.id, SLOT), schedule_id=spec.id, scheduled_for=SLOT, claimed_at=SLOT)
    assert stack.store.create_run(run, SLOT, redelivery_seconds=stack.settings.redelivery_seconds)
    return run


def _handle(stack, message, clock: Clock, *, settings=None, message_id: str = "msg-1", **kwargs):
    services = stack.services(clock, settings=settings or stack.settings)
    return execute.handle(services, message, message_id=message_id, **kwargs)


def _session(stack, run: Run):
    assert run.session_id, "the run has no session bound"
    return stack.sessions.load(run.session_id)


def _raw_items(stack, schedule_id: str) -> tuple[dict, list[dict]]:
    schedule = stack.dynamodb.get_item(
        TableName=stack.settings.schedules_table, Key={"schedule_id": {"S": schedule_id}}, ConsistentRead=True
    )["Item"]
    runs = stack.dynamodb.query(
        TableName=stack.settings.runs_table,
        KeyConditionExpression="schedule_id = :s",
        ExpressionAttributeValues={":s": {"S": schedule_id}},
        ConsistentRead=True,
    )["Items"]
    return schedule, runs


def _session_objects(stack) -> list[dict]:
    listing = stack.s3.list_object_versions(Bucket=stack.settings.sessions_bucket)
    return [
        {"key": v["Key"], "version": v["VersionId"], "etag": v["ETag"]} for v in listing.get("Versions", [])
    ]


# --------------------------------------------------------------------------- the happy path


def test_success_records_the_run_the_session_and_the_schedule_counters(stack) -> None:
    # GIVEN a queued run of an auto-executing schedule on the echo model
    run = _queued_run(stack, _spec(workspace_path="/ws/news"))
    clock = Clock(SLOT + timedelta(seconds=3))
    # WHEN its message is handled
    outcome = _handle(stack, RunMessage(schedule_id=run.schedule_id, run_id=run.run_id), clock)
    # THEN the run succeeded with the echo answer and word-count usage
    assert outcome == execute.Outcome(run.run_id, "success", None, run.schedule_id)
    stored = stack.store.get_run(run.schedule_id, run.run_id)
    assert stored.status is RunStatus.success
    assert stored.attempt == 1
    assert stored.started_at == clock.at
    assert stored.completed_at == clock.at
    assert stored.dispatch_lag_ms == 3000
    assert stored.final_answer == f"echo: {TASK}"
    assert stored.usage.output_tokens == 4
    assert stored.usage.input_tokens > 3
    # AND the session in S3 holds the system prompt, the task and the answer, tied to the run
    session = _session(stack, stored)
    assert [m.role for m in session.messages] == ["system", "user", "assistant"]
    assert "Workspace path: /ws/news" in session.messages[0].content
    assert session.messages[1].content == TASK
    assert session.messages[2].content == f"echo: {TASK}"
    assert session.usage == stored.usage
    assert session.title == "Daily news - 2026-03-01T09:00:00Z"
    assert session.metadata["created_by_schedule_id"] == run.schedule_id
    assert session.metadata["schedule_run_id"] == run.run_id
    assert session.metadata["scheduled_for"] == "2026-03-01T09:00:00Z"
    assert session.metadata["model"] == "echo"
    # AND the schedule's counters moved: nothing open, one success
    state = stack.store.get_schedule(run.schedule_id).state
    assert state.active_run_count == 0
    assert (state.total_run_count, state.total_success_count, state.total_failure_count) == (1, 1, 0)
    assert state.last_success_at == clock.at
    assert state.input_tokens == stored.usage.input_tokens
    assert state.output_tokens == stored.usage.output_tokens


def test_without_auto_execute_the_session_is_the_product_and_no_model_is_called(stack) -> None:
    run = _queued_run(stack, _spec(auto_execute=False))
    provider = Recording(EchoProvider())
    outcome = _handle(
        stack, RunMessage(schedule_id=run.schedule_id, run_id=run.run_id), Clock(SLOT), provider_for=provider
    )
    assert outcome.status == "success"
    assert provider.requests == []
    stored = stack.store.get_run(run.schedule_id, run.run_id)
    assert stored.status is RunStatus.success
    assert stored.final_answer is None
    assert [m.role for m in _session(stack, stored).messages] == ["system", "user"]


def test_an_empty_resolved_model_skips_the_run_without_a_session(stack) -> None:
    run = _queued_run(stack, _spec())
    settings = replace(stack.settings, default_model="")
    outcome = _handle(
        stack, RunMessage(schedule_id=run.schedule_id, run_id=run.run_id), Clock(SLOT), settings=settings
    )
    assert outcome.status == "skipped"
    assert outcome.reason == "resolved model is empty"
    stored = stack.store.get_run(run.schedule_id, run.run_id)
    assert stored.status is RunStatus.skipped
    assert stored.outcome_reason == "resolved model is empty"
    assert stored.session_id is None
    assert _session_objects(stack) == []


def test_the_run_config_model_is_resolved_through_the_registry(stack) -> None:
    run = _queued_run(stack, _spec(model="echo:tiny", reasoning_effort="low"))
    provider = Recording(EchoProvider())
    _handle(
        stack, RunMessage(schedule_id=run.schedule_id, run_id=run.run_id), Clock(SLOT), provider_for=provider
    )
    assert provider.model == "echo:tiny"
    assert provider.requests[0].model_id == "tiny"
    assert provider.requests[0].reasoning_effort == "low"


# --------------------------------------------------------------------------- failures


class Exploding:
    name = "exploding"

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def complete(self, request: ModelRequest) -> ModelResponse:
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (RuntimeError("model exploded"), "model exploded"),
        (
            ProviderError("throttled for too long", retryable=True),
            "model call failed: throttled for too long",
        ),
    ],
)
def test_agent_failure_fails_the_run_with_a_visible_message(stack, exc: Exception, reason: str) -> None:
    run = _queued_run(stack, _spec())
    outcome = _handle(
        stack,
        RunMessage(schedule_id=run.schedule_id, run_id=run.run_id),
        Clock(SLOT),
        provider_for=lambda model: (Exploding(exc), model),
    )
    assert (outcome.status, outcome.reason) == ("failed", reason)
    stored = stack.store.get_run(run.schedule_id, run.run_id)
    assert stored.status is RunStatus.failed
    assert stored.outcome_reason == reason
    session = _session(stack, stored)
    assert session.messages[-1].role == "assistant"
    assert session.messages[-1].content == f"Scheduled run failed: {reason}"
    state = stack.store.get_schedule(run.schedule_id).state
    assert (state.total_failure_count, state.consecutive_failures, state.active_run_count) == (1, 1, 0)
    assert state.last_failure_at == SLOT


def test_an_unknown_model_provider_fails_the_run(stack, monkeypatch) -> None:
    # Refused when a schedule is saved today; one stored before that check still fails its run cleanly.
    monkeypatch.setattr("agentcron.application.schedules.check_run_config", lambda spec: None)
    run = _queued_run(stack, _spec(model="nosuch:model"))
    outcome = _handle(stack, RunMessage(schedule_id=run.schedule_id, run_id=run.run_id), Clock(SLOT))
    assert outcome.status == "failed"
    assert "unknown model provider 'nosuch'" in outcome.reason
    assert stack.store.get_run(run.schedule_id, run.run_id).status is RunStatus.failed


def test_token_budget_fails_the_run_and_records_the_usage(stack) -> None:
    run = _queued_run(stack, _spec(limits={"max_total_tokens": 5}))
    outcome = _handle(stack, RunMessage(schedule_id=run.schedule_id, run_id=run.run_id), Clock(SLOT))
    assert outcome.status == "failed"
    assert "max_total_tokens is 5" in outcome.reason
    stored = stack.store.get_run(run.schedule_id, run.run_id)
    assert stored.usage.total_tokens > 5
    assert stack.store.get_schedule(run.schedule_id).state.output_tokens == stored.usage.output_tokens


def test_a_storage_failure_before_the_outcome_propagates_and_leaves_the_run_open(stack) -> None:
    # GIVEN a session store whose bucket does not exist (S3 unavailable, as far as the executor can tell)
    run = _queued_run(stack, _spec())
    with pytest.raises(Exception, match="NoSuchBucket"):
        services = stack.services(Clock(SLOT))
        services.sessions = SessionStore(stack.s3, "no-such-bucket")
        execute.handle(services, RunMessage(schedule_id=run.schedule_id, run_id=run.run_id), message_id="m")
    # THEN nothing terminal was recorded: the message is retried, the lease or a retry finishes the run
    assert stack.store.get_run(run.schedule_id, run.run_id).status is RunStatus.running


# --------------------------------------------------------------------------- cancellation


def test_a_cancel_requested_before_start_cancels_without_a_model_call(stack) -> None:
    run = _queued_run(stack, _spec())
    assert stack.store.request_cancel(run.schedule_id, run.run_id)
    provider = Recording(EchoProvider())
    outcome = _handle(
        stack, RunMessage(schedule_id=run.schedule_id, run_id=run.run_id), Clock(SLOT), provider_for=provider
    )
    assert outcome.status == "cancelled"
    assert provider.requests == []
    assert stack.store.get_run(run.schedule_id, run.run_id).status is RunStatus.cancelled


def test_a_cancel_requested_during_the_run_stops_it_before_the_next_model_call(stack) -> None:
    run = _queued_run(stack, _spec())
    clock = Clock(SLOT)

    class CancelsItself:
        """Asks for a tool and, meanwhile (its call takes as long as the cancel poll), a user cancels."""

        name = "scripted"
        calls = 0

        def complete(self, request: ModelRequest) -> ModelResponse:
            CancelsItself.calls += 1
            clock.at += timedelta(seconds=execute.CANCEL_POLL_SECONDS)
            stack.store.request_cancel(run.schedule_id, run.run_id)
            call = ToolCall(id="c1", name="search")
            return ModelResponse(
                Message(role="assistant", content="searching", tool_calls=[call]),
                TokenUsage(input_tokens=7, output_tokens=2),
                "tool_use",
            )

    outcome = _handle(
        stack,
        RunMessage(schedule_id=run.schedule_id, run_id=run.run_id),
        clock,
        provider_for=lambda model: (CancelsItself(), model),
    )
    assert outcome.status == "cancelled"
    assert CancelsItself.calls == 1
    stored = stack.store.get_run(run.schedule_id, run.run_id)
    assert stored.status is RunStatus.cancelled
    assert stored.usage == TokenUsage(input_tokens=7, output_tokens=2)
    # the cancel was seen before the tool call: the model's request is kept, no tool ran
    session = _session(stack, stored)
    assert [m.role for m in session.messages] == ["system", "user", "assistant", "assistant"]
    assert session.messages[2].tool_calls[0].name == "search"
    assert session.messages[-1].content == "Scheduled run cancelled: cancel requested"
    assert session.metadata["outcome"] == "cancelled"


# --------------------------------------------------------------------------- tools and the last result


def _second_slot(stack, schedule_id: str) -> Run:
    slot = SLOT + timedelta(days=1)
    run = Run(
        run_id=slot_run_id(schedule_id, slot), schedule_id=schedule_id, scheduled_for=slot, claimed_at=slot
    )
    assert stack.store.create_run(run, slot, redelivery_seconds=stack.settings.redelivery_seconds)
    return run


@pytest.mark.parametrize("include", [True, False])
def test_include_last_result_gives_the_previous_answer_to_the_next_run(stack, include: bool) -> None:
    # GIVEN yesterday's run succeeded with an answer
    first = _queued_run(stack, _spec(include_last_result=include))
    assert (
        _handle(stack, RunMessage(schedule_id=first.schedule_id, run_id=first.run_id), Clock(SLOT)).status
        == "success"
    )
    # WHEN today's run executes
    second = _second_slot(stack, first.schedule_id)
    provider = Recording(EchoProvider())
    today = Clock(SLOT + timedelta(days=1))
    _handle(
        stack, RunMessage(schedule_id=second.schedule_id, run_id=second.run_id), today, provider_for=provider
    )
    # THEN (only with include_last_result) the model saw yesterday's answer as context before the task
    messages = provider.requests[0].messages
    session = _session(stack, stack.store.get_run(second.schedule_id, second.run_id))
    if include:
        assert [m.role for m in messages] == ["system", "system", "user"]
        assert messages[1].content == (
            "The final answer of this schedule's previous successful run "
            f"(scheduled for 2026-03-01T09:00:00Z, run {first.run_id}):\n\necho: {TASK}"
        )
        assert session.metadata["previous_run_id"] == first.run_id
    else:
        assert [m.role for m in messages] == ["system", "user"]
        assert "previous_run_id" not in session.metadata


def test_the_run_config_tools_reach_the_model(stack) -> None:
    run = _queued_run(stack, _spec(tools=["current_time", "scheduler"]))
    provider = Recording(EchoProvider())
    _handle(
        stack, RunMessage(schedule_id=run.schedule_id, run_id=run.run_id), Clock(SLOT), provider_for=provider
    )
    assert [spec.name for spec in provider.requests[0].tools] == ["current_time", "scheduler"]


def test_by_default_the_model_gets_the_default_tools(stack) -> None:
    run = _queued_run(stack, _spec())
    provider = Recording(EchoProvider())
    _handle(
        stack, RunMessage(schedule_id=run.schedule_id, run_id=run.run_id), Clock(SLOT), provider_for=provider
    )
    assert [spec.name for spec in provider.requests[0].tools] == ["current_time", "http_fetch"]


def test_an_unknown_tool_fails_the_run_with_a_clear_reason(stack, monkeypatch) -> None:
    # Refused when a schedule is saved today; one stored before that check still fails its run cleanly.
    monkeypatch.setattr("agentcron.application.schedules.check_run_config", lambda spec: None)
    run = _queued_run(stack, _spec(tools=["shell"]))
    outcome = _handle(stack, RunMessage(schedule_id=run.schedule_id, run_id=run.run_id), Clock(SLOT))
    assert outcome.status == "failed"
    assert (
        outcome.reason
        == "run_config.tools names unknown tool(s) 'shell'; known tools: current_time, http_fetch, scheduler"
    )
    session = _session(stack, stack.store.get_run(run.schedule_id, run.run_id))
    assert session.messages[-1].content == f"Scheduled run failed: {outcome.reason}"
