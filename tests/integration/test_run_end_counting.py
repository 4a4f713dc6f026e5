"""A run's end reaches its schedule's counters once: written right after the run's own end, or, when the
executor died between the two writes, by the schedule's next claim (domain/tally.py, Store.fold_runs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agentcron.application.claim import sweep
from agentcron.application.runs import run_now
from agentcron.domain.access import SYSTEM
from agentcron.models import OverlapPolicy, RunStatus, slot_run_id
from agentcron.store.runs import RunsMixin

NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
SLOT = NOW + timedelta(seconds=60)


def create(stack, schedule_id: str = "s1", **fields) -> None:
    stack.create_every(schedule_id, 60, NOW, **fields)


def claim_and_start(stack, at: datetime = SLOT, schedule_id: str = "s1"):
    sweep(stack.services(), at)
    run_id = slot_run_id(schedule_id, at.replace(second=0))
    started = stack.store.start_run(schedule_id, run_id, at, lease_seconds=600)
    assert started is not None
    return started


def counters(stack, schedule_id: str = "s1") -> tuple[int, int, int, int, frozenset[str]]:
    state = stack.store.get_schedule(schedule_id).state
    return (
        state.active_run_count,
        state.total_run_count,
        state.total_success_count,
        state.consecutive_failures,
        state.open_run_ids,
    )


def end(stack, run, status: RunStatus, at: datetime):
    return stack.store.finish_run(run.schedule_id, run.run_id, status, at, expected=run)


@pytest.fixture
def dead_after_the_run_write(monkeypatch):
    """The executor dies after the run's terminal write, before its end is counted on the schedule."""
    monkeypatch.setattr(RunsMixin, "_count_end", lambda self, finished: None)
    return monkeypatch


def test_a_run_end_is_counted_once_with_the_run_write(stack):
    create(stack)
    run = claim_and_start(stack)
    assert counters(stack) == (1, 0, 0, 0, frozenset({run.run_id}))

    finished = end(stack, run, RunStatus.success, SLOT + timedelta(seconds=5))
    assert finished is not None and finished.status == RunStatus.success
    assert counters(stack) == (0, 1, 1, 0, frozenset())
    # A duplicate end changes nothing, and counting the same end again is refused.
    assert stack.store.finish_run("s1", run.run_id, RunStatus.failed, SLOT + timedelta(seconds=6)) is None
    assert stack.store.fold_runs("s1", [finished]) is False
    assert counters(stack) == (0, 1, 1, 0, frozenset())


def test_an_end_left_uncounted_by_a_dead_executor_is_counted_by_the_next_claim(
    stack, dead_after_the_run_write
):
    create(stack)
    run = claim_and_start(stack)
    end(stack, run, RunStatus.failed, SLOT + timedelta(seconds=5))
    assert stack.store.get_run("s1", run.run_id).status == RunStatus.failed
    assert counters(stack) == (1, 0, 0, 0, frozenset({run.run_id}))  # pending: the end is not counted yet

    dead_after_the_run_write.undo()
    following = SLOT + timedelta(seconds=60)
    report = sweep(stack.services(), following)
    assert (report.runs_queued, report.errors) == (1, 0)
    state = stack.store.get_schedule("s1").state
    assert (state.total_run_count, state.total_failure_count, state.consecutive_failures) == (1, 1, 1)
    assert state.last_failure_at == state.last_finished_at == SLOT + timedelta(seconds=5)
    assert (state.active_run_count, state.open_run_ids) == (1, frozenset({slot_run_id("s1", following)}))
    # A second claim, or the dead executor's write arriving late, does not count it again.
    assert stack.store.fold_runs("s1", [stack.store.get_run("s1", run.run_id)]) is False
    sweep(stack.services(), following + timedelta(seconds=1))
    assert stack.store.get_schedule("s1").state.total_failure_count == 1


def test_a_skip_schedule_is_not_skipped_because_of_an_end_left_uncounted(stack, dead_after_the_run_write):
    # skip: a slot due while a run is active is skipped. The run ended; only its counting was lost.
    create(stack, overlap_policy="skip")
    run = claim_and_start(stack)
    end(stack, run, RunStatus.success, SLOT + timedelta(seconds=5))
    dead_after_the_run_write.undo()

    following = SLOT + timedelta(seconds=60)
    report = sweep(stack.services(), following)
    assert (report.runs_queued, report.runs_skipped) == (1, 0)
    assert stack.store.get_run("s1", slot_run_id("s1", following)).status == RunStatus.queued


def test_a_late_count_leaves_the_newer_outcome_instants_and_streak_alone(stack, dead_after_the_run_write):
    create(stack, overlap_policy="allow")
    first = claim_and_start(stack)
    second = claim_and_start(stack, SLOT + timedelta(seconds=60))
    end(stack, first, RunStatus.failed, SLOT + timedelta(seconds=61))
    dead_after_the_run_write.undo()
    ended = SLOT + timedelta(seconds=70)
    end(stack, second, RunStatus.success, ended)

    sweep(stack.services(), SLOT + timedelta(seconds=120))  # counts the first run's end, late
    state = stack.store.get_schedule("s1").state
    assert (state.total_run_count, state.total_success_count, state.total_failure_count) == (2, 1, 1)
    assert (state.last_finished_at, state.last_success_at, state.consecutive_failures) == (ended, ended, 0)


def test_a_counted_run_whose_record_is_gone_leaves_the_set_at_the_next_claim(stack):
    create(stack)
    run = claim_and_start(stack)
    stack.dynamodb.delete_item(
        TableName=stack.settings.runs_table, Key={"schedule_id": {"S": "s1"}, "run_id": {"S": run.run_id}}
    )
    sweep(stack.services(), SLOT + timedelta(seconds=60))
    active, total, *_, pending = counters(stack)
    assert (active, total, pending) == (1, 0, frozenset({slot_run_id("s1", SLOT + timedelta(seconds=60))}))


def test_a_run_queued_before_ends_were_counted_this_way_ends_in_one_transaction(stack):
    # A run recorded by an earlier version: no ``tally`` attribute, not in the schedule's open_runs set.
    create(stack)
    run = claim_and_start(stack)
    table, key = stack.settings.runs_table, {"schedule_id": {"S": "s1"}, "run_id": {"S": run.run_id}}
    stack.dynamodb.update_item(TableName=table, Key=key, UpdateExpression="REMOVE tally")
    stack.dynamodb.update_item(
        TableName=stack.settings.schedules_table,
        Key={"schedule_id": {"S": "s1"}},
        UpdateExpression="REMOVE open_runs",
    )
    finished = end(stack, run, RunStatus.success, SLOT + timedelta(seconds=5))
    assert finished is not None
    assert counters(stack) == (0, 1, 1, 0, frozenset())


def test_a_run_now_with_skip_is_not_refused_because_of_an_end_left_uncounted(stack, dead_after_the_run_write):
    create(stack)
    run = claim_and_start(stack)
    end(stack, run, RunStatus.success, SLOT + timedelta(seconds=5))
    dead_after_the_run_write.undo()

    now_run = run_now(stack.services(SLOT + timedelta(seconds=10)), SYSTEM, "s1", request_id="r1",
                      overlap_policy=OverlapPolicy.skip)  # fmt: skip
    assert now_run.status == RunStatus.queued
    state = stack.store.get_schedule("s1").state
    assert (state.total_success_count, state.active_run_count) == (1, 1)
