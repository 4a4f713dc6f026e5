"""DST: gap and repeat policies for fixed-time triggers; every-instant semantics for wildcard-hour crons.

2026 transitions used here:
- America/New_York: 03-08 02:00 EST -> 03:00 EDT (07:00Z); 11-01 02:00 EDT -> 01:00 EST (06:00Z).
- Europe/London: 03-29 01:00 GMT -> 02:00 BST (01:00Z); 10-25 02:00 BST -> 01:00 GMT (01:00Z).
- Europe/Berlin: 03-29 02:00 CET -> 03:00 CEST (01:00Z); 10-25 03:00 CEST -> 02:00 CET (01:00Z).
- Australia/Lord_Howe (30 minutes): 04-05 02:00 +11 -> 01:30 +10:30 (04-04 15:00Z);
  10-04 02:00 +10:30 -> 02:30 +11 (10-03 15:30Z).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agentcron.models import CronTrigger, DailyTrigger, DstPolicy
from agentcron.triggers import iter_fire_times, next_fire_after

NY = "America/New_York"
SHIFT, SKIP = DstPolicy(gap="shift"), DstPolicy(gap="skip")
FIRST, LAST, BOTH = DstPolicy(repeat="first"), DstPolicy(repeat="last"), DstPolicy(repeat="both")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def fires(trigger, start, end, zone, policy=None):
    return list(iter_fire_times(trigger, start, until=end, timezone=zone, dst_policy=policy))


def on_day(values, day):
    return [v for v in values if v.date() == day]


# --------------------------------------------------------------------------- spring forward (gap)


@pytest.mark.parametrize("trigger", [DailyTrigger(hour=2, minute=30), CronTrigger(expr="30 2 * * *"),
                                     CronTrigger(expr="0 30 2 * * *")])
def test_gap_shift_fires_once_at_the_end_of_the_gap(trigger):
    got = fires(trigger, utc(2026, 3, 6), utc(2026, 3, 10), NY)
    assert got == [utc(2026, 3, 6, 7, 30), utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7), utc(2026, 3, 9, 6, 30)]
    assert fires(trigger, utc(2026, 3, 6), utc(2026, 3, 10), NY, SHIFT) == got  # shift is the default


@pytest.mark.parametrize("trigger", [DailyTrigger(hour=2, minute=30), CronTrigger(expr="30 2 * * *")])
def test_gap_skip_does_not_fire_that_day(trigger):
    got = fires(trigger, utc(2026, 3, 6), utc(2026, 3, 10), NY, SKIP)
    assert got == [utc(2026, 3, 6, 7, 30), utc(2026, 3, 7, 7, 30), utc(2026, 3, 9, 6, 30)]


def test_several_slots_in_one_gap_fire_once():
    got = fires(CronTrigger(expr="*/15 2 * * *"), utc(2026, 3, 7, 12), utc(2026, 3, 9, 12), NY)
    assert got == [utc(2026, 3, 8, 7)] + [utc(2026, 3, 9, 6, m) for m in (0, 15, 30, 45)]
    got = fires(CronTrigger(expr="*/15 2 * * *"), utc(2026, 3, 7, 12), utc(2026, 3, 9, 12), NY, SKIP)
    assert got == [utc(2026, 3, 9, 6, m) for m in (0, 15, 30, 45)]


def test_a_shifted_slot_and_a_real_slot_at_the_same_instant_fire_once():
    got = fires(CronTrigger(expr="0,30 2,3 * * *"), utc(2026, 3, 8), utc(2026, 3, 8, 12), NY)
    assert got == [utc(2026, 3, 8, 7), utc(2026, 3, 8, 7, 30)]


def test_after_inside_the_gapped_hour_still_gets_the_shifted_slot():
    # 06:59:59Z is 01:59:59 EST, a second before the gap
    daily = DailyTrigger(hour=2, minute=30)
    assert next_fire_after(daily, utc(2026, 3, 8, 6, 59, 59), timezone=NY) == utc(2026, 3, 8, 7)
    assert next_fire_after(daily, utc(2026, 3, 8, 7), timezone=NY) == utc(2026, 3, 9, 6, 30)


@pytest.mark.parametrize(
    ("zone", "hour", "minute", "shifted"),
    [
        ("Europe/London", 1, 30, utc(2026, 3, 29, 1)),  # to 02:00 BST
        ("Europe/Berlin", 2, 30, utc(2026, 3, 29, 1)),  # to 03:00 CEST
        ("Australia/Lord_Howe", 2, 15, utc(2026, 10, 3, 15, 30)),  # to 02:30 +11
    ],
)
def test_gap_in_other_zones(zone, hour, minute, shifted):
    trigger = DailyTrigger(hour=hour, minute=minute)
    start, end = shifted - timedelta(days=1, hours=1), shifted + timedelta(days=1, hours=1)
    got = fires(trigger, start, end, zone)
    assert len(got) == 3 and got[1] == shifted
    got_skip = fires(trigger, start, end, zone, SKIP)
    assert got_skip == [got[0], got[2]]


# --------------------------------------------------------------------------- fall back (repeat)


@pytest.mark.parametrize("trigger", [DailyTrigger(hour=1, minute=30), CronTrigger(expr="30 1 * * *")])
@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (None, [utc(2026, 11, 1, 5, 30)]),
        (FIRST, [utc(2026, 11, 1, 5, 30)]),
        (LAST, [utc(2026, 11, 1, 6, 30)]),
        (BOTH, [utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30)]),
    ],
)
def test_repeat_policies_new_york(trigger, policy, expected):
    got = fires(trigger, utc(2026, 10, 31), utc(2026, 11, 3), NY, policy)
    assert got == [utc(2026, 10, 31, 5, 30)] + expected + [utc(2026, 11, 2, 6, 30)]


def test_repeat_policies_with_several_slots_in_the_repeated_hour():
    trigger = CronTrigger(expr="*/20 1 * * *")
    day = utc(2026, 11, 1).date()
    first = on_day(fires(trigger, utc(2026, 10, 31, 12), utc(2026, 11, 1, 12), NY, FIRST), day)
    last = on_day(fires(trigger, utc(2026, 10, 31, 12), utc(2026, 11, 1, 12), NY, LAST), day)
    both = on_day(fires(trigger, utc(2026, 10, 31, 12), utc(2026, 11, 1, 12), NY, BOTH), day)
    assert first == [utc(2026, 11, 1, 5, m) for m in (0, 20, 40)]
    assert last == [utc(2026, 11, 1, 6, m) for m in (0, 20, 40)]
    assert both == first + last


@pytest.mark.parametrize(
    ("zone", "hour", "minute", "first", "last"),
    [
        ("Europe/London", 1, 30, utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)),
        ("Europe/Berlin", 2, 30, utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)),
        ("Australia/Lord_Howe", 1, 45, utc(2026, 4, 4, 14, 45), utc(2026, 4, 4, 15, 15)),
    ],
)
def test_repeat_in_other_zones(zone, hour, minute, first, last):
    trigger = DailyTrigger(hour=hour, minute=minute)
    start, end = first - timedelta(hours=2), first + timedelta(hours=2)
    assert fires(trigger, start, end, zone) == [first]
    assert fires(trigger, start, end, zone, LAST) == [last]
    assert fires(trigger, start, end, zone, BOTH) == [first, last]


def test_after_inside_the_repeated_hour():
    daily = DailyTrigger(hour=1, minute=30)
    first_pass = utc(2026, 11, 1, 5, 45)  # 01:45 EDT
    second_pass = utc(2026, 11, 1, 6, 10)  # 01:10 EST
    assert next_fire_after(daily, first_pass, timezone=NY) == utc(2026, 11, 2, 6, 30)
    assert next_fire_after(daily, first_pass, timezone=NY, dst_policy=LAST) == utc(2026, 11, 1, 6, 30)
    assert next_fire_after(daily, first_pass, timezone=NY, dst_policy=BOTH) == utc(2026, 11, 1, 6, 30)
    assert next_fire_after(daily, second_pass, timezone=NY, dst_policy=BOTH) == utc(2026, 11, 1, 6, 30)
    after_both = utc(2026, 11, 1, 6, 30)
    assert next_fire_after(daily, after_both, timezone=NY, dst_policy=BOTH) == utc(2026, 11, 2, 6, 30)
    quarter = CronTrigger(expr="*/15 * * * *")
    assert next_fire_after(quarter, first_pass, timezone=NY) == utc(2026, 11, 1, 6)  # 01:00 EST
    assert next_fire_after(quarter, utc(2026, 11, 1, 5, 40), timezone=NY) == utc(2026, 11, 1, 5, 45)
    assert next_fire_after(quarter, second_pass, timezone=NY) == utc(2026, 11, 1, 6, 15)


# --------------------------------------------------------------------------- every real instant


def consecutive(values, step):
    return all(b - a == step for a, b in zip(values, values[1:]))


@pytest.mark.parametrize("expr", ["0 * * * *", "@hourly"])
@pytest.mark.parametrize("policy", [None, SKIP, LAST, BOTH])
def test_hourly_fires_every_real_hour_through_both_transitions(expr, policy):
    trigger = CronTrigger(expr=expr)
    spring = fires(trigger, utc(2026, 3, 8, 2), utc(2026, 3, 8, 12), NY, policy)
    assert spring == [utc(2026, 3, 8, h) for h in range(3, 13)]
    autumn = fires(trigger, utc(2026, 11, 1, 2), utc(2026, 11, 1, 12), NY, policy)
    assert autumn == [utc(2026, 11, 1, h) for h in range(3, 13)]
    # local 01:00 happens twice on 2026-11-01, 02:00 never on 2026-03-08
    local_autumn = [f.astimezone(ZoneInfo(NY)).strftime("%H%z") for f in autumn[:5]]
    assert local_autumn == ["23-0400", "00-0400", "01-0400", "01-0500", "02-0500"]


@pytest.mark.parametrize("zone", [NY, "Europe/London", "Europe/Berlin"])
def test_every_fifteen_minutes_through_both_transitions(zone):
    trigger = CronTrigger(expr="*/15 * * * *")
    for day in (utc(2026, 3, 8), utc(2026, 3, 29), utc(2026, 10, 25), utc(2026, 11, 1)):
        got = fires(trigger, day - timedelta(hours=12), day + timedelta(hours=12), zone)
        assert len(got) == len(set(got)) == 96
        assert consecutive(got, timedelta(minutes=15))


def test_hourly_through_the_lord_howe_half_hour_changes():
    zone = "Australia/Lord_Howe"
    trigger = CronTrigger(expr="0 * * * *")
    # 2026-10-04: local 02:00-02:30 is skipped, so 01:00 (+10:30) is 14:30Z and 03:00 (+11) is 16:00Z
    got = fires(trigger, utc(2026, 10, 3, 13), utc(2026, 10, 3, 18), zone)
    assert got == [utc(2026, 10, 3, 13, 30), utc(2026, 10, 3, 14, 30), utc(2026, 10, 3, 16),
                   utc(2026, 10, 3, 17), utc(2026, 10, 3, 18)]
    # 2026-04-05: local 01:30-02:00 happens twice; no whole hour is in it, so the hours stay one apart
    got = fires(trigger, utc(2026, 4, 4, 12), utc(2026, 4, 4, 18), zone)
    assert got == [utc(2026, 4, 4, 13), utc(2026, 4, 4, 14), utc(2026, 4, 4, 15, 30), utc(2026, 4, 4, 16, 30),
                   utc(2026, 4, 4, 17, 30)]
    quarter = fires(CronTrigger(expr="45 * * * *"), utc(2026, 4, 4, 12), utc(2026, 4, 4, 18), zone)
    # local 01:45 happens twice (14:45Z at +11, 15:15Z at +10:30)
    assert quarter == [utc(2026, 4, 4, 12, 45), utc(2026, 4, 4, 13, 45), utc(2026, 4, 4, 14, 45),
                       utc(2026, 4, 4, 15, 15), utc(2026, 4, 4, 16, 15), utc(2026, 4, 4, 17, 15)]


def test_step_hours_are_every_instant_too():
    got = fires(CronTrigger(expr="0 */1 * * *"), utc(2026, 11, 1, 4), utc(2026, 11, 1, 8), NY, FIRST)
    assert got == [utc(2026, 11, 1, h) for h in (5, 6, 7, 8)]
    got = fires(CronTrigger(expr="30 1-23/2 * * *"), utc(2026, 11, 1, 4), utc(2026, 11, 1, 9), NY, FIRST)
    # 01:30 EDT, 01:30 EST, 03:30 EST
    assert got == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30), utc(2026, 11, 1, 8, 30)]


def test_fixed_hour_ranges_follow_the_policy():
    got = fires(CronTrigger(expr="30 0-3 * * *"), utc(2026, 11, 1, 4), utc(2026, 11, 1, 9), NY)
    # 00:30 EDT, 01:30 EDT (first only), 02:30 EST, 03:30 EST
    assert got == [utc(2026, 11, 1, 4, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 7, 30),
                   utc(2026, 11, 1, 8, 30)]


def test_no_fire_lands_in_a_gap_and_nothing_fires_twice():
    for expr in ("*/10 * * * *", "*/10 2 * * *", "0 0-4 * * *", "* 2 * * *"):
        got = fires(CronTrigger(expr=expr), utc(2026, 3, 7), utc(2026, 3, 9), NY)
        assert len(got) == len(set(got)) and got == sorted(got)
        for fire in got:
            local = fire.astimezone(ZoneInfo(NY))
            assert local.replace(tzinfo=None).replace(tzinfo=local.tzinfo).astimezone(UTC) == fire
