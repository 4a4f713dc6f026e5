"""The OpenAI-compatible provider against a small Chat Completions server on 127.0.0.1 (a free port)."""

from __future__ import annotations

from datetime import UTC, datetime

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from moto import mock_aws

from agentcron.agent import ModelRequest, ProviderError, Providers, ToolSpec, run_agent
from agentcron.agent.base import UNPARSED_ARGUMENTS
from agentcron.agent.openai import OpenAIConfig, OpenAIProvider, chat_body
from agentcron.config import Settings

_NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
from agentcron.agent.retry import Backoff
from agentcron.agent.tools import ToolContext, build_tools
from agentcron.models import Message, ReasoningEffort, RunLimits, Session, ToolCall


class ChatServer:
    """Answers POST /v1/chat/completions from a script: (status, body[, headers]) tuples, or "hang"."""

    def __init__(self) -> None:
        self.script: list[Any] = []
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                server.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": json.loads(self.rfile.read(length)),
                    }
                )
                step = server.script.pop(0)
                if step == "hang":
                    server.release.wait(5)  # until the test ends; the client times out first
                    return
                status, body, *headers = step
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                for name, value in (headers[0] if headers else {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> ChatServer:
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[ChatServer]:
    with ChatServer() as chat:
        yield chat


def completion(
    content: str | None = "Hi!", *, tool_calls=None, finish="stop", usage=(11, 2)
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-test",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)},
    }


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _provider(
    server: ChatServer, *, key: str | None = "sk-test", timeout: float = 5.0, sleeps=None
) -> OpenAIProvider:
    return OpenAIProvider(
        server.base_url,
        key,
        timeout_seconds=timeout,
        backoff=Backoff(attempts=3, base_delay=1),
        sleep=sleeps if sleeps is not None else Sleeps(),
    )


def _request(**kwargs: Any) -> ModelRequest:
    messages = [Message(role="system", content="Be brief."), Message(role="user", content="Say hi")]
    return ModelRequest(model_id="gpt-test", messages=messages, **kwargs)


def test_a_plain_answer_with_the_bearer_key(server: ChatServer) -> None:
    server.script = [(200, completion("Hi!"))]
    response = _provider(server).complete(_request())
    assert response.message.content == "Hi!"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (11, 2)
    assert response.stop_reason == "end_turn"
    (seen,) = server.requests
    assert seen["path"] == "/v1/chat/completions"
    assert seen["headers"]["Authorization"] == "Bearer sk-test"
    assert seen["body"] == {
        "model": "gpt-test",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi"}],
    }


def test_without_a_key_no_authorization_header_is_sent(server: ChatServer) -> None:
    server.script = [(200, completion())]
    _provider(server, key=None).complete(_request())
    assert "Authorization" not in server.requests[0]["headers"]


def test_tool_calls_round_trip_through_the_loop(server: ChatServer) -> None:
    # GIVEN a model that asks for the clock in the Chat Completions tool_calls shape, then answers
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "current_time", "arguments": '{"timezone": "UTC"}'},
    }
    server.script = [
        (200, completion(None, tool_calls=[call], finish="tool_calls")),
        (200, completion("It is nine.", usage=(30, 4))),
    ]
    tools = build_tools(["current_time"], ToolContext(schedule_id="s", run_id="r"))
    session = Session(id="s", messages=_request().messages, created_at=_NOW, updated_at=_NOW)
    result = run_agent(
        session,
        _provider(server),
        "gpt-test",
        limits=RunLimits(),
        cancel_requested=lambda: False,
        checkpoint=lambda s: None,
        tools=tools,
    )
    assert result.status == "success"
    assert result.final_answer == "It is nine."
    assert (result.usage.input_tokens, result.usage.output_tokens) == (41, 6)
    # the first request offered the tool as a function with its JSON schema
    offered = server.requests[0]["body"]["tools"][0]
    assert offered["type"] == "function"
    assert offered["function"]["name"] == "current_time"
    assert offered["function"]["parameters"]["properties"]["timezone"]["anyOf"][0] == {"type": "string"}
    # the second request carried the assistant's tool call and the tool's answer
    messages = server.requests[1]["body"]["messages"]
    assert messages[2] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "current_time", "arguments": '{"timezone": "UTC"}'},
            }
        ],
    }
    assert messages[3]["role"] == "tool" and messages[3]["tool_call_id"] == "call_1"
    assert json.loads(messages[3]["content"])["timezone"] == "UTC"


def test_429_is_retried_after_the_servers_hint_then_succeeds(server: ChatServer) -> None:
    server.script = [
        (429, {"error": {"message": "Rate limit reached", "type": "rate_limit"}}, {"Retry-After": "3"}),
        (200, completion("ok")),
    ]
    sleeps = Sleeps()
    assert _provider(server, sleeps=sleeps).complete(_request()).message.content == "ok"
    assert sleeps == [3.0]
    assert len(server.requests) == 2


def test_500_is_retried_and_then_reported(server: ChatServer) -> None:
    server.script = [(500, {"error": {"message": "upstream exploded"}})] * 3
    sleeps = Sleeps()
    with pytest.raises(ProviderError) as info:
        _provider(server, sleeps=sleeps).complete(_request())
    assert str(info.value) == (
        "OpenAI-compatible endpoint returned HTTP 500: upstream exploded (gave up after 3 attempts)"
    )
    assert sleeps == [1, 2]


def test_a_client_error_is_not_retried(server: ChatServer) -> None:
    server.script = [(401, {"error": {"message": "Incorrect API key provided"}})]
    with pytest.raises(ProviderError) as info:
        _provider(server).complete(_request())
    assert str(info.value) == "OpenAI-compatible endpoint returned HTTP 401: Incorrect API key provided"
    assert info.value.retryable is False
    assert len(server.requests) == 1


def test_a_timeout_is_retried_and_reported(server: ChatServer) -> None:
    server.script = ["hang", "hang"]
    provider = OpenAIProvider(
        server.base_url, "k", timeout_seconds=0.2, backoff=Backoff(attempts=2), sleep=Sleeps()
    )
    with pytest.raises(ProviderError) as info:
        provider.complete(_request())
    assert str(info.value) == (
        "OpenAI-compatible endpoint did not answer within 0.2 s (gave up after 2 attempts)"
    )
    assert len(server.requests) == 2


def test_a_malformed_json_body_fails_clearly(server: ChatServer) -> None:
    server.script = [(200, b"<html>Bad gateway</html>")]
    with pytest.raises(ProviderError) as info:
        _provider(server).complete(_request())
    assert (
        str(info.value)
        == "OpenAI-compatible endpoint returned a body that is not JSON: '<html>Bad gateway</html>'"
    )
    assert info.value.retryable is False


def test_a_json_body_without_choices_fails_clearly(server: ChatServer) -> None:
    server.script = [(200, {"object": "error"})]
    with pytest.raises(ProviderError, match=r"no choices\[0\]\.message"):
        _provider(server).complete(_request())


def test_tool_arguments_that_are_not_json_are_kept_for_the_tool_to_report(server: ChatServer) -> None:
    call = {
        "id": "c",
        "type": "function",
        "function": {"name": "current_time", "arguments": "{timezone: UTC"},
    }
    server.script = [(200, completion(None, tool_calls=[call], finish="tool_calls"))]
    response = _provider(server).complete(_request())
    assert response.stop_reason == "tool_use"
    assert response.message.tool_calls == [
        ToolCall(id="c", name="current_time", arguments={UNPARSED_ARGUMENTS: "{timezone: UTC"})
    ]
    tools = build_tools(["current_time"], ToolContext(schedule_id="s", run_id="r"))
    assert tools.run(response.message.tool_calls[0]).startswith("error: the arguments are not a JSON object")


@pytest.mark.parametrize(
    ("effort", "sent"),
    [
        (None, None),
        ("none", None),
        ("low", "low"),
        ("medium", "medium"),
        ("high", "high"),
        ("xhigh", "high"),
        ("max", "high"),
    ],
)
def test_reasoning_effort_mapping(effort: str | None, sent: str | None) -> None:
    body = chat_body(_request(reasoning_effort=ReasoningEffort(effort) if effort else None, max_tokens=500))
    assert body.get("reasoning_effort") == sent
    assert body["max_completion_tokens"] == 500


def test_tools_are_offered_as_functions() -> None:
    spec = ToolSpec(name="lookup", description="d", input_schema={"type": "object", "properties": {}})
    assert chat_body(_request(tools=[spec]))["tools"] == [
        {
            "type": "function",
            "function": {"name": "lookup", "description": "d", "parameters": spec.input_schema},
        }
    ]


# --------------------------------------------------------------------------- configuration


def test_locally_the_sdk_environment_variables_configure_the_provider(
    server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.delenv("OPENAI_API_KEY_PARAMETER", raising=False)
    server.script = [(200, completion("via env"))]
    provider, model_id = Providers(Settings.from_env()).resolve("openai:gpt-test")
    assert model_id == "gpt-test"
    assert provider.complete(_request()).message.content == "via env"
    assert server.requests[0]["headers"]["Authorization"] == "Bearer sk-from-env"


def test_on_aws_the_key_comes_from_an_ssm_secure_string(aws_env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "must-not-be-used")
    with mock_aws():
        boto3.client("ssm").put_parameter(
            Name="/agentcron/openai-api-key", Value="sk-secret", Type="SecureString"
        )
        config = OpenAIConfig(
            base_url="https://example.invalid/v1", api_key_parameter="/agentcron/openai-api-key"
        )
        assert config.api_key() == "sk-secret"
        missing = OpenAIConfig(api_key_parameter="/agentcron/missing")
        with pytest.raises(
            ProviderError, match="cannot read the OpenAI API key from SSM parameter /agentcron/missing"
        ):
            missing.api_key()


def test_the_default_endpoint_is_openai(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY_PARAMETER", " /p ")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert OpenAIConfig.from_settings(Settings.from_env()) == OpenAIConfig(
        base_url="https://api.openai.com/v1", api_key_parameter="/p"
    )
