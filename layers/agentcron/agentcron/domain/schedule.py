"""Schedules: what a user writes (the spec), what the system knows (the state), and what a run does."""

import copy
import json
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from agentcron.domain.access import DEFAULT_PROJECT, PROJECT_ID_PATTERN, PROJECT_ID_RULE
from agentcron.domain.exclusions import MAX_EXCLUSIONS, Exclusion
from agentcron.domain.notify import NotifyConfig
from agentcron.domain.policies import DstPolicy, MisfirePolicy, OverlapPolicy, RetryPolicy, RunOncePolicy
from agentcron.domain.triggers import TRIGGER_TYPES, Trigger
from agentcron.domain.values import (
    SCHEDULE_ID_PATTERN,
    DomainModel,
    check_instant,
    check_range,
    iso,
    strip_blank,
    to_utc,
)

MAX_TRIGGERS = 10
MAX_JITTER_SECONDS = 24 * 3600
MAX_RUNS_LIMIT = 1_000_000_000
STORED = {"stored": True}
"""Validation context of data read back from the store: lenient where the dialect has grown stricter (a cron
stored before is loaded even when a create would now refuse it; see ``CronTrigger``)."""

# Upper bounds keep every value far from datetime and int overflow in claims and executions.
LIMIT_MAX = {"max_rounds": 1000, "max_total_tokens": 100_000_000, "max_duration_seconds": 7 * 24 * 3600}
_LIMIT_MAX = LIMIT_MAX

# Per-field caps (characters) and the cap of a whole spec (UTF-8 bytes of its JSON). They keep a schedule far
# from DynamoDB's 400 KB item even where an update is counted with the old and the new value together, keep
# every reply small, and keep a listing of many schedules readable.
MAX_NAME = 200
MAX_PROMPT = 32_768  # system_prompt, task_message, enhance_prompt
MAX_NOTE = 1000
MAX_SHORT = 256  # model, project_id, tool names
MAX_PATH = 1024
MAX_TOOLS = 32
MAX_SPEC_BYTES = 128 * 1024

class ReasoningEffort(StrEnum):
    none = "none"
    low = "low"
    medium = "medium"
    high = "high"
    xhigh = "xhigh"
    max = "max"


class RunLimits(DomainModel):
    max_rounds: int = 8
    max_total_tokens: int = 200_000
    max_duration_seconds: int = 3600

    @field_validator("max_rounds", "max_total_tokens", "max_duration_seconds")
    @classmethod
    def _positive(cls, v: int, info: Any) -> int:
        return check_range(f"run_config.limits.{info.field_name}", v, 1, _LIMIT_MAX[info.field_name])


class RunConfig(DomainModel):
    """What a run does. Empty fields fall back to the deployment's defaults when the run starts.

    (The seed system kept the project here as ``run_config.project_id``; ScheduleSpec moves it to the top.)
    """

    system_prompt: str | None = Field(default=None, max_length=MAX_PROMPT)
    task_message: str | None = Field(default=None, max_length=MAX_PROMPT)
    # "provider:model-id", e.g. "echo", "bedrock:amazon.nova-lite-v1:0"
    model: str | None = Field(default=None, max_length=MAX_SHORT)
    reasoning_effort: ReasoningEffort | None = None
    workspace_path: str | None = Field(default=None, max_length=MAX_PATH)
    enhance_prompt: str | None = Field(default=None, max_length=MAX_PROMPT)
    auto_execute: bool = False
    # None: the provider's default tool set; [] disables tools
    tools: list[Annotated[str, Field(max_length=MAX_SHORT)]] | None = Field(
        default=None, max_length=MAX_TOOLS
    )
    limits: RunLimits = Field(default_factory=RunLimits)
    include_last_result: bool = False

    @model_validator(mode="after")
    def _task_when_executing(self) -> "RunConfig":
        if self.auto_execute and not strip_blank(self.task_message or ""):
            raise ValueError("run_config.task_message is required when auto_execute is true")
        return self



WORKFLOW_NOTE = (
    "imported disabled: it runs a workflow (workflow_target), which this system cannot run; give it a "
    "run_config.task_message and enable it, or delete it"
)
"""The pause note of an original schedule that used ``workflow_target`` (see :func:`imported`)."""


def imported(
    data: dict[str, Any], *, model_provider: str | None = None, providers: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A schedule of the original system in the shape the API takes: its shorthands and legacy fields spelled
    out. The one place the original's reading rules live (``agentcron import`` applies it to each entry of
    a store file, ``agentcron schedules create --import`` and ``make run``'s examples to a single spec).

    The API itself takes only the exact shape (no shorthand, no null for an object, no unknown field):

    - ``"misfire_policy": "skip"`` becomes ``{"type": "skip"}``; a null policy or run config is left out (the
      default applies); weekday names in any case or in full (``Monday``) become ``mon``;
    - a legacy entry's ``interval_seconds`` (no ``trigger``) becomes an interval trigger; an interval of 0
      seconds is read as 1, as the original did;
    - an interval without ``anchor_at`` gets the anchor the original derived, in order: the entry's
      ``state.last_scheduled_at`` (legacy ``last_run_at``), its ``state.next_fire_at`` (legacy
      ``next_run_at``) minus one interval, its ``created_at``; so its grid goes on where it was;
    - ``end_at`` was inclusive there and is exclusive here: it moves one second on (slots are whole
      seconds), so a slot at exactly the old end still fires;
    - ``workflow_target`` (top level or in ``run_config``): this system cannot run a workflow, so the
      schedule comes disabled with :data:`WORKFLOW_NOTE` as its pause note;
    - with ``model_provider``, a ``run_config.model`` named as the original stored it (no provider prefix,
      not ``echo``, not starting with one of ``providers``) becomes ``<model_provider>:<model>``;
    - fields this system does not know are dropped.
    """
    data = _move_project(copy.deepcopy(data))  # run_config.project_id: the top-level project_id
    workflow = data.get("workflow_target") is not None or (
        isinstance(data.get("run_config"), dict) and data["run_config"].get("workflow_target") is not None
    )
    if data.get("trigger") is None and data.get("interval_seconds") is not None:
        data["trigger"] = {"type": "interval", "every_seconds": data["interval_seconds"]}
    out = {key: value for key, value in data.items() if key in ScheduleSpec.model_fields}
    if isinstance(out.get("misfire_policy"), str):
        out["misfire_policy"] = {"type": out["misfire_policy"]}
    for key in ("run_config", "dst_policy", "retry_policy", "misfire_policy"):
        if key in out and out[key] is None:
            del out[key]
    trigger = out.get("trigger")
    if isinstance(trigger, dict) and isinstance(trigger.get("weekdays"), list):
        days = [d.strip().lower()[:3] if isinstance(d, str) else d for d in trigger["weekdays"]]
        out["trigger"] = {**trigger, "weekdays": days}
    if isinstance(trigger, dict) and trigger.get("type") == "interval":
        out["trigger"] = _original_interval(out["trigger"], data)
    if isinstance(out.get("end_at"), str | datetime):
        end = _instant(out["end_at"])
        if end is not None:
            out["end_at"] = iso(end.replace(microsecond=0) + timedelta(seconds=1))
    if isinstance(out.get("run_config"), dict):
        config = {k: v for k, v in out["run_config"].items() if k in RunConfig.model_fields}
        model = config.get("model")
        if model_provider and isinstance(model, str) and _bare_model(model, providers):
            config["model"] = f"{model_provider}:{model.strip()}"
        out["run_config"] = config
    if workflow:
        out["enabled"], out["pause_note"] = False, WORKFLOW_NOTE
    return out


def _bare_model(model: str, providers: tuple[str, ...]) -> bool:
    """True for a model named as the original stored it: no provider prefix (and not ``echo``)."""
    model = model.strip()
    return bool(model) and model != "echo" and model.partition(":")[0] not in providers


def _instant(value: Any) -> datetime | None:
    """An instant of the original's file (RFC 3339 text or a datetime) as aware UTC; None when unreadable
    (the validation that follows names the field)."""
    if isinstance(value, datetime):
        return to_utc(value)
    if not isinstance(value, str):
        return None
    try:
        return to_utc(datetime.fromisoformat(value.strip()))
    except ValueError:
        return None


def _original_interval(trigger: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """An interval of the original: 0 seconds read as 1, the missing anchor derived as the original did."""
    trigger = dict(trigger)
    every = trigger.get("every_seconds")
    if isinstance(every, int) and not isinstance(every, bool) and every == 0:
        trigger["every_seconds"] = every = 1
    if trigger.get("anchor_at") is not None:
        return trigger
    state = entry.get("state") if isinstance(entry.get("state"), dict) else {}
    last = _instant(state.get("last_scheduled_at") or entry.get("last_run_at"))
    upcoming = _instant(state.get("next_fire_at") or entry.get("next_run_at"))
    created = _instant(entry.get("created_at"))
    if last is not None:
        anchor = last
    elif upcoming is not None and isinstance(every, int) and not isinstance(every, bool) and every > 0:
        anchor = upcoming - timedelta(seconds=every)
    else:
        anchor = created
    if anchor is not None:
        trigger["anchor_at"] = iso(anchor)
    return trigger


def _check_trigger_shape(trigger: Any, where: str) -> None:
    """A trigger must be an object with a known ``type``: said before pydantic's union errors would be."""
    if not isinstance(trigger, dict):
        if isinstance(trigger, DomainModel):
            return
        raise ValueError(f"{where} must be an object with a type")
    kind = trigger.get("type")
    if not kind:
        raise ValueError(f"{where}.type is required (one of {', '.join(TRIGGER_TYPES)})")
    if kind not in TRIGGER_TYPES:
        raise ValueError(f"{where}.type must be one of {', '.join(TRIGGER_TYPES)}, got {kind!r}")


def _coerce_tagged(value: Any) -> Any:
    """Accept ``"skip"`` as shorthand for ``{"type": "skip"}``."""
    return {"type": value} if isinstance(value, str) else value


def _move_project(data: dict[str, Any]) -> dict[str, Any]:
    """Accept the seed system's ``run_config.project_id``: it becomes the top-level ``project_id``.

    Both given and different is refused (which one was meant cannot be known); ``None`` means the default.
    """
    config = data.get("run_config")
    if isinstance(config, dict) and "project_id" in config:
        config = dict(config)
        nested = config.pop("project_id")
        data["run_config"] = config
        top = data.get("project_id")
        if nested is not None:
            if top is not None and top != nested:
                raise ValueError(
                    "run_config.project_id must equal project_id (the project is a top-level field)"
                )
            data["project_id"] = nested
    if data.get("project_id") is None:
        data.pop("project_id", None)
    return data


class ScheduleSpec(DomainModel):
    """What a user writes: when (trigger, timezone, window) and what (run_config), plus policies."""

    id: str | None = None  # None: the create use case gives it one
    project_id: str = DEFAULT_PROJECT  # runs, sessions and events inherit it; it never changes
    name: str = Field(default="", validate_default=True, max_length=MAX_NAME)
    enabled: bool = True
    trigger: Trigger
    timezone: str | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    misfire_policy: MisfirePolicy = Field(default_factory=RunOncePolicy)
    overlap_policy: OverlapPolicy = OverlapPolicy.queue_one
    run_config: RunConfig = Field(default_factory=RunConfig)
    created_at: datetime | None = None  # stamped by the use case that stores the spec
    updated_at: datetime | None = None
    created_by: str | None = None  # stamped by the use cases: a principal id, or the run id of an agent
    updated_by: str | None = None
    # agentcron additions
    dst_policy: DstPolicy = Field(default_factory=DstPolicy)
    retry_policy: RetryPolicy = Field(default_factory=RetryPolicy)
    pause_note: str | None = Field(default=None, max_length=MAX_NOTE)
    # Operations: disable after this many consecutive failed/timed_out/cancelled runs (None = never), and
    # stop firing at expires_at (slots at or after it are not run), so a forgotten schedule stops spending.
    max_consecutive_failures: int | None = None
    expires_at: datetime | None = None
    # Triggers, issue 14: several triggers (the union of their instants; ``trigger`` is then the first),
    # exclusions, a deterministic per-slot delay, an end after so many runs, notifications on a run's end.
    triggers: list[Trigger] | None = Field(default=None, max_length=MAX_TRIGGERS)
    exclude: list[Exclusion] | None = Field(default=None, max_length=MAX_EXCLUSIONS)
    jitter_seconds: int = 0
    max_runs: int | None = None
    notify: NotifyConfig | None = None

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        several = data.get("triggers")
        if several is not None:
            if not isinstance(several, list) or not several:
                raise ValueError("triggers must be a non-empty list of triggers (or send trigger instead)")
            for index, item in enumerate(several):
                _check_trigger_shape(item, f"triggers[{index}]")
            if data.get("trigger") is None:
                data["trigger"] = several[0]
        trigger = data.get("trigger")
        if trigger is None:
            raise ValueError("trigger is required")
        _check_trigger_shape(trigger, "trigger")
        # The lenient reading (imports, code, stored data) takes the original system's shorthands; the API
        # refuses them before this (agentcron.api.strict).
        if "misfire_policy" in data:
            data["misfire_policy"] = _coerce_tagged(data["misfire_policy"])
        for key in ("run_config", "dst_policy", "retry_policy", "misfire_policy", "jitter_seconds"):
            if key in data and data[key] is None:
                del data[key]
        return _move_project(data)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str | None) -> str | None:
        if v is not None and not SCHEDULE_ID_PATTERN.match(v):
            raise ValueError("id must be 1-64 characters of letters, digits, '-' or '_'")
        return v

    @field_validator("project_id")
    @classmethod
    def _project(cls, v: str) -> str:
        if not isinstance(v, str) or not PROJECT_ID_PATTERN.match(v):
            raise ValueError(PROJECT_ID_RULE)
        return v

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        v = strip_blank(v)
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

    @field_validator("start_at", "end_at", "expires_at")
    @classmethod
    def _instant(cls, v: datetime | None, info: Any) -> datetime | None:
        return None if v is None else check_instant(info.field_name, v)

    @field_validator("created_at", "updated_at")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        return None if v is None else to_utc(v)

    @field_validator("max_consecutive_failures")
    @classmethod
    def _failures(cls, v: int | None) -> int | None:
        if v is not None and v < 1:
            raise ValueError("max_consecutive_failures must be >= 1 (omit it to never auto-pause)")
        return v

    @field_validator("jitter_seconds")
    @classmethod
    def _jitter(cls, v: int) -> int:
        return check_range("jitter_seconds", v, 0, MAX_JITTER_SECONDS)

    @field_validator("max_runs")
    @classmethod
    def _max_runs(cls, v: int | None) -> int | None:
        return None if v is None else check_range("max_runs", v, 1, MAX_RUNS_LIMIT)

    @model_validator(mode="after")
    def _window(self) -> "ScheduleSpec":
        if self.start_at and self.end_at and self.start_at >= self.end_at:
            raise ValueError("start_at must be earlier than end_at")
        if self.triggers is not None:
            if self.trigger != self.triggers[0]:
                raise ValueError(
                    "trigger must be the first of triggers: send triggers alone to set several triggers"
                )
            if len(self.triggers) == 1:
                self.triggers = None  # one trigger is the single-trigger form
        if self.exclude == []:
            self.exclude = None
        return self

    @model_validator(mode="after")
    def _size(self) -> "ScheduleSpec":
        """The whole spec within MAX_SPEC_BYTES; the error names its largest field (in run_config, the
        key)."""
        data = self.model_dump(mode="json", exclude={"state"})
        size = len(_json_bytes(data))
        if size <= MAX_SPEC_BYTES:
            return self
        field = max(data, key=lambda k: len(_json_bytes(data[k])))
        if field == "run_config":
            config = data["run_config"]
            field = "run_config." + max(config, key=lambda k: len(_json_bytes(config[k])))
        raise ValueError(
            f"{field} must be shorter: a whole schedule is at most {MAX_SPEC_BYTES} bytes as JSON "
            f"(this one is {size})"
        )

    @property
    def all_triggers(self) -> list[Trigger]:
        """Every trigger of the schedule: ``triggers`` when it has several, else ``[trigger]``."""
        return list(self.triggers) if self.triggers else [self.trigger]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone or "UTC")


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")


class ScheduleState(DomainModel):
    """What the system knows about a schedule; written by claims and run transitions, never by users."""

    next_fire_at: datetime | None = None
    last_scheduled_at: datetime | None = None
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    # Runs queued or running. One counter, not one per status: a run's start writes only the run (one write
    # unit, no transaction), so nothing on the schedule changes between queued and running.
    active_run_count: int = 0
    # The run queued last (by a claim, run-now, backfill or retry). Whether a run is still waiting behind
    # the active one (``queue_one``) is that run's status: runs of a schedule start in the order queued.
    last_queued_run_id: str | None = None
    consecutive_failures: int = 0
    total_run_count: int = 0
    total_success_count: int = 0
    total_failure_count: int = 0
    total_missed_count: int = 0
    total_skipped_count: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    # Runs counted in active_run_count whose end is not added to the counters yet (domain/tally.py): the
    # runs queued or running, and for a moment one that just ended. Bookkeeping, never shown.
    open_run_ids: SkipJsonSchema[frozenset[str]] = Field(default_factory=frozenset, exclude=True, repr=False)

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


class Schedule(ScheduleSpec):
    """A stored schedule: its spec plus its state. Stored ones always carry ``id`` and ``created_at``."""

    state: ScheduleState = Field(default_factory=ScheduleState)

    @property
    def spec(self) -> ScheduleSpec:
        return ScheduleSpec.model_validate(self.model_dump(exclude={"state"}), context=STORED)


