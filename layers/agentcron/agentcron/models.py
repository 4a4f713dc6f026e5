"""The domain model: schedules (spec + state), triggers, policies, runs, sessions and queue messages.

Pure pydantic v2, no I/O. JSON field names follow the seed system (snake_case) and every field it does not
name has a default, so its JSON validates unchanged. Validation messages start with the dotted path of the
offending field (``trigger.hour must be between 0 and 23``): :func:`field_errors` relies on that to report
``{field, message}`` pairs to API clients.

Datetimes are normalised to aware UTC. A naive datetime is read as UTC (documented in the README) and fire
times have one-second resolution: sub-second parts of ``anchor_at`` and ``at`` are dropped so that a slot
always maps to the same run id.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

SCHEDULE_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def utcnow() -> datetime:
    """The wall clock; only adapters call it, core functions take ``now`` as an argument."""
    return datetime.now(UTC)


def to_utc(value: datetime) -> datetime:
    """Aware UTC; a naive datetime is read as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _slot_time(value: datetime) -> datetime:
    return to_utc(value).replace(microsecond=0)


_YEAR = 366 * 24 * 3600
# Upper bounds keep every value far from datetime and int overflow in claims and executions.
_LIMIT_MAX = {"max_rounds": 1000, "max_total_tokens": 100_000_000, "max_duration_seconds": 7 * 24 * 3600}


def _range(field: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ValueError(f"{field} must be between {low} and {high}")
    return value


class _Model(BaseModel):
    # Unknown fields are ignored so the seed system's JSON (workflow_target, ...) validates unchanged.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


# --------------------------------------------------------------------------- triggers


class Weekday(StrEnum):
    mon = "mon"
    tue = "tue"
    wed = "wed"
    thu = "thu"
    fri = "fri"
    sat = "sat"
    sun = "sun"

    @property
    def index(self) -> int:
        """Monday is 0, as ``datetime.weekday()``."""
        return list(Weekday).index(self)


class _TimeOfDay(_Model):
    hour: int
    minute: int
    second: int = 0

    @field_validator("hour")
    @classmethod
    def _hour(cls, v: int) -> int:
        return _range("trigger.hour", v, 0, 23)

    @field_validator("minute")
    @classmethod
    def _minute(cls, v: int) -> int:
        return _range("trigger.minute", v, 0, 59)

    @field_validator("second")
    @classmethod
    def _second(cls, v: int) -> int:
        return _range("trigger.second", v, 0, 59)


class IntervalTrigger(_Model):
    """Every ``every_seconds`` on the grid ``anchor_at + k * every_seconds`` (anchor defaults to creation)."""

    type: Literal["interval"] = "interval"
    every_seconds: int
    anchor_at: datetime | None = None

    @field_validator("every_seconds")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v <= 0:
            raise ValueError("trigger.every_seconds must be > 0")
        return v

    @field_validator("anchor_at")
    @classmethod
    def _anchor(cls, v: datetime | None) -> datetime | None:
        return None if v is None else _slot_time(v)


class OnceTrigger(_Model):
    """A single fire at ``at``."""

    type: Literal["once"] = "once"
    at: datetime

    @field_validator("at")
    @classmethod
    def _at(cls, v: datetime) -> datetime:
        return _slot_time(v)


class DailyTrigger(_TimeOfDay):
    type: Literal["daily"] = "daily"


class WeeklyTrigger(_TimeOfDay):
    type: Literal["weekly"] = "weekly"
    weekdays: list[Weekday]

    @field_validator("weekdays", mode="before")
    @classmethod
    def _weekdays(cls, v: Any) -> Any:
        if isinstance(v, list):
            v = [d.strip().lower()[:3] if isinstance(d, str) else d for d in v]
            if not v:
                raise ValueError("trigger.weekdays must not be empty")
            bad = [d for d in v if d not in Weekday.__members__]
            if bad:
                raise ValueError(f"trigger.weekdays must be among mon..sun, got {bad[0]!r}")
            return sorted(set(v), key=lambda d: Weekday(d).index)
        return v


class MonthlyTrigger(_TimeOfDay):
    """On each listed day of the month; a day a month lacks (31 in April) is skipped in that month."""

    type: Literal["monthly"] = "monthly"
    days: list[int]

    @field_validator("days")
    @classmethod
    def _days(cls, v: list[int]) -> list[int]:
        if not v:
            raise ValueError("trigger.days must not be empty")
        for day in v:
            _range("trigger.days", day, 1, 31)
        return sorted(set(v))


class CronTrigger(_Model):
    """A cron expression in the schedule's timezone: 5 fields, 6 (seconds first), 7 (with year) or a macro."""

    type: Literal["cron"] = "cron"
    expr: str

    @field_validator("expr")
    @classmethod
    def _expr(cls, v: str) -> str:
        v = " ".join(v.split())
        if not v:
            raise ValueError("trigger.expr is required")
        from agentcron.triggers import validate_cron  # local: keeps croniter off the models import path

        problem = validate_cron(v)
        if problem:
            raise ValueError(f"trigger.expr is not a valid cron expression: {problem}")
        return v


TRIGGER_TYPES = ("interval", "once", "daily", "weekly", "monthly", "cron")
Trigger = Annotated[
    Union[IntervalTrigger, OnceTrigger, DailyTrigger, WeeklyTrigger, MonthlyTrigger, CronTrigger],
    Field(discriminator="type"),
]
WALL_CLOCK_TRIGGERS = (DailyTrigger, WeeklyTrigger, MonthlyTrigger, CronTrigger)


# --------------------------------------------------------------------------- policies


class RunOncePolicy(_Model):
    """Coalesce every due slot into one run for the most recent slot; the others are recorded missed."""

    type: Literal["run_once"] = "run_once"


class SkipPolicy(_Model):
    """Run a slot only within ``grace_seconds`` of it; later slots are recorded missed."""

    type: Literal["skip"] = "skip"
    grace_seconds: int = 60

    @field_validator("grace_seconds")
    @classmethod
    def _grace(cls, v: int) -> int:
        return _range("misfire_policy.grace_seconds", v, 0, _YEAR)


class CatchUpAllPolicy(_Model):
    """Run every missed slot in order (at most ``MAX_CATCH_UP_PER_CLAIM`` per claim, the rest stay due)."""

    type: Literal["catch_up_all"] = "catch_up_all"


class CatchUpWindowPolicy(_Model):
    """Run the newest ``max_catch_up_runs`` slots not older than ``max_lateness_seconds``; the rest are missed."""

    type: Literal["catch_up_window"] = "catch_up_window"
    max_catch_up_runs: int = 1
    max_lateness_seconds: int = 3600

    @field_validator("max_catch_up_runs")
    @classmethod
    def _runs(cls, v: int) -> int:
        return _range("misfire_policy.max_catch_up_runs", v, 1, 100_000)

    @field_validator("max_lateness_seconds")
    @classmethod
    def _lateness(cls, v: int) -> int:
        return _range("misfire_policy.max_lateness_seconds", v, 0, _YEAR)


MisfirePolicy = Annotated[
    Union[RunOncePolicy, SkipPolicy, CatchUpAllPolicy, CatchUpWindowPolicy],
    Field(discriminator="type"),
]


class OverlapPolicy(StrEnum):
    allow = "allow"  # never blocks; runs of one schedule may run in parallel
    skip = "skip"  # a slot that finds a run active is recorded `skipped`
    queue_one = "queue_one"  # at most one run waits behind the active one; further slots are `skipped`
    cancel_other = "cancel_other"  # the active run is asked to cancel; the new one queues behind it
    queue_all = "queue_all"  # every slot queues behind the active run, in order (Temporal's buffer_all)


class DstPolicy(_Model):
    """What wall-clock triggers do on DST transitions.

    gap: a slot whose local time does not exist (spring forward) fires at the first instant after the gap
    (``shift``) or not at all (``skip``). repeat: a slot whose local time happens twice (fall back) fires at
    its ``first`` occurrence, its ``last``, or ``both``. Crons with a wildcard or step hour field fire on every
    real instant that matches, whatever this says.
    """

    gap: Literal["shift", "skip"] = "shift"
    repeat: Literal["first", "last", "both"] = "first"


class RetryPolicy(_Model):
    """How many times a run whose executor vanished (lease expired) is attempted before it is ``timed_out``."""

    max_attempts: int = 1

    @field_validator("max_attempts")
    @classmethod
    def _attempts(cls, v: int) -> int:
        return _range("retry_policy.max_attempts", v, 1, 10)


# --------------------------------------------------------------------------- run config


class ReasoningEffort(StrEnum):
    none = "none"
    low = "low"
    medium = "medium"
    high = "high"
    xhigh = "xhigh"
    max = "max"


class RunLimits(_Model):
    max_rounds: int = 8
    max_total_tokens: int = 200_000
    max_duration_seconds: int = 3600

    @field_validator("max_rounds", "max_total_tokens", "max_duration_seconds")
    @classmethod
    def _positive(cls, v: int, info: Any) -> int:
        return _range(f"run_config.limits.{info.field_name}", v, 1, _LIMIT_MAX[info.field_name])


class RunConfig(_Model):
    """What a run does. Empty fields fall back to the deployment's defaults when the run starts."""

    project_id: str | None = None
    system_prompt: str | None = None
    task_message: str | None = None
    model: str | None = None  # "provider:model-id", e.g. "echo", "bedrock:amazon.nova-lite-v1:0"
    reasoning_effort: ReasoningEffort | None = None
    workspace_path: str | None = None
    enhance_prompt: str | None = None
    auto_execute: bool = False
    tools: list[str] | None = None  # None: the provider's default tool set; [] disables tools
    limits: RunLimits = Field(default_factory=RunLimits)
    include_last_result: bool = False

    @model_validator(mode="after")
    def _task_when_executing(self) -> RunConfig:
        if self.auto_execute and not (self.task_message or "").strip():
            raise ValueError("run_config.task_message is required when auto_execute is true")
        return self


# --------------------------------------------------------------------------- schedules


def new_schedule_id() -> str:
    return str(uuid.uuid4())


def _coerce_tagged(value: Any) -> Any:
    """Accept ``"skip"`` as shorthand for ``{"type": "skip"}``."""
    return {"type": value} if isinstance(value, str) else value


class ScheduleSpec(_Model):
    """What a user writes: when (trigger, timezone, window) and what (run_config), plus policies."""

    id: str = Field(default_factory=new_schedule_id)
    name: str = Field(default="", validate_default=True)
    enabled: bool = True
    trigger: Trigger
    timezone: str | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    misfire_policy: MisfirePolicy = Field(default_factory=RunOncePolicy)
    overlap_policy: OverlapPolicy = OverlapPolicy.queue_one
    run_config: RunConfig = Field(default_factory=RunConfig)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # agentcron additions
    dst_policy: DstPolicy = Field(default_factory=DstPolicy)
    retry_policy: RetryPolicy = Field(default_factory=RetryPolicy)
    pause_note: str | None = None
    # Operations: disable after this many consecutive failed/timed_out/cancelled runs (None = never), and
    # stop firing at expires_at (slots at or after it are not run), so a forgotten schedule stops spending.
    max_consecutive_failures: int | None = None
    expires_at: datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        trigger = data.get("trigger")
        if trigger is None:
            raise ValueError("trigger is required")
        if not isinstance(trigger, dict):
            raise ValueError("trigger must be an object with a type")
        kind = trigger.get("type")
        if not kind:
            raise ValueError(f"trigger.type is required (one of {', '.join(TRIGGER_TYPES)})")
        if kind not in TRIGGER_TYPES:
            raise ValueError(f"trigger.type must be one of {', '.join(TRIGGER_TYPES)}, got {kind!r}")
        if "misfire_policy" in data:
            data["misfire_policy"] = _coerce_tagged(data["misfire_policy"])
        for key in ("run_config", "dst_policy", "retry_policy", "misfire_policy"):
            if key in data and data[key] is None:
                del data[key]
        return data

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not SCHEDULE_ID_PATTERN.match(v):
            raise ValueError("id must be 1-64 characters of letters, digits, '-' or '_'")
        return v

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("name is required")
        return v

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = v.strip()
        if not v:
            raise ValueError("timezone must not be empty (omit it for UTC)")
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "America" is a folder, not a zone
            raise ValueError(f"timezone is not a valid IANA timezone: {v}") from None
        return v

    @field_validator("start_at", "end_at", "created_at", "updated_at", "expires_at")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        return None if v is None else to_utc(v)

    @field_validator("max_consecutive_failures")
    @classmethod
    def _failures(cls, v: int | None) -> int | None:
        if v is not None and v < 1:
            raise ValueError("max_consecutive_failures must be >= 1 (omit it to never auto-pause)")
        return v

    @model_validator(mode="after")
    def _window(self) -> ScheduleSpec:
        if self.start_at and self.end_at and self.start_at >= self.end_at:
            raise ValueError("start_at must be earlier than end_at")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone or "UTC")


class ScheduleState(_Model):
    """What the system knows about a schedule; written by claims and run transitions, never by users."""

    next_fire_at: datetime | None = None
    last_scheduled_at: datetime | None = None
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    queued_run_count: int = 0
    running_run_count: int = 0
    consecutive_failures: int = 0
    total_run_count: int = 0
    total_success_count: int = 0
    total_failure_count: int = 0
    total_missed_count: int = 0
    total_skipped_count: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    @field_validator(
        "next_fire_at",
        "last_scheduled_at",
        "last_started_at",
        "last_finished_at",
        "last_success_at",
        "last_failure_at",
    )
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        return None if v is None else to_utc(v)

    @property
    def active_run_count(self) -> int:
        return self.queued_run_count + self.running_run_count


class Schedule(ScheduleSpec):
    """A stored schedule: its spec plus its state."""

    state: ScheduleState = Field(default_factory=ScheduleState)

    @property
    def spec(self) -> ScheduleSpec:
        return ScheduleSpec.model_validate(self.model_dump(exclude={"state"}))


# --------------------------------------------------------------------------- runs


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


TERMINAL_STATUSES = frozenset(s for s in RunStatus if s.is_terminal)
OPEN_STATUSES = frozenset(s for s in RunStatus if not s.is_terminal)


class RunTrigger(StrEnum):
    schedule = "schedule"
    run_now = "run_now"
    backfill = "backfill"


class TokenUsage(_Model):
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
        )


def _stamp(at: datetime) -> str:
    return to_utc(at).strftime("%Y%m%dT%H%M%SZ")


def slot_run_id(schedule_id: str, scheduled_for: datetime) -> str:
    """The one id of a (schedule, slot): a second claim of the same slot collides by construction.

    Ids sort by slot within a schedule, so "newest first" is a reverse key order.
    """
    return f"{schedule_id}-{_stamp(scheduled_for)}"


def run_now_id(schedule_id: str, requested_at: datetime, request_id: str | None = None) -> str:
    """A run-now id, unique per request (or per ``request_id``, so a retried request maps to one run)."""
    token = request_id or uuid.uuid4().hex
    return f"{schedule_id}-{_stamp(requested_at)}-now-{uuid.uuid5(uuid.NAMESPACE_URL, token).hex[:12]}"


class Run(_Model):
    """One execution of a schedule (or the record that a slot was skipped or missed)."""

    run_id: str
    schedule_id: str
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
    final_answer: str | None = None

    @field_validator("scheduled_for", "claimed_at", "started_at", "completed_at")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        return None if v is None else to_utc(v)


# --------------------------------------------------------------------------- sessions


class ToolCall(_Model):
    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class Message(_Model):
    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None
    # Opaque reasoning blocks of an assistant turn (e.g. Bedrock ``reasoningContent`` and its signature), kept
    # so the provider that produced them gets them back next round, as tool use with reasoning requires.
    reasoning: list[dict[str, Any]] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)


class Session(_Model):
    """An agent conversation; stored in S3 as JSON (no 400 KB item limit)."""

    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    title: str = ""
    model: str = ""
    messages: list[Message] = Field(default_factory=list)
    metadata: dict[str, str] = Field(default_factory=dict)
    usage: TokenUsage = Field(default_factory=TokenUsage)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


# --------------------------------------------------------------------------- queue messages


class RunMessage(_Model):
    """Execute a run the claim recorded as ``queued``."""

    type: Literal["run"] = "run"
    schedule_id: str
    run_id: str


class RunNowMessage(_Model):
    """Start a run of a schedule at once (sent by users straight to the queue, or by the API)."""

    type: Literal["run_now"] = "run_now"
    schedule_id: str
    task_message: str | None = None
    request_id: str | None = None  # makes a retried request create one run, not two


class ContinueMessage(_Model):
    """Resume a long run from its checkpoint in a fresh invocation."""

    type: Literal["continue"] = "continue"
    schedule_id: str
    run_id: str
    segment: int


QueueMessage = Annotated[Union[RunMessage, RunNowMessage, ContinueMessage], Field(discriminator="type")]


# --------------------------------------------------------------------------- errors for clients


class FieldError(BaseModel):
    field: str
    message: str
    type: str = "validation_error"


_LEADING_FIELD = re.compile(r"^([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*) (?:is|must|are) ")


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Turn a pydantic error into ``{field, message}`` pairs a client can act on.

    Our own messages start with the field path; for pydantic's built-in errors (wrong type, missing) the path
    comes from the error location, without the union tags pydantic adds.
    """
    out: list[FieldError] = []
    for err in exc.errors(include_url=False):
        message = str(err["msg"]).removeprefix("Value error, ")
        match = _LEADING_FIELD.match(message)
        if match:
            out.append(FieldError(field=match.group(1), message=message))
            continue
        parts = [str(p) for p in err["loc"] if not (isinstance(p, str) and p in _UNION_TAGS)]
        path = ".".join(parts) or "body"
        kind = err["type"]
        if kind == "missing":
            message = f"{path} is required"
        else:
            message = f"{path}: {message}"
        out.append(FieldError(field=path, message=message))
    return out


_UNION_TAGS = set(TRIGGER_TYPES) | {"run_once", "skip", "catch_up_all", "catch_up_window"}
