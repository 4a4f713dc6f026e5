"""``scheduler``: lets an agent manage schedules (list, create, patch, delete, run_now, list_runs).

It goes through the same use cases as the HTTP API (:mod:`agentcron.application`): a create is a
``ScheduleSpec``, a patch is merged into the current spec with the shared merge rules and validated again,
a run-now is recorded and queued like the API's, so an agent can never store what a user could not. Invalid
input comes back to the model as ``error: ...`` with the field errors.

Scope (what a run may do with it, beyond what the API allows):

- a run may not delete, nor run_now, its OWN schedule (deleting would erase the running run's record;
  a schedule that starts itself would loop forever); it can disable itself with a patch;
- at most ``max_creates`` schedules per executor invocation, so a confused model cannot flood the table;
- listings are paged (``limit`` <= 50) and summarised, to keep tool results small.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, ValidationError

from agentcron.agent.tools.base import Tool, as_text
from agentcron.application import runs, schedules
from agentcron.exceptions import AgentcronError
from agentcron.models import Run, RunStatus, Schedule, ScheduleSpec, field_errors, iso

if TYPE_CHECKING:
    from agentcron.application import Services
    from agentcron.models import ToolCall

Action = Literal["list", "create", "patch", "delete", "run_now", "list_runs"]
ANSWER_PREVIEW = 500  # characters of a run's final answer shown in list_runs


class SchedulerArguments(BaseModel):
    action: Action = Field(description="What to do")
    schedule_id: str | None = Field(
        default=None, description="The schedule (patch, delete, run_now, list_runs)"
    )
    spec: dict[str, Any] | None = Field(
        default=None,
        description=(
            "create: the whole schedule: name, trigger "
            "({type: interval|once|daily|weekly|monthly|cron, ...}) or triggers (a list of them: one run "
            "per distinct instant), optional timezone, enabled, misfire_policy, overlap_policy, "
            "exclude (list of {date} | {start_date, end_date} | {cron}, optional name), jitter_seconds, "
            "max_runs, notify {targets: [{type: sns, topic_arn} | {type: webhook, url, secret_parameter}], "
            "statuses}, run_config {task_message, model, "
            "auto_execute, tools, limits, include_last_result}. patch: only the fields to change "
            "(run_config keys are merged; trigger or triggers replaces the set of triggers)."
        ),
    )
    task_message: str | None = Field(
        default=None, description="run_now: this run's task instead of the schedule's"
    )
    status: RunStatus | None = Field(default=None, description="list_runs: only runs in this status")
    limit: int = Field(default=20, ge=1, le=50, description="list, list_runs: page size")
    cursor: str | None = Field(
        default=None, description="list, list_runs: the next_cursor of the previous page"
    )


@dataclass(frozen=True)
class SchedulerScope:
    """Who is calling: the schedule and run the agent runs for."""

    schedule_id: str
    run_id: str
    max_creates: int = 5


def _iso(value: datetime | None) -> str | None:
    return iso(value) if value else None


def summary(schedule: Schedule) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": schedule.id,
        "name": schedule.name,
        "enabled": schedule.enabled,
        "trigger": schedule.trigger.model_dump(mode="json", exclude_none=True),
        "timezone": schedule.timezone,
        "next_fire_at": _iso(schedule.state.next_fire_at),
        "last_finished_at": _iso(schedule.state.last_finished_at),
        "consecutive_failures": schedule.state.consecutive_failures,
    }
    if schedule.triggers:
        out["triggers"] = [t.model_dump(mode="json", exclude_none=True) for t in schedule.triggers]
    if schedule.exclude:
        out["exclude"] = [e.model_dump(mode="json", exclude_none=True) for e in schedule.exclude]
    for name in ("jitter_seconds", "max_runs", "pause_note"):
        if getattr(schedule, name):
            out[name] = getattr(schedule, name)
    if schedule.notify is not None:
        out["notify"] = schedule.notify.model_dump(mode="json", exclude_none=True)
    return out


def run_summary(run: Run) -> dict[str, Any]:
    answer = run.final_answer or None
    if answer and len(answer) > ANSWER_PREVIEW:
        answer = answer[:ANSWER_PREVIEW] + "..."
    return {
        "run_id": run.run_id,
        "status": run.status.value,
        "trigger": run.trigger.value,
        "scheduled_for": _iso(run.scheduled_for),
        "completed_at": _iso(run.completed_at),
        "outcome_reason": run.outcome_reason,
        "final_answer": answer,
    }


class _Refused(Exception):
    """An action the tool will not do; the message goes back to the model."""


class Scheduler(Tool):
    name = "scheduler"
    description = (
        "Manage agentcron schedules: list, create, patch, delete, run_now (start a run at once) and "
        "list_runs (a schedule's runs, newest first). Use it to schedule follow-up work."
    )
    Arguments = SchedulerArguments

    def __init__(self, services: Services, scope: SchedulerScope) -> None:
        self.services, self.scope = services, scope
        self.created = 0

    def run(self, arguments: SchedulerArguments, call: ToolCall) -> str:
        try:
            return as_text(getattr(self, f"_{arguments.action}")(arguments, call))
        except ValidationError as exc:
            problems = "; ".join(error.message for error in field_errors(exc))
            return f"error: invalid schedule: {problems}"
        except (_Refused, AgentcronError, ValueError) as exc:
            return f"error: {exc}"

    def _id(self, arguments: SchedulerArguments) -> str:
        if not (arguments.schedule_id or "").strip():
            raise _Refused(f"schedule_id is required for {arguments.action}")
        return arguments.schedule_id.strip()

    def _list(self, arguments: SchedulerArguments, call: ToolCall) -> dict[str, Any]:
        found, cursor = schedules.list_schedules(
            self.services, limit=arguments.limit, cursor=arguments.cursor
        )
        return {"schedules": [summary(s) for s in found], "next_cursor": cursor}

    def _create(self, arguments: SchedulerArguments, call: ToolCall) -> dict[str, Any]:
        if not arguments.spec:
            raise _Refused("spec is required for create")
        if self.created >= self.scope.max_creates:
            raise _Refused(f"a run may create at most {self.scope.max_creates} schedules")
        created = schedules.create_schedule(self.services, ScheduleSpec.model_validate(arguments.spec))
        self.created += 1
        return {"created": summary(created.schedule)}

    def _patch(self, arguments: SchedulerArguments, call: ToolCall) -> dict[str, Any]:
        schedule_id = self._id(arguments)
        if not arguments.spec:
            raise _Refused("spec (the fields to change) is required for patch")
        patched, _ = schedules.edit_schedule(self.services, schedule_id, arguments.spec)
        return {"patched": summary(patched)}

    def _delete(self, arguments: SchedulerArguments, call: ToolCall) -> dict[str, Any]:
        schedule_id = self._id(arguments)
        if schedule_id == self.scope.schedule_id:
            raise _Refused(
                'a run cannot delete its own schedule; patch it with {"enabled": false} to stop it'
            )
        schedules.delete_schedule(self.services, schedule_id)
        return {"deleted": schedule_id}

    def _run_now(self, arguments: SchedulerArguments, call: ToolCall) -> dict[str, Any]:
        schedule_id = self._id(arguments)
        if schedule_id == self.scope.schedule_id:
            raise _Refused("a run cannot start its own schedule (it would start itself forever)")
        # The request id names the calling run and tool call, so the run id tells where it came from.
        run = runs.run_now(
            self.services,
            schedule_id,
            request_id=f"{self.scope.run_id}/{call.id}",
            task_message=arguments.task_message,
        )
        return {"queued": run.run_id, "schedule_id": schedule_id}

    def _list_runs(self, arguments: SchedulerArguments, call: ToolCall) -> dict[str, Any]:
        schedule_id = self._id(arguments)
        found, cursor = runs.list_runs(
            self.services,
            schedule_id,
            status=arguments.status,
            limit=arguments.limit,
            cursor=arguments.cursor,
        )
        return {"runs": [run_summary(r) for r in found], "next_cursor": cursor}
