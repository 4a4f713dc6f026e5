"""Request and response bodies of the HTTP API (the OpenAPI document is generated from these).

Schedules, runs and sessions are the domain models themselves (``ScheduleSpec`` in, ``Schedule`` + version
out, ``Run``, ``Session``); the rest are the small envelopes the routes add around them. Shapes follow the
seed system where it has one: run now -> ``{schedule_id, run_id, enqueued_at}``, runs ->
``{schedule_id, runs}``.
"""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agentcron.application.schedules import MAX_LISTED_FIRES
from agentcron.domain.values import check_instant
from agentcron.models import OverlapPolicy, Run, Schedule

MAX_UPCOMING = MAX_LISTED_FIRES


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Later(_Body):
    """The body of a route outside the schedule resource's own reads and writes (previews, runs, run-now,
    backfill): built on its first use, not at import, so a cold start builds only what an ordinary request
    (a schedule listed, read or written) needs."""

    model_config = ConfigDict(defer_build=True)


# --------------------------------------------------------------------------- schedules


class ScheduleView(Schedule):
    """A stored schedule: its spec, its ``state`` and its ``version`` (the ETag; absent in lists)."""

    id: str
    created_at: datetime
    updated_at: datetime
    version: int | None = None

    @field_validator("timezone")
    @classmethod
    def _shown(cls, v: str | None) -> str:
        """A schedule without a timezone fires in UTC and is shown so, as its fire times name it (the CLI
        and the console show the same); PATCH ``timezone: null`` still means "back to the default"."""
        return v or "UTC"


class ScheduleList(_Body):
    schedules: list[ScheduleView]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null at the end."
    )


class PauseRequest(_Body):
    note: str | None = Field(
        default=None, max_length=1000, description="Why it is paused (kept as pause_note)."
    )


class JitterWindow(_Later):
    """When a slot may fire: ``[start, end]`` = ``[slot, slot + jitter_seconds]``; ``fire_at`` is the exact
    instant for a stored schedule (its delay derives from its id and the slot), null for a preview."""

    start: datetime
    end: datetime
    fire_at: datetime | None = None


class ExcludedSlot(_Later):
    """A slot ``exclude`` left out, and which item did it (``exclude[0] 2026-12-25 (Christmas)``)."""

    at: datetime
    reason: str


class FireTimes(_Later):
    """The next fire instants (UTC) of a schedule, or of an unsaved spec for a preview.

    ``fire_times`` are the nominal slots (run ids derive from them). The other keys are null unless the
    spec uses the feature: ``jitter_seconds`` and ``jitter_windows`` (one per fire time: when it may, and
    for a stored schedule will, fire), ``excluded`` (the slots exclusions left out before the last fire
    time listed, each with the item that did it), ``remaining_runs`` (what ``max_runs`` still allows)."""

    schedule_id: str | None = None
    timezone: str
    enabled: bool
    fire_times: list[datetime]
    jitter_seconds: int | None = None
    jitter_windows: list[JitterWindow] | None = None
    excluded: list[ExcludedSlot] | None = None
    remaining_runs: int | None = None

    @classmethod
    def of(cls, found: Any, **head: Any) -> dict[str, Any]:
        """The JSON answer for the use cases' ``FireTimes`` (``agentcron.application.schedules``)."""
        windows = None
        if found.jitter_seconds:
            windows = [
                JitterWindow(start=start, end=end, fire_at=fire)
                for (start, end), fire in zip(found.windows, found.fire_at, strict=True)
            ]
        excluded = None
        if found.excluding or found.excluded:
            excluded = [ExcludedSlot(at=item.at, reason=item.reason) for item in found.excluded]
        body = cls(
            **head,
            fire_times=found.times,
            jitter_seconds=found.jitter_seconds or None,
            jitter_windows=windows,
            excluded=excluded,
            remaining_runs=found.remaining_runs,
        ).model_dump(mode="json")
        return body


# --------------------------------------------------------------------------- runs


class RunNowRequest(_Later):
    """Start a run at once, whatever ``enabled`` says.

    ``overlap_policy`` overrides the schedule's for this run only: ``allow`` lets it run beside active runs,
    ``skip`` refuses it (409) while a run is queued or running, ``cancel_other`` asks the active runs to
    cancel; any other value queues it behind them.
    """

    task_message: str | None = Field(
        default=None, description="Replaces run_config.task_message for this run."
    )
    overlap_policy: OverlapPolicy | None = None


class RunNowResponse(_Later):
    schedule_id: str
    run_id: str
    enqueued_at: datetime
    cancel_job_id: str | None = Field(
        default=None,
        description="With cancel_other and more active runs than one page: the job flagging the rest "
        "(GET /jobs/{job_id}).",
    )


class BackfillRequest(_Later):
    """Run every slot of the trigger in ``[start_at, end_at)`` (both in the past, at most 1000 slots)."""

    start_at: datetime
    end_at: datetime

    @field_validator("start_at", "end_at")
    @classmethod
    def _instant(cls, v: datetime, info: Any) -> datetime:
        return check_instant(info.field_name, v)


class BackfillResponse(_Later):
    schedule_id: str
    created: list[str] = Field(description="Run ids recorded and queued by this request.")
    existing: list[str] = Field(description="Run ids of slots that already had a run: not run again.")
    enqueued_at: datetime
    remaining: int = Field(default=0, description="Slots left to the job (0: all recorded by this request).")
    job_id: str | None = Field(
        default=None, description="The job recording the remaining slots (GET /jobs/{job_id}); null if none."
    )


class RunList(_Later):
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
