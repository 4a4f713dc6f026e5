"""Run queue messages: what the claim, the API and users send to the executor.

Every field is bounded here: a message that breaks a bound (an empty or malformed schedule id, a segment
beyond any run's reach, a task longer than the API accepts) is malformed, a permanent error the executor
dead-letters at once instead of retrying it (see the executor handler).
"""

from typing import Annotated, Literal, Union

from pydantic import Field

from agentcron.domain.runs import Run
from agentcron.domain.schedule import MAX_PROMPT, MAX_SHORT, Schedule, ScheduleSpec
from agentcron.domain.values import SCHEDULE_ID_PATTERN, DomainModel

MAX_RUN_ID = 512  # run ids derive from the schedule id, a slot or a request id: far below this
MAX_SEGMENT = 1_000_000  # a week-long run (the longest max_duration_seconds) in 60 s invocations needs ~10,000

ScheduleId = Annotated[str, Field(pattern=SCHEDULE_ID_PATTERN.pattern)]
RunId = Annotated[str, Field(min_length=1, max_length=MAX_RUN_ID)]


class RunMessage(DomainModel):
    """Execute a run the claim recorded as ``queued``.

    ``run`` (the record as queued) and ``schedule`` (the spec it was claimed under) let the executor start
    the run with one conditional write and no read; a run that moved on since (a retry, a cancel) is read
    instead. A message without them (written by hand, or by an older version) is read in full.
    """

    type: Literal["run"] = "run"
    schedule_id: ScheduleId
    run_id: RunId
    run: Run | None = None
    schedule: ScheduleSpec | None = None


class RunNowMessage(DomainModel):
    """Start a run of a schedule at once (sent by users straight to the queue, or by the API)."""

    type: Literal["run_now"] = "run_now"
    schedule_id: ScheduleId
    task_message: str | None = Field(default=None, max_length=MAX_PROMPT)
    request_id: str | None = Field(default=None, max_length=MAX_SHORT)  # a retried request: one run, not two


class ContinueMessage(DomainModel):
    """Resume a long run from its checkpoint in a fresh invocation."""

    type: Literal["continue"] = "continue"
    schedule_id: ScheduleId
    run_id: RunId
    segment: int = Field(ge=1, le=MAX_SEGMENT)


QueueMessage = Annotated[Union[RunMessage, RunNowMessage, ContinueMessage], Field(discriminator="type")]


def run_message(schedule: Schedule | None, run: Run) -> RunMessage:
    """The message of a recorded run: the run itself and, when known, its schedule's spec."""
    return RunMessage(
        schedule_id=run.schedule_id,
        run_id=run.run_id,
        run=run,
        schedule=schedule.spec if schedule is not None else None,
    )
