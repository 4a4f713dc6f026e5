"""The execute use case, idempotency: duplicate and late deliveries, lost-run retries, run-now requests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_execute import (
    SLOT,
    Clock,
    Recording,
    _handle,
    _queued_run,
    _raw_items,
    _session,
    _session_objects,
    _spec,
)

from agentcron.application import execute
from agentcron.agent import EchoProvider
from agentcron.exceptions import ScheduleNotFound
from agentcron.models import ContinueMessage, RunMessage, RunNowMessage, RunStatus, RunTrigger, ScheduleSpec


# --------------------------------------------------------------------------- duplicates and retries


def test_a_duplicate_delivery_of_a_finished_run_changes_nothing(stack) -> None:
    run = _queued_run(stack, _spec())
    message = RunMessage(schedule_id=run.schedule_id, run_id=run.run_id)
    assert _handle(stack, message, Clock(SLOT)).status == "success"
    before = _raw_items(stack, run.schedule_id), _session_objects(stack)
    provider = Recording(EchoProvider())
    outcome = _handle(stack, message, Clock(SLOT + timedelta(hours=2)), provider_for=provider)
    assert outcome.status == execute.DUPLICATE
    assert provider.requests == []
    assert (_raw_items(stack, run.schedule_id), _session_objects(stack)) == before


def test_a_delivery_while_another_executor_holds_the_lease_changes_nothing(stack) -> None:
    run = _queued_run(stack, _spec())
    assert stack.store.start_run(
        run.schedule_id, run.run_id, SLOT, lease_seconds=stack.settings.lease_seconds
    )
    before = _raw_items(stack, run.schedule_id)
    outcome = _handle(
        stack, RunMessage(schedule_id=run.schedule_id, run_id=run.run_id), Clock(SLOT + timedelta(seconds=10))
    )
    assert outcome.status == execute.DUPLICATE
    assert _raw_items(stack, run.schedule_id) == before


def test_a_run_lost_more_often_than_its_retry_policy_allows_is_timed_out(stack) -> None:
    run = _queued_run(stack, _spec())  # retry_policy.max_attempts defaults to 1
    assert stack.store.start_run(run.schedule_id, run.run_id, SLOT, lease_seconds=60)
    provider = Recording(EchoProvider())
    later = Clock(SLOT + timedelta(seconds=stack.settings.lease_seconds + 1))
    outcome = _handle(
        stack, RunMessage(schedule_id=run.schedule_id, run_id=run.run_id), later, provider_for=provider
    )
    assert outcome.status == "timed_out"
    assert "attempt 2" in outcome.reason
    assert provider.requests == []
    assert stack.store.get_run(run.schedule_id, run.run_id).status is RunStatus.timed_out


def test_a_lost_run_is_retried_when_its_retry_policy_allows(stack) -> None:
    spec = ScheduleSpec.model_validate({**_spec().model_dump(), "retry_policy": {"max_attempts": 2}})
    run = _queued_run(stack, spec)
    assert stack.store.start_run(run.schedule_id, run.run_id, SLOT, lease_seconds=60)
    later = Clock(SLOT + timedelta(seconds=61))
    outcome = _handle(stack, RunMessage(schedule_id=run.schedule_id, run_id=run.run_id), later)
    assert outcome.status == "success"
    stored = stack.store.get_run(run.schedule_id, run.run_id)
    assert stored.attempt == 2
    assert stored.status is RunStatus.success


def test_a_continue_message_runs_its_run(stack) -> None:
    run = _queued_run(stack, _spec())
    outcome = _handle(
        stack, ContinueMessage(schedule_id=run.schedule_id, run_id=run.run_id, segment=1), Clock(SLOT)
    )
    assert outcome.status == "success"


def test_a_message_for_a_run_that_does_not_exist_is_a_duplicate(stack) -> None:
    stack.create_schedule(_spec(), SLOT)
    outcome = _handle(
        stack, RunMessage(schedule_id="daily-news", run_id="daily-news-20990101T000000Z"), Clock(SLOT)
    )
    assert outcome.status == execute.DUPLICATE
    assert stack.store.list_runs("daily-news")[0] == []


# --------------------------------------------------------------------------- run-now


def test_run_now_creates_one_run_even_when_the_message_is_delivered_twice(stack) -> None:
    # GIVEN a disabled schedule (run-now ignores enabled) and a run-now message with a task override
    spec = ScheduleSpec.model_validate({**_spec().model_dump(), "enabled": False})
    stack.create_schedule(spec, SLOT)
    message = RunNowMessage(schedule_id=spec.id, task_message="only the headlines")
    sent_at = SLOT + timedelta(minutes=5)
    # WHEN the same SQS message (same id, same SentTimestamp) arrives twice, minutes apart
    first = _handle(
        stack, message, Clock(sent_at + timedelta(seconds=1)), message_id="sqs-1", sent_at=sent_at
    )
    second = _handle(
        stack, message, Clock(sent_at + timedelta(minutes=3)), message_id="sqs-1", sent_at=sent_at
    )
    # THEN one run exists, it ran once with the override, and the second delivery was a no-op
    assert first.status == "success"
    assert second == execute.Outcome(first.run_id, execute.DUPLICATE, second.reason, spec.id)
    runs, _ = stack.store.list_runs(spec.id)
    assert [r.run_id for r in runs] == [first.run_id]
    run = runs[0]
    assert run.trigger is RunTrigger.run_now
    assert run.scheduled_for == sent_at
    assert run.task_message == "only the headlines"
    assert run.final_answer == "echo: only the headlines"
    assert _session(stack, run).messages[1].content == "only the headlines"
    state = stack.store.get_schedule(spec.id).state
    assert (state.total_run_count, state.active_run_count) == (1, 0)


def test_run_now_request_id_wins_over_the_message_id(stack) -> None:
    stack.create_schedule(_spec(), SLOT)
    message = RunNowMessage(schedule_id="daily-news", request_id="req-1")
    first = _handle(stack, message, Clock(SLOT), message_id="sqs-1")
    again = _handle(stack, message, Clock(SLOT), message_id="sqs-2")
    assert again.run_id == first.run_id
    assert again.status == execute.DUPLICATE


def test_run_now_of_an_unknown_schedule_fails_the_message(stack) -> None:
    with pytest.raises(ScheduleNotFound, match="Schedule not found: ghost"):
        _handle(stack, RunNowMessage(schedule_id="ghost"), Clock(SLOT))
    assert stack.store.list_runs("ghost")[0] == []
