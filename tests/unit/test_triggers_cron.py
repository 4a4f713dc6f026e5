"""Cron triggers: 5 fields, 6 and 7 fields seconds first, macros; validation reasons; never-firing crons."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from agentcron.models import CronTrigger, ScheduleSpec, field_errors
from agentcron.triggers import iter_fire_times, next_fire_after, upcoming, validate_cron


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def cron(expr: str) -> CronTrigger:
    return CronTrigger(expr=expr)


# 2026-03-02 is a Monday; 2026-03-13 a Friday


def test_five_fields_every_quarter_hour():
    fires = upcoming(cron("*/15 * * * *"), utc(2026, 3, 2, 10, 7), 5)
    assert fires == [utc(2026, 3, 2, 10, 15), utc(2026, 3, 2, 10, 30), utc(2026, 3, 2, 10, 45),
                     utc(2026, 3, 2, 11), utc(2026, 3, 2, 11, 15)]


def test_five_fields_weekdays_at_nine():
    fires = upcoming(cron("0 9 * * 1-5"), utc(2026, 3, 6, 12), 3)  # Friday noon
    assert fires == [utc(2026, 3, 9, 9), utc(2026, 3, 10, 9), utc(2026, 3, 11, 9)]


def test_day_of_month_or_day_of_week():
    # classic cron: both restricted means either matches
    fires = upcoming(cron("0 0 13 * 5"), utc(2026, 3, 1), 4)
    assert fires == [utc(2026, 3, 6), utc(2026, 3, 13), utc(2026, 3, 20), utc(2026, 3, 27)]
    fires = upcoming(cron("0 0 13 * 5"), utc(2026, 3, 27, 1), 2)
    assert fires == [utc(2026, 4, 3), utc(2026, 4, 10)]
    fires = upcoming(cron("0 0 13 * 5"), utc(2026, 4, 10, 1), 2)
    assert fires == [utc(2026, 4, 13), utc(2026, 4, 17)]


def test_names_lists_ranges_and_last_day():
    fires = upcoming(cron("30 6 * jan,jul mon"), utc(2026, 6, 30), 2)
    assert fires == [utc(2026, 7, 6, 6, 30), utc(2026, 7, 13, 6, 30)]
    fires = upcoming(cron("0 0 L * *"), utc(2026, 1, 31, 1), 3)
    assert fires == [utc(2026, 2, 28), utc(2026, 3, 31), utc(2026, 4, 30)]
    assert upcoming(cron("0 12 * * sun#2"), utc(2026, 3, 1), 2) == [utc(2026, 3, 8, 12), utc(2026, 4, 12, 12)]


def test_six_fields_are_seconds_first():
    fires = upcoming(cron("*/20 * * * * *"), utc(2026, 3, 2, 10, 0, 5), 4)
    assert fires == [utc(2026, 3, 2, 10, 0, 20), utc(2026, 3, 2, 10, 0, 40), utc(2026, 3, 2, 10, 1),
                     utc(2026, 3, 2, 10, 1, 20)]
    fires = upcoming(cron("30 0 9 * * *"), utc(2026, 3, 2), 2)
    assert fires == [utc(2026, 3, 2, 9, 0, 30), utc(2026, 3, 3, 9, 0, 30)]
    assert next_fire_after(cron("15 * * * * *"), utc(2026, 3, 2, 10, 0, 15)) == utc(2026, 3, 2, 10, 1, 15)


def test_seven_fields_have_a_trailing_year():
    trigger = cron("0 0 12 1 1 * 2027")
    assert list(iter_fire_times(trigger, utc(2025, 6, 1))) == [utc(2027, 1, 1, 12)]
    assert next_fire_after(trigger, utc(2027, 1, 1, 12)) is None
    trigger = cron("0 30 8 * * mon 2026,2028")
    assert next_fire_after(trigger, utc(2026, 12, 29)) == utc(2028, 1, 3, 8, 30)


def test_a_past_year_never_fires_again():
    assert next_fire_after(cron("0 0 0 1 1 * 2020"), utc(2026, 1, 1)) is None


@pytest.mark.parametrize(
    ("macro", "after", "expected"),
    [
        ("@hourly", utc(2026, 3, 2, 10, 0), [utc(2026, 3, 2, 11), utc(2026, 3, 2, 12)]),
        ("@daily", utc(2026, 3, 2, 10), [utc(2026, 3, 3), utc(2026, 3, 4)]),
        ("@midnight", utc(2026, 3, 2, 10), [utc(2026, 3, 3), utc(2026, 3, 4)]),
        ("@weekly", utc(2026, 3, 2, 10), [utc(2026, 3, 8), utc(2026, 3, 15)]),
        ("@monthly", utc(2026, 3, 2, 10), [utc(2026, 4, 1), utc(2026, 5, 1)]),
        ("@yearly", utc(2026, 3, 2, 10), [utc(2027, 1, 1), utc(2028, 1, 1)]),
        ("@annually", utc(2026, 3, 2, 10), [utc(2027, 1, 1), utc(2028, 1, 1)]),
        ("@DAILY", utc(2026, 3, 2, 10), [utc(2026, 3, 3), utc(2026, 3, 4)]),
    ],
)
def test_macros(macro, after, expected):
    assert validate_cron(macro) is None
    assert upcoming(cron(macro), after, 2) == expected


def test_macros_in_a_timezone():
    assert upcoming(cron("@daily"), utc(2026, 3, 2), 2, timezone="Asia/Kolkata") == [
        utc(2026, 3, 2, 18, 30), utc(2026, 3, 3, 18, 30)
    ]


def test_timezones():
    trigger = cron("0 9 * * *")
    assert next_fire_after(trigger, utc(2026, 3, 2), timezone="Asia/Kolkata") == utc(2026, 3, 2, 3, 30)
    assert next_fire_after(trigger, utc(2026, 3, 2), timezone="America/New_York") == utc(2026, 3, 2, 14)
    assert next_fire_after(trigger, utc(2026, 7, 2), timezone="Europe/London") == utc(2026, 7, 2, 8)
    lord_howe = next_fire_after(trigger, utc(2026, 7, 2), timezone="Australia/Lord_Howe")
    assert lord_howe == utc(2026, 7, 2, 22, 30)
    assert next_fire_after(trigger, utc(2026, 7, 2), timezone="UTC") == utc(2026, 7, 2, 9)


def test_window():
    trigger = cron("0 * * * *")
    after = utc(2026, 3, 2)
    fires = list(iter_fire_times(trigger, after, start_at=utc(2026, 3, 2, 3), end_at=utc(2026, 3, 2, 6)))
    assert fires == [utc(2026, 3, 2, 3), utc(2026, 3, 2, 4), utc(2026, 3, 2, 5)]
    assert next_fire_after(trigger, after, start_at=utc(2026, 3, 2, 3, 0, 0, 1)) == utc(2026, 3, 2, 4)
    assert next_fire_after(trigger, after, end_at=utc(2026, 3, 2, 1)) is None


@pytest.mark.parametrize(
    ("expr", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("* * *", "expected 5, 6 or 7 fields"),
        ("* * * * * * * *", "expected 5, 6 or 7 fields"),
        ("@reboot", "unknown macro"),
        ("@every 5m", "unknown macro"),
        ("61 * * * *", "out of range"),
        ("* 24 * * *", "out of range"),
        ("0 0 32 * *", "out of range"),
        ("* * * 13 *", "out of range"),
        ("* * * * 8", "out of range"),
        ("60 * * * * *", "out of range"),
        ("0 0 0 1 1 * 10000", "out of range"),
        ("*/0 * * * *", "step"),
        ("1-70 * * * *", "out of range 0-59"),
        ("a b c d e", "is not a number"),
        ("? * * * *", "question mark"),
        ("H * * * *", "H, R"),
        ("0 R * * *", "H, R"),
    ],
)
def test_invalid_crons_are_rejected_with_a_reason(expr, reason):
    problem = validate_cron(expr)
    assert problem is not None
    assert reason.lower() in problem.lower()


def test_valid_crons_are_accepted():
    for expr in ("* * * * *", "0 0 * * 0", "0 0 * * 7", "0 0 1,15 * *", "5-10/2 * * * *", " 0  9 * * 1-5 ",
                 "0 0 9 * * *", "0 0 9 * * * 2030", "0 12 * * mon#1", "0 0 15w * *"):
        assert validate_cron(expr) is None, expr


def test_the_model_reports_the_reason_on_the_field():
    with pytest.raises(ValidationError) as info:
        ScheduleSpec.model_validate({"name": "x", "trigger": {"type": "cron", "expr": "* * *"}})
    errors = field_errors(info.value)
    assert errors[0].field == "trigger.expr"
    assert "expected 5, 6 or 7 fields" in errors[0].message


def test_a_cron_that_can_never_fire_is_refused_naming_why():
    # It would be a schedule that never runs: a 400 at create, not a silent one (the cron issue's rule).
    for expr in ("0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 0 31 2 * *"):
        assert "can never fire" in validate_cron(expr), expr


def test_a_cron_whose_years_are_past_has_no_next_fire():
    assert next_fire_after(cron("0 0 0 1 1 * 2030"), utc(2031, 1, 1)) is None
    assert list(iter_fire_times(cron("0 0 0 1 1 * 2030"), utc(2031, 1, 1))) == []


def test_rare_crons_are_found_however_far_away():
    assert next_fire_after(cron("0 0 29 2 *"), utc(2026, 1, 1)) == utc(2028, 2, 29)
    assert next_fire_after(cron("0 0 0 1 1 * 2031"), utc(2026, 1, 1)) == utc(2031, 1, 1)
    # no fixed horizon hides a real fire, however far away it is
    assert next_fire_after(cron("0 0 0 1 1 * 2040"), utc(2026, 1, 1)) == utc(2040, 1, 1)
    assert next_fire_after(cron("0 0 0 1 1 * 2150"), utc(2026, 1, 1)) == utc(2150, 1, 1)


def test_results_are_aware_utc_whole_seconds():
    after = utc(2026, 3, 2, 10, 0, 0, 654321)
    for fire in upcoming(cron("*/7 * * * * *"), after, 30, timezone="Asia/Kolkata"):
        assert fire.tzinfo is UTC and fire.microsecond == 0 and fire.second % 7 == 0


def test_fast_enough_for_the_planner():
    trigger = cron("*/5 * * * *")
    after = utc(2026, 3, 2)
    started = time.perf_counter()
    for _ in range(1000):
        after = next_fire_after(trigger, after, timezone="America/New_York")
    assert after == utc(2026, 3, 2) + timedelta(minutes=5000)
    assert time.perf_counter() - started < 2.0
