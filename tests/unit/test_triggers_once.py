"""Once triggers: a single instant, if it is still ahead and inside the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agentcron.models import OnceTrigger
from agentcron.triggers import iter_fire_times, next_fire_after, upcoming


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


AT = utc(2026, 7, 4, 12, 0, 0)
ONCE = OnceTrigger(at=AT)


def test_fires_at_its_instant_only_if_strictly_ahead():
    assert next_fire_after(ONCE, utc(2026, 7, 4, 11, 59, 59)) == AT
    assert next_fire_after(ONCE, AT - timedelta(microseconds=1)) == AT
    assert next_fire_after(ONCE, AT) is None
    assert next_fire_after(ONCE, utc(2026, 8, 1)) is None


def test_iteration_yields_exactly_one_fire():
    assert upcoming(ONCE, utc(2020, 1, 1), 5) == [AT]
    assert list(iter_fire_times(ONCE, AT)) == []


def test_window():
    early = utc(2026, 1, 1)
    assert next_fire_after(ONCE, early, start_at=AT) == AT
    assert next_fire_after(ONCE, early, start_at=AT + timedelta(seconds=1)) is None
    assert next_fire_after(ONCE, early, end_at=AT) is None
    assert next_fire_after(ONCE, early, end_at=AT + timedelta(seconds=1)) == AT


def test_until():
    assert list(iter_fire_times(ONCE, utc(2026, 1, 1), until=AT)) == [AT]
    assert list(iter_fire_times(ONCE, utc(2026, 1, 1), until=AT - timedelta(seconds=1))) == []


def test_timezone_does_not_apply_and_naive_is_utc():
    naive = OnceTrigger(at=datetime(2026, 3, 8, 7, 0))  # inside New York's spring gap if it were local
    for zone in (None, "America/New_York", "Australia/Lord_Howe"):
        assert next_fire_after(naive, datetime(2026, 3, 8), timezone=zone) == utc(2026, 3, 8, 7)


def test_sub_second_at_is_dropped_by_the_model():
    trigger = OnceTrigger(at=utc(2026, 7, 4, 12, 0, 0).replace(microsecond=900000))
    assert next_fire_after(trigger, utc(2026, 7, 4)) == AT
