"""The claim use case on moto: due slots become runs and messages; outbox and reaper; the sweep loop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agentcron.application import claim
from agentcron.store import segments
from agentcron.application.claim import LEASE_EXPIRED, SweepReport, sweep
from agentcron.models import RunStatus, ScheduleSpec, slot_run_id

NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)


def create(stack, schedule_id: str = "s1", **fields) -> None:
    stack.create_every(schedule_id, 60, NOW, **fields)


def run_sweep(stack, at: datetime) -> SweepReport:
    return sweep(stack.services(), at)


def all_runs(stack, schedule_id: str = "s1"):
    runs, cursor = stack.store.list_runs(schedule_id, limit=1000)
    assert cursor is None
    return list(reversed(runs))


# --------------------------------------------------------------------------- claim


def test_a_due_schedule_becomes_one_queued_run_and_one_message(stack):
    create(stack)
    create(stack, "later", trigger={"type": "interval", "every_seconds": 3600})
    at = NOW + timedelta(seconds=61)
    report = run_sweep(stack, at)
    assert (report.schedules_due, report.runs_queued, report.errors, report.conflicts) == (1, 1, 0, 0)

    slot = NOW + timedelta(seconds=60)
    run_id = slot_run_id("s1", slot)
    (run,) = all_runs(stack)
    assert (run.run_id, run.status, run.scheduled_for, run.claimed_at) == (run_id, RunStatus.queued, slot, at)
    (message,) = stack.drain()
    body = message["body"]
    assert {key: body[key] for key in ("type", "schedule_id", "run_id")} == {
        "type": "run", "schedule_id": "s1", "run_id": run_id
    }
    # The run as queued and the spec it was claimed under: the executor starts it without a read.
    assert body["run"]["status"] == "queued" and body["run"]["scheduled_for"] == "2026-03-02T12:01:00Z"
    assert body["schedule"]["id"] == "s1" and body["schedule"]["trigger"]["every_seconds"] == 60
    assert (message["group_id"], message["dedup_id"]) == ("s1", run_id)
    schedule = stack.store.get_schedule("s1")
    assert schedule.state.next_fire_at == NOW + timedelta(seconds=120)
    assert stack.store.get_schedule_versioned("later")[1] == 1  # not due: untouched


def test_message_group_is_the_run_when_overlap_is_allowed(stack):
    create(stack, overlap_policy="allow")
    run_sweep(stack, NOW + timedelta(seconds=60))
    (message,) = stack.drain()
    assert message["group_id"] == message["dedup_id"] == message["body"]["run_id"]


def test_run_once_after_downtime_queues_the_newest_slot_only(stack):
    create(stack)
    at = NOW + timedelta(minutes=10, seconds=5)
    report = run_sweep(stack, at)
    assert (report.runs_queued, report.runs_missed) == (1, 9)
    queued = [r for r in all_runs(stack) if r.status == RunStatus.queued]
    assert [r.scheduled_for for r in queued] == [NOW + timedelta(minutes=10)]
    assert queued[0].was_catch_up is False  # 5 s late is on time
    missed = [r for r in all_runs(stack) if r.status == RunStatus.missed]
    assert len(missed) == 9 and all(r.completed_at == at for r in missed)
    assert [m["body"]["run_id"] for m in stack.drain()] == [queued[0].run_id]
    state = stack.store.get_schedule("s1").state
    assert (state.total_missed_count, state.active_run_count) == (9, 1)
    assert state.next_fire_at == NOW + timedelta(minutes=11)


def test_a_duplicate_invocation_creates_nothing_twice(stack):
    for i in range(5):
        create(stack, f"s{i}", overlap_policy="allow", misfire_policy="catch_up_all")
    at = NOW + timedelta(minutes=3, seconds=1)
    first = run_sweep(stack, at)
    second = run_sweep(stack, at)
    assert first.runs_queued == 15
    assert (second.schedules_due, second.runs_queued, second.resent) == (0, 0, 0)
    for i in range(5):
        assert len(all_runs(stack, f"s{i}")) == 3
        assert stack.store.get_schedule_versioned(f"s{i}")[1] == 1  # a claim leaves the ETag alone
    assert len(stack.drain()) == 15


def test_a_backlog_larger_than_one_transaction_is_claimed_in_several(stack):
    # catch_up_all + overlap skip: 120 records (1 queued, 119 skipped) need two transactions of <= 99.
    create(stack, overlap_policy="skip", misfire_policy="catch_up_all")
    at = NOW + timedelta(minutes=120)
    report = run_sweep(stack, at)
    assert (report.runs_queued, report.runs_skipped, report.errors) == (1, 119, 0)
    runs = all_runs(stack)
    assert [r.scheduled_for for r in runs] == [NOW + timedelta(minutes=m) for m in range(1, 121)]
    assert [r.status for r in runs] == [RunStatus.queued] + [RunStatus.skipped] * 119
    schedule, version = stack.store.get_schedule_versioned("s1")
    assert schedule.state.next_fire_at == NOW + timedelta(minutes=121)
    assert (schedule.state.total_skipped_count, version) == (119, 1)
    assert len(stack.drain()) == 1


def test_a_once_schedule_fires_once_and_is_disabled(stack):
    create(stack, trigger={"type": "once", "at": "2026-03-02T12:30:00Z"})
    assert run_sweep(stack, NOW + timedelta(minutes=31)).runs_queued == 1
    finished = stack.store.get_schedule("s1")
    assert not finished.enabled
    assert finished.pause_note == "finished: its once trigger fired (2026-03-02T12:30:00Z)"
    assert run_sweep(stack, NOW + timedelta(days=1)).schedules_due == 0
    assert len(all_runs(stack)) == 1


def test_one_bad_schedule_never_stops_the_sweep(stack, monkeypatch):
    for i in range(4):
        create(stack, f"s{i}")
    real = claim.plan_claim

    def flaky(schedule, now, **kwargs):
        if schedule.id == "s2":
            raise RuntimeError("corrupt schedule")
        return real(schedule, now, **kwargs)

    monkeypatch.setattr(claim, "plan_claim", flaky)
    report = run_sweep(stack, NOW + timedelta(seconds=60))
    assert (report.schedules_due, report.runs_queued, report.errors) == (4, 3, 1)
    assert all_runs(stack, "s2") == []
    assert stack.store.get_schedule("s2").state.next_fire_at == NOW + timedelta(seconds=60)


def test_a_conflicting_edit_is_re_read_and_claimed(stack, monkeypatch):
    create(stack)
    real = stack.store.apply_claim
    calls = []

    def edit_first(schedule, version, plan, now, **kwargs):
        if not calls:  # an edit lands between the due query and the claim write
            stack.update_schedule(
                "s1",
                ScheduleSpec.model_validate(
                    {"id": "s1", "name": "edited", "trigger": {"type": "interval", "every_seconds": 60}}
                ),
                now,
            )
        calls.append(version)
        return real(schedule, version, plan, now, **kwargs)

    monkeypatch.setattr(stack.store, "apply_claim", edit_first)
    report = run_sweep(stack, NOW + timedelta(seconds=60))
    assert (report.conflicts, report.runs_queued, report.errors) == (1, 1, 0)
    assert calls == [1, 2]
    assert stack.store.get_schedule_versioned("s1")[1] == 2  # the edit's version; the claim kept it


def test_cancel_other_flags_the_active_run(stack):
    create(stack, overlap_policy="cancel_other")
    run_sweep(stack, NOW + timedelta(seconds=60))
    (first,) = all_runs(stack)
    stack.store.start_run("s1", first.run_id, NOW + timedelta(seconds=61), lease_seconds=900)
    report = run_sweep(stack, NOW + timedelta(seconds=120))
    assert report.runs_queued == 1
    first_now, second = all_runs(stack)
    assert first_now.cancel_requested is True
    assert second.status == RunStatus.queued and second.cancel_requested is False


# --------------------------------------------------------------------------- outbox and reaper


def test_an_undelivered_run_is_re_sent_with_backoff(stack, monkeypatch):
    create(stack, trigger={"type": "interval", "every_seconds": 86400})
    at = NOW + timedelta(days=1)
    monkeypatch.setattr(stack.queue, "send_many", _boom)
    report = run_sweep(stack, at)
    assert (report.runs_queued, report.errors) == (1, 1)
    assert stack.drain() == []
    monkeypatch.undo()

    redelivery = stack.settings.redelivery_seconds
    assert run_sweep(stack, at + timedelta(seconds=redelivery - 1)).resent == 0
    assert run_sweep(stack, at + timedelta(seconds=redelivery)).resent == 1
    (message,) = stack.drain()
    (run,) = all_runs(stack)
    assert message["body"]["run_id"] == run.run_id and message["group_id"] == "s1"
    # Backoff: each re-send waits twice as long as the one before.
    assert run_sweep(stack, at + timedelta(seconds=redelivery * 2 - 1)).resent == 0
    assert run_sweep(stack, at + timedelta(seconds=redelivery * 2)).resent == 1
    assert run_sweep(stack, at + timedelta(seconds=redelivery * 4 - 1)).resent == 0
    assert run_sweep(stack, at + timedelta(seconds=redelivery * 4)).resent == 1
    assert len(stack.drain()) == 2
    # Once started, it is never re-sent.
    stack.store.start_run("s1", run.run_id, at + timedelta(seconds=redelivery * 3), lease_seconds=960)
    assert run_sweep(stack, at + timedelta(seconds=redelivery * 10)).resent == 0


def _boom(*args, **kwargs):
    raise ConnectionError("injected crash")


def test_a_queued_run_cancelled_before_it_started_is_finished_by_the_outbox(stack):
    create(stack, trigger={"type": "interval", "every_seconds": 86400})
    at = NOW + timedelta(days=1)
    run_sweep(stack, at)
    stack.drain()
    (run,) = all_runs(stack)
    stack.store.request_cancel("s1", run.run_id)
    report = run_sweep(stack, at + timedelta(seconds=stack.settings.redelivery_seconds))
    assert report.resent == 0 and stack.drain() == []
    assert stack.store.get_run("s1", run.run_id).status == RunStatus.cancelled
    assert stack.store.get_schedule("s1").state.active_run_count == 0


def test_an_expired_lease_times_the_run_out(stack):
    create(stack, trigger={"type": "interval", "every_seconds": 86400})
    at = NOW + timedelta(days=1)
    run_sweep(stack, at)
    (run,) = all_runs(stack)
    stack.store.start_run("s1", run.run_id, at, lease_seconds=stack.settings.lease_seconds)
    expiry = at + timedelta(seconds=stack.settings.lease_seconds)
    assert run_sweep(stack, expiry - timedelta(seconds=1)).timed_out == 0
    report = run_sweep(stack, expiry)
    assert (report.timed_out, report.retried) == (1, 0)
    done = stack.store.get_run("s1", run.run_id)
    assert (done.status, done.outcome_reason, done.completed_at) == (
        RunStatus.timed_out,
        LEASE_EXPIRED,
        expiry,
    )
    state = stack.store.get_schedule("s1").state
    assert (state.active_run_count, state.total_failure_count, state.consecutive_failures) == (0, 1, 1)
    assert run_sweep(stack, expiry + timedelta(hours=1)).timed_out == 0


def test_an_expired_lease_is_retried_while_the_policy_allows(stack):
    create(stack, trigger={"type": "interval", "every_seconds": 86400}, retry_policy={"max_attempts": 2})
    at = NOW + timedelta(days=1)
    lease = stack.settings.lease_seconds
    run_sweep(stack, at)
    stack.drain()
    (run,) = all_runs(stack)
    stack.store.start_run("s1", run.run_id, at, lease_seconds=lease)

    report = run_sweep(stack, at + timedelta(seconds=lease))
    assert (report.retried, report.timed_out) == (1, 0)
    (message,) = stack.drain()
    assert message["body"]["run_id"] == run.run_id and message["dedup_id"] == f"{run.run_id}.a2"
    assert stack.store.get_run("s1", run.run_id).status == RunStatus.queued
    state = stack.store.get_schedule("s1").state
    assert state.active_run_count == 1

    second_start = at + timedelta(seconds=lease + 10)
    assert stack.store.start_run("s1", run.run_id, second_start, lease_seconds=lease).attempt == 2
    report = run_sweep(stack, second_start + timedelta(seconds=lease))
    assert (report.retried, report.timed_out) == (0, 1)
    assert stack.store.get_run("s1", run.run_id).status == RunStatus.timed_out


def test_a_renewed_lease_is_not_reaped(stack):
    create(stack, trigger={"type": "interval", "every_seconds": 86400})
    at = NOW + timedelta(days=1)
    run_sweep(stack, at)
    (run,) = all_runs(stack)
    started = stack.store.start_run("s1", run.run_id, at, lease_seconds=100)
    assert segments.renew_lease(stack.store, started, 0, at + timedelta(seconds=90), lease_seconds=100)
    assert run_sweep(stack, at + timedelta(seconds=150)).timed_out == 0
    assert stack.store.get_run("s1", run.run_id).status == RunStatus.running


def test_a_started_run_is_looked_at_again_when_its_lease_ends_not_before(stack):
    """A start leaves the open index entry at the claim's outbox deadline (no index write); the first sweep
    past that deadline moves the entry to the lease's end, and nothing else happens until then."""
    create(stack, trigger={"type": "interval", "every_seconds": 86400})
    at = NOW + timedelta(days=1)
    run_sweep(stack, at)
    stack.drain()
    (run,) = all_runs(stack)
    stack.store.start_run("s1", run.run_id, at, lease_seconds=600)
    key = {"schedule_id": {"S": "s1"}, "run_id": {"S": run.run_id}}

    def open_until() -> int:
        return int(stack.dynamodb.get_item(TableName=stack.settings.runs_table, Key=key)["Item"]["open_until"]["N"])

    outbox_deadline = open_until()
    report = run_sweep(stack, at + timedelta(seconds=stack.settings.redelivery_seconds))
    assert (report.resent, report.timed_out, report.retried, report.errors) == (0, 0, 0, 0)
    assert open_until() == outbox_deadline + (600 - stack.settings.redelivery_seconds) * 1000
    assert stack.store.get_run("s1", run.run_id).status == RunStatus.running and stack.drain() == []


def test_queue_one_queues_behind_a_started_run_but_not_behind_a_waiting_one(stack):
    """Whether a run waits is the status of the run queued last (the schedule's counter does not say)."""
    create(stack, overlap_policy="queue_one")
    first_slot = NOW + timedelta(seconds=60)
    run_sweep(stack, first_slot)
    (first,) = all_runs(stack)
    run_sweep(stack, first_slot + timedelta(seconds=60))  # the first has not started: skipped
    assert [r.status for r in all_runs(stack)] == [RunStatus.queued, RunStatus.skipped]

    stack.store.start_run("s1", first.run_id, first_slot + timedelta(seconds=61), lease_seconds=600)
    run_sweep(stack, first_slot + timedelta(seconds=120))  # running: one may wait behind it
    statuses = [r.status for r in all_runs(stack)]
    assert statuses == [RunStatus.running, RunStatus.skipped, RunStatus.queued]
    run_sweep(stack, first_slot + timedelta(seconds=180))  # and only one
    assert [r.status for r in all_runs(stack)][-1] == RunStatus.skipped
    assert stack.store.get_schedule("s1").state.active_run_count == 2
