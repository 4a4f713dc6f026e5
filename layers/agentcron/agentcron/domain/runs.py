"""Runs: one execution of a schedule (or the record that a slot was skipped or missed), and its lifecycle."""

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import Field, field_validator

from agentcron.domain.access import DEFAULT_PROJECT
from agentcron.domain.values import DomainModel, new_list, to_utc

class RunStatus(StrEnum):
    queued = "queued"
    running = "running"
    success = "success"
    failed = "failed"
    skipped = "skipped"
    missed = "missed"
    cancelled = "cancelled"
    timed_out = "timed_out"

    @property
    def is_terminal(self) -> bool:
        return self not in (RunStatus.queued, RunStatus.running)

    @property
    def is_active(self) -> bool:
        """Queued or running: counted in the schedule's ``active_run_count``."""
        return not self.is_terminal

    def can_become(self, status: "RunStatus") -> bool:
        """Whether the lifecycle allows ``self -> status`` (see :data:`TRANSITIONS`)."""
        return status in TRANSITIONS[self]


TERMINAL_STATUSES = frozenset(s for s in RunStatus if s.is_terminal)
OPEN_STATUSES = frozenset(s for s in RunStatus if not s.is_terminal)

FAILURE_STATUSES = frozenset({RunStatus.failed, RunStatus.timed_out, RunStatus.cancelled})

# A run record holds at most this much of the final answer and the outcome reason (UTF-8 bytes): with the
# capped task (32 KB) it stays far below DynamoDB's 400 KB item. The whole answer stays in the transcript.
MAX_ANSWER_BYTES = 64 * 1024
MAX_REASON_BYTES = 4 * 1024
TRUNCATED_MARK = "\n\n[truncated: {kept} of {total} bytes kept; the whole text is in the run's session]"


def bounded_text(text: str | None, limit: int) -> str | None:
    """``text`` if its UTF-8 form fits ``limit`` bytes, else its head (whole characters) and a note saying
    how much was kept: the record says it was truncated, the reader knows where the rest is."""
    if text is None:
        return None
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text
    note_room = len(TRUNCATED_MARK.format(kept=limit, total=len(data)).encode("utf-8"))
    head = data[: max(0, limit - note_room)].decode("utf-8", "ignore")
    return head + TRUNCATED_MARK.format(kept=len(head.encode("utf-8", "surrogatepass")), total=len(data))
"""Terminal statuses that count as failures (and towards ``max_consecutive_failures``)."""

TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    # started by an executor, or ended before it started (cancelled, schedule gone, nothing to run)
    RunStatus.queued: frozenset({RunStatus.running, *TERMINAL_STATUSES}),
    # queued again for a retry after a lost executor; running again when a new attempt takes it over
    RunStatus.running: frozenset({RunStatus.queued, RunStatus.running, *TERMINAL_STATUSES}),
    # terminal means terminal: nothing leaves these
    **{status: frozenset() for status in TERMINAL_STATUSES},
}
"""The run lifecycle as data: the statuses each status may move to. Claims create runs ``queued`` or, for
a slot recorded without running, directly ``skipped`` / ``missed``."""


class RunTrigger(StrEnum):
    schedule = "schedule"
    run_now = "run_now"
    backfill = "backfill"


class TokenUsage(DomainModel):
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: "TokenUsage") -> "TokenUsage":
        return TokenUsage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
        )


def _stamp(at: datetime) -> str:
    """The slot in a run id: compact and sortable (``20260105T090000Z``)."""
    return to_utc(at).strftime("%Y%m%dT%H%M%SZ")


def slot_run_id(schedule_id: str, scheduled_for: datetime) -> str:
    """The one id of a (schedule, slot): a second claim of the same slot collides by construction.

    Ids sort by slot within a schedule, so "newest first" is a reverse key order.
    """
    return f"{schedule_id}-{_stamp(scheduled_for)}"


def run_now_id(schedule_id: str, requested_at: datetime, request_id: str) -> str:
    """A run-now id, one per ``request_id`` (so a retried request maps to one run, not two)."""
    return f"{schedule_id}-{_stamp(requested_at)}-now-{uuid.uuid5(uuid.NAMESPACE_URL, request_id).hex[:12]}"


class Run(DomainModel):
    """One execution of a schedule (or the record that a slot was skipped or missed)."""

    run_id: str
    schedule_id: str
    project_id: str = DEFAULT_PROJECT  # the schedule's
    scheduled_for: datetime
    claimed_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    status: RunStatus = RunStatus.queued
    outcome_reason: str | None = None
    session_id: str | None = None
    dispatch_lag_ms: int | None = None
    execution_duration_ms: int | None = None
    was_catch_up: bool = False
    trigger: RunTrigger = RunTrigger.schedule
    attempt: int = 0
    usage: TokenUsage = Field(default_factory=TokenUsage)
    task_message: str | None = None  # run-now override of run_config.task_message
    cancel_requested: bool = False
    lease_until: datetime | None = None  # while running: its executor owns it until then
    final_answer: str | None = None
    created_by: str | None = None  # run-now, backfill: the principal id, or the run id of an agent
    cancelled_by: str | None = None
    # Schedules whose runs started this one through the scheduler tool, oldest first (the chain limit).
    started_by_chain: list[str] = Field(default_factory=new_list)

    @field_validator("scheduled_for", "claimed_at", "started_at", "completed_at", "lease_until")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        return None if v is None else to_utc(v)


