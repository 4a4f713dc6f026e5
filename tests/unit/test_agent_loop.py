"""The agent loop: rounds, token budget, cancellation, checkpoints, tool calls and provider errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agentcron.agent import EchoProvider, ModelRequest, ModelResponse, ProviderError, ToolSpec, run_agent
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
    """A scripted provider that asks for one more tool call on every round, forever."""

    name = "scripted"

    def __init__(self, tokens_per_round: int = 10) -> None:
        self.requests: list[ModelRequest] = []
        self.tokens = tokens_per_round

    def complete(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        n = len(self.requests)
        call = ToolCall(id=f"call-{n}", name="lookup", arguments={"q": n})
        return ModelResponse(
            message=Message(role="assistant", content=f"thinking {n}", tool_calls=[call]),
            usage=TokenUsage(input_tokens=self.tokens, output_tokens=self.tokens),
            stop_reason="tool_use",
        )


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


def _run(
    session: Session,
    provider,
    *,
    limits: RunLimits | None = None,
    cancel=lambda: False,
    tools=None,
    checkpoint=None,
):
    return run_agent(
        session,
        provider,
        "m",
        limits=limits or RunLimits(),
        cancel_requested=cancel,
        checkpoint=checkpoint or Checkpoints(),
        tools=tools,
        now=lambda: NOW,
    )


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
    assert checkpoints.lengths == [3]


def test_max_rounds_stops_a_model_that_keeps_calling_tools() -> None:
    session, provider, tools, checkpoints = _session(), ToolHungry(), Tools(), Checkpoints()
    result = _run(session, provider, limits=RunLimits(max_rounds=3), tools=tools, checkpoint=checkpoints)
    assert result.status == "failed"
    assert "max_rounds (3)" in (result.reason or "")
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
    # a checkpoint after each round
    assert checkpoints.lengths[:3] == [4, 6, 8]
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
    assert "max_total_tokens is 100" in (result.reason or "")
    assert "120 tokens used" in (result.reason or "")
    assert result.rounds == 2
    assert session.messages[-1].role == "assistant"
    assert session.messages[-1].content == "thinking 2"


def test_cancel_before_the_first_call_makes_no_model_call() -> None:
    provider = ToolHungry()
    result = _run(_session(), provider, cancel=lambda: True, tools=Tools())
    assert result.status == "cancelled"
    assert result.reason == "cancel requested"
    assert provider.requests == []


def test_cancel_is_checked_before_each_model_call() -> None:
    provider, asked = ToolHungry(), []

    def cancel() -> bool:
        asked.append(len(provider.requests))
        return len(provider.requests) >= 2

    session = _session()
    result = _run(session, provider, cancel=cancel, tools=Tools())
    assert result.status == "cancelled"
    assert len(provider.requests) == 2
    assert asked == [0, 1, 2]
    assert result.usage.total_tokens == 40


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
