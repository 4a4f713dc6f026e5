"""Run queue messages: what the claim, the API and users send to the executor."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

from agentcron.domain.values import DomainModel

class RunMessage(DomainModel):
    """Execute a run the claim recorded as ``queued``."""

    type: Literal["run"] = "run"
    schedule_id: str
    run_id: str


class RunNowMessage(DomainModel):
    """Start a run of a schedule at once (sent by users straight to the queue, or by the API)."""

    type: Literal["run_now"] = "run_now"
    schedule_id: str
    task_message: str | None = None
    request_id: str | None = None  # makes a retried request create one run, not two


class ContinueMessage(DomainModel):
    """Resume a long run from its checkpoint in a fresh invocation."""

    type: Literal["continue"] = "continue"
    schedule_id: str
    run_id: str
    segment: int


QueueMessage = Annotated[Union[RunMessage, RunNowMessage, ContinueMessage], Field(discriminator="type")]


