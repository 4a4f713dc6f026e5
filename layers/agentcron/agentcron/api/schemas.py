"""Request and response bodies of the HTTP API (the OpenAPI document is generated from these).

Schedules, runs and sessions are the domain models themselves (``ScheduleSpec`` in, ``Schedule`` + version
out, ``Run``, ``Session``); the rest are the small envelopes the routes add around them. Shapes follow the
seed system where it has one: run now -> ``{schedule_id, run_id, enqueued_at}``, runs ->
``{schedule_id, runs}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agentcron.domain.values import check_instant
from agentcron.application.schedules import MAX_LISTED_FIRES
from agentcron.models import OverlapPolicy, Run, Schedule

MAX_UPCOMING = MAX_LISTED_FIRES


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --------------------------------------------------------------------------- schedules


class ScheduleView(Schedule):
    """A stored schedule: its spec, its ``state`` and its ``version`` (the ETag; absent in lists)."""

    id: str
    created_at: datetime
    updated_at: datetime
    version: int | None = None


class ScheduleList(_Body):
    schedules: list[ScheduleView]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null at the end."
    )


class PauseRequest(_Body):
    note: str | None = Field(
        default=None, max_length=1000, description="Why it is paused (kept as pause_note)."
    )


class FireTimes(_Body):
    """The next fire instants (UTC) of a schedule, or of an unsaved spec for a preview."""

    schedule_id: str | None = None
    timezone: str
    enabled: bool
    fire_times: list[datetime]


# --------------------------------------------------------------------------- runs


class RunNowRequest(_Body):
    """Start a run at once, whatever ``enabled`` says.

    ``overlap_policy`` overrides the schedule's for this run only: ``allow`` lets it run beside active runs,
    ``skip`` refuses it (409) while a run is queued or running, ``cancel_other`` asks the active runs to
    cancel; any other value queues it behind them.
    """

    task_message: str | None = Field(
        default=None, description="Replaces run_config.task_message for this run."
    )
    overlap_policy: OverlapPolicy | None = None


class RunNowResponse(_Body):
    schedule_id: str
    run_id: str
    enqueued_at: datetime
    cancel_job_id: str | None = Field(
        default=None,
        description="With cancel_other and more active runs than one page: the job flagging the rest "
        "(GET /jobs/{job_id}).",
    )


class BackfillRequest(_Body):
    """Run every slot of the trigger in ``[start_at, end_at)`` (both in the past, at most 1000 slots)."""

    start_at: datetime
    end_at: datetime

    @field_validator("start_at", "end_at")
    @classmethod
    def _instant(cls, v: datetime, info: Any) -> datetime:
        return check_instant(info.field_name, v)


class BackfillResponse(_Body):
    schedule_id: str
    created: list[str] = Field(description="Run ids recorded and queued by this request.")
    existing: list[str] = Field(description="Run ids of slots that already had a run: not run again.")
    enqueued_at: datetime
    remaining: int = Field(default=0, description="Slots left to the job (0: all recorded by this request).")
    job_id: str | None = Field(
        default=None, description="The job recording the remaining slots (GET /jobs/{job_id}); null if none."
    )


class RunList(_Body):
    schedule_id: str
    runs: list[Run]
    next_cursor: str | None = None


# --------------------------------------------------------------------------- errors


class ErrorDetail(_Body):
    message: str
    field: str | None = None
    type: str


class FieldProblem(_Body):
    field: str
    message: str
    type: str = "validation_error"


class ErrorResponse(_Body):
    """Every 4xx/5xx body: ``error`` says what went wrong (and which field), the ids say about what."""

    error: ErrorDetail
    errors: list[FieldProblem] | None = Field(default=None, description="Every field problem of a 400.")
    schedule_id: str | None = None
    run_id: str | None = None
    session_id: str | None = None
