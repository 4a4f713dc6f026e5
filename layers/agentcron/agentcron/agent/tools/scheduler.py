"""``scheduler``: lets an agent manage schedules (list, create, patch, delete, run_now, list_runs,
list_sessions).

It goes through the same use cases as the HTTP API (:mod:`agentcron.application`): a create is a
``ScheduleSpec``, a patch is merged into the current spec with the shared merge rules and validated again,
a run-now is recorded and queued like the API's, so an agent can never store what a user could not. Invalid
input comes back to the model as ``error: ...`` with the field errors.

The tool acts as a caller of its own (:class:`~agentcron.domain.access.Caller`): granted the run's project
only, with the run id as the actor, so the use cases' checks confine it. What it is told can come from a
fetched page (prompt injection), so its limits assume a hostile model:

- its project only: ``list`` shows that project's schedules; ``patch``, ``delete``, ``run_now`` and
  ``list_runs`` of a schedule elsewhere answer "not found", exactly as for one that does not exist; a
  ``create`` lands in the run's project whatever the spec says;
- no escalation: a schedule it creates or changes gets no tool, model or limit the run itself lacks, and never
  ``scheduler`` (a patch may keep it where it is); a create without model or limits gets the run's;
- no tight loops: a trigger that fires more often than ``SchedulerMinIntervalSeconds`` (default 300 s;
  intervals and cron slots alike) is refused when it creates or changes timing;
- bounded growth: ``SchedulerMaxCreatesPerRun`` creations per run (counted on the run record, so across
  its invocations), none in a project holding ``SchedulerMaxProjectSchedules`` schedules;
- no chains: a run started by the tool remembers the schedules that led to it; ``run_now`` of one of them
  (A starts B starts A) is refused, and so is a chain longer than ``SchedulerMaxChain``;
- a run may not delete, nor run_now, its OWN schedule (deleting would erase the running run's record; a
  schedule that starts itself would loop); it can disable itself with a patch;
- every change is recorded with the run id (``created_by`` / ``updated_by`` / the run's ``created_by``);
- listings are paged (``limit`` <= 50) and summarised, to keep tool results small.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, ValidationError

from agentcron.agent.tools.base import Tool, as_text
from agentcron.application import runs, schedules, sessions
from agentcron.domain.access import DEFAULT_PROJECT, Caller
from agentcron.domain.planner import timing_changed, timing_of
from agentcron.exceptions import AgentcronError
from agentcron.models import Run, RunLimits, RunStatus, Schedule, ScheduleSpec, field_errors, iso

if TYPE_CHECKING:
    from agentcron.application import Services
    from agentcron.config import Settings
    from agentcron.models import ToolCall

SCHEDULER = "scheduler"
FREQUENCY_SAMPLE = 50  # upcoming fires compared when checking how often a trigger fires

Action = Literal["list", "create", "patch", "delete", "run_now", "list_runs", "list_sessions"]
ANSWER_PREVIEW = 500  # characters of a run's final answer shown in list_runs


class SchedulerArguments(BaseModel):
    action: Action = Field(description="What to do")
    schedule_id: str | None = Field(
        default=None, description="The schedule (patch, delete, run_now, list_runs, list_sessions)"
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
    limit: int = Field(default=20, ge=1, le=50, description="list, list_runs, list_sessions: page size")
    cursor: str | None = Field(
        default=None, description="list, list_runs, list_sessions: the next_cursor of the previous page"
    )


@dataclass(frozen=True)
class SchedulerScope:
    """Who is calling (the schedule, run and project the agent runs for), what the run itself has (its model,
    tools and limits: the ceiling of what it may give a schedule), and the deployment's limits."""

    schedule_id: str
    run_id: str
    project_id: str = DEFAULT_PROJECT
    model: str | None = None  # the run's resolved model; None: only the deployment default
    tools: frozenset[str] = frozenset()  # the run's effective tools, ``scheduler`` excluded
    default_tools: tuple[str, ...] = ()  # what ``run_config.tools`` absent means
    limits: RunLimits = field(default_factory=RunLimits)
    chain: tuple[str, ...] = ()  # schedules whose runs started this run, oldest first
    max_creates: int = 5
    max_project_schedules: int = 100
    min_interval_seconds: int = 300
    max_chain: int = 3

    @classmethod
    def for_run(cls, context: Any, settings: Settings, default_tools: tuple[str, ...]) -> SchedulerScope:
        """The scope of the run a :class:`~agentcron.agent.tools.ToolContext` describes."""
        tools = default_tools if context.run_tools is None else [t.strip() for t in context.run_tools]
        return cls(
            schedule_id=context.schedule_id,
            run_id=context.run_id,
            project_id=context.project_id,
            model=context.run_model,
            tools=frozenset(tools) - {SCHEDULER},
            default_tools=tuple(default_tools),
            limits=context.run_limits or RunLimits(),
            chain=tuple(context.chain),
            max_creates=settings.scheduler_max_creates_per_run,
            max_project_schedules=settings.scheduler_max_project_schedules,
            min_interval_seconds=settings.scheduler_min_interval_seconds,
            max_chain=settings.scheduler_max_chain,
        )

    @property
    def caller(self) -> Caller:
        """The tool as the use cases see it: this project only, writing, changes recorded with the run id."""
        return Caller(f"run:{self.run_id}", frozenset({self.project_id}), True, run_id=self.run_id)


def _iso(value: datetime | None) -> str | None:
    return iso(value) if value else None


def summary(schedule: Schedule) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": schedule.id,
        "project_id": schedule.project_id,
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
        "session_id": run.session_id,
        "final_answer": answer,
    }


class _Refused(Exception):
    """An action the tool will not do; the message goes back to the model."""


class Scheduler(Tool):
    name = "scheduler"
    description = (
        "Manage agentcron schedules: list, create, patch, delete, run_now (start a run at once), "
        "list_runs (a schedule's runs, newest first, each with its session_id) and list_sessions (a "
        "schedule's sessions, newest first). Use it to schedule follow-up work."
    )
    Arguments = SchedulerArguments

    def __init__(self, services: Services, scope: SchedulerScope) -> None:
        self.services, self.scope = services, scope
        self.caller = scope.caller

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
            self.services, self.caller, limit=arguments.limit, cursor=arguments.cursor
        )
        return {"schedules": [summary(s) for s in found], "next_cursor": cursor}

    def _create(self, arguments: SchedulerArguments, call: ToolCall) -> dict[str, Any]:
        if not arguments.spec:
            raise _Refused("spec is required for create")
        scope = self.scope
        data = dict(arguments.spec)
        config = dict(data.get("run_config") or {})
        config.pop("project_id", None)
        config.setdefault("limits", scope.limits.model_dump())  # no limits given: the run's own
        if scope.model and not config.get("model"):
            config["model"] = scope.model  # no model given: the run's own
        data["run_config"], data["project_id"] = config, scope.project_id  # its project, whatever it said
        spec = ScheduleSpec.model_validate(data)
        self._check(None, spec)
        store = self.services.store
        held = store.count_project_schedules(scope.project_id, up_to=scope.max_project_schedules)
        if held >= scope.max_project_schedules:
            raise _Refused(
                f"project {scope.project_id!r} holds {scope.max_project_schedules} schedules already; "
                "an agent may create no more there"
            )
        if not store.count_agent_create(scope.schedule_id, scope.run_id, limit=scope.max_creates):
            raise _Refused(f"a run may create at most {scope.max_creates} schedules")
        created = schedules.create_schedule(self.services, self.caller, spec)
        return {"created": summary(created.schedule)}

    def _patch(self, arguments: SchedulerArguments, call: ToolCall) -> dict[str, Any]:
        schedule_id = self._id(arguments)
        if not arguments.spec:
            raise _Refused("spec (the fields to change) is required for patch")
        changes = dict(arguments.spec)
        if isinstance(changes.get("run_config"), dict):
            changes["run_config"] = {k: v for k, v in changes["run_config"].items() if k != "project_id"}
        patched, _ = schedules.edit_schedule(
            self.services, self.caller, schedule_id, changes, check=self._check
        )
        return {"patched": summary(patched)}

    # ------------------------------------------------------------------ limits

    def _check(self, old: Schedule | None, new: ScheduleSpec) -> None:
        """Refuse a schedule (created, or ``old`` changed into ``new``) given more than the run has."""
        scope = self.scope
        new_tools, old_tools = self._tools(new), self._tools(old) if old is not None else set()
        added = new_tools - old_tools
        if SCHEDULER in added:
            raise _Refused("run_config.tools: the scheduler tool cannot grant the scheduler tool")
        beyond = sorted(added - scope.tools)
        if beyond:
            raise _Refused(
                f"run_config.tools: this run cannot grant {', '.join(beyond)} "
                f"(it has {', '.join(sorted(scope.tools)) or 'no tools'})"
            )
        model = self._model(new)
        if (old is None or model != self._model(old)) and model != (scope.model or self._model(None)):
            raise _Refused(
                f"run_config.model: this run cannot give a schedule a model other than its own ({scope.model})"
            )
        for name, ceiling in scope.limits.model_dump().items():
            value = getattr(new.run_config.limits, name)
            if value > ceiling and (old is None or value != getattr(old.run_config.limits, name)):
                raise _Refused(f"run_config.limits.{name} must be at most {ceiling} (this run's own limit)")
        if old is None or timing_changed(old, new):
            self._check_frequency(new)

    def _check_frequency(self, spec: ScheduleSpec) -> None:
        least = self.scope.min_interval_seconds
        every = getattr(spec.trigger, "every_seconds", None)
        too_often = every is not None and every < least
        if not too_often:
            now = self.services.clock()
            fires = timing_of(spec.model_copy(update={"created_at": now}), expiring=False).upcoming(
                now, FREQUENCY_SAMPLE
            )
            too_often = any((b - a).total_seconds() < least for a, b in pairwise(fires))
        if too_often:
            raise _Refused(f"trigger: an agent may not schedule runs more often than every {least} s")

    def _tools(self, spec: ScheduleSpec) -> set[str]:
        tools = spec.run_config.tools
        return set(self.scope.default_tools if tools is None else [t.strip() for t in tools])

    def _model(self, spec: ScheduleSpec | None) -> str:
        configured = (spec.run_config.model or "").strip() if spec is not None else ""
        return configured or self.services.settings.default_model.strip()

    def _delete(self, arguments: SchedulerArguments, call: ToolCall) -> dict[str, Any]:
        schedule_id = self._id(arguments)
        if schedule_id == self.scope.schedule_id:
            raise _Refused(
                'a run cannot delete its own schedule; patch it with {"enabled": false} to stop it'
            )
        schedules.delete_schedule(self.services, self.caller, schedule_id)
        return {"deleted": schedule_id}

    def _run_now(self, arguments: SchedulerArguments, call: ToolCall) -> dict[str, Any]:
        schedule_id = self._id(arguments)
        scope = self.scope
        if schedule_id == scope.schedule_id:
            raise _Refused("a run cannot start its own schedule (it would start itself forever)")
        runs.require_schedule(self.services, schedule_id, self.caller, write=True)  # not found before chain
        if schedule_id in scope.chain:
            raise _Refused(
                f"chain limit: {schedule_id} started the run that led to this one "
                f"({' -> '.join([*scope.chain, scope.schedule_id])}); schedules may not start each other "
                "in a loop"
            )
        if len(scope.chain) + 1 > scope.max_chain:
            raise _Refused(
                f"chain limit: this run was started through {len(scope.chain)} scheduler run_now(s); "
                f"at most {scope.max_chain} in a row"
            )
        # The request id names the calling run and tool call, so the run id tells where it came from.
        run = runs.run_now(
            self.services,
            self.caller,
            schedule_id,
            request_id=f"{scope.run_id}/{call.id}",
            task_message=arguments.task_message,
            chain=[*scope.chain, scope.schedule_id],
        )
        return {"queued": run.run_id, "schedule_id": schedule_id}

    def _list_runs(self, arguments: SchedulerArguments, call: ToolCall) -> dict[str, Any]:
        schedule_id = self._id(arguments)
        found, cursor = runs.list_runs(
            self.services,
            self.caller,
            schedule_id,
            status=arguments.status,
            limit=arguments.limit,
            cursor=arguments.cursor,
        )
        return {"runs": [run_summary(r) for r in found], "next_cursor": cursor}

    def _list_sessions(self, arguments: SchedulerArguments, call: ToolCall) -> dict[str, Any]:
        schedule_id = self._id(arguments)
        found, cursor = sessions.list_schedule_sessions(
            self.services, self.caller, schedule_id, limit=arguments.limit, cursor=arguments.cursor
        )
        listed = [
            {
                "session_id": s.session_id,
                "run_id": s.run_id,
                "title": s.title,
                "status": s.status,
                "started_at": _iso(s.started_at),
                "completed_at": _iso(s.completed_at),
            }
            for s in found
        ]
        return {"sessions": listed, "next_cursor": cursor}
