"""Run queue messages: what the claim, the API and users send to the executor."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

from agentcron.domain.runs import Run
from agentcron.domain.schedule import ScheduleSpec
from agentcron.domain.values import DomainModel


class RunMessage(DomainModel):
    """Execute a run the claim recorded as ``queued``.

    ``run`` (the record as queued) and ``schedule`` (the spec it was claimed under) let the executor start
    the run with one conditional write and no read; a run that moved on since (a retry, a cancel) is read
    instead. A message without them (written by hand, or by an older version) is read in full.
    """

    type: Literal["run"] = "run"
    schedule_id: str
    run_id: str
    run: Run | None = None
    schedule: ScheduleSpec | None = None


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


