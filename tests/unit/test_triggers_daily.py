"""Daily triggers: one local wall-clock time per day, in the schedule's timezone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agentcron.models import DailyTrigger
from agentcron.triggers import iter_fire_times, next_fire_after, upcoming


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_utc_sequence_and_strictness():
    trigger = DailyTrigger(hour=9, minute=15, second=30)
    assert upcoming(trigger, utc(2026, 1, 1), 3) == [utc(2026, 1, d, 9, 15, 30) for d in (1, 2, 3)]
    assert next_fire_after(trigger, utc(2026, 1, 1, 9, 15, 30)) == utc(2026, 1, 2, 9, 15, 30)
    assert next_fire_after(trigger, utc(2026, 1, 1, 9, 15, 29)) == utc(2026, 1, 1, 9, 15, 30)


def test_none_timezone_is_utc():
    trigger = DailyTrigger(hour=0, minute=0)
    assert upcoming(trigger, utc(2026, 12, 30, 12), 3, timezone=None) == [
        utc(2026, 12, 31), utc(2027, 1, 1), utc(2027, 1, 2)
    ]


def test_new_york_across_the_spring_change():
    trigger = DailyTrigger(hour=9, minute=0)
    fires = upcoming(trigger, utc(2026, 3, 6), 4, timezone="America/New_York")
    # EST is UTC-5 until 2026-03-08 02:00, EDT UTC-4 after
    assert fires == [utc(2026, 3, 6, 14), utc(2026, 3, 7, 14), utc(2026, 3, 8, 13), utc(2026, 3, 9, 13)]


def test_london_winter_and_summer():
    trigger = DailyTrigger(hour=8, minute=30)
    assert next_fire_after(trigger, utc(2026, 1, 10), timezone="Europe/London") == utc(2026, 1, 10, 8, 30)
    assert next_fire_after(trigger, utc(2026, 7, 10), timezone="Europe/London") == utc(2026, 7, 10, 7, 30)


def test_kolkata_half_hour_offset_all_year():
    trigger = DailyTrigger(hour=9, minute=0)
    fires = upcoming(trigger, utc(2026, 1, 1), 365, timezone="Asia/Kolkata")
    assert fires == [utc(2026, 1, 1, 3, 30) + timedelta(days=k) for k in range(365)]


def test_kolkata_local_day_differs_from_utc_day():
    trigger = DailyTrigger(hour=2, minute=0)  # 02:00 IST is 20:30 UTC the previous day
    assert upcoming(trigger, utc(2026, 5, 1, 12), 2, timezone="Asia/Kolkata") == [
        utc(2026, 5, 1, 20, 30), utc(2026, 5, 2, 20, 30)
    ]


def test_lord_howe_half_hour_dst():
    trigger = DailyTrigger(hour=12, minute=0)
    zone = "Australia/Lord_Howe"
    assert next_fire_after(trigger, utc(2026, 1, 10), timezone=zone) == utc(2026, 1, 10, 1)  # +11:00
    assert next_fire_after(trigger, utc(2026, 7, 10), timezone=zone) == utc(2026, 7, 10, 1, 30)  # +10:30
    # DST ends on 2026-04-05 (local): noon moves from 01:00Z to 01:30Z
    assert upcoming(trigger, utc(2026, 4, 3, 12), 3, timezone=zone) == [
        utc(2026, 4, 4, 1), utc(2026, 4, 5, 1, 30), utc(2026, 4, 6, 1, 30)
    ]


def test_window():
    trigger = DailyTrigger(hour=6, minute=0)
    after = utc(2026, 2, 1)
    assert next_fire_after(trigger, after, start_at=utc(2026, 2, 5, 6)) == utc(2026, 2, 5, 6)
    assert next_fire_after(trigger, after, start_at=utc(2026, 2, 5, 6, 0, 1)) == utc(2026, 2, 6, 6)
    assert next_fire_after(trigger, after, end_at=utc(2026, 2, 1, 6)) is None
    fires = list(iter_fire_times(trigger, after, start_at=utc(2026, 2, 3), end_at=utc(2026, 2, 6, 6)))
    assert fires == [utc(2026, 2, d, 6) for d in (3, 4, 5)]


def test_until_inclusive():
    trigger = DailyTrigger(hour=6, minute=0)
    fires = list(iter_fire_times(trigger, utc(2026, 2, 1), until=utc(2026, 2, 3, 6)))
    assert fires == [utc(2026, 2, 1, 6), utc(2026, 2, 2, 6), utc(2026, 2, 3, 6)]


@pytest.mark.parametrize(
    "zone", ["UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata"]
)
def test_one_fire_per_local_day_for_a_whole_year(zone):
    trigger = DailyTrigger(hour=10, minute=45)
    fires = upcoming(trigger, utc(2026, 1, 1), 365, timezone=zone)
    local_days = [f.astimezone(ZoneInfo(zone)).date() for f in fires]
    assert len(set(local_days)) == 365
    assert all(b - a == timedelta(days=1) for a, b in zip(local_days, local_days[1:]))
