"""The domain model, gathered at the path earlier code and users import it from.

Each part lives in its own module of :mod:`agentcron.domain`: triggers, policies, schedules, runs,
sessions, queue messages and validation errors. JSON field names follow the seed system (snake_case) and
every field it does not name has a default, so its JSON validates unchanged. Validation messages start with
the dotted path of the offending field (``trigger.hour must be between 0 and 23``).

Datetimes are normalised to aware UTC. A naive datetime is read as UTC and fire times have one-second
resolution: sub-second parts of ``anchor_at`` and ``at`` are dropped so that a slot always maps to the same
run id.

Every name is imported from its module on first use (a module ``__getattr__``): a handler that needs
``Run`` loads :mod:`agentcron.domain.runs`, not every model of the domain, which keeps cold starts short.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentcron.domain.exclusions import Exclusion
    from agentcron.domain.messages import ContinueMessage, QueueMessage, RunMessage, RunNowMessage
    from agentcron.domain.notify import NotifyConfig, SnsTarget, WebhookTarget
    from agentcron.domain.policies import (
        MISFIRE_TYPES,
        CatchUpAllPolicy,
        CatchUpWindowPolicy,
        DstPolicy,
        MisfirePolicy,
        OverlapPolicy,
        RetryPolicy,
        RunOncePolicy,
        SkipPolicy,
    )
    from agentcron.domain.runs import (
        OPEN_STATUSES,
        TERMINAL_STATUSES,
        TRANSITIONS,
        Run,
        RunStatus,
        RunTrigger,
        TokenUsage,
        run_now_id,
        slot_run_id,
    )
    from agentcron.domain.schedule import (
        ReasoningEffort,
        RunConfig,
        RunLimits,
        Schedule,
        ScheduleSpec,
        ScheduleState,
    )
    from agentcron.domain.sessions import Message, Session, ToolCall
    from agentcron.domain.triggers import (
        TRIGGER_TYPES,
        WALL_CLOCK_TRIGGERS,
        CronTrigger,
        DailyTrigger,
        IntervalTrigger,
        MonthlyTrigger,
        OnceTrigger,
        Trigger,
        Weekday,
        WeeklyTrigger,
    )
    from agentcron.domain.validation import FieldError, field_errors
    from agentcron.domain.values import SCHEDULE_ID_PATTERN, iso, to_utc

# name -> the domain module that defines it: a handler importing ``Run`` from here loads only
# agentcron.domain.runs (and what it imports), not every model of the domain.
_HOMES = {
    "CatchUpAllPolicy": "agentcron.domain.policies",
    "CatchUpWindowPolicy": "agentcron.domain.policies",
    "ContinueMessage": "agentcron.domain.messages",
    "CronTrigger": "agentcron.domain.triggers",
    "DailyTrigger": "agentcron.domain.triggers",
    "DstPolicy": "agentcron.domain.policies",
    "Exclusion": "agentcron.domain.exclusions",
    "FieldError": "agentcron.domain.validation",
    "IntervalTrigger": "agentcron.domain.triggers",
    "MISFIRE_TYPES": "agentcron.domain.policies",
    "Message": "agentcron.domain.sessions",
    "MisfirePolicy": "agentcron.domain.policies",
    "MonthlyTrigger": "agentcron.domain.triggers",
    "NotifyConfig": "agentcron.domain.notify",
    "OPEN_STATUSES": "agentcron.domain.runs",
    "OnceTrigger": "agentcron.domain.triggers",
    "OverlapPolicy": "agentcron.domain.policies",
    "QueueMessage": "agentcron.domain.messages",
    "ReasoningEffort": "agentcron.domain.schedule",
    "RetryPolicy": "agentcron.domain.policies",
    "Run": "agentcron.domain.runs",
    "RunConfig": "agentcron.domain.schedule",
    "RunLimits": "agentcron.domain.schedule",
    "RunMessage": "agentcron.domain.messages",
    "RunNowMessage": "agentcron.domain.messages",
    "RunOncePolicy": "agentcron.domain.policies",
    "RunStatus": "agentcron.domain.runs",
    "RunTrigger": "agentcron.domain.runs",
    "SCHEDULE_ID_PATTERN": "agentcron.domain.values",
    "Schedule": "agentcron.domain.schedule",
    "ScheduleSpec": "agentcron.domain.schedule",
    "ScheduleState": "agentcron.domain.schedule",
    "Session": "agentcron.domain.sessions",
    "SkipPolicy": "agentcron.domain.policies",
    "SnsTarget": "agentcron.domain.notify",
    "TERMINAL_STATUSES": "agentcron.domain.runs",
    "TRANSITIONS": "agentcron.domain.runs",
    "TRIGGER_TYPES": "agentcron.domain.triggers",
    "TokenUsage": "agentcron.domain.runs",
    "ToolCall": "agentcron.domain.sessions",
    "Trigger": "agentcron.domain.triggers",
    "WALL_CLOCK_TRIGGERS": "agentcron.domain.triggers",
    "WebhookTarget": "agentcron.domain.notify",
    "Weekday": "agentcron.domain.triggers",
    "WeeklyTrigger": "agentcron.domain.triggers",
    "field_errors": "agentcron.domain.validation",
    "iso": "agentcron.domain.values",
    "run_now_id": "agentcron.domain.runs",
    "slot_run_id": "agentcron.domain.runs",
    "to_utc": "agentcron.domain.values",
}

__all__ = [
    "MISFIRE_TYPES",
    "OPEN_STATUSES",
    "SCHEDULE_ID_PATTERN",
    "TERMINAL_STATUSES",
    "TRANSITIONS",
    "TRIGGER_TYPES",
    "WALL_CLOCK_TRIGGERS",
    "CatchUpAllPolicy",
    "CatchUpWindowPolicy",
    "ContinueMessage",
    "CronTrigger",
    "DailyTrigger",
    "DstPolicy",
    "Exclusion",
    "FieldError",
    "IntervalTrigger",
    "Message",
    "MisfirePolicy",
    "MonthlyTrigger",
    "NotifyConfig",
    "OnceTrigger",
    "OverlapPolicy",
    "QueueMessage",
    "ReasoningEffort",
    "RetryPolicy",
    "Run",
    "RunConfig",
    "RunLimits",
    "RunMessage",
    "RunNowMessage",
    "RunOncePolicy",
    "RunStatus",
    "RunTrigger",
    "Schedule",
    "ScheduleSpec",
    "ScheduleState",
    "Session",
    "SkipPolicy",
    "SnsTarget",
    "TokenUsage",
    "ToolCall",
    "Trigger",
    "WebhookTarget",
    "Weekday",
    "WeeklyTrigger",
    "field_errors",
    "iso",
    "run_now_id",
    "slot_run_id",
    "to_utc",
]


def __getattr__(name: str) -> Any:
    """The public name ``name``, imported from its domain module on first use (then cached here)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # __import__, not importlib.import_module: the import statement's machinery, seen by -X importtime
    value = getattr(__import__(home, fromlist=[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
