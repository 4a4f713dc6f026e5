"""Weekly triggers: a local time on listed weekdays, in the schedule's timezone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from agentcron.domain.schedule import imported
from agentcron.models import WeeklyTrigger
from agentcron.triggers import iter_fire_times, next_fire_after, upcoming


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# 2026-03-02 is a Monday


def test_list_of_weekdays_over_two_weeks():
    trigger = WeeklyTrigger(weekdays=["mon", "wed", "fri"], hour=9, minute=0)
    fires = upcoming(trigger, utc(2026, 3, 1), 6)
    assert fires == [utc(2026, 3, d, 9) for d in (2, 4, 6, 9, 11, 13)]


def test_weekdays_sorted_and_deduplicated_by_the_model():
    trigger = WeeklyTrigger(weekdays=["fri", "mon", "fri"], hour=0, minute=0)
    assert upcoming(trigger, utc(2026, 3, 2), 3) == [utc(2026, 3, 6), utc(2026, 3, 9), utc(2026, 3, 13)]


@pytest.mark.parametrize("name", ["monkey", "Friday", "MON", "mo", " mon"])
def test_weekday_names_are_matched_exactly(name):
    with pytest.raises(ValidationError, match="trigger.weekdays must be among"):
        WeeklyTrigger(weekdays=[name], hour=0, minute=0)


def test_the_import_path_spells_out_the_weekday_shorthands():
    trigger = {"type": "weekly", "weekdays": ["Friday", "MON"], "hour": 0, "minute": 0}
    data = imported({"name": "x", "trigger": trigger, "misfire_policy": "skip", "workflow_target": "w"})
    assert data["trigger"]["weekdays"] == ["fri", "mon"] and data["misfire_policy"] == {"type": "skip"}
    assert "workflow_target" not in data


def test_single_weekday_strictly_after():
    trigger = WeeklyTrigger(weekdays=["sun"], hour=18, minute=30)
    assert next_fire_after(trigger, utc(2026, 3, 8, 18, 30)) == utc(2026, 3, 15, 18, 30)
    assert next_fire_after(trigger, utc(2026, 3, 8, 18, 29, 59)) == utc(2026, 3, 8, 18, 30)


def test_weekday_is_the_local_weekday():
    # Monday 02:00 in Kolkata is Sunday 20:30 UTC
    trigger = WeeklyTrigger(weekdays=["mon"], hour=2, minute=0)
    assert upcoming(trigger, utc(2026, 3, 1), 2, timezone="Asia/Kolkata") == [
        utc(2026, 3, 1, 20, 30), utc(2026, 3, 8, 20, 30)
    ]
    # Friday 20:00 in New York (EST) is Saturday 01:00 UTC
    trigger = WeeklyTrigger(weekdays=["fri"], hour=20, minute=0)
    assert next_fire_after(trigger, utc(2026, 2, 1), timezone="America/New_York") == utc(2026, 2, 7, 1)


def test_across_dst_changes():
    trigger = WeeklyTrigger(weekdays=["sat", "mon"], hour=7, minute=0)
    fires = upcoming(trigger, utc(2026, 3, 20), 4, timezone="Europe/London")
    # BST starts 2026-03-29: Saturday 28th is still GMT, Monday 30th is BST
    assert fires == [utc(2026, 3, 21, 7), utc(2026, 3, 23, 7), utc(2026, 3, 28, 7), utc(2026, 3, 30, 6)]
    fires = upcoming(trigger, utc(2026, 10, 1), 3, timezone="Australia/Lord_Howe")
    # Lord Howe moves from +10:30 to +11:00 on 2026-10-04 (a Sunday)
    assert fires == [utc(2026, 10, 2, 20, 30), utc(2026, 10, 4, 20), utc(2026, 10, 9, 20)]


def test_every_day_of_the_week():
    trigger = WeeklyTrigger(weekdays=["mon", "tue", "wed", "thu", "fri", "sat", "sun"], hour=12, minute=0)
    assert upcoming(trigger, utc(2026, 3, 1), 8) == [utc(2026, 3, d, 12) for d in range(1, 9)]


def test_window():
    trigger = WeeklyTrigger(weekdays=["tue", "thu"], hour=10, minute=0)
    window = {"start_at": utc(2026, 3, 5, 10), "end_at": utc(2026, 3, 12, 10)}
    fires = list(iter_fire_times(trigger, utc(2026, 3, 1), **window))
    assert fires == [utc(2026, 3, 5, 10), utc(2026, 3, 10, 10)]
    assert next_fire_after(trigger, utc(2026, 3, 1), end_at=utc(2026, 3, 3, 10)) is None
