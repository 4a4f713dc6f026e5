"""The cron dialect (agentcron.domain.cron): interface, the day-field OR rule, syntax, lenient inputs.

Every test reads GIVEN an expression (and a starting wall-clock time), WHEN asking for the next slots, THEN
this exact sequence. Weekday notes: 2026-03-01 is a Sunday, 2026-01-01 a Thursday, 2026-08-01 a Saturday.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime

import pytest
from agentcron.domain.cron import MACROS, CronError, CronExpr, parse_cron, validate_cron


def dt(*args: int) -> datetime:
    return datetime(*args)


def upcoming(expr: str, start: datetime, count: int) -> list[datetime]:
    """The first ``count`` slots strictly after ``start`` (fewer when the expression stops firing)."""
    found: list[datetime] = []
    cron = parse_cron(expr)
    for _ in range(count):
        nxt = cron.next_after(start)
        if nxt is None:
            break
        found.append(nxt)
        start = nxt
    return found


def days(year: int, month: int, *mdays: int, hour: int = 0, minute: int = 0) -> list[datetime]:
    return [datetime(year, month, d, hour, minute) for d in mdays]


def at(*isos: str) -> list[datetime]:
    return [datetime.fromisoformat(iso) for iso in isos]


def refused(expr: str) -> str:
    with pytest.raises(CronError) as info:
        parse_cron(expr)
    assert validate_cron(expr) == str(info.value)
    return str(info.value)


# --------------------------------------------------------------------------- interface


def test_parse_gives_a_frozen_expression_with_canonical_text():
    # GIVEN an expression with stray whitespace and lower-case names
    cron = parse_cron("  0  9 * *\tmon-fri ")
    # THEN its canonical text has one space between fields and upper-case names
    assert cron.expr == "0 9 * * MON-FRI"
    assert parse_cron(cron.expr).expr == cron.expr  # canonical text is a fixed point
    assert cron == parse_cron("0 9 * * MON-FRI") and hash(cron) == hash(parse_cron("0 9 * * MON-FRI"))
    assert repr(cron) == "CronExpr(expr='0 9 * * MON-FRI', every_instant=False)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        cron.expr = "* * * * *"  # type: ignore[misc]
    assert isinstance(cron, CronExpr)


def test_macros_keep_their_name_as_canonical_text_and_mean_their_expansion():
    for macro, expansion in MACROS.items():
        cron = parse_cron(macro.upper())
        assert cron.expr == macro
        start = dt(2026, 3, 2, 10, 30)
        assert upcoming(macro, start, 5) == upcoming(expansion, start, 5)
    assert upcoming("@weekly", dt(2026, 3, 2), 2) == [dt(2026, 3, 8), dt(2026, 3, 15)]


def test_parsing_is_cached():
    assert parse_cron("17 3 * * *") is parse_cron("17 3 * * *")


def test_cron_error_is_a_value_error_and_validate_cron_returns_its_message():
    assert issubclass(CronError, ValueError)
    assert validate_cron("*/5 * * * *") is None
    assert validate_cron("61 * * * *") == "minute field: 61 is out of range 0-59"
    assert validate_cron(None) == "the expression must be a string, got NoneType"  # type: ignore[arg-type]
    with pytest.raises(CronError):
        parse_cron(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("expr", "every_instant"),
    [
        ("0 * * * *", True),
        ("*/15 */2 * * *", True),
        ("0 0-23/3 * * *", True),
        ("0 5/6 * * *", True),
        ("@hourly", True),
        ("0 0 * * * *", True),  # 6 fields: the hour is the third
        ("0 9 * * *", False),
        ("0 1,2 * * *", False),
        ("0 1-5 * * *", False),
        ("30 0 9 * * *", False),
        ("0 0 0 1 1 * 2030", False),
        ("@daily", False),
        ("@weekly", False),
    ],
)
def test_every_instant_is_true_exactly_when_the_hour_field_is_a_wildcard_or_a_step(expr, every_instant):
    assert parse_cron(expr).every_instant is every_instant


def test_next_after_is_strictly_after_and_whole_seconds():
    every_second = parse_cron("* * * * * *")
    assert every_second.next_after(dt(2026, 3, 2, 10, 0, 0)) == dt(2026, 3, 2, 10, 0, 1)
    assert every_second.next_after(datetime(2026, 3, 2, 10, 0, 0, 500000)) == dt(2026, 3, 2, 10, 0, 1)
    every_minute = parse_cron("* * * * *")
    assert every_minute.next_after(dt(2026, 3, 2, 10, 0)) == dt(2026, 3, 2, 10, 1)
    assert every_minute.next_after(datetime(2026, 3, 2, 10, 0, 59, 999999)) == dt(2026, 3, 2, 10, 1)
    assert every_minute.next_after(dt(2026, 12, 31, 23, 59, 30)) == dt(2027, 1, 1)


def test_next_after_takes_naive_datetimes_only():
    cron = parse_cron("* * * * *")
    with pytest.raises(ValueError, match="naive"):
        cron.next_after(datetime(2026, 3, 2, tzinfo=UTC))
    with pytest.raises(TypeError):
        cron.next_after("2026-03-02")  # type: ignore[arg-type]


def test_iter_after_and_matches():
    cron = parse_cron("0 */20 9-10 * * *")
    # GIVEN a window WHEN iterating with until THEN slots up to and including it
    assert list(cron.iter_after(dt(2026, 3, 2), until=dt(2026, 3, 2, 10, 20))) == [
        dt(2026, 3, 2, 9, 0), dt(2026, 3, 2, 9, 20), dt(2026, 3, 2, 9, 40), dt(2026, 3, 2, 10, 0),
        dt(2026, 3, 2, 10, 20),
    ]
    assert cron.matches(dt(2026, 3, 2, 9, 40)) and not cron.matches(dt(2026, 3, 2, 9, 41))
    assert not cron.matches(datetime(2026, 3, 2, 9, 40, 0, 1))
    # an expression that stops firing ends the iteration by itself
    assert list(parse_cron("0 0 0 1 1 ? 2027,2029").iter_after(dt(2026, 1, 1))) == at(
        "2027-01-01", "2029-01-01")


# --------------------------------------------------------------------------- the bugs found in the old engine


def test_a_range_n_n_means_n():
    # GIVEN "0 2-2 * * *" THEN 02:00 every day and nothing else
    assert upcoming("0 2-2 * * *", dt(2026, 3, 2), 3) == at(
        "2026-03-02 02:00", "2026-03-03 02:00", "2026-03-04 02:00")
    # GIVEN "0 0 * * 5-5" THEN Fridays only
    assert upcoming("0 0 * * 5-5", dt(2026, 3, 2), 3) == days(2026, 3, 6, 13, 20)


def test_nth_weekday_combines_with_a_day_of_month_list():
    # GIVEN the 16th, the 18th or the third Wednesday (6 fields)
    expected = days(2019, 4, 16, 17, 18) + days(2019, 5, 15, 16, 18)
    assert upcoming("0 0 0 16,18 * 3#3", dt(2019, 4, 1), 6) == expected


def test_nearest_weekday_combines_with_a_weekday():
    # GIVEN the weekday nearest the 15th or any Monday. 15 March 2026 is a Sunday: its W day is Monday 16th.
    expected = days(2026, 3, 2, 9, 16, 23, 30) + days(2026, 4, 6, 13, 15, 20)
    assert upcoming("0 0 15W * 1", dt(2026, 3, 1), 9) == expected


# --------------------------------------------------------------------------- the OR rule


def test_both_day_fields_restricted_means_either_matches():
    expected = days(2026, 3, 6, 13, 20, 27) + days(2026, 4, 3, 10, 13, 17)
    assert upcoming("0 0 13 * fri", dt(2026, 3, 1), 8) == expected


def test_a_star_or_question_mark_leaves_only_the_other_day_field():
    mondays = days(2026, 3, 2, 9, 16)
    assert upcoming("0 0 * * 1", dt(2026, 3, 1), 3) == mondays
    assert upcoming("0 0 ? * 1", dt(2026, 3, 1), 3) == mondays
    firsts = [dt(2026, 4, 1), dt(2026, 5, 1), dt(2026, 6, 1)]
    assert upcoming("0 0 1 * *", dt(2026, 3, 1), 3) == firsts
    assert upcoming("0 0 1 * ?", dt(2026, 3, 1), 3) == firsts
    assert upcoming("0 0 ? * ?", dt(2026, 3, 1), 3) == days(2026, 3, 2, 3, 4)


def test_a_step_is_a_restriction_even_when_it_starts_with_a_star():
    # Unlike Vixie cron's "first character is *" test, only a bare * or ? leaves a day field unrestricted:
    # */10 is the 1st, 11th, 21st and 31st, OR'ed with Sundays.
    assert upcoming("0 0 */10 * 0", dt(2026, 3, 1), 7) == days(2026, 3, 8, 11, 15, 21, 22, 29, 31)


def test_the_or_rule_applies_to_l_w_and_hash_items_alike():
    # the last day of the month or any Monday
    assert upcoming("0 0 L * 1", dt(2026, 4, 1), 6) == days(2026, 4, 6, 13, 20, 27, 30) + days(2026, 5, 4)
    # the 1st or the last Friday
    assert upcoming("0 0 1 * 5L", dt(2026, 3, 1), 4) == at(
        "2026-03-27", "2026-04-01", "2026-04-24", "2026-05-01")


# --------------------------------------------------------------------------- day-of-month specials


def test_l_is_the_last_day_of_the_month():
    assert upcoming("0 0 L * *", dt(2024, 1, 15), 4) == at(
        "2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30")


def test_lw_is_the_last_weekday_of_the_month():
    # 31 Jan 2026 and 28 Feb 2026 are Saturdays, 31 May 2026 a Sunday
    expected = [dt(2026, 1, 30), dt(2026, 2, 27), dt(2026, 3, 31), dt(2026, 4, 30), dt(2026, 5, 29)]
    assert upcoming("0 0 LW * *", dt(2026, 1, 1), 5) == expected


def test_w_is_the_nearest_weekday_within_the_month():
    # 15 Feb and 15 Mar 2026 are Sundays (-> Monday 16th), 15 Aug 2026 a Saturday (-> Friday 14th)
    expected = at("2026-01-15", "2026-02-16", "2026-03-16", "2026-04-15", "2026-05-15", "2026-06-15",
                  "2026-07-15", "2026-08-14")
    assert upcoming("0 0 15W * *", dt(2026, 1, 1), 8) == expected


def test_w_does_not_cross_month_boundaries():
    # 1 Aug 2026 is a Saturday: not Friday 31 July but Monday 3 August
    assert upcoming("0 0 1W 8 *", dt(2026, 7, 1), 1) == [dt(2026, 8, 3)]
    # 31 May 2026 is a Sunday: not Monday 1 June but Friday 29 May; months without a 31st do not fire
    assert upcoming("0 0 31W * *", dt(2026, 4, 1), 3) == [dt(2026, 5, 29), dt(2026, 7, 31), dt(2026, 8, 31)]


def test_l_minus_n_and_its_nearest_weekday():
    assert upcoming("0 0 L-2 * *", dt(2026, 1, 1), 4) == at(
        "2026-01-29", "2026-02-26", "2026-03-29", "2026-04-28")
    # L-1: 30 Jan (Fri), 27 Feb (Fri), 30 Mar (Mon), 29 Apr (Wed), 30 May is a Saturday -> 29 May
    assert upcoming("0 0 L-1W * *", dt(2026, 1, 1), 5) == [dt(2026, 1, 30), dt(2026, 2, 27), dt(2026, 3, 30),
                                                           dt(2026, 4, 29), dt(2026, 5, 29)]
    # L-30 exists only in 31-day months (the 1st)
    assert upcoming("0 0 L-30 * *", dt(2026, 1, 1), 4) == at(
        "2026-03-01", "2026-05-01", "2026-07-01", "2026-08-01")


def test_a_range_up_to_l():
    assert upcoming("0 0 29-L * *", dt(2026, 2, 1), 5) == days(2026, 3, 29, 30, 31) + days(2026, 4, 29, 30)
    assert upcoming("0 0 1-L/10 * *", dt(2026, 1, 5), 5) == days(2026, 1, 11, 21, 31) + days(2026, 2, 1, 11)


@pytest.mark.parametrize("step", ["1", "2", "7", "31"])
def test_a_step_on_l_or_lw_is_the_last_day_or_last_weekday_alone(step):
    """cronsim's meaning (tests/test_cronsim.py test_it_accepts_l_with_step: ``L/2`` is ``L``;
    tests/test_explain.py: ``0 0 L/2 * *`` "on the last day of every month", ``0 0 LW/2 * *`` "on the last
    weekday of every month"), and our own rule: ``a/s`` runs from ``a`` to the field's end, which L is."""
    assert upcoming(f"0 0 L/{step} * *", dt(2024, 1, 15), 4) == upcoming("0 0 L * *", dt(2024, 1, 15), 4)
    # 31 Jan 2026 and 28 Feb 2026 are Saturdays, 31 May 2026 a Sunday
    assert upcoming(f"0 0 LW/{step} * *", dt(2026, 1, 1), 5) == [
        dt(2026, 1, 30), dt(2026, 2, 27), dt(2026, 3, 31), dt(2026, 4, 30), dt(2026, 5, 29)]
    assert parse_cron(f"0 0 lw/{step} * *").expr == f"0 0 LW/{step} * *"


def test_a_stepped_l_joins_lists_and_the_or_rule_like_l():
    assert upcoming("0 0 1,L/2 * *", dt(2026, 2, 1), 4) == days(2026, 2, 28) + days(2026, 3, 1, 31) + [
        dt(2026, 4, 1)]
    # both day fields restricted: the last weekday of the month or any Monday (2 and 9 Feb 2026 are Mondays)
    assert upcoming("0 0 LW/3 * mon", dt(2026, 1, 25), 4) == at(
        "2026-01-26", "2026-01-30", "2026-02-02", "2026-02-09")


def test_l_items_mix_with_plain_days():
    assert upcoming("0 0 1,15,L * *", dt(2026, 2, 1), 5) == days(2026, 2, 15, 28) + days(2026, 3, 1, 15, 31)


# --------------------------------------------------------------------------- day-of-week specials


@pytest.mark.parametrize("spelling", ["5L", "L5", "friL", "FRIL", "Lfri", "fridayL"])
def test_last_weekday_of_the_month_spellings(spelling):
    expected = [dt(2026, 1, 30), dt(2026, 2, 27), dt(2026, 3, 27), dt(2026, 4, 24), dt(2026, 5, 29)]
    assert upcoming(f"0 0 * * {spelling}", dt(2026, 1, 1), 5) == expected


@pytest.mark.parametrize("spelling", ["0L", "7L", "sunL", "L0", "L7"])
def test_last_sunday_with_0_or_7(spelling):
    assert upcoming(f"0 0 * * {spelling}", dt(2026, 1, 1), 3) == at("2026-01-25", "2026-02-22", "2026-03-29")


def test_the_last_weekday_is_the_last_day_itself_when_the_month_ends_on_it():
    # 31 July 2026 is a Friday and 31 May 2026 a Sunday: not the week before
    assert upcoming("0 0 * * 5L", dt(2026, 7, 1), 2) == [dt(2026, 7, 31), dt(2026, 8, 28)]
    assert upcoming("0 0 * * 0L", dt(2026, 5, 1), 2) == [dt(2026, 5, 31), dt(2026, 6, 28)]


def test_hash_is_the_nth_weekday_and_a_missing_fifth_skips_the_month():
    assert upcoming("0 0 * * 5#3", dt(2026, 1, 1), 3) == [dt(2026, 1, 16), dt(2026, 2, 20), dt(2026, 3, 20)]
    assert upcoming("0 0 * * fri#5", dt(2026, 1, 1), 4) == [dt(2026, 1, 30), dt(2026, 5, 29), dt(2026, 7, 31),
                                                            dt(2026, 10, 30)]
    assert upcoming("0 0 * * 7#1", dt(2026, 1, 1), 2) == [dt(2026, 1, 4), dt(2026, 2, 1)]


def test_lists_mix_plain_weekdays_with_hash_and_l():
    # Mondays or the last Friday
    assert upcoming("0 0 * * 1,5L", dt(2026, 4, 1), 5) == days(2026, 4, 6, 13, 20, 24, 27)
    # Mondays, Tuesdays or the first Wednesday (1 Apr 2026 is a Wednesday)
    assert upcoming("0 0 * * 1,2,3#1", dt(2026, 3, 31), 5) == days(2026, 4, 1, 6, 7, 13, 14)


@pytest.mark.parametrize("sunday", ["0", "7", "sun", "SUNDAY", "Sun"])
def test_sunday_is_0_or_7(sunday):
    assert upcoming(f"0 0 * * {sunday}", dt(2026, 3, 2), 2) == days(2026, 3, 8, 15)


def test_weekday_ranges_through_sunday():
    weekend_and_friday = days(2026, 3, 6, 7, 8, 13)
    assert upcoming("0 0 * * 5-7", dt(2026, 3, 2), 4) == weekend_and_friday
    assert upcoming("0 0 * * fri-sun", dt(2026, 3, 2), 4) == weekend_and_friday
    assert upcoming("0 0 * * 5-0", dt(2026, 3, 2), 4) == weekend_and_friday  # a range may end on Sunday as 0
    assert upcoming("0 0 * * mon-sun", dt(2026, 3, 2), 7) == days(2026, 3, 3, 4, 5, 6, 7, 8, 9)
    assert upcoming("0 0 * * sun-sun", dt(2026, 3, 2), 2) == days(2026, 3, 8, 15)  # N-N is N


def test_day_of_week_steps_run_sunday_to_saturday():
    assert upcoming("0 0 * * */2", dt(2026, 3, 1), 5) == days(2026, 3, 3, 5, 7, 8, 10)  # Sun, Tue, Thu, Sat
    assert upcoming("0 0 * * 1/2", dt(2026, 3, 1), 4) == days(2026, 3, 2, 4, 6, 9)  # Mon, Wed, Fri
    assert upcoming("0 0 * * 1-7/3", dt(2026, 3, 1), 4) == days(2026, 3, 2, 5, 8, 9)  # Mon, Thu, Sun


# --------------------------------------------------------------------------- names, lists, ranges, steps


def test_names_are_full_or_three_letters_in_any_case():
    by_number = upcoming("0 0 * 1,7 5", dt(2026, 1, 1), 10)
    for spelling in ("0 0 * jan,jul fri", "0 0 * JANUARY,July FRIDAY", "0 0 * January,jUL friday"):
        assert upcoming(spelling, dt(2026, 1, 1), 10) == by_number
    assert upcoming("30 6 * jan-mar mon", dt(2026, 3, 28), 2) == at("2026-03-30 06:30", "2027-01-04 06:30")


@pytest.mark.parametrize(("expr", "name"), [("0 0 * * monkey", "monkey"), ("0 0 * * thurs", "thurs"),
                                            ("0 0 * * Tues", "Tues"), ("0 0 1 sept *", "sept"),
                                            ("0 0 1 janu-jun *", "janu")])
def test_names_must_match_exactly(expr, name):
    field = "day-of-week" if expr.endswith(name) else "month"
    assert refused(expr).startswith(f"{field} field: unknown name '{name}'")


def test_ranges_steps_and_lists():
    assert upcoming("1-10/3 * * * *", dt(2026, 3, 2, 10, 0), 5) == at(
        "2026-03-02 10:01", "2026-03-02 10:04", "2026-03-02 10:07", "2026-03-02 10:10", "2026-03-02 11:01")
    assert upcoming("*/15 * * * *", dt(2026, 3, 2, 10, 7), 3) == at(
        "2026-03-02 10:15", "2026-03-02 10:30", "2026-03-02 10:45")
    assert upcoming("5/15 * * * *", dt(2026, 3, 2, 10, 0), 5) == at(
        "2026-03-02 10:05", "2026-03-02 10:20", "2026-03-02 10:35", "2026-03-02 10:50", "2026-03-02 11:05")
    assert upcoming("0 0 5/10 * *", dt(2026, 3, 1), 4) == days(2026, 3, 5, 15, 25) + days(2026, 4, 5)
    assert upcoming("0,30 8-9,17 * * *", dt(2026, 3, 2), 6) == [dt(2026, 3, 2, 8), dt(2026, 3, 2, 8, 30),
                                                               dt(2026, 3, 2, 9), dt(2026, 3, 2, 9, 30),
                                                               dt(2026, 3, 2, 17), dt(2026, 3, 2, 17, 30)]


def test_a_star_inside_a_list_covers_the_field():
    assert upcoming("0 0 * * *,sat#3", dt(2026, 3, 1), 3) == days(2026, 3, 2, 3, 4)


def test_seconds_first_six_and_seven_fields():
    assert upcoming("*/20 * * * * *", dt(2026, 3, 2, 10, 0, 5), 3) == at(
        "2026-03-02 10:00:20", "2026-03-02 10:00:40", "2026-03-02 10:01:00")
    assert upcoming("30 0 9 * * *", dt(2026, 3, 2), 2) == [dt(2026, 3, 2, 9, 0, 30), dt(2026, 3, 3, 9, 0, 30)]
    assert upcoming("0 30 8 * * mon 2026,2028", dt(2026, 12, 29), 2) == at(
        "2028-01-03 08:30", "2028-01-10 08:30")


# --------------------------------------------------------------------------- lenient inputs: the decisions


def test_a_step_as_large_as_the_field_fires_at_its_start_only():
    # */60 in the minute field is minute 0 (as in Vixie cron); so are */24 hours, */31 days, */12 months and
    # */7 weekdays at their start
    assert upcoming("*/60 * * * *", dt(2026, 3, 2, 10, 7), 2) == [dt(2026, 3, 2, 11), dt(2026, 3, 2, 12)]
    assert upcoming("0 */24 * * *", dt(2026, 3, 2, 10), 2) == [dt(2026, 3, 3), dt(2026, 3, 4)]
    assert upcoming("0 0 */31 * *", dt(2026, 3, 2), 2) == [dt(2026, 4, 1), dt(2026, 5, 1)]
    assert upcoming("0 0 1 */12 *", dt(2026, 3, 2), 2) == [dt(2027, 1, 1), dt(2028, 1, 1)]
    assert upcoming("0 0 * * */7", dt(2026, 3, 2), 2) == days(2026, 3, 8, 15)


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("*/61 * * * *", "minute field: step 61 in '*/61' is larger than the field's 60 values"),
        ("*/90 * * * *", "a step cannot carry over into the next hour"),
        ("0 */25 * * *", "hour field: step 25"),
        ("*/61 * * * * *", "second field: step 61"),
        ("0 0 */32 * *", "day-of-month field: step 32"),
        ("0 0 1 */13 *", "month field: step 13"),
        ("0 0 * * */8", "day-of-week field: step 8"),
    ],
)
def test_a_step_larger_than_the_field_is_refused(expr, message):
    assert message in refused(expr)


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("5-1 * * * *",
         "minute field: reversed range '5-1': ranges do not wrap around; write it as '5-59,0-1'"),
        ("0 22-2 * * *", "hour field: reversed range '22-2'"),
        ("0 0 20-10 * *", "day-of-month field: reversed range '20-10'"),
        ("0 0 1 nov-mar *", "month field: reversed range 'nov-mar' (11-3): ranges do not wrap around; "
                            "write it as '11-12,1-3'"),
        ("0 0 * * 5-1", "day-of-week field: reversed range '5-1'"),
        ("0 0 * * thu-tue", "day-of-week field: reversed range 'thu-tue' (4-2)"),
        ("0 0 0 1 1 * 2030-2020", "year field: reversed range '2030-2020': ranges do not wrap around"),
    ],
)
def test_a_reversed_range_is_refused_naming_the_field(expr, message):
    assert refused(expr).startswith(message)


@pytest.mark.parametrize("separator", ["\t", "\u00a0", "\u2003", "\u3000", "\n", " \t\u00a0 "])
def test_any_unicode_whitespace_separates_fields(separator):
    cron = parse_cron(separator.join(["0", "9", "*", "*", "mon-fri"]))
    assert cron.expr == "0 9 * * MON-FRI"
    assert upcoming(cron.expr, dt(2026, 3, 6, 12), 1) == [dt(2026, 3, 9, 9)]


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("60 * * * * *", "second field: 60 is out of range 0-59"),
        ("61 * * * *", "minute field: 61 is out of range 0-59"),
        ("* 24 * * *", "hour field: 24 is out of range 0-23"),
        ("0 0 0 * *", "day-of-month field: 0 is out of range 1-31"),
        ("0 0 32 * *", "day-of-month field: 32 is out of range 1-31"),
        ("* * * 13 *", "month field: 13 is out of range 1-12"),
        ("0 0 1 0 *", "month field: 0 is out of range 1-12"),
        ("* * * * 8", "day-of-week field: 8 is out of range 0-7"),
        ("0 0 0 1 1 * 1969", "year field: 1969 is out of range 1970-9999"),
        ("0 0 0 1 1 * 10000", "year field: 10000 is out of range 1970-9999"),
        ("1-70 * * * *", "minute field: 70 is out of range 0-59 in '1-70'"),
        ("0-10000000 * * * *", "minute field: 10000000 is out of range 0-59"),
        ("0 0 32W * *", "day-of-month field: 32 is out of range 1-31 in '32W'"),
    ],
)
def test_out_of_range_values_name_the_field_and_the_allowed_range(expr, message):
    assert refused(expr).startswith(message)


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("", "the expression is empty"),
        (" \t\u00a0", "the expression is empty"),
        ("* * * *", "expected 5, 6 or 7 fields (or a macro such as @daily), got 4"),
        ("* * * * * * * *", "expected 5, 6 or 7 fields (or a macro such as @daily), got 8"),
        ("1,,2 * * * *", "minute field: empty item in '1,,2'"),
        ("1, * * * *", "minute field: empty item in '1,'"),
        ("0 0 ,1 * *", "day-of-month field: empty item in ',1'"),
        ("@reboot", "unknown macro '@reboot', expected one of @hourly, @daily, @midnight, @weekly"),
        ("@daily 5", "unknown macro '@daily 5'"),
        ("@every 5m", "unknown macro"),
        ("x" * 1001, "the expression is too long: 1001 characters, at most 1000"),
    ],
)
def test_empty_and_malformed_expressions(expr, message):
    assert refused(expr).startswith(message)


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("H * * * *", "minute field: hashed or random values (H, R) are not supported: 'H'"),
        ("H/15 * * * *", "minute field: hashed or random values (H, R) are not supported: 'H/15'"),
        ("0 R * * *", "hour field: hashed or random values"),
        ("0 0 H(1-28) * *", "day-of-month field: hashed or random values"),
        ("0 0 * * r", "day-of-week field: hashed or random values"),
        ("? * * * *",
         "minute field: a question mark '?' is only allowed in the day-of-month and day-of-week fields"),
        ("0 0 ?,1 * *", "day-of-month field: '?' must stand alone"),
        ("0 0 * * ?/2", "day-of-week field: '?' must stand alone"),
        ("0 0 1#2 * *", "day-of-month field: '#' is only allowed in the day-of-week field"),
        ("0 L * * *", "hour field: 'L' and 'W' are only allowed in the day fields"),
        ("0 0 0 1 1 * 2030W", "year field: 'L' and 'W' are only allowed in the day fields"),
        ("0 0 1 L *", "month field: unknown name 'L'"),
        ("0 0 L/0 * *", "day-of-month field: step 0 in 'L/0' must be at least 1"),
        ("0 0 LW/32 * *", "day-of-month field: step 32 in 'LW/32' is larger than the field's 31 values"),
        ("0 0 L/x * *", "day-of-month field: step 'x' in 'L/x' is not a number"),
        ("0 0 LW/ * *", "day-of-month field: '/' must be followed by a step in 'LW/'"),
        ("0 0 15W/2 * *", "day-of-month field: a step cannot apply to '15W'"),
        ("0 0 L-2/2 * *", "day-of-month field: a step cannot apply to 'L-2'"),
        ("0 0 * * 5L/2", "day-of-week field: a step cannot apply to an 'L' item"),
        ("0 0 * * 5#3/2", "day-of-week field: a step cannot apply to a '#' item"),
        ("0 0 * * L", "day-of-week field: 'L' alone is ambiguous"),
        ("0 0 * * 1,L", "day-of-week field: 'L' alone is ambiguous"),
        ("0 0 * * 1#6", "day-of-week field: occurrence 6 in '1#6' must be 1-5"),
        ("0 0 * * 1#0", "day-of-week field: occurrence 0 in '1#0' must be 1-5"),
        ("0 0 * * 1#", "day-of-week field: '#' must be followed by an occurrence 1-5"),
        ("0 0 * * #2", "day-of-week field: a value is missing in '#2'"),
        ("0 0 * * mon-fri#1", "day-of-week field: 'mon-fri#1' needs a single weekday, not a range"),
        ("0 0 * * 5L-6", "day-of-week field: '5L-6' is not a weekday: 'L' goes before or after one weekday"),
        ("0 0 * * 8L", "day-of-week field: 8 is out of range 0-7 in '8L'"),
        ("0 0 1-5W * *", "day-of-month field: '1-5W' is not a day-of-month item"),
        ("0 0 LL * *", "day-of-month field: 'LL' is not a day-of-month item"),
        ("0 0 L-31 * *", "day-of-month field: offset 31 in 'L-31' must be 0-30"),
        ("*/0 * * * *", "minute field: step 0 in '*/0' must be at least 1"),
        ("1/ * * * *", "minute field: '/' must be followed by a step in '1/'"),
        ("/5 * * * *", "minute field: nothing before '/' in '/5'"),
        ("1//2 * * * *", "minute field: more than one '/' in '1//2'"),
        ("5/5/5 * * * *", "minute field: more than one '/'"),
        ("0-10/x * * * *", "minute field: step 'x' in '0-10/x' is not a number"),
        ("1-2-3 * * * *", "minute field: malformed range '1-2-3'"),
        ("-1 * * * *", "minute field: a value is missing in '-1'"),
        ("a b c d e", "minute field: 'a' is not a number"),
        ("1.5 * * * *", "minute field: '1.5' is not a number"),
        ("\uff11 * * * *", "minute field: '\uff11' is not a number"),  # a full-width digit
        ("0 0 * * 1&2", "day-of-week field: '1&2' is neither a number nor a name"),
    ],
)
def test_refusals_name_the_field_and_the_token(expr, message):
    assert refused(expr).startswith(message)


# --------------------------------------------------------------------------- never firing


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("0 0 30 2 *", "the expression can never fire: day-of-month '30' never occurs in month '2'"),
        ("0 0 31 4,6,9,11 *",
         "the expression can never fire: day-of-month '31' never occurs in month '4,6,9,11'"),
        ("0 0 0 31 2 ? *", "the expression can never fire"),
        ("0 0 30,31 feb ?", "the expression can never fire"),
        ("0 0 0 29 2 ? 2025-2027", "the expression can never fire: no date in the years of the year field"),
        ("0 0 0 ? 2 fri#5 2026", "the expression can never fire"),  # February 2026 has four Fridays
    ],
)
def test_an_expression_that_can_never_fire_is_refused(expr, message):
    assert refused(expr).startswith(message)


def test_restricted_day_of_week_rescues_an_impossible_day_of_month():
    # OR: the 31st of February never comes, but its weekdays do
    assert upcoming("0 0 31 2 1-5", dt(2026, 1, 1), 3) == days(2026, 2, 2, 3, 4)


# --------------------------------------------------------------------------- the year field and far slots


def test_year_field_lists_ranges_and_steps():
    assert upcoming("0 0 0 1 1 ? 2027,2029-2030", dt(2026, 3, 1), 5) == at(
        "2027-01-01", "2029-01-01", "2030-01-01")
    assert upcoming("0 0 0 1 1 ? 2030/5", dt(2026, 3, 1), 3) == at("2030-01-01", "2035-01-01", "2040-01-01")
    assert upcoming("0 0 0 1 1 ? */50", dt(2000, 3, 1), 3) == [dt(2020, 1, 1), dt(2070, 1, 1), dt(2120, 1, 1)]
    assert upcoming("0 0 0 1 1 ? 2028-2040/4", dt(2026, 3, 1), 5) == [dt(2028, 1, 1), dt(2032, 1, 1),
                                                                     dt(2036, 1, 1), dt(2040, 1, 1)]
    assert upcoming("0 0 0 1 1 ? *", dt(2026, 3, 1), 2) == [dt(2027, 1, 1), dt(2028, 1, 1)]


@pytest.mark.parametrize("years_ahead", [8, 50, 7000])
def test_a_far_year_is_found_without_a_horizon(years_ahead):
    year = 2026 + years_ahead
    cron = parse_cron(f"0 0 12 1 1 ? 2025,{year}")
    started = time.perf_counter()
    assert cron.next_after(dt(2026, 1, 1)) == dt(year, 1, 1, 12)
    assert time.perf_counter() - started < 0.01


def test_a_year_step_reaching_far_ahead():
    assert upcoming("0 0 0 1 1 ? */7000", dt(2000, 1, 1), 2) == [dt(8970, 1, 1)]


def test_past_years_answer_none_at_once():
    cron = parse_cron("0 0 0 1 1 ? 2020,2021")
    started = time.perf_counter()
    assert cron.next_after(dt(2026, 1, 1)) is None
    assert list(cron.iter_after(dt(2021, 1, 1))) == []
    assert time.perf_counter() - started < 0.01
    assert parse_cron("0 0 0 1 1 * 2020").next_after(dt(2019, 6, 1)) == dt(2020, 1, 1)


def test_rare_slots_beyond_any_fixed_horizon():
    # 2100 is not a leap year: from 2097 the next 29 February is eight years away
    assert upcoming("0 0 29 2 *", dt(2097, 3, 1), 2) == [dt(2104, 2, 29), dt(2108, 2, 29)]
    # a fifth Monday in February: only when 29 February is a Monday, every 28 years between century breaks
    assert upcoming("0 0 ? 2 mon#5", dt(2016, 3, 1), 2) == [dt(2044, 2, 29), dt(2072, 2, 29)]


def test_the_end_of_the_calendar():
    assert parse_cron("0 0 0 31 12 ? 9999").next_after(dt(9999, 12, 31)) is None
    assert parse_cron("* * * * * *").next_after(datetime.max) is None
    last_second = parse_cron("59 59 23 31 12 ?")
    assert last_second.next_after(dt(9999, 12, 31, 23, 59, 58)) == dt(9999, 12, 31, 23, 59, 59)
    assert parse_cron("0 0 29 2 *").next_after(dt(9996, 3, 1)) is None


def test_without_a_year_field_every_year_counts_even_before_1970():
    assert upcoming("0 0 1 1 *", dt(1900, 6, 1), 2) == [dt(1901, 1, 1), dt(1902, 1, 1)]


# --------------------------------------------------------------------------- compatibility and speed


def test_what_the_old_engine_accepted_stays_accepted():
    for expr in ("* * * * *", "0 0 * * 0", "0 0 * * 7", "0 0 1,15 * *", "5-10/2 * * * *", " 0  9 * * 1-5 ",
                 "0 0 9 * * *", "0 0 9 * * * 2030", "0 12 * * mon#1", "0 0 15w * *", "0 0 l * *", "0 0 1 * ?",
                 "30 6 * jan,jul mon", "0 12 * * sun#2", "@hourly", "@DAILY", "0 0 0 1 1 * 2040"):
        assert validate_cron(expr) is None, expr


def test_fast_enough_for_the_planner():
    cron = parse_cron("*/5 * * * *")
    slot = dt(2026, 3, 2)
    started = time.perf_counter()
    for _ in range(10_000):
        slot = cron.next_after(slot)
    assert slot == dt(2026, 3, 2) + 10_000 * (dt(2026, 1, 1, 0, 5) - dt(2026, 1, 1))
    assert time.perf_counter() - started < 1.0  # well under 100 microseconds a call
    rare = [parse_cron(e) for e in ("0 0 ? 2 mon#5", "0 0 0 1 1 ? 9999", "0 0 L-30 2,4 1#5", "0 0 29 2 *")]
    started = time.perf_counter()
    for cron in rare:
        for _ in range(100):
            cron.next_after(dt(2026, 1, 1))
    assert time.perf_counter() - started < 1.0


def test_parsing_is_fast_even_uncached():
    started = time.perf_counter()
    for minute in range(60):
        parse_cron(f"{minute} 0 0 ? * 1#5 1970-9999")
    assert time.perf_counter() - started < 2.0
