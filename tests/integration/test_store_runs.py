"""Store: run records, their conditional transitions and the schedule counters that move with them (moto)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agentcron import planner
from agentcron.exceptions import RunNotFound, ScheduleNotFound
from agentcron.store import segments
from agentcron.models import Run, RunStatus, RunTrigger, ScheduleSpec, TokenUsage, slot_run_id
from agentcron.store.codec import shard_of, epoch_ms, epoch_seconds

NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
SLOT = NOW + timedelta(seconds=60)
LEASE = 900


def make_schedule(stack, schedule_id: str = "s1", **fields) -> None:
    data = {
        "id": schedule_id,
        "name": schedule_id,
        "trigger": {"type": "interval", "every_seconds": 60},
        "created_at": NOW,
        "misfire_policy": "catch_up_all",
        "overlap_policy": "allow",
    }
    data.update(fields)
    stack.create_schedule(ScheduleSpec.model_validate(data), NOW)


def claim(stack, schedule_id: str, at: datetime) -> list[Run]:
    schedule, version = stack.store.get_schedule_versioned(schedule_id)
    plan = planner.plan_claim(schedule, at)
    return stack.store.apply_claim(schedule, version, plan, at, redelivery_seconds=120)


@pytest.fixture
def queued(stack) -> Run:
    """One queued run of schedule s1, claimed 2 s after its slot."""
    make_schedule(stack)
    (run,) = claim(stack, "s1", SLOT + timedelta(seconds=2))
    return run


def raw(stack, run: Run) -> dict:
    return stack.dynamodb.get_item(
        TableName=stack.settings.runs_table,
        Key={"schedule_id": {"S": run.schedule_id}, "run_id": {"S": run.run_id}},
        ConsistentRead=True,
    )["Item"]


def state(stack, schedule_id: str = "s1"):
    return stack.store.get_schedule(schedule_id).state


# --------------------------------------------------------------------------- create_run


def test_create_run_is_idempotent_and_counts_once(stack):
    make_schedule(stack)
    run = Run(
        run_id="s1-now-1", schedule_id="s1", scheduled_for=NOW, claimed_at=NOW, trigger=RunTrigger.run_now
    )
    assert stack.store.create_run(run, NOW, redelivery_seconds=30) is True
    assert stack.store.create_run(run, NOW, redelivery_seconds=30) is False
    assert state(stack).active_run_count == 1
    assert raw(stack, run)["open_until"] == {"N": str(epoch_ms(NOW + timedelta(seconds=30)))}
    assert stack.store.get_run("s1", "s1-now-1") == run


def test_create_run_for_a_missing_schedule(stack):
    run = Run(run_id="x-1", schedule_id="x", scheduled_for=NOW, claimed_at=NOW)
    with pytest.raises(ScheduleNotFound):
        stack.store.create_run(run, NOW, redelivery_seconds=30)
    assert stack.store.get_run("x", "x-1") is None


def test_create_terminal_run_is_a_record_only(stack):
    make_schedule(stack)
    run = Run(
        run_id="s1-m",
        schedule_id="s1",
        scheduled_for=NOW,
        claimed_at=NOW,
        completed_at=NOW,
        status=RunStatus.missed,
        trigger=RunTrigger.backfill,
    )
    assert stack.store.create_run(run, NOW, redelivery_seconds=30)
    item = raw(stack, run)
    assert "open_until" not in item and "purge_at" in item
    assert state(stack).active_run_count == 0


# --------------------------------------------------------------------------- start_run


def test_start_run_moves_queued_to_running_with_a_lease(stack, queued):
    at = SLOT + timedelta(seconds=5)
    started = stack.store.start_run("s1", queued.run_id, at, lease_seconds=LEASE)
    assert started.status == RunStatus.running
    assert started.attempt == 1 and started.started_at == at
    assert started.dispatch_lag_ms == 5000
    assert stack.store.get_run("s1", queued.run_id) == started
    item = raw(stack, queued)
    assert item["lease_until"] == {"N": str(epoch_ms(at + timedelta(seconds=LEASE)))}
    assert item["open_until"] == {"N": str(epoch_ms(SLOT + timedelta(seconds=2 + 120)))}  # the entry stays
    s = state(stack)
    assert s.active_run_count == 1 and s.last_started_at is None  # a start writes only the run


def test_start_run_refuses_a_live_lease_then_takes_over_an_expired_one(stack, queued):
    first = SLOT + timedelta(seconds=5)
    stack.store.start_run("s1", queued.run_id, first, lease_seconds=LEASE)
    assert (
        stack.store.start_run("s1", queued.run_id, first + timedelta(seconds=LEASE - 1), lease_seconds=LEASE)
        is None
    )

    takeover_at = first + timedelta(seconds=LEASE)
    again = stack.store.start_run("s1", queued.run_id, takeover_at, lease_seconds=LEASE)
    assert again.attempt == 2 and again.started_at == takeover_at
    assert again.dispatch_lag_ms == 5000  # the first start's lag is kept
    s = state(stack)
    assert s.active_run_count == 1  # a takeover moves no counter


def test_start_run_refuses_missing_and_terminal_runs(stack, queued):
    assert stack.store.start_run("s1", "no-such-run", NOW, lease_seconds=LEASE) is None
    stack.store.finish_run("s1", queued.run_id, RunStatus.cancelled, SLOT, reason="user")
    assert stack.store.start_run("s1", queued.run_id, SLOT, lease_seconds=LEASE) is None
    assert stack.store.get_run("s1", queued.run_id).status == RunStatus.cancelled


def test_renew_lease_only_for_running_runs(stack, queued):
    assert segments.renew_lease(stack.store, queued, 0, SLOT, lease_seconds=LEASE) is False
    started = stack.store.start_run("s1", queued.run_id, SLOT, lease_seconds=60)
    later = SLOT + timedelta(seconds=50)
    assert segments.renew_lease(stack.store, started, 0, later, lease_seconds=LEASE) is True
    assert raw(stack, queued)["lease_until"] == {"N": str(epoch_ms(later + timedelta(seconds=LEASE)))}
    # The renewed lease is live: a duplicate message cannot take the run over.
    assert (
        stack.store.start_run("s1", queued.run_id, SLOT + timedelta(seconds=61), lease_seconds=LEASE) is None
    )


# --------------------------------------------------------------------------- finish_run


def test_finish_success_updates_run_and_counters(stack, queued):
    started_at = SLOT + timedelta(seconds=5)
    stack.store.start_run("s1", queued.run_id, started_at, lease_seconds=LEASE)
    done_at = started_at + timedelta(seconds=42)
    usage = TokenUsage(input_tokens=100, output_tokens=7)
    finished = stack.store.finish_run(
        "s1", queued.run_id, RunStatus.success, done_at, reason="ok", usage=usage, final_answer="42"
    )
    assert finished.status == RunStatus.success and finished.completed_at == done_at
    assert finished.execution_duration_ms == 42_000
    assert stack.store.get_run("s1", queued.run_id) == finished
    item = raw(stack, queued)
    assert "open_until" not in item and "open_shard" not in item and "lease_until" not in item
    assert item["purge_at"] == {
        "N": str(epoch_seconds(done_at + timedelta(days=stack.settings.run_history_days)))
    }
    s = state(stack)
    assert s.active_run_count == 0 and s.last_started_at == started_at  # recorded with the outcome
    assert (s.total_run_count, s.total_success_count, s.total_failure_count) == (1, 1, 0)
    assert (s.input_tokens, s.output_tokens) == (100, 7)
    assert s.last_success_at == done_at and s.last_finished_at == done_at
    assert stack.store.last_success("s1") == finished


def test_terminal_means_terminal(stack, queued):
    stack.store.start_run("s1", queued.run_id, SLOT, lease_seconds=LEASE)
    first = stack.store.finish_run(
        "s1", queued.run_id, RunStatus.failed, SLOT + timedelta(seconds=1), reason="boom"
    )
    before_state = state(stack)
    second = stack.store.finish_run(
        "s1", queued.run_id, RunStatus.success, SLOT + timedelta(seconds=2), usage=TokenUsage(input_tokens=5)
    )
    assert second is None
    assert stack.store.get_run("s1", queued.run_id) == first
    assert state(stack) == before_state
    assert stack.store.request_cancel("s1", queued.run_id) is False
    assert segments.renew_lease(stack.store, first, 0, SLOT, lease_seconds=LEASE) is False


def test_failures_count_consecutively_until_a_success(stack):
    make_schedule(stack)
    runs = claim(stack, "s1", NOW + timedelta(seconds=200))
    assert len(runs) == 3
    outcomes = [RunStatus.failed, RunStatus.timed_out, RunStatus.success]
    for i, (run, outcome) in enumerate(zip(runs, outcomes, strict=True)):
        at = NOW + timedelta(seconds=300 + i)
        stack.store.start_run("s1", run.run_id, at, lease_seconds=LEASE)
        stack.store.finish_run("s1", run.run_id, outcome, at)
        if i == 1:
            assert state(stack).consecutive_failures == 2
    s = state(stack)
    assert s.consecutive_failures == 0
    assert (s.total_run_count, s.total_failure_count, s.total_success_count) == (3, 2, 1)
    assert s.last_failure_at == NOW + timedelta(seconds=301)


def test_finishing_a_queued_run_releases_the_queued_count(stack, queued):
    finished = stack.store.finish_run(
        "s1", queued.run_id, RunStatus.cancelled, SLOT, reason="cancelled by user"
    )
    assert finished.outcome_reason == "cancelled by user" and finished.execution_duration_ms is None
    s = state(stack)
    assert (s.active_run_count, s.total_failure_count) == (0, 1)


def test_finish_requires_a_terminal_status(stack, queued):
    with pytest.raises(ValueError):
        stack.store.finish_run("s1", queued.run_id, RunStatus.running, SLOT)


def test_transitions_survive_a_deleted_schedule_item(stack, queued):
    stack.dynamodb.delete_item(TableName=stack.settings.schedules_table, Key={"schedule_id": {"S": "s1"}})
    started = stack.store.start_run("s1", queued.run_id, SLOT, lease_seconds=LEASE)
    assert started is not None and started.status == RunStatus.running
    finished = stack.store.finish_run("s1", queued.run_id, RunStatus.success, SLOT + timedelta(seconds=3))
    assert finished is not None
    assert stack.store.get_run("s1", queued.run_id).status == RunStatus.success
    assert stack.store.get_schedule("s1") is None  # counters were not resurrected into a stub item


# --------------------------------------------------------------------------- small updates


def test_cancel_flag(stack, queued):
    assert stack.store.is_cancel_requested("s1", queued.run_id) is False
    assert stack.store.request_cancel("s1", queued.run_id) is True
    assert stack.store.is_cancel_requested("s1", queued.run_id) is True
    assert stack.store.request_cancel("s1", "missing") is False
    assert stack.store.is_cancel_requested("s1", "missing") is False


def test_bind_session(stack, queued):
    stack.store.bind_session("s1", queued.run_id, "sess-1")
    assert stack.store.get_run("s1", queued.run_id).session_id == "sess-1"
    with pytest.raises(RunNotFound):
        stack.store.bind_session("s1", "missing", "sess-2")


# --------------------------------------------------------------------------- history


def test_list_runs_newest_first_with_status_filter_and_pages(stack):
    make_schedule(stack)
    runs = claim(stack, "s1", NOW + timedelta(seconds=60 * 7))
    assert len(runs) == 7
    for run in runs[:3]:
        stack.store.finish_run("s1", run.run_id, RunStatus.cancelled, NOW + timedelta(minutes=8))

    page, cursor = stack.store.list_runs("s1")
    assert [r.run_id for r in page] == [r.run_id for r in reversed(runs)] and cursor is None

    seen, cursor = [], None
    while True:
        page, cursor = stack.store.list_runs("s1", limit=3, cursor=cursor)
        seen += [r.run_id for r in page]
        if cursor is None:
            break
    assert seen == [r.run_id for r in reversed(runs)]

    cancelled, cursor = stack.store.list_runs("s1", status=RunStatus.cancelled, limit=2)
    assert [r.run_id for r in cancelled] == [runs[2].run_id, runs[1].run_id]
    rest, cursor = stack.store.list_runs("s1", status=RunStatus.cancelled, limit=2, cursor=cursor)
    assert [r.run_id for r in rest] == [runs[0].run_id]
    assert stack.store.last_success("s1") is None


def test_open_runs_are_the_queued_and_running_ones(stack):
    make_schedule(stack)
    runs = claim(stack, "s1", NOW + timedelta(seconds=60 * 4))
    stack.store.start_run("s1", runs[3].run_id, NOW + timedelta(minutes=5), lease_seconds=LEASE)
    stack.store.finish_run("s1", runs[0].run_id, RunStatus.failed, NOW + timedelta(minutes=5))
    assert [r.run_id for r in stack.store.open_runs("s1")] == [r.run_id for r in reversed(runs[1:])]


# --------------------------------------------------------------------------- the open index


def test_stale_open_runs_finds_overdue_queued_and_expired_running_runs(stack):
    make_schedule(stack)
    runs = claim(stack, "s1", NOW + timedelta(seconds=60 * 3))  # deadline NOW+3m+120s
    stack.store.start_run("s1", runs[0].run_id, NOW + timedelta(minutes=3), lease_seconds=600)
    stack.store.finish_run("s1", runs[1].run_id, RunStatus.success, NOW + timedelta(minutes=3))

    def stale(at: datetime) -> set[str]:
        return {
            r.run_id
            for shard in range(stack.settings.due_shards)
            for r in stack.store.stale_open_runs(shard, at)
        }

    assert stale(NOW + timedelta(minutes=4)) == set()
    # At the claim's deadline: the queued run nobody started, and the started one, whose index entry still
    # holds that deadline (a start does not write the index); the reaper moves it to the lease's end.
    assert stale(NOW + timedelta(minutes=5)) == {runs[0].run_id, runs[2].run_id}
    (running,) = [r for r in stack.store.stale_open_runs(shard_of(runs[0].run_id, stack.settings.due_shards),
                                                         NOW + timedelta(minutes=5)) if r.run_id == runs[0].run_id]
    assert running.lease_until == NOW + timedelta(minutes=13)
    assert stack.store.defer_reaper(running) is True
    assert stack.store.defer_reaper(running) is True  # idempotent while the lease is the same
    assert stale(NOW + timedelta(minutes=5)) == {runs[2].run_id}
    assert stale(NOW + timedelta(minutes=13)) == {runs[0].run_id, runs[2].run_id}  # + lease expired


def test_defer_redelivery_backs_off_exponentially_and_once_per_deadline(stack, queued):
    deadline = SLOT + timedelta(seconds=2 + 120)
    at = deadline
    expected = []
    for sends in range(7):
        assert stack.store.defer_redelivery("s1", queued.run_id, at, redelivery_seconds=120) == sends + 1
        assert stack.store.defer_redelivery("s1", queued.run_id, at, redelivery_seconds=120) is None
        delay = min(120 * 2**sends, 3600)
        expected.append(delay)
        item = raw(stack, queued)
        assert item["open_until"] == {"N": str(epoch_ms(at + timedelta(seconds=delay)))}
        assert item["send_count"] == {"N": str(sends + 1)}
        at += timedelta(seconds=delay)
    assert expected == [120, 240, 480, 960, 1920, 3600, 3600]
    stack.store.start_run("s1", queued.run_id, at, lease_seconds=LEASE)
    assert (
        stack.store.defer_redelivery("s1", queued.run_id, at + timedelta(days=1), redelivery_seconds=120)
        is None
    )


def test_requeue_an_expired_running_run(stack, queued):
    stack.store.start_run("s1", queued.run_id, SLOT, lease_seconds=60)
    assert (
        stack.store.requeue_run(
            "s1", queued.run_id, SLOT + timedelta(seconds=30), redelivery_seconds=120, attempt=1
        )
        is None
    )
    at = SLOT + timedelta(seconds=60)
    again = stack.store.requeue_run("s1", queued.run_id, at, redelivery_seconds=120, attempt=1)
    assert again.status == RunStatus.queued and again.attempt == 1
    s = state(stack)
    assert s.active_run_count == 1
    assert stack.store.requeue_run("s1", queued.run_id, at, redelivery_seconds=120, attempt=1) is None
    assert stack.store.start_run("s1", queued.run_id, at, lease_seconds=LEASE).attempt == 2


def test_run_ids_sort_by_slot(stack):
    ids = [slot_run_id("s1", NOW + timedelta(seconds=s)) for s in (1, 59, 3600, 86400)]
    assert ids == sorted(ids)


def test_filtered_history_reads_pages_not_single_items(stack):
    make_schedule(stack)
    runs = claim(stack, "s1", NOW + timedelta(minutes=90))
    runs += claim(stack, "s1", NOW + timedelta(minutes=90))  # the backlog beyond one transaction
    assert len(runs) == 90
    oldest, middle = runs[0], runs[45]
    for run in (oldest, middle):
        stack.store.finish_run("s1", run.run_id, RunStatus.success, NOW + timedelta(minutes=91))

    calls = []
    stack.dynamodb.meta.events.register("after-call.dynamodb.Query", lambda **kw: calls.append(kw))
    page, cursor = stack.store.list_runs("s1", status=RunStatus.success, limit=1)
    assert [r.run_id for r in page] == [middle.run_id]
    rest, cursor = stack.store.list_runs("s1", status=RunStatus.success, limit=1, cursor=cursor)
    assert [r.run_id for r in rest] == [oldest.run_id] and cursor is None
    assert stack.store.last_success("s1").run_id == middle.run_id
    assert len(calls) <= 5
