"""Sessions: an agent conversation (the transcript of a run)."""

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from agentcron.domain.runs import TokenUsage
from agentcron.domain.values import DomainModel, new_list

class ToolCall(DomainModel):
    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class Message(DomainModel):
    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=new_list)
    tool_call_id: str | None = None
    # Opaque reasoning blocks of an assistant turn (e.g. Bedrock ``reasoningContent`` and its signature), kept
    # so the provider that produced them gets them back next round, as tool use with reasoning requires.
    reasoning: list[dict[str, Any]] = Field(default_factory=new_list)
    created_at: datetime | None = None


class Session(DomainModel):
    """An agent conversation; stored in S3 as JSON (no 400 KB item limit)."""

    id: str
    title: str = ""
    model: str = ""
    messages: list[Message] = Field(default_factory=new_list)
    metadata: dict[str, str] = Field(default_factory=dict)
    usage: TokenUsage = Field(default_factory=TokenUsage)
    created_at: datetime
    updated_at: datetime


