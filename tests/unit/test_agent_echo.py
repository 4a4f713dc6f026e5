"""The offline echo provider: deterministic replies and word-count usage."""

from __future__ import annotations

from agentcron.agent import EchoProvider, ModelRequest, Provider
from agentcron.models import Message


def _request(*messages: Message) -> ModelRequest:
    return ModelRequest(model_id="echo", messages=list(messages))


def test_echo_replies_to_the_last_user_message_with_word_counts() -> None:
    # GIVEN a system prompt, an earlier exchange and a new task
    request = _request(
        Message(role="system", content="You are helpful."),
        Message(role="user", content="first task"),
        Message(role="assistant", content="echo: first task"),
        Message(role="user", content="summarise the news today"),
    )
    # WHEN the echo provider completes it
    response = EchoProvider().complete(request)
    # THEN it echoes the last user message and counts words
    assert response.message.role == "assistant"
    assert response.message.content == "echo: summarise the news today"
    assert response.message.tool_calls == []
    assert response.usage.input_tokens == 3 + 2 + 3 + 4
    assert response.usage.output_tokens == 5
    assert response.stop_reason == "end_turn"


def test_echo_is_deterministic() -> None:
    request = _request(Message(role="system", content="s"), Message(role="user", content="same input"))
    first, second = EchoProvider().complete(request), EchoProvider().complete(request)
    assert first.message.content == second.message.content
    assert first.usage == second.usage


def test_echo_without_a_user_message() -> None:
    response = EchoProvider().complete(_request(Message(role="system", content="only a prompt")))
    assert response.message.content == "echo: (no user message)"
    assert response.usage.input_tokens == 3


def test_echo_is_a_provider() -> None:
    assert isinstance(EchoProvider(), Provider)
