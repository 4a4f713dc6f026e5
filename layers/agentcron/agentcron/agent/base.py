"""The provider interface every model backend implements, and the tool interface the agent loop calls.

A provider turns a :class:`ModelRequest` (the whole transcript so far, the tools on offer) into one
:class:`ModelResponse` (one assistant message, which may ask for tool calls, and the tokens it cost). It keeps
no conversation state: the session is the state, so a run can be checkpointed and resumed anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from agentcron.exceptions import AgentcronError

if TYPE_CHECKING:
    from agentcron.models import Message, ReasoningEffort, TokenUsage, ToolCall


class ProviderError(AgentcronError):
    """A model call failed; ``retryable``: the same request may succeed later (throttling, 5xx)."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class ToolSpec:
    """A tool offered to the model: its name, what it does, and a JSON schema of its arguments."""

    name: str
    description: str
    input_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass(frozen=True)
class ModelRequest:
    """One model call. ``time_budget_seconds``: the wall time the call may take in all (retries included);
    a provider starts no retry it cannot finish within it. None: only the provider's own timeouts apply."""

    model_id: str
    messages: list[Message]
    tools: list[ToolSpec] = field(default_factory=list)
    reasoning_effort: ReasoningEffort | None = None
    max_tokens: int | None = None
    time_budget_seconds: float | None = None


def _never() -> bool:
    return False


@dataclass(frozen=True)
class CallLimits:
    """What bounds the tool call in progress: ``seconds`` it may take at most (the run's time left under
    ``max_duration_seconds`` and the invocation's, as for a model call; None: only the tool's own limits)
    and ``cancelled()``, True once the run's cancel is requested. A tool that waits honours both."""

    seconds: float | None = None
    cancelled: Callable[[], bool] = _never


# Set by the agent loop around each tool call; a context variable, so the ToolRunner interface (and every
# scripted tool box of the tests) stays ``run(call)``. Outside a loop: no limits.
_NO_LIMITS = CallLimits()
_CALL_LIMITS: ContextVar[CallLimits | None] = ContextVar("agentcron_call_limits", default=None)


def call_limits() -> CallLimits:
    """The limits of the tool call in progress (none outside the agent loop)."""
    return _CALL_LIMITS.get() or _NO_LIMITS


@contextmanager
def limiting_calls(limits: CallLimits) -> Iterator[CallLimits]:
    """Run the tool calls inside the ``with`` under ``limits``."""
    token = _CALL_LIMITS.set(limits)
    try:
        yield limits
    finally:
        _CALL_LIMITS.reset(token)


# The key of ``ToolCall.arguments`` under which a provider keeps arguments the model sent that were not a JSON
# object; the tool box reports them back to the model instead of running the tool.
UNPARSED_ARGUMENTS = "_unparsed_arguments"

# Why a model stopped: a final answer, a request to run tools, or the output cap.
STOP_END_TURN = "end_turn"
STOP_TOOL_USE = "tool_use"
STOP_MAX_TOKENS = "max_tokens"


@dataclass(frozen=True)
class ModelResponse:
    """One model call's answer: the assistant message, what it cost, and why it stopped."""

    message: Message  # role "assistant"; ``tool_calls`` non-empty when the model wants tools run
    usage: TokenUsage
    stop_reason: str = STOP_END_TURN


@runtime_checkable
class Provider(Protocol):
    """A model backend. ``complete`` raises :class:`ProviderError` for failures the caller should report."""

    name: str

    def complete(self, request: ModelRequest) -> ModelResponse: ...


@runtime_checkable
class ToolRunner(Protocol):
    """The tools a run may use: their specs for the model, and the execution of one call (its text result)."""

    def specs(self) -> list[ToolSpec]: ...

    def run(self, call: ToolCall) -> str: ...
