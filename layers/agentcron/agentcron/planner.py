"""The claim decision for ONE schedule at ``now``: a pure function of (schedule, now).

(Types only; the decision lands with the planner.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from agentcron.models import RunStatus, Schedule

MAX_CATCH_UP_PER_CLAIM = 100


@dataclass(frozen=True)
class PlannedRun:
    """A run record the claim writes: ``queued`` (to execute), or ``skipped`` / ``missed`` (a record only)."""

    run_id: str
    scheduled_for: datetime
    was_catch_up: bool
    status: RunStatus = RunStatus.queued
    reason: str | None = None


@dataclass(frozen=True)
class ClaimPlan:
    runs: list[PlannedRun] = field(default_factory=list)
    skipped: list[PlannedRun] = field(default_factory=list)
    missed: list[PlannedRun] = field(default_factory=list)
    missed_count: int = 0
    next_fire_at: datetime | None = None
    enabled: bool = True
    cancel_active: bool = False


def plan_claim(schedule: Schedule, now: datetime, *, max_records: int = MAX_CATCH_UP_PER_CLAIM) -> ClaimPlan:
    raise NotImplementedError
