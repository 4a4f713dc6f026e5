"""The claim decision (kept at this path for callers of ``agentcron.planner.plan_claim``).

It lives in :mod:`agentcron.domain.planner`.
"""

from agentcron.domain.planner import (
    LATE_AFTER_SECONDS,
    MAX_CATCH_UP_PER_CLAIM,
    MAX_MISSED_RECORDS,
    MAX_SLOTS_PER_CLAIM,
    ClaimPlan,
    PlannedRun,
    anchored,
    effective_trigger,
    effective_triggers,
    expiry_note,
    initial_next_fire,
    max_runs_note,
    never_fires_reason,
    next_fire_after_edit,
    plan_claim,
    refused_trigger,
    remaining_runs,
    timing_changed,
    timing_of,
    window_end,
)

__all__ = [
    "LATE_AFTER_SECONDS",
    "MAX_CATCH_UP_PER_CLAIM",
    "MAX_MISSED_RECORDS",
    "MAX_SLOTS_PER_CLAIM",
    "ClaimPlan",
    "PlannedRun",
    "anchored",
    "effective_trigger",
    "effective_triggers",
    "expiry_note",
    "initial_next_fire",
    "max_runs_note",
    "never_fires_reason",
    "next_fire_after_edit",
    "plan_claim",
    "refused_trigger",
    "remaining_runs",
    "timing_changed",
    "timing_of",
    "window_end",
]
