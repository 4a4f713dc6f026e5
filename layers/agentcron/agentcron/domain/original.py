"""The original system's store file (``schedules.json``) read as this system's schedules and run records.

Pure: the instant of the import (``now``) and the deployment's default model provider are given. Each entry
goes through :func:`agentcron.domain.schedule.imported` (the one place the original's shorthands and legacy
fields are spelled out); what this module adds is what only a whole store file has:

- the original's defaults for an entry: ``enabled`` false when absent;
- its state: counters and last-* instants as the file has them, except the queued and running counts, which
  start at 0 here (the original's open runs are not carried over as open: see the run records below);
- ``next_fire_at`` recomputed from ``now`` for an enabled schedule (slots the original would have fired
  before the import are not caught up), except a ``once`` that has not fired yet, which keeps its slot (an
  overdue one is then claimed under its misfire policy); a ``once`` the original had already fired (no
  ``next_fire_at``) stays fired: disabled, never re-armed; an enabled schedule with no fire left in its
  window comes disabled with :data:`NO_NEXT_FIRE_NOTE`;
- the run records of each schedule, with ids of this system's form (``<schedule id>-<slot>-orig-<original
  run id>``: sorted by slot like every run id here, the original id still readable); a record still queued
  or running in the original becomes ``missed`` with :data:`OPEN_RUN_REASON` (nothing runs it here, and an
  open run nobody runs would block the schedule's overlap policy forever).

Every problem is collected, each naming the entry and the field (``schedules.<id>.trigger.hour``,
``run_records.<id>.status``), so a caller can refuse the whole file at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from agentcron.domain.planner import initial_next_fire
from agentcron.domain.runs import Run, RunStatus, TokenUsage
from agentcron.domain.schedule import Schedule, ScheduleSpec, ScheduleState, imported
from agentcron.domain.triggers import OnceTrigger
from agentcron.domain.validation import field_errors
from agentcron.domain.values import SCHEDULE_ID_PATTERN, iso, to_utc

ORIGINAL_RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
NO_NEXT_FIRE_NOTE = "imported disabled: it has no fire left within its window"
OPEN_RUN_REASON = "was {status} in the original system when it was imported; not run here"
STATE_INSTANTS = ("last_scheduled_at", "last_started_at", "last_finished_at", "last_success_at", "last_failure_at")
STATE_COUNTERS = (
    "consecutive_failures",
    "total_run_count",
    "total_success_count",
    "total_failure_count",
    "total_missed_count",
)
RUN_FIELDS = (
    "scheduled_for",
    "claimed_at",
    "started_at",
    "completed_at",
    "outcome_reason",
    "session_id",
    "dispatch_lag_ms",
    "execution_duration_ms",
    "was_catch_up",
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file: ``field`` is the full path (``schedules.<id>.trigger.hour``)."""

    entry: str  # "schedules.<id>" or "run_records.<id>"
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "type": "validation_error"}


@dataclass(frozen=True)
class ImportedSchedule:
    """One entry of the file as this system stores it: the schedule (spec and state) and its run records."""

    schedule: Schedule
    runs: list[Run]
    workflow: bool = False  # it used workflow_target: imported disabled with WORKFLOW_NOTE


@dataclass(frozen=True)
class StoreFile:
    schedules: list[ImportedSchedule] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    orphan_runs: int = 0  # run records naming no schedule of the file (the original deletes them with it)


def original_run_id(schedule_id: str, scheduled_for: datetime, run_id: str) -> str:
    """This system's id of an imported run record: sorted by slot, the original id kept readable."""
    return f"{schedule_id}-{to_utc(scheduled_for).strftime('%Y%m%dT%H%M%SZ')}-orig-{run_id}"


def read_store(
    data: Any, now: datetime, *, model_provider: str | None = None, providers: tuple[str, ...] = ()
) -> StoreFile:
    """Every entry of the store file ``data`` (its parsed JSON) as of ``now``, and every problem found."""
    now = to_utc(now)
    problems: list[Problem] = []
    if not isinstance(data, dict):
        return StoreFile(problems=[Problem("file", "body", "body must be the store file's JSON object")])
    entries = data.get("schedules") or {}
    records = data.get("run_records") or {}
    if not isinstance(entries, dict):
        problems.append(Problem("file", "schedules", "schedules must be an object of id -> schedule"))
        entries = {}
    if not isinstance(records, dict):
        problems.append(Problem("file", "run_records", "run_records must be an object of id -> run record"))
        records = {}
    by_schedule: dict[str, list[tuple[str, Any]]] = {}
    for run_id, record in records.items():
        owner = record.get("schedule_id") if isinstance(record, dict) else None
        by_schedule.setdefault(owner if isinstance(owner, str) else "", []).append((run_id, record))
    out: list[ImportedSchedule] = []
    for key, entry in entries.items():
        found = _entry(str(key), entry, by_schedule.get(str(key), []), now, model_provider, providers)
        if isinstance(found, ImportedSchedule):
            out.append(found)
        else:
            problems.extend(found)
    orphans = sum(len(v) for k, v in by_schedule.items() if k not in entries)
    return StoreFile(out, problems, orphans)


def _problems(entry: str, exc: ValidationError, prefix: str = "") -> list[Problem]:
    return [
        Problem(entry, f"{entry}.{prefix}{error.field}", f"{entry}: {prefix}{error.message}")
        for error in field_errors(exc)
    ]


def _entry(
    key: str,
    entry: Any,
    records: list[tuple[str, Any]],
    now: datetime,
    model_provider: str | None,
    providers: tuple[str, ...],
) -> ImportedSchedule | list[Problem]:
    where = f"schedules.{key}"
    if not isinstance(entry, dict):
        return [Problem(where, where, f"{where} must be an object (a schedule)")]
    if not SCHEDULE_ID_PATTERN.match(key):
        return [Problem(where, f"{where}.id", f"{where}: id must be 1-64 letters, digits, '-' or '_'")]
    if entry.get("id", key) != key:
        return [Problem(where, f"{where}.id", f"{where}: id must equal its key in schedules")]
    if entry.get("created_at") is None:
        return [Problem(where, f"{where}.created_at", f"{where}: created_at is required")]
    problems: list[Problem] = []
    try:
        data = imported(entry, model_provider=model_provider, providers=providers)
    except ValueError as exc:  # run_config.project_id against project_id
        return [Problem(where, f"{where}.project_id", f"{where}: {exc}")]
    data["id"] = key
    data.setdefault("enabled", False)  # the original created schedules disabled
    data.setdefault("updated_at", data.get("created_at"))
    spec: ScheduleSpec | None = None
    try:
        spec = ScheduleSpec.model_validate(data)
    except ValidationError as exc:
        problems += _problems(where, exc)
    state = _state(entry)
    try:
        parsed_state = ScheduleState.model_validate(state)
    except ValidationError as exc:
        problems += _problems(where, exc, "state.")
        parsed_state = None
    runs: list[Run] = []
    for run_id, record in records:
        found = _run(run_id, record, spec, now)
        if isinstance(found, Run):
            runs.append(found)
        else:
            problems += found
    if problems or spec is None or parsed_state is None:
        return problems
    spec, next_fire = _timing(spec, entry, now)
    schedule = Schedule.model_validate(
        {**spec.model_dump(), "state": parsed_state.model_copy(update={"next_fire_at": next_fire})}
    )
    runs.sort(key=lambda run: run.run_id)
    return ImportedSchedule(schedule, runs, workflow=_uses_workflow(entry))


def _uses_workflow(entry: dict[str, Any]) -> bool:
    config = entry.get("run_config") if isinstance(entry.get("run_config"), dict) else {}
    return entry.get("workflow_target") is not None or config.get("workflow_target") is not None


def _state(entry: dict[str, Any]) -> dict[str, Any]:
    """The state the file records (legacy top-level fields included); open-run counts start at 0 here."""
    raw = entry.get("state") if isinstance(entry.get("state"), dict) else {}
    state = {name: raw[name] for name in (*STATE_INSTANTS, *STATE_COUNTERS) if raw.get(name) is not None}
    if "last_scheduled_at" not in state and entry.get("last_run_at") is not None:
        state["last_scheduled_at"] = entry["last_run_at"]
    return state


def _original_next_fire(entry: dict[str, Any]) -> Any:
    raw = entry.get("state") if isinstance(entry.get("state"), dict) else {}
    return raw.get("next_fire_at") if raw.get("next_fire_at") is not None else entry.get("next_run_at")


def _timing(spec: ScheduleSpec, entry: dict[str, Any], now: datetime) -> tuple[ScheduleSpec, datetime | None]:
    """The spec as stored here and its ``next_fire_at`` (see the module docstring)."""
    if not spec.enabled:
        return spec, None
    if isinstance(spec.trigger, OnceTrigger) and not spec.triggers:
        if _original_next_fire(entry) is None:  # fired already: it stays fired
            return spec.model_copy(update={"enabled": False}), None
        at = spec.trigger.at
        inside = (spec.start_at is None or at >= spec.start_at) and (spec.end_at is None or at < spec.end_at)
        if inside:
            return spec, at  # not fired yet: its slot, overdue or not
    nxt = initial_next_fire(spec, now)
    if nxt is None:
        return spec.model_copy(update={"enabled": False, "pause_note": NO_NEXT_FIRE_NOTE}), None
    return spec, nxt


def _run(run_id: str, record: Any, spec: ScheduleSpec | None, now: datetime) -> Run | list[Problem]:
    where = f"run_records.{run_id}"
    if not isinstance(record, dict):
        return [Problem(where, where, f"{where} must be an object (a run record)")]
    if not ORIGINAL_RUN_ID.match(run_id) or record.get("run_id", run_id) != run_id:
        return [Problem(where, f"{where}.run_id", f"{where}: run_id must equal its key and be 1-100 letters, "
                        "digits, '-' or '_'")]
    status = record.get("status")
    if status not in ("queued", "running", "success", "failed", "skipped", "missed", "cancelled"):
        return [Problem(where, f"{where}.status", f"{where}: status must be one of queued, running, success, "
                        f"failed, skipped, missed, cancelled, got {status!r}")]
    fields = {name: record[name] for name in RUN_FIELDS if record.get(name) is not None}
    if status in ("queued", "running"):
        fields["outcome_reason"] = OPEN_RUN_REASON.format(status=status)
        fields["completed_at"] = now
        status = RunStatus.missed.value
    try:
        run = Run.model_validate(
            {
                **fields,
                "run_id": run_id,
                "schedule_id": record.get("schedule_id"),
                "status": status,
                "usage": TokenUsage(),
                "project_id": spec.project_id if spec is not None else "default",
            }
        )
    except ValidationError as exc:
        return _problems(where, exc)
    return run.model_copy(update={"run_id": original_run_id(run.schedule_id, run.scheduled_for, run_id)})


# --------------------------------------------------------------------------- the original's shapes, back


ORIGINAL_STATE = (
    "next_fire_at",
    *STATE_INSTANTS,
    *STATE_COUNTERS,
)
ORIGINAL_RUN_STATUSES = {"timed_out": "failed"}  # the original has no timed_out: a run that never ended is a failure


def original_schedule(schedule: Schedule, *, model_provider: str | None = None) -> dict[str, Any]:
    """A schedule in the original's shape (its store entry: spec, ``state``, ``run_config.project_id``): the
    inverse of the import rules, so the original's clients read what they wrote.

    ``end_at`` one second back (inclusive there); a model of ``model_provider`` without its prefix (as the
    original names models); the first trigger only, and only the fields the original knows (optional ones
    left out, not null).
    """
    spec = schedule.model_dump(mode="json", exclude_none=True)
    out: dict[str, Any] = {
        key: spec[key]
        for key in ("id", "name", "enabled", "trigger", "timezone", "start_at", "end_at", "overlap_policy")
        if key in spec
    }
    out["misfire_policy"] = {k: v for k, v in spec["misfire_policy"].items() if k != "grace_seconds"}
    if schedule.end_at is not None:
        out["end_at"] = iso(schedule.end_at - timedelta(seconds=1))
    config = {
        key: spec["run_config"][key]
        for key in ("system_prompt", "task_message", "model", "reasoning_effort", "workspace_path",
                    "enhance_prompt", "auto_execute")
        if key in spec["run_config"]
    }
    prefix = f"{model_provider}:" if model_provider else None
    if prefix and isinstance(config.get("model"), str) and config["model"].startswith(prefix):
        config["model"] = config["model"][len(prefix):]
    out["run_config"] = {"project_id": schedule.project_id, **config}
    out["created_at"], out["updated_at"] = spec.get("created_at"), spec.get("updated_at")
    state = schedule.state.model_dump(mode="json")
    out["state"] = {key: state[key] for key in ORIGINAL_STATE if state.get(key) is not None}
    # One count of active runs here (a start writes only its run): reported as queued, none as running.
    out["state"]["queued_run_count"] = schedule.state.active_run_count
    out["state"]["running_run_count"] = 0
    return out


def original_run(run: Run) -> dict[str, Any]:
    """A run record in the original's shape (``ScheduleRunRecord``; optional fields left out)."""
    data = run.model_dump(mode="json", exclude_none=True)
    out = {key: data[key] for key in ("run_id", "schedule_id", *RUN_FIELDS) if key in data}
    out["status"] = ORIGINAL_RUN_STATUSES.get(run.status.value, run.status.value)
    return out
