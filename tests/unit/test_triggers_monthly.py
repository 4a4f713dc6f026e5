"""Monthly triggers: listed days of the month at a local time; a day a month lacks is skipped that month."""

from __future__ import annotations

from datetime import UTC, datetime

from agentcron.models import DstPolicy, MonthlyTrigger
from agentcron.triggers import iter_fire_times, next_fire_after, upcoming


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_31st_skips_short_months():
    trigger = MonthlyTrigger(days=[31], hour=9, minute=0)
    fires = upcoming(trigger, utc(2026, 1, 1), 8)
    months = [(f.year, f.month) for f in fires]
    assert months == [(2026, 1), (2026, 3), (2026, 5), (2026, 7), (2026, 8), (2026, 10), (2026, 12),
                      (2027, 1)]
    assert all(f.day == 31 and f.hour == 9 for f in fires)


def test_29th_of_february_only_in_leap_years():
    trigger = MonthlyTrigger(days=[29], hour=0, minute=0)
    fires = list(iter_fire_times(trigger, utc(2026, 1, 1), until=utc(2028, 12, 31)))
    february = [f for f in fires if f.month == 2]
    assert february == [utc(2028, 2, 29)]
    assert len(fires) == 11 + 11 + 12  # every month but February 2026 and 2027


def test_several_days_in_order():
    trigger = MonthlyTrigger(days=[15, 1, 30], hour=6, minute=5, second=7)
    assert trigger.days == [1, 15, 30]
    assert upcoming(trigger, utc(2026, 1, 20), 6) == [
        utc(2026, 1, 30, 6, 5, 7), utc(2026, 2, 1, 6, 5, 7), utc(2026, 2, 15, 6, 5, 7),
        utc(2026, 3, 1, 6, 5, 7), utc(2026, 3, 15, 6, 5, 7), utc(2026, 3, 30, 6, 5, 7),
    ]


def test_strictly_after_the_current_slot():
    trigger = MonthlyTrigger(days=[10], hour=12, minute=0)
    assert next_fire_after(trigger, utc(2026, 4, 10, 12)) == utc(2026, 5, 10, 12)
    assert next_fire_after(trigger, utc(2026, 4, 10, 11, 59, 59)) == utc(2026, 4, 10, 12)


def test_local_month_boundaries():
    # 00:00 on the 1st in Kolkata (+05:30) is 18:30 UTC on the last day of the previous month
    trigger = MonthlyTrigger(days=[1], hour=0, minute=0)
    assert upcoming(trigger, utc(2026, 1, 15), 3, timezone="Asia/Kolkata") == [
        utc(2026, 1, 31, 18, 30), utc(2026, 2, 28, 18, 30), utc(2026, 3, 31, 18, 30)
    ]
    # 23:00 on the 31st in New York (EST, -05:00) is 04:00 UTC on the 1st of the next month
    trigger = MonthlyTrigger(days=[31], hour=23, minute=0)
    assert next_fire_after(trigger, utc(2026, 1, 2), timezone="America/New_York") == utc(2026, 2, 1, 4)
    # ... and from New Year UTC, New York is still on December 31st
    assert next_fire_after(trigger, utc(2026, 1, 1), timezone="America/New_York") == utc(2026, 1, 1, 4)


def test_dst_days_follow_the_policy():
    trigger = MonthlyTrigger(days=[8], hour=2, minute=30)
    zone = "America/New_York"
    # 02:30 does not exist on 2026-03-08: shifted to 03:00 EDT
    assert next_fire_after(trigger, utc(2026, 3, 1), timezone=zone) == utc(2026, 3, 8, 7)
    skip = DstPolicy(gap="skip")
    assert next_fire_after(trigger, utc(2026, 3, 1), timezone=zone, dst_policy=skip) == utc(2026, 4, 8, 6, 30)
    trigger = MonthlyTrigger(days=[1], hour=1, minute=30)
    both = DstPolicy(repeat="both")
    assert upcoming(trigger, utc(2026, 10, 15), 3, timezone=zone, dst_policy=both) == [
        utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30), utc(2026, 12, 1, 6, 30)
    ]


def test_window():
    trigger = MonthlyTrigger(days=[1, 15], hour=8, minute=0)
    window = {"start_at": utc(2026, 2, 1, 8), "end_at": utc(2026, 3, 15, 8)}
    fires = list(iter_fire_times(trigger, utc(2026, 1, 1), **window))
    assert fires == [utc(2026, 2, 1, 8), utc(2026, 2, 15, 8), utc(2026, 3, 1, 8)]
    assert next_fire_after(trigger, utc(2026, 1, 1), start_at=utc(2027, 1, 1)) == utc(2027, 1, 1, 8)
