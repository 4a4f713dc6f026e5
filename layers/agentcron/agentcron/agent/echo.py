"""The offline ``echo`` provider: deterministic replies with no network, the local default model.

It is a real provider behind the same interface as the hosted ones, so the whole pipeline (claim, queue,
executor, session, usage accounting) runs end to end without credentials. Token usage is counted in words:
input = words of every message in the request, output = words of the reply.
"""

from __future__ import annotations

from agentcron.agent.base import STOP_END_TURN, ModelRequest, ModelResponse
from agentcron.models import Message, TokenUsage


def count_words(text: str) -> int:
    return len(text.split())


class EchoProvider:
    name = "echo"

    def complete(self, request: ModelRequest) -> ModelResponse:
        """Reply ``echo: <last user message>`` (or a fixed text when there is no user message)."""
        task = next((m.content for m in reversed(request.messages) if m.role == "user"), None)
        reply = f"echo: {task}" if task is not None else "echo: (no user message)"
        usage = TokenUsage(
            input_tokens=sum(count_words(m.content) for m in request.messages),
            output_tokens=count_words(reply),
        )
        return ModelResponse(
            message=Message(role="assistant", content=reply), usage=usage, stop_reason=STOP_END_TURN
        )
