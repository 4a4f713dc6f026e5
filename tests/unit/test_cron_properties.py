"""Properties of the cron dialect, checked with hypothesis against brute-force walks.

A small grammar draws random expressions together with an independent reference: each item comes with a
predicate written from the dialect's definition (``docs/cron.md``), not from the module's tables. The walks
then step through real calendar minutes (or seconds, or days) and ask the predicates.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date, datetime, timedelta
from itertools import islice

from agentcron.domain.cron import CronError, parse_cron
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DOW_NAMES = [("sun", "Sunday", "SUN"), ("mon", "Monday", "MON"), ("tue", "Tuesday", "TUE"),
             ("wed", "Wednesday", "WED"), ("thu", "Thursday", "THU"), ("fri", "Friday", "FRI"),
             ("sat", "Saturday", "SAT")]
MONTH_NAMES = [(m[:3], m, m[:3].upper()) for m in calendar.month_name[1:]]

ValuePred = Callable[[int], bool]
DayPred = Callable[[date], bool]


# --------------------------------------------------------------------------- the reference calendar


def last_day(d: date) -> int:
    return calendar.monthrange(d.year, d.month)[1]


def cron_weekday(d: date) -> int:
    return d.isoweekday() % 7  # 0 = Sunday


def nearest_weekday(year: int, month: int, target: int) -> int | None:
    """The weekday closest to ``target`` inside the month (ties cannot happen: see the dialect's W rule)."""
    last = calendar.monthrange(year, month)[1]
    if target > last:
        return None
    for candidate in (target, target - 1, target + 1, target - 2, target + 2):
        if 1 <= candidate <= last and date(year, month, candidate).isoweekday() <= 5:
            return candidate
    raise AssertionError("a weekday is always within two days")


# --------------------------------------------------------------------------- the grammar


@st.composite
def numeric_item(draw, low: int, high: int, top: int, names=None) -> tuple[str, ValuePred]:
    """One item of a plain field: value, range, *, */s, a/s, a-b/s, with a predicate on values."""

    def show(v: int) -> str:
        if names and v < len(names) + (1 if names is MONTH_NAMES else 0) and draw(st.booleans()):
            return draw(st.sampled_from(names[v - 1 if names is MONTH_NAMES else v]))
        return str(v)

    kind = draw(st.sampled_from(["value", "value", "range", "star", "star_step", "value_step", "range_step"]))
    if kind == "star":
        return "*", lambda v: True
    if kind == "value":
        a = draw(st.integers(low, high))
        return show(a), lambda v: v == a
    if kind == "range":
        a = draw(st.integers(low, high))
        b = draw(st.integers(a, high))
        return f"{show(a)}-{show(b)}", lambda v: a <= v <= b
    # a step counts from its start: */s from the field's first value, a/s from a, both up to ``top``, the
    # field's last value (Saturday for the day of week, where 7/s is Sunday alone)
    step = draw(st.integers(1, top - low + 1))
    if kind == "star_step":
        return f"*/{step}", lambda v: low <= v <= top and (v - low) % step == 0
    a = draw(st.integers(low, high))
    if kind == "value_step":
        return f"{a}/{step}", lambda v: a <= v <= max(a, top) and (v - a) % step == 0
    b = draw(st.integers(a, high))
    return f"{a}-{b}/{step}", lambda v: a <= v <= b and (v - a) % step == 0


@st.composite
def numeric_field(draw, low: int, high: int, top: int | None = None, names=None) -> tuple[str, ValuePred]:
    item = numeric_item(low, high, high if top is None else top, names)
    items = draw(st.lists(item, min_size=1, max_size=3))
    text = ",".join(t for t, _ in items)
    preds = [p for _, p in items]
    return text, lambda v: any(p(v) for p in preds)


@st.composite
def dom_item(draw) -> tuple[str, DayPred]:
    kind = draw(st.sampled_from(["plain", "plain", "L", "L-n", "LW", "L-nW", "nW", "n-L"]))
    if kind == "plain":
        text, pred = draw(numeric_item(1, 31, 31))
        return text, lambda d: pred(d.day)
    if kind == "L":
        return "L", lambda d: d.day == last_day(d)
    if kind == "L-n":
        n = draw(st.integers(0, 30))
        return f"L-{n}", lambda d: d.day == last_day(d) - n
    if kind == "LW":
        return "LW", lambda d: d.day == nearest_weekday(d.year, d.month, last_day(d))
    if kind == "L-nW":
        n = draw(st.integers(0, 30))
        return f"L-{n}W", lambda d: last_day(d) - n >= 1 and d.day == nearest_weekday(d.year, d.month,
                                                                                      last_day(d) - n)
    if kind == "nW":
        n = draw(st.integers(1, 31))
        return f"{n}W", lambda d: d.day == nearest_weekday(d.year, d.month, n)
    n = draw(st.integers(1, 31))
    if draw(st.booleans()):
        return f"{n}-L", lambda d: d.day >= n
    step = draw(st.integers(1, 31))
    return f"{n}-L/{step}", lambda d: d.day >= n and (d.day - n) % step == 0


@st.composite
def dow_item(draw) -> tuple[str, DayPred]:
    def spell(weekday: int) -> str:
        if weekday < 7 and draw(st.booleans()):
            return draw(st.sampled_from(DOW_NAMES[weekday]))
        return str(weekday)

    kind = draw(st.sampled_from(["plain", "plain", "sunday_end", "nth", "last", "last_before"]))
    if kind == "plain":
        text, pred = draw(numeric_item(0, 7, 6, names=DOW_NAMES))
        return text, lambda d: pred(cron_weekday(d)) or (cron_weekday(d) == 0 and pred(7))
    if kind == "sunday_end":  # a-0 runs from a to Sunday
        a = draw(st.integers(1, 6))
        return f"{spell(a)}-{spell(0)}", lambda d: cron_weekday(d) >= a or cron_weekday(d) == 0
    w = draw(st.integers(0, 7))
    if kind == "nth":
        k = draw(st.integers(1, 5))
        return f"{spell(w)}#{k}", lambda d: cron_weekday(d) == w % 7 and (d.day - 1) // 7 + 1 == k
    text = f"{spell(w)}L" if kind == "last" else f"L{spell(w)}"
    return text, lambda d: cron_weekday(d) == w % 7 and d.day + 7 > last_day(d)


@st.composite
def day_fields(draw) -> tuple[str, str, DayPred]:
    """(dom text, dow text, predicate on dates) combined with the OR rule."""
    dom_star = draw(st.sampled_from([True, False, False]))
    dow_star = draw(st.sampled_from([True, False, False]))
    dom_items = draw(st.lists(dom_item(), min_size=1, max_size=3))
    dow_items = draw(st.lists(dow_item(), min_size=1, max_size=3))
    dom_text = draw(st.sampled_from(["*", "?"])) if dom_star else ",".join(t for t, _ in dom_items)
    dow_text = draw(st.sampled_from(["*", "?"])) if dow_star else ",".join(t for t, _ in dow_items)
    dom_star, dow_star = dom_text in ("*", "?"), dow_text in ("*", "?")  # a lone * item is a bare * too

    def dom_ok(d: date) -> bool:
        return any(p(d) for _, p in dom_items)

    def dow_ok(d: date) -> bool:
        return any(p(d) for _, p in dow_items)

    if dom_star and dow_star:
        return dom_text, dow_text, lambda d: True
    if dom_star:
        return dom_text, dow_text, dow_ok
    if dow_star:
        return dom_text, dow_text, dom_ok
    return dom_text, dow_text, lambda d: dom_ok(d) or dow_ok(d)


months = numeric_field(1, 12, names=MONTH_NAMES)
starts = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 12, 31))


def parse_or_check_never(expr: str, day_ok: DayPred, month_ok: ValuePred):
    """The parsed expression; when it is refused as never firing, the reference agrees over a whole cycle."""
    try:
        return parse_cron(expr)
    except CronError as exc:
        assert "can never fire" in str(exc), str(exc)
        for year in range(2000, 2400):  # the Gregorian calendar repeats every 400 years
            for month in range(1, 13):
                if month_ok(month):
                    for day in range(1, calendar.monthrange(year, month)[1] + 1):
                        assert not day_ok(date(year, month, day)), (expr, year, month, day)
        assume(False)


# --------------------------------------------------------------------------- properties


@SETTINGS
@given(minutes=numeric_field(0, 59), hours=numeric_field(0, 23), days=day_fields(), month=months,
       start=starts)
def test_next_after_agrees_with_a_minute_by_minute_walk(minutes, hours, days, month, start):
    (m_text, m_ok), (h_text, h_ok), (dom, dow, day_ok), (mo_text, mo_ok) = minutes, hours, days, month
    expr = f"{m_text} {h_text} {dom} {mo_text} {dow}"
    cron = parse_or_check_never(expr, day_ok, mo_ok)
    # GIVEN a start WHEN walking real minutes for three days THEN the first matching minute is next_after's
    t = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    end = t + timedelta(days=3)
    day_cache: dict[date, bool] = {}
    expected = None
    while t < end:
        d = t.date()
        if d not in day_cache:
            day_cache[d] = mo_ok(d.month) and day_ok(d)
        if day_cache[d] and h_ok(t.hour) and m_ok(t.minute):
            expected = t
            break
        t += timedelta(minutes=1)
    got = cron.next_after(start)
    if expected is not None:
        assert got == expected, expr
        assert cron.matches(got)
    else:
        assert got is None or got >= end, expr


@SETTINGS
@given(seconds=numeric_field(0, 59), minutes=numeric_field(0, 59), start=starts)
def test_six_fields_agree_with_a_second_by_second_walk(seconds, minutes, start):
    (s_text, s_ok), (m_text, m_ok) = seconds, minutes
    expr = f"{s_text} {m_text} * * * *"
    cron = parse_cron(expr)
    t = start.replace(microsecond=0) + timedelta(seconds=1)
    end = t + timedelta(hours=2)
    expected = []
    while t < end and len(expected) < 5:
        if m_ok(t.minute) and s_ok(t.second):
            expected.append(t)
        t += timedelta(seconds=1)
    assert list(islice(cron.iter_after(start), len(expected))) == expected, expr


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days=day_fields(), month=months, hours=numeric_field(0, 23), start=starts)
def test_day_fields_agree_with_a_day_by_day_walk_over_years(days, month, hours, start):
    (dom, dow, day_ok), (mo_text, mo_ok), (h_text, h_ok) = days, month, hours
    expr = f"0 {h_text} {dom} {mo_text} {dow}"
    cron = parse_or_check_never(expr, day_ok, mo_ok)
    hour_list = [h for h in range(24) if h_ok(h)]
    # GIVEN midnight of a start day WHEN walking the next three years day by day THEN the same slots, in order
    day = start.date()
    first = datetime.combine(day, datetime.min.time()) - timedelta(seconds=1)
    last = day + timedelta(days=3 * 366)
    expected: list[datetime] = []
    while day < last and len(expected) < 12:
        if mo_ok(day.month) and day_ok(day):
            expected.extend(datetime(day.year, day.month, day.day, h) for h in hour_list)
        day += timedelta(days=1)
    expected = expected[:12]
    got = []
    for slot in cron.iter_after(first):
        if len(got) == 12 or slot.date() >= last:
            break
        got.append(slot)
    assert got == expected, expr


@st.composite
def year_field(draw) -> tuple[str, Callable[[int], bool]]:
    items = draw(st.lists(numeric_item(1970, 2100, 9999), min_size=1, max_size=3))
    text = ",".join(t for t, _ in items)
    preds = [p for _, p in items]
    return text, lambda y: any(p(y) for p in preds)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days=day_fields(), month=months, years=year_field(),
       start=st.datetimes(min_value=datetime(1960, 1, 1), max_value=datetime(2100, 12, 31)))
def test_the_year_field_agrees_with_a_year_by_year_walk(days, month, years, start):
    (dom, dow, day_ok), (mo_text, mo_ok), (y_text, y_ok) = days, month, years
    expr = f"0 30 12 {dom} {mo_text} {dow} {y_text}"
    try:
        cron = parse_cron(expr)
    except CronError as exc:
        assert "can never fire" in str(exc), str(exc)
        return
    expected = None
    for year in range(start.year, 2101):
        if not y_ok(year) or expected:
            continue
        for mo in range(1, 13):
            if expected or not mo_ok(mo):
                continue
            for d in range(1, calendar.monthrange(year, mo)[1] + 1):
                slot = datetime(year, mo, d, 12, 30)
                if slot > start and day_ok(slot.date()):
                    expected = slot
                    break
    got = cron.next_after(start)
    if expected is not None:
        assert got == expected, expr
    else:
        assert got is None or got.year > 2100, expr  # ``*/s`` and ``a/s`` run on to 9999


@SETTINGS
@given(seconds=numeric_field(0, 59), minutes=numeric_field(0, 59), hours=numeric_field(0, 23),
       days=day_fields(), month=months, start=starts)
def test_slots_strictly_increase_and_each_matches(seconds, minutes, hours, days, month, start):
    dom, dow, day_ok = days
    expr = f"{seconds[0]} {minutes[0]} {hours[0]} {dom} {month[0]} {dow}"
    cron = parse_or_check_never(expr, day_ok, month[1])
    previous = start
    for current in islice(cron.iter_after(start), 30):
        assert current > previous and current.microsecond == 0
        assert cron.matches(current)
        assert seconds[1](current.second) and minutes[1](current.minute) and hours[1](current.hour)
        assert month[1](current.month) and day_ok(current.date())
        assert cron.next_after(current - timedelta(microseconds=1)) == current  # no slot skipped in between
        assert cron.next_after(previous) == current
        previous = current
    # the canonical text means the same thing
    again = parse_cron(cron.expr)
    assert again.expr == cron.expr
    assert list(islice(again.iter_after(start), 10)) == list(islice(cron.iter_after(start), 10))


@SETTINGS
@given(minutes=numeric_field(0, 59), hours=numeric_field(0, 23), days=day_fields(), month=months,
       moment=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 12, 31)))
def test_matches_agrees_with_the_reference(minutes, hours, days, month, moment):
    dom, dow, day_ok = days
    expr = f"{minutes[0]} {hours[0]} {dom} {month[0]} {dow}"
    cron = parse_or_check_never(expr, day_ok, month[1])
    moment = moment.replace(second=0, microsecond=0)
    expected = (minutes[1](moment.minute) and hours[1](moment.hour) and month[1](moment.month)
                and day_ok(moment.date()))
    assert cron.matches(moment) == expected, expr
