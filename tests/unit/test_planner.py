"""The claim planner: misfire and overlap policies, budgets, grid, run ids, and the edit rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agentcron import planner
from agentcron.domain import timing as triggers  # the module the planner asks
from agentcron.models import (
    CatchUpAllPolicy,
    CatchUpWindowPolicy,
    DstPolicy,
    IntervalTrigger,
    OnceTrigger,
    OverlapPolicy,
    RunConfig,
    RunOncePolicy,
    RunStatus,
    Schedule,
    ScheduleState,
    SkipPolicy,
    slot_run_id,
)
from agentcron.planner import (
    LATE_AFTER_SECONDS,
    MAX_MISSED_RECORDS,
    MAX_SLOTS_PER_CLAIM,
    ClaimPlan,
    effective_trigger,
    initial_next_fire,
    next_fire_after_edit,
    plan_claim,
    timing_changed,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
EVERY = 60
FIRST = T0 + timedelta(seconds=EVERY)


def slot(i: int, every: int = EVERY) -> datetime:
    """The i-th due slot of the standard schedule (slot 0 is its state.next_fire_at)."""
    return FIRST + timedelta(seconds=i * every)


def make(
    *,
    every: int = EVERY,
    policy=None,
    overlap: OverlapPolicy = OverlapPolicy.allow,
    next_fire: datetime | None = FIRST,
    queued: int = 0,
    running: int = 0,
    **spec,
) -> Schedule:
    spec.setdefault("trigger", {"type": "interval", "every_seconds": every, "anchor_at": FIRST})
    spec.setdefault("created_at", T0)
    return Schedule(
        id="sched-1",
        name="nightly report",
        misfire_policy=policy or RunOncePolicy(),
        overlap_policy=overlap,
        updated_at=T0,
        state=ScheduleState(next_fire_at=next_fire, active_run_count=queued + running),
        **spec,
    )


def slots_of(records) -> list[datetime]:
    return [r.scheduled_for for r in records]


def idx(records, every: int = EVERY) -> list[int]:
    return [int((r.scheduled_for - FIRST).total_seconds()) // every for r in records]


# --------------------------------------------------------------------------- not due


@pytest.mark.parametrize(
    "schedule",
    [
        make(enabled=False, next_fire=T0),
        make(next_fire=None),
        make(next_fire=T0 + timedelta(hours=1)),
    ],
    ids=["disabled", "no-next-fire", "in-the-future"],
)
def test_a_schedule_that_is_not_due_gets_a_plan_that_changes_nothing(schedule):
    plan = plan_claim(schedule, T0 + timedelta(minutes=30))
    assert plan.changes_nothing and not plan.due
    assert plan.records == [] and plan.missed_count == 0 and plan.consumed_count == 0
    assert plan.next_fire_at == schedule.state.next_fire_at
    assert plan.enabled is schedule.enabled
    assert plan.cancel_active is False


def test_a_slot_exactly_at_now_is_due():
    plan = plan_claim(make(), FIRST)
    assert not plan.changes_nothing
    assert slots_of(plan.runs) == [FIRST]
    assert plan.next_fire_at == slot(1)
    assert plan.runs[0].was_catch_up is False


def test_a_naive_now_is_read_as_utc():
    assert plan_claim(make(), FIRST.replace(tzinfo=None)) == plan_claim(make(), FIRST)


def test_max_records_below_one_is_refused():
    with pytest.raises(ValueError, match="max_records"):
        plan_claim(make(), FIRST, max_records=0)


# --------------------------------------------------------------------------- N slots late, every policy

LATE = [0, 1, 2, 5, 150, 5000]


def _expect(policy_name: str, n: int) -> dict:
    """Expected plan for due slots 0..n at now = slot(n) + 5 s (slot i is (n - i) * 60 + 5 s late).

    Scans stop after MAX_SLOTS_PER_CLAIM slots, so n = 5000 decides slots 0..999 only.
    """
    truncated = n + 1 > MAX_SLOTS_PER_CLAIM
    scanned = min(n + 1, MAX_SLOTS_PER_CLAIM)
    if policy_name == "catch_up_all":
        top = min(n, 99)
        return {"runs": list(range(top + 1)), "missed_count": 0, "next": top + 1}
    if truncated:  # run_once, skip (grace 130) and catch_up_window: every scanned slot is missed
        return {"runs": [], "missed_count": scanned, "next": scanned}
    if policy_name == "run_once":
        runs = [n]
    else:  # skip with grace 130 s runs the slots <= 125 s late; the window keeps the newest 3 of 10 fresh
        runs = list(range(max(0, n - 2), n + 1))
    return {"runs": runs, "missed_count": n + 1 - len(runs), "next": n + 1}


POLICIES = {
    "run_once": RunOncePolicy(),
    "skip": SkipPolicy(grace_seconds=130),
    "catch_up_all": CatchUpAllPolicy(),
    "catch_up_window": CatchUpWindowPolicy(max_catch_up_runs=3, max_lateness_seconds=600),
}


@pytest.mark.parametrize("n", LATE)
@pytest.mark.parametrize("policy_name", list(POLICIES))
def test_n_slots_late(policy_name, n):
    now = slot(n) + timedelta(seconds=5)
    plan = plan_claim(make(policy=POLICIES[policy_name]), now)
    want = _expect(policy_name, n)

    assert idx(plan.runs) == want["runs"]
    assert all(r.status is RunStatus.queued and r.reason is None for r in plan.runs)
    assert [r.was_catch_up for r in plan.runs] == [i < n for i in want["runs"]]
    assert plan.skipped == []
    assert plan.missed_count == want["missed_count"]
    # the newest missed slots are recorded, at most 20, just before the first slot not missed
    runs = set(want["runs"])
    missed_slots = [i for i in range(want["next"]) if i not in runs]
    assert idx(plan.missed) == missed_slots[-MAX_MISSED_RECORDS:]
    assert all(r.status is RunStatus.missed and r.reason for r in plan.missed)
    assert plan.next_fire_at == slot(want["next"])
    assert plan.enabled is True
    assert plan.consumed_count == want["next"]
    assert plan.last_consumed_at == slot(want["next"] - 1)
    assert plan.still_due is (plan.next_fire_at <= now)
    assert plan.record_count <= 100


def test_run_once_names_the_run_that_absorbed_the_missed_slots():
    plan = plan_claim(make(), slot(3))
    assert idx(plan.runs) == [3]
    assert {r.reason for r in plan.missed} == {"coalesced by run_once into the run for 2026-01-01T00:04:00Z"}


def test_run_once_over_a_long_backlog_runs_only_the_newest_slot_across_claims():
    schedule = make()
    now = slot(2500) + timedelta(seconds=1)
    runs, missed, claims = [], 0, 0
    while True:
        plan = plan_claim(schedule, now)
        if plan.changes_nothing:
            break
        claims += 1
        runs += plan.runs
        missed += plan.missed_count
        schedule = schedule.model_copy(update={"state": ScheduleState(next_fire_at=plan.next_fire_at)})
    assert claims == 3
    assert idx(runs) == [2500] and missed == 2500
    assert schedule.state.next_fire_at == slot(2501)


# --------------------------------------------------------------------------- skip


def test_skip_runs_an_on_time_slot():
    """The seed system never dispatched anything under skip; here an on-time slot runs."""
    plan = plan_claim(make(policy=SkipPolicy()), FIRST + timedelta(seconds=3))
    assert idx(plan.runs) == [0] and plan.missed_count == 0


def test_skip_grace_is_inclusive_and_late_slots_are_missed_with_the_lateness():
    schedule = make(policy=SkipPolicy(grace_seconds=60), every=3600)
    at_grace = plan_claim(schedule, FIRST + timedelta(seconds=60))
    assert len(at_grace.runs) == 1 and at_grace.missed_count == 0

    late = plan_claim(schedule, FIRST + timedelta(seconds=3600 + 30))
    assert slots_of(late.runs) == [slot(1, 3600)]
    assert [r.reason for r in late.missed] == ["late by 3630s, beyond grace 60s"]
    assert late.missed[0].was_catch_up is True


def test_skip_with_a_wide_grace_stops_at_the_run_budget_and_continues_next_claim():
    schedule = make(policy=SkipPolicy(grace_seconds=86_400), every=1)
    now = FIRST + timedelta(seconds=250)
    first = plan_claim(schedule, now, max_records=99)
    assert len(first.runs) == 99 and first.missed_count == 0
    assert first.next_fire_at == FIRST + timedelta(seconds=99) and first.still_due


# --------------------------------------------------------------------------- catch-up


@pytest.mark.parametrize("max_records", [1, 10, 99, 100, 500])
def test_catch_up_all_takes_at_most_min_100_max_records_and_the_rest_stays_due(max_records):
    plan = plan_claim(make(policy=CatchUpAllPolicy()), slot(300), max_records=max_records)
    take = min(100, max_records)
    assert idx(plan.runs) == list(range(take))
    assert plan.missed_count == 0
    assert plan.next_fire_at == slot(take) and plan.still_due


def test_catch_up_window_drops_slots_beyond_the_lateness_and_beyond_the_count():
    policy = CatchUpWindowPolicy(max_catch_up_runs=4, max_lateness_seconds=300)
    plan = plan_claim(make(policy=policy), slot(10))
    # fresh: slots 5..10 (<= 300 s late); newest 4 of them run
    assert idx(plan.runs) == [7, 8, 9, 10]
    assert plan.missed_count == 7
    reasons = {i: r.reason for i, r in zip(idx(plan.missed), plan.missed, strict=True)}
    assert reasons[4] == "late by 360s, beyond max lateness 300s"
    assert reasons[5] == reasons[6] == "beyond the newest 4 catch-up runs"
    assert plan.next_fire_at == slot(11)


def test_catch_up_window_with_fewer_fresh_slots_than_allowed_runs_them_all():
    policy = CatchUpWindowPolicy(max_catch_up_runs=10, max_lateness_seconds=150)
    plan = plan_claim(make(policy=policy), slot(6))
    assert idx(plan.runs) == [4, 5, 6] and plan.missed_count == 4


def test_catch_up_window_above_the_run_budget_runs_the_oldest_selected_first():
    policy = CatchUpWindowPolicy(max_catch_up_runs=150, max_lateness_seconds=10**6)
    schedule = make(policy=policy)
    now = slot(199)
    first = plan_claim(schedule, now)
    # the newest 150 of 200 are slots 50..199; 100 run now, 150..199 stay due
    assert idx(first.runs) == list(range(50, 150)) and first.missed_count == 50
    assert first.next_fire_at == slot(150) and first.still_due
    second = plan_claim(schedule.model_copy(update={"state": ScheduleState(next_fire_at=slot(150))}), now)
    assert idx(second.runs) == list(range(150, 200)) and second.missed_count == 0


def test_catch_up_window_over_a_truncated_scan_gives_the_same_runs_as_a_full_scan():
    policy = CatchUpWindowPolicy(max_catch_up_runs=5, max_lateness_seconds=3600)
    schedule = make(policy=policy, every=1)
    now = FIRST + timedelta(seconds=1500)  # 1501 due slots, all fresh
    first = plan_claim(schedule, now)
    assert first.runs == [] and first.missed_count == 996
    assert first.next_fire_at == FIRST + timedelta(seconds=996)
    resumed = schedule.model_copy(update={"state": ScheduleState(next_fire_at=first.next_fire_at)})
    second = plan_claim(resumed, now)
    assert idx(second.runs, every=1) == [1496, 1497, 1498, 1499, 1500]
    assert second.missed_count == 500 and not second.still_due


def test_catch_up_window_larger_than_a_scan_still_makes_progress():
    policy = CatchUpWindowPolicy(max_catch_up_runs=5000, max_lateness_seconds=10**6)
    plan = plan_claim(make(policy=policy, every=1), FIRST + timedelta(seconds=3000))
    assert idx(plan.runs, every=1) == list(range(100))
    assert plan.next_fire_at == FIRST + timedelta(seconds=100)


@pytest.mark.parametrize("lateness, expected", [(LATE_AFTER_SECONDS, False), (LATE_AFTER_SECONDS + 1, True)])
def test_was_catch_up_marks_runs_more_than_a_minute_late(lateness, expected):
    plan = plan_claim(make(every=3600), FIRST + timedelta(seconds=lateness))
    assert plan.runs[0].was_catch_up is expected


# --------------------------------------------------------------------------- overlap

# Three due slots (catch_up_all): which run, which are skipped, and whether the active runs are cancelled.
OVERLAP_CASES = [
    # policy, queued, running, queued slots, skipped slots, cancel
    (OverlapPolicy.allow, 1, 1, [0, 1, 2], [], False),
    (OverlapPolicy.queue_all, 1, 1, [0, 1, 2], [], False),
    (OverlapPolicy.skip, 0, 0, [0], [1, 2], False),
    (OverlapPolicy.skip, 0, 1, [], [0, 1, 2], False),
    (OverlapPolicy.skip, 1, 0, [], [0, 1, 2], False),
    (OverlapPolicy.queue_one, 0, 0, [0], [1, 2], False),
    (OverlapPolicy.queue_one, 0, 1, [0], [1, 2], False),
    (OverlapPolicy.queue_one, 1, 0, [], [0, 1, 2], False),
    (OverlapPolicy.queue_one, 1, 1, [], [0, 1, 2], False),
    (OverlapPolicy.cancel_other, 0, 0, [0], [1, 2], False),
    (OverlapPolicy.cancel_other, 0, 1, [2], [0, 1], True),
    (OverlapPolicy.cancel_other, 1, 0, [2], [0, 1], True),
    (OverlapPolicy.cancel_other, 1, 1, [2], [0, 1], True),
]


@pytest.mark.parametrize("policy, queued, running, want_queued, want_skipped, cancel", OVERLAP_CASES)
def test_overlap_policy(policy, queued, running, want_queued, want_skipped, cancel):
    schedule = make(policy=CatchUpAllPolicy(), overlap=policy, queued=queued, running=running)
    plan = plan_claim(schedule, slot(2), run_waiting=queued > 0)  # the claim looks up whether one waits
    assert idx(plan.runs) == want_queued
    assert idx(plan.skipped) == want_skipped
    assert plan.cancel_active is cancel
    assert all(r.status is RunStatus.skipped for r in plan.skipped)
    assert all(r.reason and r.reason.startswith(f"overlap policy {policy.value}") for r in plan.skipped)
    assert plan.missed_count == 0 and plan.next_fire_at == slot(3)


def test_overlap_default_is_queue_one():
    schedule = Schedule(
        name="x", trigger={"type": "interval", "every_seconds": 60, "anchor_at": T0}, created_at=T0,
        misfire_policy={"type": "catch_up_all"}, state=ScheduleState(next_fire_at=FIRST),
    )
    plan = plan_claim(schedule, slot(1))
    assert idx(plan.runs) == [0] and idx(plan.skipped) == [1]


def test_cancel_other_with_a_single_slot_queues_it_and_cancels_the_active_run():
    plan = plan_claim(make(overlap=OverlapPolicy.cancel_other, running=1), FIRST)
    assert idx(plan.runs) == [0] and plan.skipped == [] and plan.cancel_active is True


def test_overlap_applies_only_to_runs_the_misfire_policy_selected():
    plan = plan_claim(make(overlap=OverlapPolicy.skip, running=1), slot(4))
    assert plan.runs == [] and idx(plan.skipped) == [4] and plan.missed_count == 4


def test_nothing_to_queue_never_cancels():
    """run_once over a truncated scan selects no run: the active run is left alone."""
    plan = plan_claim(make(overlap=OverlapPolicy.cancel_other, running=1), slot(1500))
    assert plan.runs == [] and plan.skipped == [] and plan.cancel_active is False


# --------------------------------------------------------------------------- record budget


@pytest.mark.parametrize("max_records", [1, 2, 5, 21, 99])
@pytest.mark.parametrize("policy_name", list(POLICIES))
@pytest.mark.parametrize("overlap", [OverlapPolicy.allow, OverlapPolicy.skip])
def test_max_records_is_respected(policy_name, max_records, overlap):
    policy = POLICIES[policy_name]
    if policy_name == "skip":
        policy = SkipPolicy(grace_seconds=3000)
    plan = plan_claim(make(policy=policy, overlap=overlap), slot(400), max_records=max_records)
    assert 1 <= plan.record_count <= max_records
    assert len(plan.missed) <= MAX_MISSED_RECORDS
    assert len(plan.runs) + len(plan.skipped) + plan.missed_count == plan.consumed_count


def test_missed_records_are_the_newest_within_what_the_runs_leave():
    plan = plan_claim(make(), slot(30), max_records=6)
    assert idx(plan.runs) == [30]
    assert idx(plan.missed) == [25, 26, 27, 28, 29]
    assert plan.missed_count == 30


def test_a_single_record_budget_counts_missed_slots_without_records():
    plan = plan_claim(make(), slot(30), max_records=1)
    assert len(plan.runs) == 1 and plan.missed == [] and plan.missed_count == 30


# --------------------------------------------------------------------------- ids, determinism, grid


def test_every_record_id_is_its_slot_id_and_ids_are_unique():
    schedule = make(policy=CatchUpWindowPolicy(max_catch_up_runs=5, max_lateness_seconds=900),
                    overlap=OverlapPolicy.queue_one)
    plan = plan_claim(schedule, slot(40))
    records = plan.records
    assert {r.status for r in records} == {RunStatus.queued, RunStatus.skipped, RunStatus.missed}
    assert all(r.run_id == slot_run_id("sched-1", r.scheduled_for) for r in records)
    assert len({r.run_id for r in records}) == len(records)
    assert slots_of(records) == sorted(slots_of(records))


def test_plans_are_deterministic():
    schedule = make(policy=CatchUpWindowPolicy(max_catch_up_runs=3), overlap=OverlapPolicy.cancel_other,
                    running=1)
    now = slot(77) + timedelta(microseconds=123)
    again = Schedule.model_validate_json(schedule.model_dump_json())
    assert plan_claim(schedule, now) == plan_claim(schedule, now) == plan_claim(again, now)


def test_an_unanchored_interval_stays_on_its_creation_grid():
    created = datetime(2026, 3, 1, 10, 0, 7, 250_000, tzinfo=UTC)
    schedule = Schedule(
        id="grid", name="grid", trigger={"type": "interval", "every_seconds": 300}, created_at=created,
        misfire_policy={"type": "run_once"},
    )
    anchor = created.replace(microsecond=0)
    first = initial_next_fire(schedule, created)
    assert first == anchor + timedelta(seconds=300)
    state = ScheduleState(next_fire_at=first)
    for late in (0, 17, 299, 301, 86_400 + 123):  # claims at arbitrary, late instants
        now = state.next_fire_at + timedelta(seconds=late, microseconds=999)
        plan = plan_claim(schedule.model_copy(update={"state": state}), now)
        assert (plan.next_fire_at - anchor).total_seconds() % 300 == 0
        assert (plan.runs[0].scheduled_for - anchor).total_seconds() % 300 == 0
        assert plan.next_fire_at > now
        state = ScheduleState(next_fire_at=plan.next_fire_at)


def test_effective_trigger():
    created = datetime(2026, 3, 1, 10, 0, 7, 250_000, tzinfo=UTC)
    unanchored = make(trigger={"type": "interval", "every_seconds": 30}, created_at=created)
    anchor = created.replace(microsecond=0)
    assert effective_trigger(unanchored) == IntervalTrigger(every_seconds=30, anchor_at=anchor)
    anchored = make(every=30)
    assert effective_trigger(anchored) is anchored.trigger
    once = make(trigger={"type": "once", "at": T0})
    assert effective_trigger(once) == OnceTrigger(at=T0)


def test_the_trigger_is_asked_with_the_schedule_timezone_window_and_dst_policy(monkeypatch):
    calls = []
    real = triggers.next_fire_after

    def spy(trigger, after, **kwargs):
        calls.append(kwargs)
        return real(trigger, after, **kwargs)

    monkeypatch.setattr(triggers, "next_fire_after", spy)
    dst = DstPolicy(gap="skip", repeat="both")
    schedule = make(timezone="Europe/Paris", start_at=T0, end_at=T0 + timedelta(days=1), dst_policy=dst)
    plan_claim(schedule, slot(3))
    assert len(calls) == 4
    assert all(
        c == {"timezone": "Europe/Paris", "start_at": T0, "end_at": T0 + timedelta(days=1), "dst_policy": dst}
        for c in calls
    )


# --------------------------------------------------------------------------- end of a schedule


def test_a_once_schedule_runs_and_is_disabled():
    at = T0 + timedelta(hours=2)
    schedule = make(trigger={"type": "once", "at": at}, next_fire=at)
    assert plan_claim(schedule, at - timedelta(seconds=1)).changes_nothing
    plan = plan_claim(schedule, at + timedelta(hours=1))
    assert slots_of(plan.runs) == [at] and plan.runs[0].was_catch_up is True
    assert plan.next_fire_at is None and plan.enabled is False and not plan.still_due


def test_a_closing_window_disables_the_schedule_after_its_last_slot():
    schedule = make(end_at=slot(3) + timedelta(seconds=1), policy=CatchUpAllPolicy())
    plan = plan_claim(schedule, slot(10))
    assert idx(plan.runs) == [0, 1, 2, 3]
    assert plan.next_fire_at is None and plan.enabled is False


def test_a_stale_next_fire_beyond_the_window_records_nothing_and_disables():
    schedule = make(end_at=FIRST)  # end is exclusive: the stored slot is outside the window
    plan = plan_claim(schedule, slot(5))
    assert plan.records == [] and plan.missed_count == 0
    assert plan.next_fire_at is None and plan.enabled is False and not plan.changes_nothing


def test_a_stale_next_fire_before_the_window_is_reseated_on_the_window():
    schedule = make(start_at=slot(3), policy=CatchUpAllPolicy())
    assert idx(plan_claim(schedule, slot(4)).runs) == [3, 4]
    later = plan_claim(schedule, slot(2))
    assert later.records == [] and later.next_fire_at == slot(3) and later.enabled


# --------------------------------------------------------------------------- create, resume, edit


def test_initial_next_fire_is_strictly_after_now():
    schedule = make()
    assert initial_next_fire(schedule, slot(0)) == slot(1)
    assert initial_next_fire(schedule, slot(0) - timedelta(microseconds=1)) == slot(0)


def test_initial_next_fire_respects_a_future_start():
    schedule = make(start_at=slot(10))
    assert initial_next_fire(schedule, FIRST) == slot(10)
    off_grid = make(start_at=slot(10) + timedelta(seconds=1))
    assert initial_next_fire(off_grid, FIRST) == slot(11)


def test_initial_next_fire_is_none_when_the_trigger_never_fires_again():
    assert initial_next_fire(make(trigger={"type": "once", "at": T0}), T0) is None
    assert initial_next_fire(make(end_at=slot(2)), slot(1)) is None


NOW = slot(100) + timedelta(seconds=7)


def _old(**kw) -> Schedule:
    base = make(next_fire=slot(42), **kw)  # an overdue slot: it must survive unrelated edits
    return base


@pytest.mark.parametrize(
    "change",
    [
        {"name": "renamed"},
        {"run_config": RunConfig(task_message="new task")},
        {"misfire_policy": CatchUpAllPolicy()},
        {"overlap_policy": OverlapPolicy.skip},
        {"pause_note": "x"},
        {"timezone": "UTC"},
        {"trigger": IntervalTrigger(every_seconds=EVERY, anchor_at=FIRST)},
    ],
    ids=["name", "run_config", "misfire", "overlap", "note", "utc-spelled-out", "same-trigger"],
)
def test_an_edit_that_keeps_the_timing_keeps_next_fire(change):
    old = _old()
    new = old.spec.model_copy(update=change)
    assert not timing_changed(old, new)
    assert next_fire_after_edit(old, new, NOW) == slot(42)


@pytest.mark.parametrize(
    "change",
    [
        {"trigger": IntervalTrigger(every_seconds=120, anchor_at=FIRST)},
        {"timezone": "Europe/Paris"},
        {"start_at": T0},
        {"end_at": T0 + timedelta(days=9)},
        {"dst_policy": DstPolicy(gap="skip")},
    ],
    ids=["trigger", "timezone", "start_at", "end_at", "dst_policy"],
)
def test_an_edit_of_the_timing_recomputes_from_now(change):
    old = _old()
    new = old.spec.model_copy(update=change)
    assert timing_changed(old, new)
    expected = initial_next_fire(new, NOW)
    assert expected is not None and expected > NOW
    assert next_fire_after_edit(old, new, NOW) == expected


def test_a_new_creation_time_moves_an_unanchored_grid():
    old = _old(trigger={"type": "interval", "every_seconds": 60})
    new = old.spec.model_copy(update={"created_at": T0 + timedelta(seconds=13)})
    assert timing_changed(old, new)


def test_re_enabling_recomputes_from_now_without_catching_up():
    old = _old(enabled=False)
    new = old.spec.model_copy(update={"enabled": True})
    assert next_fire_after_edit(old, new, NOW) == slot(101)


def test_disabling_clears_next_fire():
    old = _old()
    assert next_fire_after_edit(old, old.spec.model_copy(update={"enabled": False}), NOW) is None


def test_plan_defaults_describe_a_change():
    assert ClaimPlan().changes_nothing is False
    assert ClaimPlan(due=False).changes_nothing is True


@pytest.mark.parametrize("policy", [CatchUpAllPolicy(), SkipPolicy(grace_seconds=10**6)])
def test_policies_that_run_in_order_scan_only_what_they_take(monkeypatch, policy):
    calls = []
    real = triggers.next_fire_after

    def spy(trigger, after, **kwargs):
        calls.append(after)
        return real(trigger, after, **kwargs)

    monkeypatch.setattr(triggers, "next_fire_after", spy)
    plan = plan_claim(make(policy=policy), slot(5000), max_records=99)
    assert len(plan.runs) == 99 and plan.next_fire_at == slot(99)
    assert len(calls) == 99
