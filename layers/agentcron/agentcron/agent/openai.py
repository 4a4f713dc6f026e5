"""The ``openai:<model>`` provider: any OpenAI-compatible Chat Completions endpoint, over stdlib HTTP.

Configuration (:meth:`OpenAIConfig.from_settings`):

- ``OPENAI_BASE_URL``: the endpoint's base URL (``/chat/completions`` is appended); default
  ``https://api.openai.com/v1``. The template sets it from the ``OpenAIBaseUrl`` parameter.
- the API key: on AWS from the SSM SecureString parameter named by ``OPENAI_API_KEY_PARAMETER`` (template
  parameter ``OpenAIApiKeyParameter``), read at the first call through Powertools parameters and cached for
  five minutes; it never sits in an environment variable of the template. Without a parameter name (locally,
  in tests) ``OPENAI_API_KEY`` is read from the environment: the names the official SDK reads, so any
  compatible server works by exporting two variables. No key at all: no ``Authorization`` header (local
  servers often need none).

``reasoning_effort`` maps to the ``reasoning_effort`` request field: low, medium and high as they are; xhigh
and max become ``high`` (the highest level every reasoning model accepts); none (and unset) leaves the field
out, so models without reasoning never see it.

Errors: 429, 408 and 5xx, time-outs and connection failures are retried with backoff (a ``Retry-After``
header is honoured, capped); other statuses fail at once with the server's error message; a body that is not
the Chat Completions JSON fails with a message saying so. ``timeout_seconds`` bounds each attempt as a whole
(connect, send, and reading the response).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentcron.agent.base import (
    STOP_END_TURN,
    STOP_MAX_TOKENS,
    STOP_TOOL_USE,
    UNPARSED_ARGUMENTS,
    ModelRequest,
    ModelResponse,
    ProviderError,
)
from agentcron.agent.retry import Backoff, RetryableProviderError, call_with_retries
from agentcron.models import Message, ReasoningEffort, TokenUsage, ToolCall

if TYPE_CHECKING:
    from agentcron.config import Settings

DEFAULT_BASE_URL = "https://api.openai.com/v1"
KEY_CACHE_SECONDS = 300
RETRYABLE_STATUSES = frozenset({408, 409, 429})
REASONING_EFFORT = {
    ReasoningEffort.low: "low",
    ReasoningEffort.medium: "medium",
    ReasoningEffort.high: "high",
    ReasoningEffort.xhigh: "high",
    ReasoningEffort.max: "high",
}
_STOP_REASONS = {"tool_calls": STOP_TOOL_USE, "function_call": STOP_TOOL_USE, "length": STOP_MAX_TOKENS}
_READ_CHUNK = 64 * 1024


@dataclass(frozen=True)
class OpenAIConfig:
    base_url: str = DEFAULT_BASE_URL
    api_key_parameter: str = ""  # SSM SecureString name; empty: ``plain_api_key``
    plain_api_key: str = ""  # local use only (OPENAI_API_KEY); deployed stacks use the SSM parameter

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIConfig:
        return cls(
            base_url=settings.openai_base_url.strip() or DEFAULT_BASE_URL,
            api_key_parameter=settings.openai_api_key_parameter.strip(),
            plain_api_key=settings.openai_api_key.strip(),
        )

    def api_key(self) -> str | None:
        """The API key (see the module docstring); ProviderError when the SSM parameter cannot be read."""
        if not self.api_key_parameter:
            return self.plain_api_key or None
        from aws_lambda_powertools.utilities import parameters

        try:
            value = parameters.get_parameter(self.api_key_parameter, decrypt=True, max_age=KEY_CACHE_SECONDS)
        except Exception as exc:  # noqa: BLE001 - any failure to read the key fails the run with its reason
            raise ProviderError(
                f"cannot read the OpenAI API key from SSM parameter {self.api_key_parameter}: {exc}"
            ) from None
        return str(value).strip() or None


# --------------------------------------------------------------------------- request and response


def _message(message: Message) -> dict[str, Any]:
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id or "", "content": message.content}
    if message.role == "assistant" and message.tool_calls:
        return {
            "role": "assistant",
            "content": message.content or None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                }
                for call in message.tool_calls
            ],
        }
    return {"role": message.role, "content": message.content}


def chat_body(request: ModelRequest) -> dict[str, Any]:
    """The Chat Completions request body for ``request``."""
    body: dict[str, Any] = {"model": request.model_id, "messages": [_message(m) for m in request.messages]}
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": spec.name,
                    "description": spec.description,
                    "parameters": spec.input_schema,
                },
            }
            for spec in request.tools
        ]
    effort = REASONING_EFFORT.get(request.reasoning_effort) if request.reasoning_effort else None
    if effort:
        body["reasoning_effort"] = effort
    if request.max_tokens:
        body["max_completion_tokens"] = request.max_tokens
    return body


def _arguments(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        parsed = json.loads(raw or "{}")
    except (TypeError, ValueError):
        return {UNPARSED_ARGUMENTS: str(raw)}
    return parsed if isinstance(parsed, dict) else {UNPARSED_ARGUMENTS: str(raw)}


def parse_chat(data: Any) -> ModelResponse:
    """A Chat Completions response as the assistant message, its usage and why it stopped."""
    try:
        choice = data["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError):
        raise ProviderError("OpenAI-compatible endpoint returned no choices[0].message") from None
    calls = [
        ToolCall(
            id=str(call.get("id") or f"call_{i}"),
            name=str((call.get("function") or {}).get("name") or ""),
            arguments=_arguments((call.get("function") or {}).get("arguments")),
        )
        for i, call in enumerate(message.get("tool_calls") or [])
    ]
    usage = data.get("usage") or {}
    return ModelResponse(
        message=Message(role="assistant", content=message.get("content") or "", tool_calls=calls),
        usage=TokenUsage(
            input_tokens=int(usage.get("prompt_tokens") or 0),
            output_tokens=int(usage.get("completion_tokens") or 0),
        ),
        stop_reason=_STOP_REASONS.get(choice.get("finish_reason") or "", STOP_END_TURN),
    )


def _error_text(status: int, body: bytes) -> str:
    try:
        error = json.loads(body).get("error")
        detail = error.get("message") if isinstance(error, dict) else error
    except (ValueError, AttributeError):
        detail = None
    detail = detail or body.decode("utf-8", "replace").strip()[:300] or "(no body)"
    return f"OpenAI-compatible endpoint returned HTTP {status}: {detail}"


def _retry_after(headers: Any) -> float | None:
    try:
        return float(headers.get("Retry-After")) if headers and headers.get("Retry-After") else None
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- provider


class OpenAIProvider:
    """Chat Completions over HTTP(S). ``api_key``: the key, or a callable returning it (read lazily, once)."""

    name = "openai"

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | Callable[[], str | None] | None = None,
        *,
        timeout_seconds: float = 120.0,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self._api_key = api_key
        self.timeout_seconds = timeout_seconds
        self.backoff = backoff or Backoff()
        self.sleep, self.clock = sleep, clock

    def _key(self) -> str | None:
        if callable(self._api_key):
            self._api_key = self._api_key()
        return self._api_key

    def complete(self, request: ModelRequest) -> ModelResponse:
        payload = json.dumps(chat_body(request)).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "agentcron",
        }
        key = self._key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        http_request = urllib.request.Request(self.url, data=payload, headers=headers, method="POST")

        def attempt() -> ModelResponse:
            return parse_chat(self._post(http_request))

        return call_with_retries(
            attempt,
            backoff=self.backoff,
            sleep=self.sleep,
            clock=self.clock,
            budget_seconds=request.time_budget_seconds,
            attempt_seconds=self.timeout_seconds,
        )

    def _post(self, http_request: urllib.request.Request) -> Any:
        deadline = self.clock() + self.timeout_seconds
        timed_out = RetryableProviderError(
            f"OpenAI-compatible endpoint did not answer within {self.timeout_seconds:g} s"
        )
        try:
            with urllib.request.urlopen(http_request, timeout=self.timeout_seconds) as response:  # noqa: S310
                body = self._read(response, deadline, timed_out)
        except urllib.error.HTTPError as exc:
            status, error_body = exc.code, exc.read()
            text = _error_text(status, error_body)
            if status in RETRYABLE_STATUSES or status >= 500:
                raise RetryableProviderError(text, retry_after=_retry_after(exc.headers)) from None
            raise ProviderError(text) from None
        except TimeoutError:
            raise timed_out from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise timed_out from None
            raise RetryableProviderError(f"OpenAI-compatible endpoint is unreachable: {exc.reason}") from None
        except (ConnectionError, OSError) as exc:
            raise RetryableProviderError(f"OpenAI-compatible endpoint connection failed: {exc}") from None
        try:
            return json.loads(body)
        except ValueError:
            snippet = body[:120].decode("utf-8", "replace")
            raise ProviderError(
                f"OpenAI-compatible endpoint returned a body that is not JSON: {snippet!r}"
            ) from None

    def _read(self, response: Any, deadline: float, timed_out: ProviderError) -> bytes:
        """The whole body, unless the attempt's deadline passes first (a server trickling bytes)."""
        chunks: list[bytes] = []
        while True:
            if self.clock() > deadline:
                raise timed_out
            read = getattr(response, "read1", None) or response.read
            chunk = read(_READ_CHUNK)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def openai_provider(config: OpenAIConfig, *, timeout_seconds: float) -> OpenAIProvider:
    return OpenAIProvider(config.base_url, config.api_key, timeout_seconds=timeout_seconds)
