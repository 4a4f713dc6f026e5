"""Runs whose outcome is larger than a DynamoDB item can hold still end (moto enforces the 400 KB limit)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from agentcron.agent import ModelRequest, ModelResponse
from agentcron.application import execute
from agentcron.application.runs import TOO_LARGE_REASON, run_now
from agentcron.domain.access import SYSTEM
from agentcron.domain.runs import MAX_ANSWER_BYTES, bounded_text
from agentcron.exceptions import InvalidInput
from agentcron.models import Message, Run, RunMessage, RunStatus, ScheduleSpec, TokenUsage, slot_run_id

SLOT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
NOW = SLOT + timedelta(seconds=3)
HUGE = "é" * 150_000  # 300,000 bytes of UTF-8: with the task it cannot fit one item


class Huge:
    """A provider answering ``HUGE`` at once."""

    name = "huge"

    def __call__(self, model: str) -> tuple[Any, str]:
        return self, model

    def complete(self, request: ModelRequest) -> ModelResponse:
        return ModelResponse(message=Message(role="assistant", content=HUGE), usage=TokenUsage())


def _schedule(stack, schedule_id: str) -> None:
    spec = ScheduleSpec.model_validate(
        {
            "id": schedule_id,
            "name": schedule_id,
            "trigger": {"type": "daily", "hour": 9, "minute": 0},
            "run_config": {"task_message": "answer at length", "auto_execute": True},
        }
    )
    stack.create_schedule(spec, SLOT - timedelta(days=1))


def _queued(stack, schedule_id: str, **fields: Any) -> Run:
    run = Run(
        run_id=slot_run_id(schedule_id, SLOT),
        schedule_id=schedule_id,
        scheduled_for=SLOT,
        claimed_at=SLOT,
        **fields,
    )
    assert stack.store.create_run(run, SLOT, redelivery_seconds=stack.settings.redelivery_seconds)
    return run


def _execute(stack, run: Run) -> execute.Outcome:
    message = RunMessage(schedule_id=run.schedule_id, run_id=run.run_id)
    return execute.handle(stack.services(NOW), message, message_id="m-1", provider_for=Huge())


def test_a_huge_answer_is_stored_truncated_and_whole_in_the_transcript(stack) -> None:
    _schedule(stack, "big-a")
    run = _queued(stack, "big-a")
    outcome = _execute(stack, run)
    assert outcome.status == "success"
    stored = stack.store.get_run("big-a", run.run_id)
    assert stored.status is RunStatus.success
    # the record keeps the head and says so
    assert len(stored.final_answer.encode()) <= MAX_ANSWER_BYTES
    assert stored.final_answer.startswith("é" * 1000)
    assert stored.final_answer.endswith(
        f"of {len(HUGE.encode())} bytes kept; the whole text is in the run's session]"
    )
    # the transcript holds the whole answer
    session = stack.sessions.load(stored.session_id)
    assert session.messages[-1].content == HUGE
    schedule = stack.store.get_schedule("big-a")
    assert (schedule.state.total_success_count, schedule.state.active_run_count) == (1, 0)


def test_a_record_too_large_for_its_outcome_ends_failed_with_the_reason(stack) -> None:
    # GIVEN a run whose record already carries a 350 KB task (written before tasks were capped)
    _schedule(stack, "big-b")
    run = _queued(stack, "big-b", task_message="t" * 350_000)
    # WHEN its (truncated, 64 KB) answer cannot be added to the record
    outcome = _execute(stack, run)
    # THEN the run ends failed, with a reason that says why, instead of staying running
    assert outcome.status == "failed"
    stored = stack.store.get_run("big-b", run.run_id)
    assert (stored.status, stored.outcome_reason, stored.final_answer) == (
        RunStatus.failed,
        TOO_LARGE_REASON,
        None,
    )
    schedule = stack.store.get_schedule("big-b")
    assert (schedule.state.total_failure_count, schedule.state.active_run_count) == (1, 0)
    # AND a redelivery of its message changes nothing
    assert _execute(stack, run).status == execute.DUPLICATE


def test_a_task_longer_than_the_api_cap_is_refused_by_every_run_now(stack) -> None:
    _schedule(stack, "big-c")
    with pytest.raises(InvalidInput) as refused:
        run_now(stack.services(NOW), SYSTEM, "big-c", request_id="r", task_message="x" * 210_000)
    assert refused.value.field == "task_message"
    assert stack.store.list_runs("big-c")[0] == []


def test_bounded_text_keeps_whole_characters_and_short_texts_unchanged() -> None:
    assert bounded_text("short", 100) == "short"
    assert bounded_text(None, 10) is None
    cut = bounded_text("€" * 100, 200)
    assert len(cut.encode()) <= 200 and cut.startswith("€") and "of 300 bytes kept" in cut
