"""Interval triggers: a fixed UTC grid from the anchor, no drift, timezone and DST play no part."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agentcron.models import IntervalTrigger
from agentcron.triggers import iter_fire_times, next_fire_after, upcoming


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


ANCHOR = utc(2026, 1, 1, 0, 0, 0)
HOURLY = IntervalTrigger(every_seconds=3600, anchor_at=ANCHOR)


def test_first_grid_point_strictly_after():
    assert next_fire_after(HOURLY, utc(2026, 1, 1, 5, 30)) == utc(2026, 1, 1, 6)
    assert next_fire_after(HOURLY, utc(2026, 1, 1, 6)) == utc(2026, 1, 1, 7)
    assert next_fire_after(HOURLY, utc(2026, 1, 1, 5, 59, 59, 999999)) == utc(2026, 1, 1, 6)


def test_before_the_anchor_the_anchor_is_the_first_fire():
    assert next_fire_after(HOURLY, utc(2025, 12, 31, 12)) == ANCHOR
    assert next_fire_after(HOURLY, ANCHOR - timedelta(microseconds=1)) == ANCHOR


def test_no_drift_over_many_fires():
    trigger = IntervalTrigger(every_seconds=7, anchor_at=ANCHOR)
    fires = upcoming(trigger, ANCHOR, 2000)
    assert fires == [ANCHOR + timedelta(seconds=7 * k) for k in range(1, 2001)]


def test_resuming_from_any_instant_lands_on_the_grid():
    trigger = IntervalTrigger(every_seconds=90, anchor_at=ANCHOR)
    after = utc(2026, 6, 17, 13, 45, 12, 345000)
    fire = next_fire_after(trigger, after)
    assert fire is not None and fire > after
    assert (fire - ANCHOR) % timedelta(seconds=90) == timedelta(0)
    assert fire - after <= timedelta(seconds=90)


def test_without_anchor_the_grid_starts_at_after_in_whole_seconds():
    trigger = IntervalTrigger(every_seconds=60)
    after = utc(2026, 3, 1, 10, 0, 5, 700000)
    assert next_fire_after(trigger, after) == utc(2026, 3, 1, 10, 1, 5)
    # iteration pins the anchor once, so the grid does not move
    assert upcoming(trigger, after, 3) == [utc(2026, 3, 1, 10, m, 5) for m in (1, 2, 3)]


def test_naive_datetimes_are_utc():
    assert next_fire_after(HOURLY, datetime(2026, 1, 1, 5, 30)) == utc(2026, 1, 1, 6)
    assert next_fire_after(HOURLY, utc(2026, 1, 1, 0), start_at=datetime(2026, 1, 1, 3)) == utc(2026, 1, 1, 3)


def test_window_start_inclusive_end_exclusive():
    after = utc(2026, 1, 1, 0)
    assert next_fire_after(HOURLY, after, start_at=utc(2026, 1, 1, 3)) == utc(2026, 1, 1, 3)
    assert next_fire_after(HOURLY, after, start_at=utc(2026, 1, 1, 3, 0, 1)) == utc(2026, 1, 1, 4)
    assert next_fire_after(HOURLY, after, end_at=utc(2026, 1, 1, 1)) is None
    assert next_fire_after(HOURLY, after, end_at=utc(2026, 1, 1, 1, 0, 1)) == utc(2026, 1, 1, 1)
    fires = list(iter_fire_times(HOURLY, after, start_at=utc(2026, 1, 1, 2), end_at=utc(2026, 1, 1, 6)))
    assert fires == [utc(2026, 1, 1, h) for h in (2, 3, 4, 5)]
    assert next_fire_after(HOURLY, utc(2026, 1, 1, 6), end_at=utc(2026, 1, 1, 6)) is None


def test_until_is_inclusive_and_limit_caps():
    after = utc(2026, 1, 1, 0)
    fires = list(iter_fire_times(HOURLY, after, until=utc(2026, 1, 1, 3)))
    assert fires == [utc(2026, 1, 1, h) for h in (1, 2, 3)]
    assert list(iter_fire_times(HOURLY, after, limit=2)) == [utc(2026, 1, 1, 1), utc(2026, 1, 1, 2)]
    assert list(iter_fire_times(HOURLY, after, limit=0)) == []


def test_timezone_and_dst_do_not_apply():
    trigger = IntervalTrigger(every_seconds=1800, anchor_at=utc(2026, 3, 8, 0))
    after = utc(2026, 3, 8, 5)
    expected = [after + timedelta(minutes=30 * k) for k in range(1, 13)]
    for zone in (None, "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"):
        assert upcoming(trigger, after, 12, timezone=zone) == expected


def test_results_are_aware_utc_whole_seconds():
    trigger = IntervalTrigger(every_seconds=45, anchor_at=utc(2026, 2, 3, 4, 5, 6))
    for fire in upcoming(trigger, utc(2026, 2, 3, 4, 5, 6, 123456), 50):
        assert fire.tzinfo is UTC and fire.microsecond == 0
