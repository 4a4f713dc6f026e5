"""Properties of the claim planner over random interval schedules, backlogs and policies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentcron.models import (
    CatchUpAllPolicy,
    CatchUpWindowPolicy,
    OverlapPolicy,
    RunOncePolicy,
    RunStatus,
    Schedule,
    ScheduleState,
    SkipPolicy,
    slot_run_id,
)
from agentcron.planner import MAX_CATCH_UP_PER_CLAIM, MAX_MISSED_RECORDS, MAX_SLOTS_PER_CLAIM, plan_claim

ANCHOR = datetime(2026, 2, 1, 12, 0, 0, tzinfo=UTC)

misfire_policies = st.one_of(
    st.just(RunOncePolicy()),
    st.builds(SkipPolicy, grace_seconds=st.integers(0, 20_000)),
    st.just(CatchUpAllPolicy()),
    st.builds(
        CatchUpWindowPolicy,
        max_catch_up_runs=st.integers(1, 1500),
        max_lateness_seconds=st.integers(0, 200_000),
    ),
)


@st.composite
def claims(draw, window_runs=st.integers(1, 1500)):
    every = draw(st.sampled_from([1, 7, 60, 300, 3600, 86_400]) | st.integers(1, 10_000))
    first_index = draw(st.integers(0, 50))
    backlog = draw(st.integers(0, 2500))  # due slots beyond the first
    extra = draw(st.integers(0, every - 1))  # now lies between two slots
    schedule = Schedule(
        id="prop",
        name="prop",
        trigger={"type": "interval", "every_seconds": every, "anchor_at": ANCHOR},
        created_at=ANCHOR,
        misfire_policy=draw(misfire_policies),
        overlap_policy=draw(st.sampled_from(list(OverlapPolicy))),
        state=ScheduleState(
            next_fire_at=ANCHOR + timedelta(seconds=first_index * every),
            active_run_count=draw(st.integers(0, 4)),
        ),
    )
    now = schedule.state.next_fire_at + timedelta(seconds=backlog * every + extra)
    return schedule, now, draw(st.integers(1, 100))


def _grid(schedule: Schedule, start: datetime, stop: datetime) -> list[datetime]:
    """Interval slots in [start, stop), computed without the trigger engine."""
    every = timedelta(seconds=schedule.trigger.every_seconds)
    out, at = [], start
    while at < stop:
        out.append(at)
        at += every
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(claims())
def test_every_scanned_due_slot_is_decided_exactly_once(case):
    schedule, now, max_records = case
    plan = plan_claim(schedule, now, max_records=max_records)
    first = schedule.state.next_fire_at
    every = schedule.trigger.every_seconds

    assert not plan.changes_nothing
    assert plan.next_fire_at is not None and plan.enabled
    # next_fire_at stays on the grid, past the last consumed slot
    assert (plan.next_fire_at - ANCHOR).total_seconds() % every == 0
    assert plan.last_consumed_at is not None and plan.next_fire_at > plan.last_consumed_at
    assert plan.next_fire_at == plan.last_consumed_at + timedelta(seconds=every)
    assert plan.still_due is (plan.next_fire_at <= now)

    consumed = _grid(schedule, first, plan.next_fire_at)
    assert 1 <= len(consumed) <= MAX_SLOTS_PER_CLAIM
    assert len(consumed) == plan.consumed_count and consumed[-1] == plan.last_consumed_at
    assert consumed[-1] <= now

    queued, skipped, missed = ({r.scheduled_for for r in rs} for rs in (plan.runs, plan.skipped, plan.missed))
    # no slot silently dropped, none decided twice
    assert len(plan.runs) + len(plan.skipped) + plan.missed_count == len(consumed)
    assert (len(queued), len(skipped), len(missed)) == (len(plan.runs), len(plan.skipped), len(plan.missed))
    assert not (queued & skipped) and not (queued & missed) and not (skipped & missed)
    assert queued | skipped | missed <= set(consumed)
    assert len(plan.missed) <= min(plan.missed_count, MAX_MISSED_RECORDS)

    # budget, ids, statuses, reasons
    assert plan.record_count <= max_records
    assert len(plan.runs) + len(plan.skipped) <= min(MAX_CATCH_UP_PER_CLAIM, max_records)
    for record in plan.records:
        assert record.run_id == slot_run_id("prop", record.scheduled_for)
        assert record.was_catch_up is ((now - record.scheduled_for).total_seconds() > 60)
    assert all(r.status is RunStatus.queued for r in plan.runs)
    assert all(r.status is RunStatus.skipped and r.reason for r in plan.skipped)
    assert all(r.status is RunStatus.missed and r.reason for r in plan.missed)

    # a backlog the scan could not finish is left due; a finished one is not
    remaining = _grid(schedule, plan.next_fire_at, now + timedelta(seconds=1))
    assert plan.still_due is bool(remaining)

    assert plan == plan_claim(schedule, now, max_records=max_records)


def _one_shot(schedule: Schedule, due: list[datetime], now: datetime) -> list[datetime]:
    """The runs each misfire policy asks for over the WHOLE backlog, as the policies are specified."""
    policy = schedule.misfire_policy
    if isinstance(policy, RunOncePolicy):
        return due[-1:]
    if isinstance(policy, SkipPolicy):
        return [s for s in due if (now - s).total_seconds() <= policy.grace_seconds]
    if isinstance(policy, CatchUpAllPolicy):
        return due
    fresh = [s for s in due if (now - s).total_seconds() <= policy.max_lateness_seconds]
    return fresh[-policy.max_catch_up_runs :]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(claims())
def test_claiming_a_backlog_to_the_end_runs_what_the_policy_asks_for(case):
    """Budgets and scan limits split the work over claims but never change its outcome (overlap allow)."""
    schedule, now, max_records = case
    policy = schedule.misfire_policy
    if isinstance(policy, CatchUpWindowPolicy) and policy.max_catch_up_runs >= MAX_SLOTS_PER_CLAIM:
        policy = CatchUpWindowPolicy(max_catch_up_runs=policy.max_catch_up_runs % 200 + 1,
                                     max_lateness_seconds=policy.max_lateness_seconds)
    schedule = schedule.model_copy(update={"overlap_policy": OverlapPolicy.allow, "misfire_policy": policy})
    due = _grid(schedule, schedule.state.next_fire_at, now + timedelta(seconds=1))

    runs, missed = [], 0
    state = schedule.state
    for _ in range(len(due) + 1):
        plan = plan_claim(schedule.model_copy(update={"state": state}), now, max_records=max_records)
        if plan.changes_nothing:
            break
        runs += [r.scheduled_for for r in plan.runs]
        missed += plan.missed_count
        state = ScheduleState(next_fire_at=plan.next_fire_at)
    else:
        raise AssertionError("the backlog was never finished")

    assert runs == _one_shot(schedule, due, now)
    assert missed == len(due) - len(runs)
    assert state.next_fire_at == due[-1] + timedelta(seconds=schedule.trigger.every_seconds)
