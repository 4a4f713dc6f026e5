"""The agent loop: ask the model, run the tools it asks for, repeat until it answers or a limit stops it.

One *round* is one model call plus the tool calls it requested. The loop mutates the session in place (the
assistant replies and tool results are appended, ``session.usage`` grows), so whatever happens the transcript
so far is kept. Contracts the executor relies on:

- ``cancel_requested()`` is asked before every model call; True ends the run ``cancelled``.
- ``checkpoint(session)`` is called after every round (and once more at the end); it persists the session, so
  a crash loses at most the round in progress.
- ``limits.max_rounds`` bounds the model calls; ``limits.max_total_tokens`` bounds input + output tokens over
  the run. Exceeding either ends the run ``failed`` with a reason naming the limit.
- A :class:`ProviderError` ends the run ``failed`` with the provider's message; other exceptions propagate
  (the caller records them as ``failed`` too, see ``agentcron.execute``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from agentcron.agent.base import ModelRequest, ProviderError
from agentcron.models import Message, TokenUsage, utcnow

if TYPE_CHECKING:
    from agentcron.agent.base import Provider, ToolRunner
    from agentcron.models import ReasoningEffort, RunLimits, Session, ToolCall

AgentStatus = Literal["success", "failed", "cancelled"]

CANCEL_REASON = "cancel requested"


@dataclass(frozen=True)
class AgentResult:
    status: AgentStatus
    reason: str | None = None
    final_answer: str | None = None
    usage: TokenUsage = field(default_factory=TokenUsage)
    rounds: int = 0


def _tool_result(tools: ToolRunner | None, call: ToolCall) -> str:
    """The text the model sees for one tool call; a failing or unknown tool is reported, not raised."""
    if tools is None or call.name not in {spec.name for spec in tools.specs()}:
        return f"error: tool {call.name!r} is not available in this run"
    try:
        return tools.run(call)
    except Exception as exc:  # noqa: BLE001 - the model gets the error and may recover
        return f"error: tool {call.name!r} failed: {exc}"


def run_agent(
    session: Session,
    provider: Provider,
    model_id: str,
    *,
    reasoning_effort: ReasoningEffort | None = None,
    limits: RunLimits,
    cancel_requested: Callable[[], bool],
    checkpoint: Callable[[Session], None],
    tools: ToolRunner | None = None,
    max_tokens: int | None = None,
    now: Callable[[], datetime] = utcnow,
) -> AgentResult:
    """Run ``session`` with ``provider`` until a final answer, a limit, a cancel request or a provider error.

    With no tools (or a model that asks for none) this is exactly one round. ``now`` stamps the messages the
    loop appends (tests pass a fixed clock).
    """
    usage = TokenUsage()
    specs = tools.specs() if tools is not None else []

    def finish(status: AgentStatus, reason: str | None, answer: str | None, rounds: int) -> AgentResult:
        session.updated_at = now()
        checkpoint(session)
        return AgentResult(status=status, reason=reason, final_answer=answer, usage=usage, rounds=rounds)

    for round_no in range(1, limits.max_rounds + 1):
        if cancel_requested():
            return finish("cancelled", CANCEL_REASON, None, round_no - 1)
        request = ModelRequest(
            model_id=model_id,
            messages=list(session.messages),
            tools=specs,
            reasoning_effort=reasoning_effort,
            max_tokens=max_tokens,
        )
        try:
            response = provider.complete(request)
        except ProviderError as exc:
            return finish("failed", f"model call failed: {exc}", None, round_no)
        usage = usage + response.usage
        session.usage = session.usage + response.usage
        reply = response.message.model_copy(update={"role": "assistant", "created_at": now()})
        session.messages.append(reply)
        if usage.total_tokens > limits.max_total_tokens:
            reason = (
                f"token budget exceeded: {usage.total_tokens} tokens used, "
                f"run_config.limits.max_total_tokens is {limits.max_total_tokens}"
            )
            return finish("failed", reason, None, round_no)
        if not reply.tool_calls:
            return finish("success", None, reply.content, round_no)
        for call in reply.tool_calls:
            session.messages.append(
                Message(
                    role="tool", content=_tool_result(tools, call), tool_call_id=call.id, created_at=now()
                )
            )
        session.updated_at = now()
        checkpoint(session)
    reason = f"no final answer after run_config.limits.max_rounds ({limits.max_rounds}) rounds"
    return finish("failed", reason, None, limits.max_rounds)
