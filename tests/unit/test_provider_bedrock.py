"""The Bedrock provider against botocore's Stubber: requests are validated against the real service model."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from agentcron.agent import ModelRequest, ProviderError, ToolSpec, run_agent
from agentcron.agent.bedrock import BedrockProvider, converse_params, reasoning_fields
from agentcron.agent.retry import Backoff
from agentcron.agent.tools import ToolContext, build_tools
from agentcron.models import Message, ReasoningEffort, RunLimits, Session, ToolCall

NOVA = "amazon.nova-lite-v1:0"
CLAUDE = "us.anthropic.claude-sonnet-4-20250514-v1:0"
LOOKUP = ToolSpec(
    name="lookup",
    description="Look a word up",
    input_schema={"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]},
)


def _reply(
    *content: dict[str, Any], stop: str = "end_turn", tokens: tuple[int, int] = (12, 3)
) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": list(content)}},
        "stopReason": stop,
        "usage": {"inputTokens": tokens[0], "outputTokens": tokens[1], "totalTokens": sum(tokens)},
        "metrics": {"latencyMs": 42},
    }


@pytest.fixture
def bedrock(aws_env) -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _provider(client: Any, sleeps: Sleeps | None = None) -> BedrockProvider:
    return BedrockProvider(
        client, backoff=Backoff(attempts=3, base_delay=1), sleep=sleeps if sleeps is not None else Sleeps()
    )


def _messages(*texts: str) -> list[Message]:
    return [Message(role="system", content="Be brief."), *(Message(role="user", content=t) for t in texts)]


def test_a_plain_answer(bedrock) -> None:
    client, stubber = bedrock
    expected = {
        "modelId": NOVA,
        "messages": [{"role": "user", "content": [{"text": "Say hi"}]}],
        "system": [{"text": "Be brief."}],
    }
    stubber.add_response("converse", _reply({"text": "Hi!"}), expected)
    response = _provider(client).complete(ModelRequest(model_id=NOVA, messages=_messages("Say hi")))
    assert response.message.role == "assistant"
    assert response.message.content == "Hi!"
    assert response.message.tool_calls == []
    assert (response.usage.input_tokens, response.usage.output_tokens) == (12, 3)
    assert response.stop_reason == "end_turn"


def test_a_tool_use_round_trip_through_the_loop(bedrock) -> None:
    # GIVEN a model that asks for the clock, then answers with what the tool said
    client, stubber = bedrock
    now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    tools = build_tools(["current_time"], ToolContext(schedule_id="s", run_id="r", clock=lambda: now))
    (spec,) = tools.specs()
    tool_config = {
        "tools": [
            {
                "toolSpec": {
                    "name": "current_time",
                    "description": spec.description,
                    "inputSchema": {"json": spec.input_schema},
                }
            }
        ]
    }
    question = {"role": "user", "content": [{"text": "What time is it in Paris?"}]}
    use = {
        "toolUse": {"toolUseId": "tooluse_1", "name": "current_time", "input": {"timezone": "Europe/Paris"}}
    }
    first = {
        "modelId": NOVA,
        "messages": [question],
        "system": [{"text": "Be brief."}],
        "toolConfig": tool_config,
    }
    stubber.add_response("converse", _reply({"text": "Checking."}, use, stop="tool_use"), first)
    clock_text = (
        '{"utc":"2026-03-01T09:00:00Z","weekday_utc":"Sunday","timezone":"Europe/Paris",'
        '"local":"2026-03-01T10:00:00+01:00","weekday":"Sunday"}'
    )
    tool_result = {
        "toolResult": {"toolUseId": "tooluse_1", "content": [{"text": clock_text}], "status": "success"}
    }
    second = {
        **first,
        "messages": [
            question,
            {"role": "assistant", "content": [{"text": "Checking."}, use]},
            {"role": "user", "content": [tool_result]},
        ],
    }
    stubber.add_response("converse", _reply({"text": "It is 10:00 in Paris."}, tokens=(30, 8)), second)
    session = Session(id="s", messages=_messages("What time is it in Paris?"), created_at=now, updated_at=now)
    # WHEN the loop runs
    result = run_agent(
        session,
        _provider(client),
        NOVA,
        limits=RunLimits(),
        cancel_requested=lambda: False,
        checkpoint=lambda s: None,
        tools=tools,
    )
    # THEN the answer came after one tool round, with the usage of both calls
    assert result.status == "success"
    assert result.final_answer == "It is 10:00 in Paris."
    assert (result.usage.input_tokens, result.usage.output_tokens) == (42, 11)
    assert [m.role for m in session.messages] == ["system", "user", "assistant", "tool", "assistant"]
    assert session.messages[2].tool_calls == [
        ToolCall(id="tooluse_1", name="current_time", arguments={"timezone": "Europe/Paris"})
    ]
    assert session.messages[3].content == clock_text


def test_the_tool_result_request_is_valid_for_the_service_model(bedrock) -> None:
    client, stubber = bedrock
    messages = [
        *_messages("Look up 'cron'"),
        Message(role="assistant", tool_calls=[ToolCall(id="t1", name="lookup", arguments={"word": "cron"})]),
        Message(role="tool", tool_call_id="t1", content="error: no such word"),
        Message(role="user", content="Then guess."),
    ]
    request = ModelRequest(model_id=NOVA, messages=messages, tools=[LOOKUP])
    expected = converse_params(request)
    # tool result and the following user text share one user turn (Converse wants alternating roles)
    assert [m["role"] for m in expected["messages"]] == ["user", "assistant", "user"]
    assert expected["messages"][2]["content"][0]["toolResult"]["status"] == "error"
    assert expected["messages"][2]["content"][1] == {"text": "Then guess."}
    stubber.add_response("converse", _reply({"text": "A time-based job scheduler."}), expected)
    assert _provider(client).complete(request).message.content == "A time-based job scheduler."


def test_throttling_is_retried_with_backoff_then_succeeds(bedrock) -> None:
    client, stubber = bedrock
    for _ in range(2):
        stubber.add_client_error(
            "converse",
            service_error_code="ThrottlingException",
            service_message="Too many requests",
            http_status_code=429,
        )
    stubber.add_response("converse", _reply({"text": "finally"}))
    sleeps = Sleeps()
    response = _provider(client, sleeps).complete(ModelRequest(model_id=NOVA, messages=_messages("hi")))
    assert response.message.content == "finally"
    assert sleeps == [1, 2]


def test_throttling_that_never_ends_gives_a_clear_retryable_error(bedrock) -> None:
    client, stubber = bedrock
    for _ in range(3):
        stubber.add_client_error(
            "converse",
            service_error_code="ServiceUnavailableException",
            service_message="busy",
            http_status_code=503,
        )
    with pytest.raises(ProviderError) as info:
        _provider(client).complete(ModelRequest(model_id=NOVA, messages=_messages("hi")))
    assert str(info.value) == "Bedrock ServiceUnavailableException: busy (gave up after 3 attempts)"
    assert info.value.retryable


def test_a_validation_error_fails_at_once_with_the_service_message(bedrock) -> None:
    client, stubber = bedrock
    stubber.add_client_error(
        "converse",
        service_error_code="ValidationException",
        service_message="The provided model identifier is invalid.",
        http_status_code=400,
    )
    sleeps = Sleeps()
    with pytest.raises(ProviderError) as info:
        _provider(client, sleeps).complete(ModelRequest(model_id="nope", messages=_messages("hi")))
    assert str(info.value) == "Bedrock ValidationException: The provided model identifier is invalid."
    assert info.value.retryable is False
    assert sleeps == []


def test_claude_reasoning_sends_a_thinking_budget_and_replays_the_signed_thinking(bedrock) -> None:
    client, stubber = bedrock
    thinking = {"reasoningText": {"text": "Let me look it up.", "signature": "c2lnbmF0dXJl"}}
    use = {"toolUse": {"toolUseId": "t1", "name": "lookup", "input": {"word": "cron"}}}
    request = ModelRequest(
        model_id=CLAUDE,
        messages=_messages("Define cron"),
        tools=[LOOKUP],
        reasoning_effort=ReasoningEffort.medium,
    )
    expected = converse_params(request)
    assert expected["additionalModelRequestFields"] == {
        "thinking": {"type": "enabled", "budget_tokens": 4096}
    }
    assert expected["inferenceConfig"] == {"maxTokens": 4096 + 4096}
    stubber.add_response("converse", _reply({"reasoningContent": thinking}, use, stop="tool_use"), expected)
    response = _provider(client).complete(request)
    assert response.stop_reason == "tool_use"
    assert response.message.reasoning == [thinking]
    # the next round sends the thinking block back first in the assistant turn, as Claude requires
    follow_up = converse_params(
        ModelRequest(
            model_id=CLAUDE,
            messages=[
                *request.messages,
                response.message,
                Message(role="tool", tool_call_id="t1", content="a scheduler"),
            ],
            tools=[LOOKUP],
            reasoning_effort=ReasoningEffort.medium,
        )
    )
    assert follow_up["messages"][1]["content"] == [{"reasoningContent": thinking}, use]
    stubber.add_response("converse", _reply({"text": "A scheduler."}), follow_up)
    assert (
        _provider(client)
        .complete(
            ModelRequest(
                model_id=CLAUDE,
                messages=[
                    *request.messages,
                    response.message,
                    Message(role="tool", tool_call_id="t1", content="a scheduler"),
                ],
                tools=[LOOKUP],
                reasoning_effort=ReasoningEffort.medium,
            )
        )
        .message.content
        == "A scheduler."
    )


def test_redacted_thinking_survives_the_session_json_round_trip(bedrock) -> None:
    client, stubber = bedrock
    stubber.add_response(
        "converse", _reply({"reasoningContent": {"redactedContent": b"\x00\xffsecret"}}, {"text": "ok"})
    )
    response = _provider(client).complete(ModelRequest(model_id=CLAUDE, messages=_messages("hi")))
    stored = Message.model_validate_json(response.message.model_dump_json())
    params = converse_params(ModelRequest(model_id=CLAUDE, messages=[*_messages("hi"), stored]))
    assert params["messages"][1]["content"][0] == {"reasoningContent": {"redactedContent": b"\x00\xffsecret"}}


@pytest.mark.parametrize(
    ("model_id", "effort", "fields", "min_tokens"),
    [
        (CLAUDE, ReasoningEffort.none, {}, None),
        (CLAUDE, None, {}, None),
        (CLAUDE, ReasoningEffort.low, {"thinking": {"type": "enabled", "budget_tokens": 1024}}, 5120),
        (
            "anthropic.claude-3-7-sonnet-20250219-v1:0",
            ReasoningEffort.max,
            {"thinking": {"type": "enabled", "budget_tokens": 24576}},
            28672,
        ),
        ("anthropic.claude-3-5-sonnet-20240620-v1:0", ReasoningEffort.high, {}, None),  # no thinking there
        (
            "us.amazon.nova-2-lite-v1:0",
            ReasoningEffort.xhigh,
            {"reasoningConfig": {"type": "enabled", "maxReasoningEffort": "high"}},
            None,
        ),
        (
            "us.amazon.nova-2-lite-v1:0",
            ReasoningEffort.low,
            {"reasoningConfig": {"type": "enabled", "maxReasoningEffort": "low"}},
            None,
        ),
        (NOVA, ReasoningEffort.high, {}, None),
        ("meta.llama3-70b-instruct-v1:0", ReasoningEffort.medium, {}, None),
    ],
)
def test_reasoning_effort_mapping(model_id: str, effort, fields: dict, min_tokens: int | None) -> None:
    assert reasoning_fields(model_id, effort) == (fields, min_tokens)
