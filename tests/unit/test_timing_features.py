"""Timing's scheduling features: several triggers, exclusions, jitter. Cases marked with a source are taken
from that project's test suite and put in agentcron's terms (its triggers, its exclusion items)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from agentcron.domain.exclusions import Exclusion
from agentcron.domain.timing import MAX_EXCLUDED_IN_A_ROW, Timing, jitter_offset
from agentcron.models import CronTrigger, DailyTrigger, IntervalTrigger, OnceTrigger, ScheduleSpec
from agentcron.planner import timing_of


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def cron(expr: str) -> CronTrigger:
    return CronTrigger(expr=expr)


def seq(timing: Timing, start: datetime, count: int) -> list[datetime]:
    return timing.upcoming(start, count)


def interval(minutes: int, phase: timedelta = timedelta()) -> IntervalTrigger:
    """An interval on Temporal's grid: multiples of the period from the epoch, shifted by the phase."""
    return IntervalTrigger(every_seconds=minutes * 60, anchor_at=utc(1970, 1, 1) + phase)


# --------------------------------------------------------------------------- several triggers


def test_several_cron_triggers_fire_on_the_union_temporal_calendar_multiple() -> None:
    # source: temporalio/temporal service/worker/scheduler/spec_test.go TestSpecCalendarMultiple
    timing = Timing(cron("23 5,7 * * *"), more_triggers=(cron("55 11,13 * * *"),))
    assert seq(timing, utc(2022, 3, 23, 3), 8) == [
        utc(2022, 3, 23, 5, 23),
        utc(2022, 3, 23, 7, 23),
        utc(2022, 3, 23, 11, 55),
        utc(2022, 3, 23, 13, 55),
        utc(2022, 3, 24, 5, 23),
        utc(2022, 3, 24, 7, 23),
        utc(2022, 3, 24, 11, 55),
        utc(2022, 3, 24, 13, 55),
    ]


def test_several_intervals_interleave_temporal_interval_multiple() -> None:
    # source: temporalio/temporal spec_test.go TestSpecIntervalMultiple (phase = our anchor_at offset)
    timing = Timing(
        interval(90, timedelta(minutes=5, seconds=44)),
        more_triggers=(interval(157, timedelta(minutes=22, seconds=11)),),
    )
    assert seq(timing, datetime(2022, 3, 23, 12, 53, 2, 9, tzinfo=UTC), 7) == [
        utc(2022, 3, 23, 13, 35, 44),
        utc(2022, 3, 23, 15, 5, 44),
        utc(2022, 3, 23, 15, 26, 11),
        utc(2022, 3, 23, 16, 35, 44),
        utc(2022, 3, 23, 18, 3, 11),
        utc(2022, 3, 23, 18, 5, 44),
        utc(2022, 3, 23, 19, 35, 44),
    ]


def test_a_cron_and_an_interval_mix_temporal_mixed_calendar_interval() -> None:
    # source: temporalio/temporal spec_test.go TestSpecMixedCalendarInterval
    timing = Timing(cron("55 11,13 * * *"), more_triggers=(interval(90, timedelta(minutes=7)),))
    assert seq(timing, utc(2022, 3, 23, 10), 6) == [
        utc(2022, 3, 23, 10, 37),
        utc(2022, 3, 23, 11, 55),
        utc(2022, 3, 23, 12, 7),
        utc(2022, 3, 23, 13, 37),
        utc(2022, 3, 23, 13, 55),
        utc(2022, 3, 23, 15, 7),
    ]


def test_weekdays_at_nine_and_weekends_at_eleven_in_one_schedule() -> None:
    timing = Timing(
        cron("0 9 * * mon-fri"), more_triggers=(cron("0 11 * * sat,sun"),), timezone="Europe/Berlin"
    )
    fires = seq(timing, utc(2026, 1, 2), 4)  # Friday 2 January 2026
    assert fires == [utc(2026, 1, 2, 8), utc(2026, 1, 3, 10), utc(2026, 1, 4, 10), utc(2026, 1, 5, 8)]


def test_triggers_firing_at_the_same_instant_give_one_slot() -> None:
    timing = Timing(DailyTrigger(hour=9, minute=0), more_triggers=(cron("0 9 * * *"), cron("0 9,10 * * *")))
    assert seq(timing, utc(2026, 1, 1), 4) == [
        utc(2026, 1, 1, 9),
        utc(2026, 1, 1, 10),
        utc(2026, 1, 2, 9),
        utc(2026, 1, 2, 10),
    ]


def test_the_union_ends_when_every_trigger_has_ended() -> None:
    timing = Timing(OnceTrigger(at=utc(2026, 1, 1, 12)), more_triggers=(OnceTrigger(at=utc(2026, 1, 3)),))
    assert seq(timing, utc(2026, 1, 1), 5) == [utc(2026, 1, 1, 12), utc(2026, 1, 3)]


# --------------------------------------------------------------------------- exclusions


def test_exclude_hours_leaves_those_slots_out_temporal_spec_exclude() -> None:
    # source: temporalio/temporal spec_test.go TestSpecExclude (exclude calendar hours 12-14, every
    # minute and second; here the 6-field cron "* * 12-14 * * *"), nominal times (jitter checked below)
    timing = Timing(interval(90), exclude=(Exclusion(cron="* * 12-14 * * *"),))
    assert seq(timing, utc(2022, 3, 23, 8), 4) == [
        utc(2022, 3, 23, 9),
        utc(2022, 3, 23, 10, 30),
        utc(2022, 3, 23, 15),
        utc(2022, 3, 23, 16, 30),
    ]


def test_excluding_every_instant_means_no_next_fire_temporal_exclude_all() -> None:
    # source: temporalio/temporal spec_test.go TestExcludeAll (weekly interval, every time excluded)
    timing = Timing(interval(7 * 24 * 60), exclude=(Exclusion(cron="* * * * *"),))
    assert timing.next_after(datetime(2022, 3, 23, 12, 53, 2, 9, tzinfo=UTC)) is None


def test_a_search_stops_after_max_excluded_slots_in_a_row_temporal_compute_limit() -> None:
    # source: temporalio/temporal spec_test.go TestGetNextTimeComputeLimitExceeded: every second fires and
    # every second but :59 is excluded -> found; every second excluded -> bounded, no next fire
    every_second = IntervalTrigger(every_seconds=1, anchor_at=utc(2022, 1, 1))
    some = Timing(every_second, exclude=(Exclusion(cron="0-58 * * * * *"),))
    assert some.next_after(utc(2022, 3, 23, 12)) == utc(2022, 3, 23, 12, 0, 59)
    every = Timing(every_second, exclude=(Exclusion(cron="* * * * * *"),), end_at=utc(2030, 1, 1))
    assert every.next_after(utc(2022, 3, 23, 12)) is None  # 10,000 seconds skipped, not eight years
    assert MAX_EXCLUDED_IN_A_ROW == 10_000


def test_excluded_dates_are_local_dates() -> None:
    # New York: 2026-12-25 local is 05:00Z on the 25th to 05:00Z on the 26th.
    timing = Timing(
        cron("0 * * * *"), timezone="America/New_York", exclude=(Exclusion(date=date(2026, 12, 25)),)
    )
    fires = seq(timing, utc(2026, 12, 25, 3, 30), 3)
    assert fires == [utc(2026, 12, 25, 4), utc(2026, 12, 26, 5), utc(2026, 12, 26, 6)]


def test_a_date_range_is_inclusive_and_skipped_in_one_step() -> None:
    items = (Exclusion(start_date=date(2026, 12, 24), end_date=date(2026, 12, 31), name="holidays"),)
    timing = Timing(IntervalTrigger(every_seconds=1, anchor_at=utc(2026, 1, 1)), exclude=items)
    # one-second slots for a week: far more than MAX_EXCLUDED_IN_A_ROW, yet one step over the range
    assert timing.next_after(utc(2026, 12, 23, 23, 59, 59)) == utc(2027, 1, 1)
    assert timing.excluded_by(utc(2026, 12, 31, 23, 59, 59)) == "exclude[0] 2026-12-24..2026-12-31 (holidays)"
    assert timing.excluded_by(utc(2027, 1, 1)) is None


def test_a_five_field_exclusion_names_minutes_a_six_field_one_seconds() -> None:
    every_30s = IntervalTrigger(every_seconds=30, anchor_at=utc(2026, 1, 1))
    minutes = Timing(every_30s, exclude=(Exclusion(cron="0 9 * * *"),))
    assert seq(minutes, utc(2026, 1, 1, 8, 59, 30), 2) == [utc(2026, 1, 1, 9, 1), utc(2026, 1, 1, 9, 1, 30)]
    seconds = Timing(every_30s, exclude=(Exclusion(cron="0 0 9 * * *"),))
    assert seq(seconds, utc(2026, 1, 1, 8, 59, 30), 2) == [utc(2026, 1, 1, 9, 0, 30), utc(2026, 1, 1, 9, 1)]


def test_public_holidays_as_a_cron_exclusion_quartz_annual_calendar() -> None:
    # source: Quartz AnnualCalendar (excluded days of the year, every year): 25 Dec and 1 Jan
    timing = Timing(cron("0 9 * * *"), exclude=(Exclusion(cron="* * 25 12 *"), Exclusion(cron="* * 1 1 *")))
    assert seq(timing, utc(2026, 12, 24, 10), 3) == [
        utc(2026, 12, 26, 9),
        utc(2026, 12, 27, 9),
        utc(2026, 12, 28, 9),
    ]
    assert seq(timing, utc(2027, 12, 31, 10), 1) == [utc(2028, 1, 2, 9)]


def test_preview_leaves_excluded_slots_out_and_says_so() -> None:
    timing = Timing(
        cron("0 9 * * *"),
        exclude=(Exclusion(date=date(2026, 1, 2), name="bridge day"), Exclusion(cron="0 9 * * sat")),
    )
    fires, excluded = timing.preview(utc(2026, 1, 1, 10), 3)
    assert fires == [utc(2026, 1, 4, 9), utc(2026, 1, 5, 9), utc(2026, 1, 6, 9)]
    assert [(e.at, e.reason) for e in excluded] == [
        (utc(2026, 1, 2, 9), "exclude[0] 2026-01-02 (bridge day): every slot until 2026-01-03T00:00:00Z"),
        (utc(2026, 1, 3, 9), "exclude[1] cron 0 9 * * sat"),
    ]


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({}, "exactly one of"),
        ({"date": "2026-01-01", "cron": "* * * * *"}, "exactly one of"),
        ({"start_date": "2026-01-01"}, "both start_date and end_date"),
        ({"start_date": "2026-01-05", "end_date": "2026-01-01"}, "must not be before"),
        ({"cron": "0 0 30 2 *"}, "can never fire"),
        ({"cron": "61 * * * *"}, "out of range"),
        ({"start_date": "2026-01-01", "end_date": "2040-01-01"}, "at most 3660 days"),
    ],
)
def test_bad_exclusions_are_refused_naming_the_problem(item: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Exclusion.model_validate(item)


# --------------------------------------------------------------------------- jitter


def test_jitter_is_deterministic_per_schedule_and_slot_and_within_the_window() -> None:
    slot = utc(2026, 1, 1, 9)
    offsets = {jitter_offset("sched-a", slot + timedelta(hours=h), 600) for h in range(200)}
    assert all(0 <= o <= 600 for o in offsets)
    assert len(offsets) > 100  # spread, not one constant delay
    assert jitter_offset("sched-a", slot, 600) == jitter_offset("sched-a", slot, 600)
    assert jitter_offset("sched-a", slot, 600) != jitter_offset("sched-b", slot, 600) or jitter_offset(
        "sched-a", slot + timedelta(hours=1), 600
    ) != jitter_offset("sched-b", slot + timedelta(hours=1), 600)
    assert jitter_offset("sched-a", slot, 0) == 0


def test_jitter_delays_but_never_moves_the_nominal_slot_apscheduler_jitter() -> None:
    # source: APScheduler tests/triggers/test_cron.py test_jitter (fire time within [nominal, nominal +
    # jitter]); here the delay is a hash, not a random draw, so claimers and previews agree
    timing = Timing(cron("*/5 * * * *"), jitter_seconds=60, jitter_key="s1")
    for slot in seq(timing, utc(2026, 1, 1), 50):
        assert slot.minute % 5 == 0 and slot.second == 0
        assert slot <= timing.fire_at(slot) <= slot + timedelta(seconds=60)
    again = Timing(cron("*/5 * * * *"), jitter_seconds=60, jitter_key="s1")
    assert [again.fire_at(s) for s in seq(again, utc(2026, 1, 1), 5)] == [
        timing.fire_at(s) for s in seq(timing, utc(2026, 1, 1), 5)
    ]


def test_jitter_and_exclusions_together_temporal_spec_exclude() -> None:
    # source: temporalio/temporal spec_test.go TestSpecExclude again: with jitter the excluded slots
    # stay excluded and each kept one fires within its jitter window
    timing = Timing(
        interval(90), exclude=(Exclusion(cron="* * 12-14 * * *"),), jitter_seconds=1, jitter_key="x"
    )
    for slot in seq(timing, utc(2022, 3, 23, 8), 4):
        assert slot.hour not in (12, 13, 14)
        assert timing.fire_at(slot) - slot in (timedelta(0), timedelta(seconds=1))


def test_timing_of_a_spec_carries_every_feature() -> None:
    spec = ScheduleSpec.model_validate(
        {
            "id": "s1",
            "name": "n",
            "triggers": [{"type": "daily", "hour": 9, "minute": 0}, {"type": "cron", "expr": "0 11 * * sat"}],
            "exclude": [{"date": "2026-01-03"}],
            "jitter_seconds": 30,
        }
    )
    timing = timing_of(spec)
    assert timing.jitter_key == "s1" and timing.jitter_seconds == 30
    assert seq(timing, utc(2026, 1, 2, 10), 3) == [utc(2026, 1, 4, 9), utc(2026, 1, 5, 9), utc(2026, 1, 6, 9)]
    assert seq(timing, utc(2026, 1, 9, 10), 3) == [
        utc(2026, 1, 10, 9),
        utc(2026, 1, 10, 11),
        utc(2026, 1, 11, 9),
    ]


def test_one_preview_shares_one_budget_of_excluded_slots() -> None:
    # every second, hours 0-22 excluded second by second (not whole days): 82,800 slots to step over
    every_second = IntervalTrigger(every_seconds=1, anchor_at=utc(2026, 1, 1))
    timing = Timing(every_second, exclude=(Exclusion(cron="* * 0-22 * * *"),))
    fires, excluded = timing.preview(utc(2026, 1, 1), 100)
    assert fires == [] and len(excluded) == 1000  # the report is capped too (10 per requested fire)
    near = Timing(every_second, exclude=(Exclusion(cron="0-49 * * * * *"),))
    fires, _ = near.preview(utc(2026, 1, 1), 100)  # 50 skips per 10 fires: well within the budget
    assert fires[:3] == [utc(2026, 1, 1, 0, 0, 50), utc(2026, 1, 1, 0, 0, 51), utc(2026, 1, 1, 0, 0, 52)]
    assert len(fires) == 100
