"""The agent loop: rounds, token budget, cancellation, checkpoints, tool calls and provider errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agentcron.agent import EchoProvider, ModelRequest, ModelResponse, ProviderError, ToolSpec, run_agent
from agentcron.agent.base import CallLimits, call_limits
from agentcron.agent.loop import HANDOFF_RESERVE_SECONDS, ROUNDS_KEY, pending_tool_calls
from agentcron.models import Message, RunLimits, Session, TokenUsage, ToolCall

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _session() -> Session:
    return Session(
        id="s-1",
        messages=[
            Message(role="system", content="be brief", created_at=NOW),
            Message(role="user", content="do it", created_at=NOW),
        ],
        created_at=NOW,
        updated_at=NOW,
    )


class ToolHungry:
    """A scripted provider that asks for ``calls_per_round`` more tool calls on every round, forever."""

    name = "scripted"

    def __init__(self, tokens_per_round: int = 10, calls_per_round: int = 1) -> None:
        self.requests: list[ModelRequest] = []
        self.tokens = tokens_per_round
        self.calls_per_round = calls_per_round

    def complete(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        n = len(self.requests)
        calls = [
            ToolCall(id=f"call-{n}" + (f"-{i}" if i else ""), name="lookup", arguments={"q": n})
            for i in range(self.calls_per_round)
        ]
        return ModelResponse(
            message=Message(role="assistant", content=f"thinking {n}", tool_calls=calls),
            usage=TokenUsage(input_tokens=self.tokens, output_tokens=self.tokens),
            stop_reason="tool_use",
        )


class Scripted:
    """Replies from a list: a ToolCall list asks for tools, a string is the final answer."""

    name = "scripted"

    def __init__(self, *replies) -> None:
        self.replies = list(replies)
        self.requests: list[ModelRequest] = []

    def complete(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, str):
            message = Message(role="assistant", content=reply)
        else:
            message = Message(role="assistant", content="", tool_calls=reply)
        return ModelResponse(message=message, usage=TokenUsage(input_tokens=5, output_tokens=1))


class Tools:
    def __init__(self) -> None:
        self.calls: list[ToolCall] = []

    def specs(self) -> list[ToolSpec]:
        return [ToolSpec(name="lookup", description="look something up")]

    def run(self, call: ToolCall) -> str:
        self.calls.append(call)
        return f"result {call.arguments['q']}"


class Checkpoints:
    def __init__(self) -> None:
        self.lengths: list[int] = []

    def __call__(self, session: Session) -> None:
        self.lengths.append(len(session.messages))


class Clock:
    def __init__(self, at: datetime = NOW) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


class Invocation:
    """The invocation's time left (ms), moved by the test (or by scripted providers and tools)."""

    def __init__(self, left_ms: int) -> None:
        self.left_ms = left_ms

    def __call__(self) -> int:
        return self.left_ms


def _run(
    session: Session,
    provider,
    *,
    limits: RunLimits | None = None,
    cancel=lambda: False,
    tools=None,
    checkpoint=None,
    **kwargs,
):
    kwargs.setdefault("now", lambda: NOW)
    return run_agent(
        session,
        provider,
        "m",
        limits=limits or RunLimits(),
        cancel_requested=cancel,
        checkpoint=checkpoint or Checkpoints(),
        tools=tools,
        **kwargs,
    )


# --------------------------------------------------------------------------- rounds and limits


def test_without_tools_one_round_succeeds() -> None:
    session, checkpoints = _session(), Checkpoints()
    result = _run(session, EchoProvider(), checkpoint=checkpoints)
    assert result.status == "success"
    assert result.final_answer == "echo: do it"
    assert result.rounds == 1
    assert result.usage == TokenUsage(input_tokens=4, output_tokens=3)
    assert session.usage == result.usage
    assert [m.role for m in session.messages] == ["system", "user", "assistant"]
    assert session.messages[-1].created_at == NOW
    assert session.metadata[ROUNDS_KEY] == "1"
    assert checkpoints.lengths == [3]


def test_max_rounds_stops_a_model_that_keeps_calling_tools() -> None:
    session, provider, tools, checkpoints = _session(), ToolHungry(), Tools(), Checkpoints()
    result = _run(session, provider, limits=RunLimits(max_rounds=3), tools=tools, checkpoint=checkpoints)
    assert result.status == "failed"
    assert result.reason == "no final answer after run_config.limits.max_rounds (3) rounds"
    assert len(provider.requests) == 3
    assert [c.id for c in tools.calls] == ["call-1", "call-2", "call-3"]
    # the transcript keeps every round: assistant + tool result, paired by call id
    roles = [m.role for m in session.messages]
    assert roles == ["system", "user"] + ["assistant", "tool"] * 3
    assert [m.tool_call_id for m in session.messages if m.role == "tool"] == ["call-1", "call-2", "call-3"]
    assert session.messages[3].content == "result 1"
    # the second request carried the first round's tool result
    assert provider.requests[1].messages[-1].content == "result 1"
    assert provider.requests[0].tools[0].name == "lookup"
    # a checkpoint after each model reply that asks for tools, after each round, and at the end
    assert checkpoints.lengths == [3, 4, 5, 6, 7, 8, 8]
    assert result.usage.total_tokens == 60


def test_token_budget_fails_the_run_and_keeps_the_transcript() -> None:
    session = _session()
    result = _run(
        session,
        ToolHungry(tokens_per_round=30),
        limits=RunLimits(max_rounds=10, max_total_tokens=100),
        tools=Tools(),
    )
    assert result.status == "failed"
    assert (
        result.reason == "token budget exceeded: 120 tokens used, run_config.limits.max_total_tokens is 100"
    )
    assert result.rounds == 2
    assert session.messages[-1].role == "assistant"
    assert session.messages[-1].content == "thinking 2"


def test_the_token_budget_counts_the_whole_run_including_earlier_segments() -> None:
    session = _session()
    session.usage = TokenUsage(input_tokens=90, output_tokens=5)  # spent before a continuation
    result = _run(session, EchoProvider(), limits=RunLimits(max_total_tokens=100))
    assert result.status == "failed"
    assert "102 tokens used" in (result.reason or "")
    assert result.usage == TokenUsage(input_tokens=4, output_tokens=3)  # this call's share


def test_max_duration_times_the_run_out_before_the_next_call() -> None:
    clock, provider = Clock(), ToolHungry()

    class Slow(Tools):
        def run(self, call: ToolCall) -> str:
            clock.at += timedelta(seconds=40)
            return super().run(call)

    session = _session()
    result = _run(
        session,
        provider,
        tools=Slow(),
        limits=RunLimits(max_duration_seconds=100),
        now=clock,
        started_at=NOW,
    )
    assert result.status == "timed_out"
    assert result.reason == "run exceeded run_config.limits.max_duration_seconds (100 s)"
    assert len(provider.requests) == 3  # 0 s, 40 s, 80 s; at 120 s the run is over
    assert session.messages[-1].role == "tool"
    # each call's time budget is what the run has left
    assert [r.time_budget_seconds for r in provider.requests] == [100, 60, 20]


# --------------------------------------------------------------------------- cancellation


def test_cancel_before_the_first_call_makes_no_model_call() -> None:
    provider = ToolHungry()
    result = _run(_session(), provider, cancel=lambda: True, tools=Tools())
    assert result.status == "cancelled"
    assert result.reason == "cancel requested"
    assert provider.requests == []


def test_cancel_is_checked_before_each_model_call_and_each_tool_call() -> None:
    provider, tools, asked = ToolHungry(calls_per_round=2), Tools(), []

    def cancel() -> bool:
        asked.append((len(provider.requests), len(tools.calls)))
        return len(tools.calls) >= 3

    session = _session()
    result = _run(session, provider, cancel=cancel, tools=tools)
    assert result.status == "cancelled"
    # model 1, tool 1, tool 2, model 2, tool 3, then the check before tool 4 cancels
    assert asked == [(0, 0), (1, 0), (1, 1), (1, 2), (2, 2), (2, 3)]
    assert len(provider.requests) == 2
    assert [c.id for c in tools.calls] == ["call-1", "call-1-1", "call-2"]
    # the transcript is kept as it stood: the second round's last call has no result
    assert [m.role for m in session.messages][-3:] == ["tool", "assistant", "tool"]
    assert [c.id for c in pending_tool_calls(session)] == ["call-2-1"]
    assert result.usage.total_tokens == 40


# --------------------------------------------------------------------------- tools and errors


def test_unavailable_and_failing_tools_are_reported_to_the_model() -> None:
    class Broken(Tools):
        def run(self, call: ToolCall) -> str:
            raise RuntimeError("disk full")

    session = _session()
    _run(session, ToolHungry(), limits=RunLimits(max_rounds=1))
    assert session.messages[-1].content == "error: tool 'lookup' is not available in this run"
    session = _session()
    _run(session, ToolHungry(), limits=RunLimits(max_rounds=1), tools=Broken())
    assert session.messages[-1].content == "error: tool 'lookup' failed: disk full"


def test_provider_error_fails_the_run_with_its_message() -> None:
    class Down:
        name = "down"

        def complete(self, request: ModelRequest) -> ModelResponse:
            raise ProviderError("throttled", retryable=True)

    result = _run(_session(), Down())
    assert result.status == "failed"
    assert result.reason == "model call failed: throttled"


def test_other_exceptions_propagate() -> None:
    class Bug:
        name = "bug"

        def complete(self, request: ModelRequest) -> ModelResponse:
            raise KeyError("oops")

    with pytest.raises(KeyError):
        _run(_session(), Bug())


def test_a_checkpoint_that_raises_stops_the_loop() -> None:
    class Lost(Exception):
        pass

    def checkpoint(session: Session) -> None:
        raise Lost

    provider = ToolHungry()
    with pytest.raises(Lost):
        _run(_session(), provider, tools=Tools(), checkpoint=checkpoint)
    assert len(provider.requests) == 1


# --------------------------------------------------------------------------- hand-off and resume


def test_little_invocation_time_left_hands_off_before_the_model_call() -> None:
    invocation, checkpoints = Invocation(600_000), Checkpoints()

    class Slow(Tools):
        def run(self, call: ToolCall) -> str:
            invocation.left_ms = 100_000  # the tool used up the invocation
            return super().run(call)

    provider, session = ToolHungry(), _session()
    result = _run(
        session,
        provider,
        tools=Slow(),
        checkpoint=checkpoints,
        remaining_ms=invocation,
        continue_margin_seconds=180,
    )
    assert result.status == "continue"
    assert len(provider.requests) == 1
    assert [m.role for m in session.messages] == ["system", "user", "assistant", "tool"]
    assert checkpoints.lengths[-1] == 4  # saved before handing off
    # the call's budget leaves the hand-off reserve free
    assert provider.requests[0].time_budget_seconds == 600 - 20


def test_a_tool_call_is_not_started_when_time_is_short() -> None:
    invocation = Invocation(600_000)

    class Draining(ToolHungry):
        def complete(self, request: ModelRequest) -> ModelResponse:
            invocation.left_ms = 60_000
            return super().complete(request)

    tools, session = Tools(), _session()
    result = _run(session, Draining(), tools=tools, remaining_ms=invocation)
    assert result.status == "continue"
    assert tools.calls == []
    assert [c.id for c in pending_tool_calls(session)] == ["call-1"]


def test_a_resumed_session_continues_where_it_stopped() -> None:
    # GIVEN a session handed off after round 1 (tool result saved) of a three-round conversation
    invocation = Invocation(600_000)

    class Draining(Tools):
        def run(self, call: ToolCall) -> str:
            invocation.left_ms = 0
            return super().run(call)

    first = Scripted([ToolCall(id="a", name="lookup", arguments={"q": 1})])
    session, tools = _session(), Draining()
    assert _run(session, first, tools=tools, remaining_ms=invocation).status == "continue"
    saved = Session.model_validate_json(session.model_dump_json())
    # WHEN a new invocation runs the loop on the saved session
    second = Scripted([ToolCall(id="b", name="lookup", arguments={"q": 2})], "done")
    result = _run(saved, second, tools=Tools(), remaining_ms=Invocation(600_000))
    # THEN it made only the remaining model calls, counted rounds across both, and kept one transcript
    assert result.status == "success"
    assert result.final_answer == "done"
    assert result.rounds == 3
    assert len(second.requests) == 2
    assert second.requests[0].messages[-1].content == "result 1"
    assert [m.role for m in saved.messages] == ["system", "user"] + ["assistant", "tool"] * 2 + ["assistant"]
    assert saved.usage == TokenUsage(input_tokens=15, output_tokens=3)


def test_pending_tool_calls_run_first_on_resume_without_a_model_call() -> None:
    session = _session()
    calls = [
        ToolCall(id="x", name="lookup", arguments={"q": 7}),
        ToolCall(id="y", name="lookup", arguments={"q": 8}),
    ]
    session.messages += [
        Message(role="assistant", content="", tool_calls=calls, created_at=NOW),
        Message(role="tool", content="result 7", tool_call_id="x", created_at=NOW),
    ]
    session.metadata[ROUNDS_KEY] = "1"
    tools, provider = Tools(), Scripted("final")
    result = _run(session, provider, tools=tools)
    assert [c.id for c in tools.calls] == ["y"]
    assert provider.requests[0].messages[-1].content == "result 8"
    assert result.status == "success"


def test_a_session_that_already_holds_the_answer_is_not_asked_again() -> None:
    session = _session()
    session.messages.append(Message(role="assistant", content="the answer", created_at=NOW))
    session.metadata[ROUNDS_KEY] = "1"
    provider = Scripted()
    result = _run(session, provider)
    assert (result.status, result.final_answer, provider.requests) == ("success", "the answer", [])


class Failing:
    """Fails after using up the invocation's time (as a provider retrying a throttled call would)."""

    name = "failing"

    def __init__(self, invocation: Invocation, error: ProviderError) -> None:
        self.invocation, self.error, self.calls = invocation, error, 0

    def complete(self, request: ModelRequest) -> ModelResponse:
        self.calls += 1
        self.invocation.left_ms = 100_000
        raise self.error


def test_a_retryable_error_with_no_time_left_hands_off_instead_of_failing() -> None:
    invocation = Invocation(400_000)
    error = ProviderError("throttled (gave up after 2 attempts, out of time)", retryable=True)
    result = _run(_session(), Failing(invocation, error), remaining_ms=invocation)
    assert result.status == "continue"
    assert "throttled" in (result.reason or "")


def test_a_non_retryable_error_fails_even_when_time_is_short() -> None:
    invocation = Invocation(400_000)
    result = _run(
        _session(), Failing(invocation, ProviderError("ValidationException: bad")), remaining_ms=invocation
    )
    assert (result.status, result.reason) == ("failed", "model call failed: ValidationException: bad")


def test_a_continuation_makes_progress_even_when_its_whole_invocation_is_below_the_margin() -> None:
    # ExecutorTimeout 60 s with a 180 s margin: a continuation would otherwise hand off before doing anything
    provider = Scripted("done")
    result = _run(
        _session(),
        provider,
        remaining_ms=Invocation(59_000),
        continue_margin_seconds=180,
        hand_off_without_progress=False,
    )
    assert result.status == "success"
    assert len(provider.requests) == 1
    # a first segment may hand off at once (its message came late in a long batch)
    assert _run(_session(), Scripted("done"), remaining_ms=Invocation(59_000)).status == "continue"


# --------------------------------------------------------------------------- what bounds a tool call


class LimitsSeen(Tools):
    """Records the CallLimits each tool call runs under (what http_fetch reads)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[CallLimits] = []

    def run(self, call: ToolCall) -> str:
        self.seen.append(call_limits())
        return super().run(call)


def test_a_tool_call_runs_under_the_runs_time_left_and_its_cancel_request() -> None:
    clock, tools = Clock(), LimitsSeen()
    cancel_requests: list[bool] = []

    def cancel() -> bool:
        cancel_requests.append(True)
        return False

    started = NOW - timedelta(seconds=60)
    result = _run(
        _session(),
        Scripted([ToolCall(id="c1", name="lookup", arguments={"q": 1})], "done"),
        limits=RunLimits(max_duration_seconds=100),
        tools=tools,
        cancel=cancel,
        now=clock,
        started_at=started,
    )
    assert result.status == "success"
    (limits,) = tools.seen
    assert limits.seconds == 40  # max_duration_seconds less the 60 s already spent
    asked = len(cancel_requests)
    assert limits.cancelled() is False and len(cancel_requests) == asked + 1  # the loop's own check
    assert call_limits() == CallLimits()  # outside the call: no limits


def test_the_invocations_time_left_bounds_a_tool_call_too() -> None:
    tools = LimitsSeen()
    _run(
        _session(),
        Scripted([ToolCall(id="c1", name="lookup", arguments={"q": 1})], "done"),
        tools=tools,
        remaining_ms=Invocation(300_000),
        continue_margin_seconds=30,
    )
    # 300 s left in the invocation, less the reserve kept for the checkpoint and hand-off
    assert tools.seen[0].seconds == 300 - HANDOFF_RESERVE_SECONDS
