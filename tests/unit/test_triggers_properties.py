"""Properties of the trigger engine, checked with hypothesis against independent brute-force references.

The references never use croniter: they walk real UTC minutes, convert each to local time with zoneinfo and
match the cron fields themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentcron.models import CronTrigger, DailyTrigger, DstPolicy, MonthlyTrigger, WeeklyTrigger
from agentcron.triggers import iter_fire_times, next_fire_after

DST_ZONES = ["America/New_York", "Europe/London", "Europe/Berlin", "Australia/Lord_Howe", "Australia/Sydney",
             "Pacific/Chatham", "America/Santiago"]
ZONES = DST_ZONES + ["Asia/Kolkata", "UTC"]
MINUTE = timedelta(minutes=1)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@lru_cache(maxsize=None)
def transitions(zone_name: str) -> tuple[datetime, ...]:
    """UTC instants (to the minute) where the zone's offset changes in 2026, found by walking the year."""
    zone, found = ZoneInfo(zone_name), []
    t = datetime(2026, 1, 1, tzinfo=UTC)
    offset = t.astimezone(zone).utcoffset()
    while t.year == 2026:
        nxt = t + timedelta(minutes=15)
        if nxt.astimezone(zone).utcoffset() != offset:
            while t.astimezone(zone).utcoffset() == offset:
                t += MINUTE
            found.append(t)
            offset = t.astimezone(zone).utcoffset()
            nxt = t
        t = nxt
    return tuple(found)


def test_the_reference_zones_have_two_transitions_in_2026():
    for zone in DST_ZONES:
        assert len(transitions(zone)) == 2, zone


@st.composite
def near_a_transition(draw, zones=DST_ZONES):
    """(zone, after) with ``after`` up to 36 hours before one of the zone's 2026 transitions."""
    zone = draw(st.sampled_from(zones))
    changes = transitions(zone) or (datetime(2026, 3, 8, tzinfo=UTC),)
    change = draw(st.sampled_from(changes))
    seconds = draw(st.integers(min_value=0, max_value=36 * 3600))
    micro = draw(st.sampled_from([0, 0, 250000]))
    return zone, change - timedelta(seconds=seconds, microseconds=micro)


policies = st.builds(
    DstPolicy, gap=st.sampled_from(["shift", "skip"]), repeat=st.sampled_from(["first", "last", "both"])
)
times = st.tuples(st.integers(0, 23), st.sampled_from([0, 15, 30, 45, 59]), st.sampled_from([0, 30]))


@st.composite
def wall_clock_triggers(draw):
    hour, minute, second = draw(times)
    kind = draw(st.sampled_from(["daily", "weekly", "monthly", "cron"]))
    if kind == "daily":
        return DailyTrigger(hour=hour, minute=minute, second=second)
    if kind == "weekly":
        days = draw(st.lists(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]), min_size=1))
        return WeeklyTrigger(weekdays=days, hour=hour, minute=minute, second=second)
    if kind == "monthly":
        days = draw(st.lists(st.integers(1, 31), min_size=1, max_size=4))
        return MonthlyTrigger(days=days, hour=hour, minute=minute, second=second)
    expr = draw(st.sampled_from([
        "*/15 * * * *", "0 * * * *", "30 1,2 * * *", "*/10 2 * * *", "0 0-3 * * *", "*/20 * * * * *",
        "0 30 2 * * *", "45 */2 * * *", "0 0 * * 0", "@hourly", "0 12 1 * * * 2026",
    ]))
    return CronTrigger(expr=expr)


@SETTINGS
@given(trigger=wall_clock_triggers(), where=near_a_transition(ZONES), policy=policies)
def test_strictly_increasing_whole_seconds_never_in_a_gap(trigger, where, policy):
    zone_name, after = where
    zone = ZoneInfo(zone_name)
    previous = after
    for _ in range(25):
        fire = next_fire_after(trigger, previous, timezone=zone_name, dst_policy=policy)
        if fire is None:
            break
        assert fire > previous
        assert fire.tzinfo is UTC and fire.microsecond == 0
        local = fire.astimezone(zone)
        wall = local.replace(tzinfo=None)
        # the local wall time exists: it maps back to the same instant (it is not inside a gap)
        assert wall.replace(tzinfo=zone, fold=local.fold).astimezone(UTC) == fire
        assert wall.replace(tzinfo=zone).astimezone(zone).replace(tzinfo=None) == wall
        previous = fire


@SETTINGS
@given(where=near_a_transition(), slot=times)
def test_a_fixed_daily_time_fires_exactly_once_per_local_day_on_dst_days(where, slot):
    zone_name, _ = where
    zone = ZoneInfo(zone_name)
    hour, minute, second = slot
    trigger = DailyTrigger(hour=hour, minute=minute, second=second)
    for change in transitions(zone_name):
        day = change.astimezone(zone).date()
        start = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC) - timedelta(hours=2)
        fires = list(iter_fire_times(trigger, start, until=start + timedelta(hours=52), timezone=zone_name))
        assert [f.astimezone(zone).date() for f in fires].count(day) == 1
        fire = next(f for f in fires if f.astimezone(zone).date() == day)
        local = fire.astimezone(zone)
        if (local.hour, local.minute, local.second) != (hour, minute, second):
            # only a slot that does not exist that day moves, and to the first instant after the gap
            slot = datetime.combine(day, time(hour, minute, second))
            assert slot.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) != slot
            assert (fire - timedelta(seconds=1)).astimezone(zone).utcoffset() < local.utcoffset()


# --------------------------------------------------------------------------- brute-force references


def cron_field(draw, low: int, high: int, *, shapes: tuple[str, ...]) -> tuple[str, frozenset[int]]:
    """A random cron field and the set of values it matches, built side by side."""
    shape = draw(st.sampled_from(shapes))
    if shape == "single":
        value = draw(st.integers(low, high))
        return str(value), frozenset({value})
    if shape == "list":
        values = sorted(set(draw(st.lists(st.integers(low, high), min_size=2, max_size=4))))
        return ",".join(map(str, values)), frozenset(values)
    a, b = sorted(draw(st.lists(st.integers(low, high), min_size=2, max_size=2, unique=True)))
    if shape == "range":
        return f"{a}-{b}", frozenset(range(a, b + 1))
    step = draw(st.integers(2, 5))
    return f"{a}-{b}/{step}", frozenset(range(a, b + 1, step))


@st.composite
def five_field_crons(draw, wildcard_hour: bool):
    """(expr, fields): the hour field is a wildcard or a step, or else fixed (a number, list or range)."""
    if draw(st.booleans()):
        step = draw(st.sampled_from([5, 10, 15, 20, 30]))
        minute, minutes = f"*/{step}", frozenset(range(0, 60, step))
    else:
        minute, minutes = cron_field(draw, 0, 59, shapes=("single", "list", "range", "range_step"))
    if wildcard_hour:
        shape = draw(st.sampled_from(["star", "step", "range_step"]))
        if shape == "star":
            hour, hours = "*", frozenset(range(24))
        elif shape == "step":
            k = draw(st.integers(1, 6))
            hour, hours = f"*/{k}", frozenset(range(0, 24, k))
        else:
            a, k = draw(st.integers(0, 5)), draw(st.integers(1, 3))
            hour, hours = f"{a}-23/{k}", frozenset(range(a, 24, k))
    elif draw(st.booleans()):  # the hours DST changes usually touch
        hour, hours = draw(st.sampled_from([
            ("1", frozenset({1})), ("2", frozenset({2})), ("1-3", frozenset({1, 2, 3})),
            ("0,23", frozenset({0, 23})),
        ]))
    else:
        hour, hours = cron_field(draw, 0, 23, shapes=("single", "list", "range"))
    dom, doms = draw(st.sampled_from([("*", None), ("1-10", frozenset(range(1, 11))),
                                      ("5,25", frozenset({5, 25}))]))
    dow, dows = draw(st.sampled_from([("*", None), ("1-5", frozenset(range(1, 6))),
                                      ("0,6", frozenset({0, 6}))]))
    return f"{minute} {hour} {dom} * {dow}", (minutes, hours, doms, dows)


def matches(local: datetime, fields) -> bool:
    minutes, hours, doms, dows = fields
    if local.minute not in minutes or local.hour not in hours:
        return False
    dom_ok = doms is None or local.day in doms
    dow_ok = dows is None or local.isoweekday() % 7 in dows
    if doms is not None and dows is not None:
        return dom_ok or dow_ok  # classic cron: both restricted means either
    return dom_ok and dow_ok


def walk(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """(UTC minute, local naive time) for every real minute in [start, end]."""
    t = start.replace(second=0, microsecond=0)
    out = []
    while t <= end:
        out.append((t, t.astimezone(zone).replace(tzinfo=None)))
        t += MINUTE
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cron=five_field_crons(wildcard_hour=True), where=near_a_transition(ZONES), policy=policies)
def test_wildcard_hour_crons_fire_on_every_matching_real_minute(cron, where, policy):
    expr, fields = cron
    zone_name, after = where
    end = after + timedelta(hours=60)
    minutes = walk(ZoneInfo(zone_name), after + MINUTE, end)
    expected = [t for t, local in minutes if t > after and matches(local, fields)]
    trigger = CronTrigger(expr=expr)
    got = list(iter_fire_times(trigger, after, until=end, timezone=zone_name, dst_policy=policy))
    assert got == expected, expr


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cron=five_field_crons(wildcard_hour=False), where=near_a_transition(), policy=policies)
def test_fixed_hour_crons_follow_the_dst_policy(cron, where, policy):
    """Reference: each local slot maps to the real minutes that show its local time; the policy picks."""
    expr, fields = cron
    zone_name, after = where
    zone = ZoneInfo(zone_name)
    end = after + timedelta(hours=60)
    minutes = walk(zone, after - timedelta(days=1), end + timedelta(days=1))
    by_wall: dict[datetime, list[datetime]] = {}
    for t, local in minutes:
        by_wall.setdefault(local, []).append(t)
    locals_in_order = [local for _, local in minutes]
    first_wall = (after - timedelta(hours=16)).astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
    expected: set[datetime] = set()
    wall = first_wall
    while wall <= end.astimezone(zone).replace(tzinfo=None) + timedelta(hours=2):
        if matches(wall, fields):
            real = by_wall.get(wall, [])
            if not real:  # a gap: the first real minute whose local time is past the slot
                index = next(i for i, local in enumerate(locals_in_order) if local > wall)
                chosen = [] if policy.gap == "skip" else [minutes[index][0]]
            elif len(real) == 1:
                chosen = real
            else:
                chosen = {"first": real[:1], "last": real[1:], "both": real}[policy.repeat]
            expected.update(t for t in chosen if after < t <= end)
        wall += MINUTE
    trigger = CronTrigger(expr=expr)
    got = list(iter_fire_times(trigger, after, until=end, timezone=zone_name, dst_policy=policy))
    assert got == sorted(expected), expr
