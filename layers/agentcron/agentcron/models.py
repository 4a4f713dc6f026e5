"""The domain model, gathered at the path earlier code and users import it from.

Each part lives in its own module of :mod:`agentcron.domain`: triggers, policies, schedules, runs,
sessions, queue messages and validation errors. JSON field names follow the seed system (snake_case) and
every field it does not name has a default, so its JSON validates unchanged. Validation messages start with
the dotted path of the offending field (``trigger.hour must be between 0 and 23``).

Datetimes are normalised to aware UTC. A naive datetime is read as UTC and fire times have one-second
resolution: sub-second parts of ``anchor_at`` and ``at`` are dropped so that a slot always maps to the same
run id.
"""

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
    WeeklyTrigger,
    Weekday,
)
from agentcron.domain.validation import FieldError, field_errors
from agentcron.domain.values import SCHEDULE_ID_PATTERN, iso, to_utc

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
