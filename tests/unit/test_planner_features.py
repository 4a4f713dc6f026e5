"""The claim decision with jitter, exclusions, several triggers, max_runs, and a stored cron the dialect
now refuses (lenient load, then paused with the reason)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from agentcron.domain.schedule import STORED
from agentcron.domain.timing import jitter_offset
from agentcron.models import (
    CatchUpAllPolicy,
    OverlapPolicy,
    RunStatus,
    Schedule,
    ScheduleSpec,
    ScheduleState,
    SkipPolicy,
    slot_run_id,
)
from agentcron.planner import (
    LATE_AFTER_SECONDS,
    initial_next_fire,
    max_runs_note,
    next_fire_after_edit,
    plan_claim,
    remaining_runs,
    timing_changed,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make(next_fire: datetime | None = T0, state: dict[str, Any] | None = None, **spec: Any) -> Schedule:
    if "triggers" not in spec:
        spec.setdefault("trigger", {"type": "cron", "expr": "*/10 * * * *"})
    spec.setdefault("overlap_policy", OverlapPolicy.allow)
    return Schedule.model_validate(
        {
            "id": "sched-j",
            "name": "n",
            "created_at": T0 - timedelta(days=1),
            "updated_at": T0,
            **spec,
            "state": ScheduleState(next_fire_at=next_fire, **(state or {})),
        }
    )


# --------------------------------------------------------------------------- jitter


def test_a_jittered_slot_is_not_due_before_its_delay_and_keeps_its_run_id() -> None:
    schedule = make(jitter_seconds=300)
    delay = timedelta(seconds=jitter_offset("sched-j", T0, 300))
    assert delay > timedelta(0)  # the hash gives this slot a delay (pinned: the test means something)
    early = plan_claim(schedule, T0 + delay - timedelta(seconds=1))
    assert early.changes_nothing and early.next_fire_at == T0 and early.due_at == T0 + delay
    plan = plan_claim(schedule, T0 + delay)
    assert [r.run_id for r in plan.runs] == [slot_run_id("sched-j", T0)]
    assert plan.runs[0].scheduled_for == T0 and not plan.runs[0].was_catch_up
    assert plan.next_fire_at == T0 + timedelta(minutes=10)


def test_racing_claimers_agree_on_a_jittered_plan() -> None:
    schedule = make(jitter_seconds=3600, trigger={"type": "cron", "expr": "* * * * *"})
    now = T0 + timedelta(hours=2)
    plans = [plan_claim(schedule.model_copy(deep=True), now, max_records=99) for _ in range(3)]
    assert plans[0] == plans[1] == plans[2]
    # slots whose delay has passed are due; the scan stops at the first still inside its delay
    due = [r.scheduled_for for r in plans[0].runs]
    assert all(s + timedelta(seconds=jitter_offset("sched-j", s, 3600)) <= now for s in due)


def test_lateness_counts_from_the_jittered_instant() -> None:
    schedule = make(jitter_seconds=600, misfire_policy=SkipPolicy(grace_seconds=30))
    fired = T0 + timedelta(seconds=jitter_offset("sched-j", T0, 600))
    on_time = plan_claim(schedule, fired + timedelta(seconds=30))
    assert [r.scheduled_for for r in on_time.runs] == [T0] and on_time.missed_count == 0
    late = plan_claim(schedule, fired + timedelta(seconds=31))
    assert late.runs == [] and late.missed_count == 1
    flagged = plan_claim(make(jitter_seconds=600), fired + timedelta(seconds=LATE_AFTER_SECONDS))
    assert flagged.runs[0].was_catch_up is False


# --------------------------------------------------------------------------- exclusions


def test_excluded_slots_are_neither_run_nor_missed() -> None:
    schedule = make(
        trigger={"type": "cron", "expr": "0 * * * *"},
        exclude=[{"cron": "* 1-3 * * *"}],
        misfire_policy=CatchUpAllPolicy(),
    )
    plan = plan_claim(schedule, T0 + timedelta(hours=5))
    assert [r.scheduled_for.hour for r in plan.runs] == [0, 4, 5]
    assert plan.missed_count == 0 and plan.skipped == [] and plan.missed == []


def test_a_stored_next_fire_that_an_edit_excluded_is_re_seated() -> None:
    schedule = make(trigger={"type": "cron", "expr": "0 * * * *"}, exclude=[{"date": "2026-01-01"}])
    plan = plan_claim(schedule, T0 + timedelta(minutes=5))
    assert plan.runs == [] and plan.missed_count == 0 and plan.next_fire_at == T0 + timedelta(days=1)
    assert not plan.changes_nothing and plan.enabled


def test_initial_next_fire_skips_exclusions() -> None:
    spec = make(
        trigger={"type": "cron", "expr": "0 9 * * *"},
        exclude=[{"start_date": "2026-01-01", "end_date": "2026-01-07"}],
    )
    assert initial_next_fire(spec, T0) == datetime(2026, 1, 8, 9, tzinfo=UTC)


# --------------------------------------------------------------------------- several triggers


def test_one_run_per_distinct_instant_of_several_triggers() -> None:
    schedule = make(
        triggers=[
            {"type": "cron", "expr": "0 * * * *"},
            {"type": "cron", "expr": "0,30 * * * *"},
            {"type": "interval", "every_seconds": 3600, "anchor_at": "2026-01-01T00:00:00Z"},
        ],
        misfire_policy=CatchUpAllPolicy(),
    )
    plan = plan_claim(schedule, T0 + timedelta(hours=1, minutes=30))
    assert [r.scheduled_for for r in plan.runs] == [T0 + timedelta(minutes=m) for m in (0, 30, 60, 90)]
    assert len({r.run_id for r in plan.runs}) == 4


# --------------------------------------------------------------------------- max_runs


def test_max_runs_ends_the_schedule_with_the_run_that_reaches_it() -> None:
    schedule = make(max_runs=3, misfire_policy=CatchUpAllPolicy(), state={"total_run_count": 1})
    plan = plan_claim(schedule, T0 + timedelta(hours=1))
    assert [r.scheduled_for for r in plan.runs] == [T0, T0 + timedelta(minutes=10)]
    assert plan.enabled is False and plan.next_fire_at is None and not plan.still_due
    assert plan.pause_note == max_runs_note(3) == "ended after max_runs (3) runs"


def test_max_runs_counts_active_runs_and_run_nows_and_ends_a_schedule_that_reached_it() -> None:
    schedule = make(max_runs=2, state={"total_run_count": 1, "active_run_count": 1})
    assert remaining_runs(schedule) == 0
    plan = plan_claim(schedule, T0)
    assert plan.runs == [] and plan.enabled is False and plan.pause_note == max_runs_note(2)


def test_max_runs_does_not_count_skipped_slots() -> None:
    schedule = make(max_runs=1, overlap_policy=OverlapPolicy.skip, state={"active_run_count": 0})
    busy = make(max_runs=2, overlap_policy=OverlapPolicy.skip, state={"active_run_count": 1})
    assert plan_claim(schedule, T0).runs != []
    skipped = plan_claim(busy, T0)
    assert skipped.runs == [] and [r.status for r in skipped.skipped] == [RunStatus.skipped]
    assert skipped.enabled is True  # one finished-or-active run of two: the schedule goes on


def test_max_runs_is_at_least_one() -> None:
    with pytest.raises(ValueError, match="max_runs must be between 1"):
        make(max_runs=0)


# --------------------------------------------------------------------------- lenient load


def test_a_stored_cron_the_dialect_refuses_loads_and_is_paused_by_its_claim() -> None:
    data = {"id": "old", "name": "n", "trigger": {"type": "cron", "expr": "*/90 * * * *"}}
    with pytest.raises(ValueError, match="trigger.expr is not a valid cron expression"):
        ScheduleSpec.model_validate(data)  # create and edit: strict
    stored = Schedule.model_validate({**data, "state": {"next_fire_at": T0}}, context=STORED)
    assert stored.trigger.expr == "*/90 * * * *"
    assert stored.spec.trigger.expr == "*/90 * * * *"  # the spec view stays lenient too
    plan = plan_claim(stored, T0)
    assert plan.runs == [] and plan.enabled is False and plan.next_fire_at is None
    assert (
        plan.pause_note is not None and "trigger.expr '*/90 * * * *' is no longer accepted" in plan.pause_note
    )


# --------------------------------------------------------------------------- edits


def test_exclusion_and_trigger_set_edits_change_the_timing_jitter_does_not() -> None:
    old = make()
    assert timing_changed(old, old.spec.model_copy(update={"exclude": None})) is False
    assert timing_changed(old, make(exclude=[{"date": "2026-01-02"}]).spec)
    assert timing_changed(
        old,
        make(triggers=[{"type": "cron", "expr": "*/10 * * * *"}, {"type": "cron", "expr": "5 * * * *"}]).spec,
    )
    assert not timing_changed(old, make(jitter_seconds=60).spec)
    assert next_fire_after_edit(old, make(jitter_seconds=60).spec, T0 + timedelta(hours=1)) == T0
