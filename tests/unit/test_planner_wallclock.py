"""The planner on wall-clock triggers: slots follow local time across DST, one id per real instant."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agentcron import triggers
from agentcron.models import (
    CatchUpAllPolicy,
    CatchUpWindowPolicy,
    DailyTrigger,
    DstPolicy,
    OverlapPolicy,
    RunOncePolicy,
    Schedule,
    ScheduleState,
    slot_run_id,
)
from agentcron.planner import initial_next_fire, next_fire_after_edit, plan_claim


def _engine_ready() -> bool:
    try:
        triggers.next_fire_after(DailyTrigger(hour=9, minute=0), datetime(2026, 1, 1, tzinfo=UTC))
    except NotImplementedError:
        return False
    return True


pytestmark = pytest.mark.skipif(not _engine_ready(), reason="wall-clock triggers are not implemented yet")


def Z(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def make(trigger: dict, *, timezone: str, next_fire: datetime, policy, **kw) -> Schedule:
    return Schedule(
        id="wall",
        name="wall",
        trigger=trigger,
        timezone=timezone,
        misfire_policy=policy,
        overlap_policy=OverlapPolicy.allow,
        created_at=Z(2025, 12, 1),
        state=ScheduleState(next_fire_at=next_fire),
        **kw,
    )


PARIS_9AM = {"type": "daily", "hour": 9, "minute": 0}


def test_a_daily_schedule_down_for_three_days_runs_once_at_its_newest_local_slot():
    schedule = make(PARIS_9AM, timezone="Europe/Paris", next_fire=Z(2026, 1, 5, 8), policy=RunOncePolicy())
    plan = plan_claim(schedule, Z(2026, 1, 8, 12))
    assert [r.scheduled_for for r in plan.runs] == [Z(2026, 1, 8, 8)]
    assert plan.runs[0].was_catch_up is True
    assert [r.scheduled_for for r in plan.missed] == [Z(2026, 1, 5, 8), Z(2026, 1, 6, 8), Z(2026, 1, 7, 8)]
    assert plan.next_fire_at == Z(2026, 1, 9, 8)


def test_catch_up_across_spring_forward_keeps_nine_local():
    schedule = make(PARIS_9AM, timezone="Europe/Paris", next_fire=Z(2026, 3, 27, 8),
                    policy=CatchUpAllPolicy())
    plan = plan_claim(schedule, Z(2026, 3, 30, 12))
    # 09:00 CET is 08:00Z until 29 March, 09:00 CEST is 07:00Z from then on
    assert [r.scheduled_for for r in plan.runs] == [
        Z(2026, 3, 27, 8), Z(2026, 3, 28, 8), Z(2026, 3, 29, 7), Z(2026, 3, 30, 7)
    ]
    assert plan.next_fire_at == Z(2026, 3, 31, 7)


@pytest.mark.parametrize(
    "repeat, expected",
    [
        ("first", [Z(2026, 10, 31, 5, 30), Z(2026, 11, 1, 5, 30), Z(2026, 11, 2, 6, 30)]),
        ("last", [Z(2026, 10, 31, 5, 30), Z(2026, 11, 1, 6, 30), Z(2026, 11, 2, 6, 30)]),
        (
            "both",
            [Z(2026, 10, 31, 5, 30), Z(2026, 11, 1, 5, 30), Z(2026, 11, 1, 6, 30), Z(2026, 11, 2, 6, 30)],
        ),
    ],
)
def test_a_fall_back_repeated_hour_follows_the_dst_policy_with_one_id_per_instant(repeat, expected):
    schedule = make(
        {"type": "cron", "expr": "30 1 * * *"},
        timezone="America/New_York",
        next_fire=Z(2026, 10, 31, 5, 30),
        policy=CatchUpAllPolicy(),
        dst_policy=DstPolicy(repeat=repeat),
    )
    plan = plan_claim(schedule, Z(2026, 11, 2, 12))
    assert [r.scheduled_for for r in plan.runs] == expected
    assert [r.run_id for r in plan.runs] == [slot_run_id("wall", s) for s in expected]
    assert len({r.run_id for r in plan.runs}) == len(expected)
    assert plan.next_fire_at == Z(2026, 11, 3, 6, 30)


def test_a_weekly_catch_up_window_keeps_the_newest_fresh_slots():
    schedule = make(
        {"type": "weekly", "weekdays": ["mon", "wed", "fri"], "hour": 18, "minute": 30},
        timezone="Asia/Tokyo",  # 18:30 JST is 09:30Z, no DST
        next_fire=Z(2026, 1, 5, 9, 30),  # Monday
        policy=CatchUpWindowPolicy(max_catch_up_runs=2, max_lateness_seconds=7 * 86_400),
    )
    plan = plan_claim(schedule, Z(2026, 1, 19, 10))  # Monday two weeks later: 7 due slots
    assert [r.scheduled_for for r in plan.runs] == [Z(2026, 1, 16, 9, 30), Z(2026, 1, 19, 9, 30)]
    assert plan.missed_count == 5
    assert plan.next_fire_at == Z(2026, 1, 21, 9, 30)


def test_resume_of_a_paused_daily_schedule_starts_at_the_next_local_slot():
    old = make(PARIS_9AM, timezone="Europe/Paris", next_fire=Z(2026, 1, 5, 8), policy=RunOncePolicy(),
               enabled=False)
    new = old.spec.model_copy(update={"enabled": True})
    assert next_fire_after_edit(old, new, Z(2026, 6, 1, 7, 30)) == Z(2026, 6, 2, 7)
    assert initial_next_fire(new, Z(2026, 6, 1, 6, 59)) == Z(2026, 6, 1, 7)
