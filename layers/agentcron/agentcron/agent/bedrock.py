"""The ``bedrock:<model-id>`` provider: Amazon Bedrock's Converse API through boto3 ``bedrock-runtime``.

IAM authenticates the calls (the executor role may invoke the foundation models and inference profiles of its
region), so there is no key to manage. ``<model-id>`` is a model id or an inference profile id as Bedrock
takes it (``amazon.nova-lite-v1:0``, ``us.anthropic.claude-sonnet-4-20250514-v1:0``).

Transcript mapping: system messages become ``system`` blocks; user text, assistant text and ``toolUse``
blocks, and tool results (``toolResult`` blocks in a user turn) become ``messages``, consecutive turns of one
role merged (Converse wants user and assistant to alternate). Tools are offered through ``toolConfig``.

``reasoning_effort`` (absent or ``none``: no extended reasoning) maps per model family:

=================  ===============================================================================
Claude 3.7 / 4.x   ``additionalModelRequestFields.thinking`` with ``budget_tokens`` low 1024,
                   medium 4096, high 8192, xhigh 16384, max 24576; ``maxTokens`` is raised to the
                   budget + 4096 so the answer keeps room. Reasoning blocks are kept on the message
                   and sent back on the next round (tool use with thinking requires it).
Nova 2             ``additionalModelRequestFields.reasoningConfig`` ``{type: enabled,
                   maxReasoningEffort}``: low, medium, high; xhigh and max become high.
other models       omitted: they have no reasoning switch, and Bedrock rejects unknown fields.
=================  ===============================================================================

Errors: throttling, 5xx, model timeouts and read timeouts are retried with backoff
(:mod:`agentcron.agent.retry`); validation, access and not-found errors fail at once, the message naming the
Bedrock error code.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from agentcron.agent.base import (
    STOP_END_TURN,
    STOP_MAX_TOKENS,
    STOP_TOOL_USE,
    ModelRequest,
    ModelResponse,
    ProviderError,
)
from agentcron.agent.retry import Backoff, RetryableProviderError, call_with_retries
from agentcron.models import Message, ReasoningEffort, TokenUsage, ToolCall

CLAUDE_THINKING_BUDGET = {
    ReasoningEffort.low: 1024,
    ReasoningEffort.medium: 4096,
    ReasoningEffort.high: 8192,
    ReasoningEffort.xhigh: 16384,
    ReasoningEffort.max: 24576,
}
ANSWER_TOKENS = 4096  # room for the visible answer on top of a thinking budget
NOVA_EFFORT = {
    ReasoningEffort.low: "low",
    ReasoningEffort.medium: "medium",
    ReasoningEffort.high: "high",
    ReasoningEffort.xhigh: "high",
    ReasoningEffort.max: "high",
}
_CLAUDE_THINKING = re.compile(r"anthropic\.claude-(3-7-|(sonnet|opus|haiku)-\d)")
_NOVA_2 = re.compile(r"amazon\.nova-2-")

RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "ServiceUnavailableException",
        "InternalServerException",
        "ModelTimeoutException",
        "ModelNotReadyException",
        "TooManyRequestsException",
    }
)
_STOP_REASONS = {"tool_use": STOP_TOOL_USE, "max_tokens": STOP_MAX_TOKENS}


# --------------------------------------------------------------------------- request


def reasoning_fields(model_id: str, effort: ReasoningEffort | None) -> tuple[dict[str, Any], int | None]:
    """``(additionalModelRequestFields, minimum maxTokens)`` for ``effort`` on ``model_id`` (the table)."""
    if effort is None or effort == ReasoningEffort.none:
        return {}, None
    if _CLAUDE_THINKING.search(model_id):
        budget = CLAUDE_THINKING_BUDGET[effort]
        return {"thinking": {"type": "enabled", "budget_tokens": budget}}, budget + ANSWER_TOKENS
    if _NOVA_2.search(model_id):
        return {"reasoningConfig": {"type": "enabled", "maxReasoningEffort": NOVA_EFFORT[effort]}}, None
    return {}, None


def _reasoning_block(block: dict[str, Any]) -> dict[str, Any]:
    """A stored reasoning block back into Converse shape (redacted content is stored base64-encoded)."""
    if "redactedContentBase64" in block:
        return {"reasoningContent": {"redactedContent": base64.b64decode(block["redactedContentBase64"])}}
    return {"reasoningContent": block}


def _blocks(message: Message) -> tuple[str, list[dict[str, Any]]]:
    """The Converse role and content blocks of one transcript message (system messages are handled apart)."""
    if message.role == "tool":
        status = "error" if message.content.startswith("error:") else "success"
        result = {
            "toolUseId": message.tool_call_id or "",
            "content": [{"text": message.content or "(empty)"}],
        }
        return "user", [{"toolResult": {**result, "status": status}}]
    if message.role == "assistant":
        blocks = [_reasoning_block(block) for block in message.reasoning]
        if message.content.strip():
            blocks.append({"text": message.content})
        blocks += [
            {"toolUse": {"toolUseId": call.id, "name": call.name, "input": call.arguments}}
            for call in message.tool_calls
        ]
        return "assistant", blocks
    return "user", [{"text": message.content}] if message.content.strip() else []


def converse_params(request: ModelRequest) -> dict[str, Any]:
    """The keyword arguments of ``bedrock-runtime.converse`` for ``request``."""
    system = [{"text": m.content} for m in request.messages if m.role == "system" and m.content.strip()]
    messages: list[dict[str, Any]] = []
    for message in request.messages:
        if message.role == "system":
            continue
        role, blocks = _blocks(message)
        if not blocks:
            continue
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": blocks})
    params: dict[str, Any] = {"modelId": request.model_id, "messages": messages}
    if system:
        params["system"] = system
    if request.tools:
        params["toolConfig"] = {
            "tools": [
                {
                    "toolSpec": {
                        "name": spec.name,
                        "description": spec.description,
                        "inputSchema": {"json": spec.input_schema},
                    }
                }
                for spec in request.tools
            ]
        }
    fields, min_tokens = reasoning_fields(request.model_id, request.reasoning_effort)
    max_tokens = max(filter(None, (request.max_tokens, min_tokens)), default=None)
    if max_tokens:
        params["inferenceConfig"] = {"maxTokens": max_tokens}
    if fields:
        params["additionalModelRequestFields"] = fields
    return params


# --------------------------------------------------------------------------- response


def parse_converse(response: dict[str, Any]) -> ModelResponse:
    """A Converse response as the assistant message, its usage and why it stopped."""
    content = ((response.get("output") or {}).get("message") or {}).get("content") or []
    texts: list[str] = []
    calls: list[ToolCall] = []
    reasoning: list[dict[str, Any]] = []
    for block in content:
        if "text" in block:
            texts.append(block["text"])
        elif "toolUse" in block:
            use = block["toolUse"]
            calls.append(ToolCall(id=use["toolUseId"], name=use["name"], arguments=use.get("input") or {}))
        elif "reasoningContent" in block:
            part = block["reasoningContent"]
            if "redactedContent" in part:
                reasoning.append(
                    {"redactedContentBase64": base64.b64encode(part["redactedContent"]).decode()}
                )
            else:
                reasoning.append(part)
    usage = response.get("usage") or {}
    return ModelResponse(
        message=Message(role="assistant", content="".join(texts), tool_calls=calls, reasoning=reasoning),
        usage=TokenUsage(
            input_tokens=int(usage.get("inputTokens", 0)), output_tokens=int(usage.get("outputTokens", 0))
        ),
        stop_reason=_STOP_REASONS.get(response.get("stopReason", ""), STOP_END_TURN),
    )


# --------------------------------------------------------------------------- provider


def _client_error(exc: ClientError) -> ProviderError:
    error = exc.response.get("Error", {})
    code = error.get("Code", "")
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    text = f"Bedrock {code or 'error'}: {error.get('Message') or exc}"
    if code in RETRYABLE_CODES or status == 429 or status >= 500:
        return RetryableProviderError(text)
    return ProviderError(text)


class BedrockProvider:
    """Converse calls on a ``bedrock-runtime`` client (one without botocore retries: they happen here)."""

    name = "bedrock"

    def __init__(
        self,
        client: Any,
        *,
        timeout_seconds: float = 120.0,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.timeout_seconds = timeout_seconds
        self.backoff = backoff or Backoff()
        self.sleep, self.clock = sleep, clock

    def complete(self, request: ModelRequest) -> ModelResponse:
        params = converse_params(request)

        def attempt() -> ModelResponse:
            try:
                return parse_converse(self.client.converse(**params))
            except ClientError as exc:
                raise _client_error(exc) from None
            except (ReadTimeoutError, ConnectTimeoutError):
                raise RetryableProviderError(
                    f"Bedrock did not answer within {self.timeout_seconds:g} s"
                ) from None
            except EndpointConnectionError as exc:
                raise RetryableProviderError(f"Bedrock is unreachable: {exc}") from None
            except BotoCoreError as exc:
                raise ProviderError(f"Bedrock call failed: {exc}") from None

        return call_with_retries(
            attempt,
            backoff=self.backoff,
            sleep=self.sleep,
            clock=self.clock,
            budget_seconds=request.time_budget_seconds,
            attempt_seconds=self.timeout_seconds,
        )


def bedrock_client(timeout_seconds: float) -> Any:
    """A ``bedrock-runtime`` client whose read timeout is the per-call timeout, with no retries of its own."""
    import boto3
    from botocore.config import Config

    config = Config(
        read_timeout=timeout_seconds,
        connect_timeout=min(10.0, timeout_seconds),
        retries={"total_max_attempts": 1},
    )
    return boto3.client("bedrock-runtime", config=config)
