"""The agent loop: ask the model, run the tools it asks for, repeat until it answers or something stops it.

One *round* is one model call plus the tool calls it requested. The loop works on the session in place (the
assistant replies and tool results are appended, ``session.usage`` grows), so whatever happens the transcript
so far is kept, and it can start from ANY saved state of a session: a fresh one (system + task), one saved
mid-round (the model asked for tools, some results are missing: the missing calls run first) or one whose
last message is already the model's answer (it is returned without another call). That is what makes a
continuation, or a retry after a crash, resume where the checkpoint left off.

Contracts the executor relies on:

- ``checkpoint(session)`` runs after every model reply that asks for tools, after every round, and once at
  the end: a crash loses at most the round in progress. It may raise to stop the loop (e.g. lost ownership).
- ``cancel_requested()`` is asked before every model call and before every tool call: True -> ``cancelled``.
  A tool call runs under :class:`~agentcron.agent.base.CallLimits`: the time the run has left (the same budget
  as a model call's) and ``cancel_requested``, so a tool that waits (``http_fetch``) stops at either.
- ``limits.max_rounds`` bounds the model calls and ``limits.max_total_tokens`` the input + output tokens of
  the whole run (``session.usage``, so across continuations): exceeding either -> ``failed`` with a reason
  naming the limit. ``limits.max_duration_seconds`` counted from ``started_at`` -> ``timed_out``.
- ``remaining_ms()`` (the invocation's time left) below ``continue_margin_seconds`` before a model or tool
  call -> ``continue``: the caller hands the run to a new invocation, which calls the loop again on the
  saved session. A retryable provider error that ran out of invocation time also continues. With
  ``hand_off_without_progress`` False (a continuation's own invocation) the loop first makes one call, so a
  margin larger than a whole invocation cannot bounce a run from invocation to invocation forever.
- A :class:`ProviderError` otherwise ends the run ``failed`` with the provider's message; other exceptions
  propagate (the caller records them as ``failed`` too, see ``agentcron.execute``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from agentcron.agent.base import CallLimits, ModelRequest, ProviderError, limiting_calls
from agentcron.clock import utcnow
from agentcron.models import Message, TokenUsage

if TYPE_CHECKING:
    from agentcron.agent.base import Provider, ToolRunner
    from agentcron.models import ReasoningEffort, RunLimits, Session, ToolCall

AgentStatus = Literal["success", "failed", "cancelled", "timed_out", "continue"]

CANCEL_REASON = "cancel requested"
CONTINUE_REASON = "invocation time running out; continuing in a new invocation"
ROUNDS_KEY = "agent_rounds"  # session metadata: model calls made so far in this run
HANDOFF_RESERVE_SECONDS = 20.0  # invocation time kept free after a model call for the checkpoint and hand-off


@dataclass(frozen=True)
class AgentResult:
    """How one call of the loop ended: its status, why, the final answer and what it spent."""

    status: AgentStatus
    reason: str | None = None
    final_answer: str | None = None
    usage: TokenUsage = field(default_factory=TokenUsage)  # spent by this call of the loop
    rounds: int = 0  # model calls of the whole run


def pending_tool_calls(session: Session) -> list[ToolCall]:
    """Tool calls of the last assistant turn that have no result yet (a round interrupted mid-way)."""
    for index in range(len(session.messages) - 1, -1, -1):
        message = session.messages[index]
        if message.role == "assistant":
            answered = {m.tool_call_id for m in session.messages[index + 1 :] if m.role == "tool"}
            return [call for call in message.tool_calls if call.id not in answered]
        if message.role != "tool":
            return []
    return []


def _tool_result(tools: ToolRunner | None, call: ToolCall) -> str:
    """The text the model sees for one tool call; a failing or unknown tool is reported, not raised."""
    if tools is None or call.name not in {spec.name for spec in tools.specs()}:
        return f"error: tool {call.name!r} is not available in this run"
    try:
        return tools.run(call)
    except Exception as exc:  # noqa: BLE001 - the model gets the error and may recover
        return f"error: tool {call.name!r} failed: {exc}"


@dataclass
class _Loop:
    """One run of the loop: the session it extends and what bounds it."""

    session: Session
    provider: Provider
    model_id: str
    reasoning_effort: ReasoningEffort | None
    limits: RunLimits
    cancel_requested: Callable[[], bool]
    checkpoint: Callable[[Session], None]
    tools: ToolRunner | None
    max_tokens: int | None
    now: Callable[[], datetime]
    started_at: datetime | None
    remaining_ms: Callable[[], int] | None
    continue_margin_seconds: float
    hand_off_without_progress: bool = True
    usage: TokenUsage = field(default_factory=TokenUsage)
    progress: bool = False  # a model or tool call happened in this call of the loop

    @property
    def rounds(self) -> int:
        return int(self.session.metadata.get(ROUNDS_KEY, "0") or 0)

    def save(self) -> None:
        self.session.updated_at = self.now()
        self.checkpoint(self.session)

    def finish(
        self, status: AgentStatus, reason: str | None = None, answer: str | None = None
    ) -> AgentResult:
        self.save()
        return AgentResult(status, reason, answer, self.usage, self.rounds)

    def seconds_left(self) -> float | None:
        return None if self.remaining_ms is None else self.remaining_ms() / 1000

    def duration_left(self) -> float | None:
        if self.started_at is None:
            return None
        return self.limits.max_duration_seconds - (self.now() - self.started_at).total_seconds()

    def interruption(self) -> AgentResult | None:
        """Why the loop must stop before its next call (cancel, duration, invocation time), or None."""
        if self.cancel_requested():
            return self.finish("cancelled", CANCEL_REASON)
        duration_left = self.duration_left()
        if duration_left is not None and duration_left <= 0:
            limit = self.limits.max_duration_seconds
            return self.finish(
                "timed_out", f"run exceeded run_config.limits.max_duration_seconds ({limit} s)"
            )
        seconds_left = self.seconds_left()
        if seconds_left is not None and seconds_left < self.continue_margin_seconds:
            if self.progress or self.hand_off_without_progress:
                return self.finish("continue", CONTINUE_REASON)
        return None

    def run_tools(self, calls: list[ToolCall]) -> AgentResult | None:
        for call in calls:
            stop = self.interruption()
            if stop is not None:
                return stop
            self.progress = True
            with limiting_calls(CallLimits(seconds=self.call_budget(), cancelled=self.cancel_requested)):
                content = _tool_result(self.tools, call)
            self.session.messages.append(
                Message(
                    role="tool",
                    content=content,
                    tool_call_id=call.id,
                    created_at=self.now(),
                )
            )
        self.save()
        return None

    def call_budget(self) -> float | None:
        budgets = [b for b in (self.seconds_left(), self.duration_left()) if b is not None]
        if self.remaining_ms is not None and budgets:
            budgets[0] -= HANDOFF_RESERVE_SECONDS
        return max(1.0, min(budgets)) if budgets else None

    def run(self) -> AgentResult:
        specs = self.tools.specs() if self.tools is not None else []
        while True:
            pending = pending_tool_calls(self.session)
            if pending:
                stop = self.run_tools(pending)
                if stop is not None:
                    return stop
                continue
            last = self.session.messages[-1] if self.session.messages else None
            if last is not None and last.role == "assistant" and self.rounds:
                return self.finish("success", None, last.content)  # answered before a crash or hand-off
            stop = self.interruption()
            if stop is not None:
                return stop
            if self.rounds >= self.limits.max_rounds:
                limit = self.limits.max_rounds
                return self.finish(
                    "failed", f"no final answer after run_config.limits.max_rounds ({limit}) rounds"
                )
            request = ModelRequest(
                model_id=self.model_id,
                messages=list(self.session.messages),
                tools=specs,
                reasoning_effort=self.reasoning_effort,
                max_tokens=self.max_tokens,
                time_budget_seconds=self.call_budget(),
            )
            self.progress = True
            try:
                response = self.provider.complete(request)
            except ProviderError as exc:
                seconds_left = self.seconds_left()
                if exc.retryable and seconds_left is not None and seconds_left < self.continue_margin_seconds:
                    return self.finish("continue", f"model call interrupted ({exc}); {CONTINUE_REASON}")
                return self.finish("failed", f"model call failed: {exc}")
            self.usage = self.usage + response.usage
            self.session.usage = self.session.usage + response.usage
            self.session.metadata[ROUNDS_KEY] = str(self.rounds + 1)
            reply = response.message.model_copy(update={"role": "assistant", "created_at": self.now()})
            self.session.messages.append(reply)
            spent = self.session.usage.total_tokens
            if spent > self.limits.max_total_tokens:
                reason = (
                    f"token budget exceeded: {spent} tokens used, "
                    f"run_config.limits.max_total_tokens is {self.limits.max_total_tokens}"
                )
                return self.finish("failed", reason)
            if not reply.tool_calls:
                return self.finish("success", None, reply.content)
            self.save()  # the model's reply is kept even if the tools crash the invocation


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
    started_at: datetime | None = None,
    remaining_ms: Callable[[], int] | None = None,
    continue_margin_seconds: float = 180.0,
    hand_off_without_progress: bool = True,
) -> AgentResult:
    """Run ``session`` with ``provider`` until an answer, a limit, a cancel request, an error or a hand-off.

    ``now`` stamps the messages the loop appends and measures ``max_duration_seconds`` from ``started_at``
    (tests pass a hand-moved clock). Without ``remaining_ms`` the loop never hands off.
    """
    loop = _Loop(
        session=session,
        provider=provider,
        model_id=model_id,
        reasoning_effort=reasoning_effort,
        limits=limits,
        cancel_requested=cancel_requested,
        checkpoint=checkpoint,
        tools=tools,
        max_tokens=max_tokens,
        now=now,
        started_at=started_at,
        remaining_ms=remaining_ms,
        continue_margin_seconds=continue_margin_seconds,
        hand_off_without_progress=hand_off_without_progress,
    )
    return loop.run()
