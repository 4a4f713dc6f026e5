"""Runs longer than one invocation: hand-off, resume, duplicates, limits across segments, crash recovery."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from test_execute import SLOT, Clock, _handle, _queued_run, _raw_items, _session, _spec

from agentcron.application import execute
from agentcron.agent import ModelRequest, ModelResponse, ToolSpec
from agentcron.models import (
    ContinueMessage,
    Message,
    RunMessage,
    RunStatus,
    ScheduleSpec,
    TokenUsage,
    ToolCall,
)
from agentcron.queue import parse_message
from agentcron.store import segments


class Invocation:
    """An executor invocation's time left, in ms (what the Lambda context reports)."""

    def __init__(self, left_ms: int = 600_000) -> None:
        self.left_ms = left_ms

    def __call__(self) -> int:
        return self.left_ms


class ThreeRounds:
    """Asks for the ``probe`` tool twice, then answers; records every request."""

    name = "scripted"

    def __init__(self) -> None:
        self.requests: list[ModelRequest] = []

    def complete(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        n = sum(1 for m in request.messages if m.role == "assistant") + 1
        usage = TokenUsage(input_tokens=100, output_tokens=10)
        if n < 3:
            call = ToolCall(id=f"probe-{n}", name="probe", arguments={"n": n})
            return ModelResponse(
                Message(role="assistant", content=f"probing {n}", tool_calls=[call]), usage, "tool_use"
            )
        return ModelResponse(Message(role="assistant", content="done after two probes"), usage)


class Probe:
    """The one tool of these runs; each call can spend the invocation's time (``drain``) or move the clock."""

    def __init__(
        self, invocation: Invocation, clock: Clock, *, drain_on: int | None = 1, seconds: int = 0
    ) -> None:
        self.invocation, self.clock, self.drain_on, self.seconds = invocation, clock, drain_on, seconds
        self.calls: list[ToolCall] = []

    def specs(self) -> list[ToolSpec]:
        return [ToolSpec(name="probe", description="probe something")]

    def run(self, call: ToolCall) -> str:
        self.calls.append(call)
        self.clock.at += timedelta(seconds=self.seconds)
        if len(self.calls) == self.drain_on:
            self.invocation.left_ms = 60_000  # less than the 180 s margin: the next call must not start
        return f"probe {call.arguments['n']} ok"


def _run(stack, message, clock: Clock, provider, tools, invocation: Invocation, **kwargs) -> execute.Outcome:
    return _handle(
        stack,
        message,
        clock,
        provider_for=lambda model: (provider, model),
        tools=lambda names, context: tools,
        remaining_ms=invocation,
        **kwargs,
    )


def _continue_messages(stack) -> list[dict[str, Any]]:
    return stack.drain()


def test_a_run_past_the_invocation_limit_continues_as_one_run_with_one_transcript(stack) -> None:
    # GIVEN a queued run whose agent needs three rounds, and an invocation that runs short after the first
    run = _queued_run(stack, _spec())
    clock, provider = Clock(SLOT + timedelta(seconds=2)), ThreeRounds()
    first_invocation = Invocation()
    tools = Probe(first_invocation, clock, seconds=30)
    message = RunMessage(schedule_id=run.schedule_id, run_id=run.run_id)
    # WHEN the first invocation handles the run
    outcome = _run(stack, message, clock, provider, tools, first_invocation)
    # THEN it handed off after round 1: the run is still running, one continue message is queued
    assert (outcome.status, outcome.reason) == (execute.CONTINUED, "continues in segment 1")
    assert len(provider.requests) == 1
    stored = stack.store.get_run(run.schedule_id, run.run_id)
    assert stored.status is RunStatus.running
    (sent,) = _continue_messages(stack)
    assert sent["body"] == {
        "type": "continue",
        "schedule_id": run.schedule_id,
        "run_id": run.run_id,
        "segment": 1,
    }
    assert sent["group_id"] == run.schedule_id  # the run's own message group
    assert sent["dedup_id"] == f"{run.run_id}:1"
    # AND the session was checkpointed with round 1 complete
    assert [m.role for m in _session(stack, stored).messages] == ["system", "user", "assistant", "tool"]

    # WHEN the continue message is handled by a fresh invocation
    continued = parse_message(json.dumps(sent["body"]))
    second = _run(stack, continued, clock, provider, Probe(Invocation(), clock, drain_on=None), Invocation())
    # THEN the run finished: one run, one session, every round once, in order
    assert second.status == "success"
    assert len(provider.requests) == 3
    runs, _ = stack.store.list_runs(run.schedule_id)
    assert [r.run_id for r in runs] == [run.run_id]
    final = runs[0]
    assert final.status is RunStatus.success
    assert final.attempt == 1
    assert final.final_answer == "done after two probes"
    assert final.usage == TokenUsage(input_tokens=300, output_tokens=30)
    session = _session(stack, final)
    assert session.id == stored.session_id
    assert [m.role for m in session.messages] == ["system", "user"] + ["assistant", "tool"] * 2 + [
        "assistant"
    ]
    assert [m.tool_call_id for m in session.messages if m.role == "tool"] == ["probe-1", "probe-2"]
    assert session.metadata["agent_rounds"] == "3"
    assert session.usage == final.usage
    # AND the schedule counted one run and its tokens once
    state = stack.store.get_schedule(run.schedule_id).state
    assert (state.total_run_count, state.total_success_count, state.active_run_count) == (1, 1, 0)
    assert (state.input_tokens, state.output_tokens) == (300, 30)
    assert _continue_messages(stack) == []

    # WHEN the same continue message is delivered again
    before = _raw_items(stack, run.schedule_id)
    again = _run(stack, continued, clock, provider, Probe(Invocation(), clock), Invocation())
    # THEN nothing runs and nothing changes
    assert again.status == execute.DUPLICATE
    assert len(provider.requests) == 3
    assert _raw_items(stack, run.schedule_id) == before


def test_a_duplicate_or_stale_continue_message_never_runs_the_agent_twice(stack) -> None:
    run = _queued_run(stack, _spec())
    clock, provider, invocation = Clock(SLOT), ThreeRounds(), Invocation()
    message = RunMessage(schedule_id=run.schedule_id, run_id=run.run_id)
    assert (
        _run(stack, message, clock, provider, Probe(invocation, clock), invocation).status
        == execute.CONTINUED
    )
    stack.drain()
    # a continue for a segment nobody handed off to (the owner is still segment 0, lease live)
    wrong = ContinueMessage(schedule_id=run.schedule_id, run_id=run.run_id, segment=2)
    assert (
        _run(stack, wrong, clock, provider, Probe(Invocation(), clock), Invocation()).status
        == execute.DUPLICATE
    )
    assert segments.current_segment(stack.store, run.schedule_id, run.run_id) == 0
    # segment 1 takes over once; a second delivery of it, while segment 1 still owns the run, is a duplicate
    owner = segments.begin_segment(stack.store, run.schedule_id, run.run_id, 1, SLOT, lease_seconds=900)
    assert owner is not None and owner.status is RunStatus.running
    assert (
        segments.begin_segment(stack.store, run.schedule_id, run.run_id, 1, SLOT, lease_seconds=900) is None
    )
    duplicate = ContinueMessage(schedule_id=run.schedule_id, run_id=run.run_id, segment=1)
    assert (
        _run(stack, duplicate, clock, provider, Probe(Invocation(), clock), Invocation()).status
        == execute.DUPLICATE
    )
    assert len(provider.requests) == 1


def test_max_duration_bounds_the_whole_run_across_segments(stack) -> None:
    run = _queued_run(stack, _spec(limits={"max_duration_seconds": 600}))
    clock, provider, invocation = Clock(SLOT), ThreeRounds(), Invocation()
    message = RunMessage(schedule_id=run.schedule_id, run_id=run.run_id)
    assert (
        _run(stack, message, clock, provider, Probe(invocation, clock), invocation).status
        == execute.CONTINUED
    )
    (sent,) = stack.drain()
    clock.at += timedelta(seconds=601)  # the continue message waited in a busy queue
    outcome = _run(
        stack,
        parse_message(json.dumps(sent["body"])),
        clock,
        provider,
        Probe(Invocation(), clock),
        Invocation(),
    )
    assert outcome.status == "timed_out"
    assert outcome.reason == "run exceeded run_config.limits.max_duration_seconds (600 s)"
    stored = stack.store.get_run(run.schedule_id, run.run_id)
    assert stored.status is RunStatus.timed_out
    assert stored.usage == TokenUsage(input_tokens=100, output_tokens=10)  # round 1 is paid for and counted
    session = _session(stack, stored)
    assert session.messages[-1].content == (
        "Scheduled run timed out: run exceeded run_config.limits.max_duration_seconds (600 s)"
    )
    assert len(provider.requests) == 1
    assert stack.store.get_schedule(run.schedule_id).state.total_failure_count == 1


def test_a_cancel_between_segments_cancels_the_continuation(stack) -> None:
    run = _queued_run(stack, _spec())
    clock, provider, invocation = Clock(SLOT), ThreeRounds(), Invocation()
    message = RunMessage(schedule_id=run.schedule_id, run_id=run.run_id)
    assert (
        _run(stack, message, clock, provider, Probe(invocation, clock), invocation).status
        == execute.CONTINUED
    )
    (sent,) = stack.drain()
    assert stack.store.request_cancel(run.schedule_id, run.run_id)
    outcome = _run(
        stack,
        parse_message(json.dumps(sent["body"])),
        clock,
        provider,
        Probe(Invocation(), clock),
        Invocation(),
    )
    assert (outcome.status, outcome.reason) == ("cancelled", "cancel requested")
    assert len(provider.requests) == 1
    session = _session(stack, stack.store.get_run(run.schedule_id, run.run_id))
    assert [m.role for m in session.messages] == ["system", "user", "assistant", "tool", "assistant"]


def test_after_a_crash_a_retry_resumes_from_the_checkpoint(stack) -> None:
    # GIVEN a run whose executor dies in the middle of round 2's tool call, its round 1 taking longer than
    # the checkpoint period (so round 1 was saved; a crash loses at most CHECKPOINT_SECONDS of work)
    spec = ScheduleSpec.model_validate({**_spec().model_dump(), "retry_policy": {"max_attempts": 2}})
    run = _queued_run(stack, spec)
    clock, provider = Clock(SLOT), ThreeRounds()

    class Crashing(Probe):
        def run(self, call: ToolCall) -> str:
            if call.id == "probe-2":
                raise SystemExit("executor killed")
            return super().run(call)

    message = RunMessage(schedule_id=run.schedule_id, run_id=run.run_id)
    slow = Crashing(Invocation(), clock, drain_on=None, seconds=execute.CHECKPOINT_SECONDS)
    with pytest.raises(SystemExit):
        _run(stack, message, clock, provider, slow, Invocation())
    assert len(provider.requests) == 2
    # WHEN the message comes back after the lease lapsed
    clock.at += timedelta(seconds=stack.settings.lease_seconds + 1)
    tools = Probe(Invocation(), clock, drain_on=None)
    outcome = _run(stack, message, clock, provider, tools, Invocation())
    # THEN the second attempt redid round 2 (younger than the checkpoint period) and the last model call,
    # and nothing of round 1
    assert outcome.status == "success"
    assert [c.id for c in tools.calls] == ["probe-2"]
    assert len(provider.requests) == 4
    stored = stack.store.get_run(run.schedule_id, run.run_id)
    assert stored.attempt == 2
    assert stored.usage == TokenUsage(input_tokens=300, output_tokens=30)
    roles = [m.role for m in _session(stack, stored).messages]
    assert roles == ["system", "user"] + ["assistant", "tool"] * 2 + ["assistant"]


def test_an_outcome_saved_in_the_session_is_recorded_by_the_retry_without_a_model_call(
    stack, monkeypatch
) -> None:
    run = _queued_run(stack, _spec())
    clock, provider = Clock(SLOT), ThreeRounds()
    original = stack.store.finish_run

    def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("DynamoDB unavailable")

    monkeypatch.setattr(stack.store, "finish_run", unavailable)
    message = RunMessage(schedule_id=run.schedule_id, run_id=run.run_id)
    with pytest.raises(RuntimeError, match="DynamoDB unavailable"):
        _run(stack, message, clock, provider, Probe(Invocation(), clock, drain_on=None), Invocation())
    assert len(provider.requests) == 3
    monkeypatch.setattr(stack.store, "finish_run", original)
    clock.at += timedelta(seconds=stack.settings.lease_seconds + 1)
    outcome = _run(stack, message, clock, provider, Probe(Invocation(), clock), Invocation())
    assert outcome.status == "success"  # even though attempt 2 exceeds max_attempts 1: the work was done
    assert len(provider.requests) == 3
    stored = stack.store.get_run(run.schedule_id, run.run_id)
    assert stored.final_answer == "done after two probes"
    assert stored.usage == TokenUsage(input_tokens=300, output_tokens=30)


def test_without_the_invocations_remaining_time_a_run_never_hands_off(stack) -> None:
    run = _queued_run(stack, _spec())
    clock, provider = Clock(SLOT), ThreeRounds()
    outcome = _handle(
        stack,
        RunMessage(schedule_id=run.schedule_id, run_id=run.run_id),
        clock,
        provider_for=lambda model: (provider, model),
        tools=lambda names, context: Probe(Invocation(), clock),
    )
    assert outcome.status == "success"
