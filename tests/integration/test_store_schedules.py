"""Store: schedule CRUD, optimistic versions, listing, the due index and the atomic claim (moto)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agentcron import planner
from agentcron.exceptions import ServiceUnavailable, ClaimConflict, ScheduleExists, ScheduleNotFound, VersionConflict
from agentcron.models import Run, RunStatus, RunTrigger, ScheduleSpec, slot_run_id
from agentcron.store import shard_of
from agentcron.store.codec import epoch_ms

NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)


def spec(schedule_id: str = "s1", **fields) -> ScheduleSpec:
    data = {
        "id": schedule_id,
        "name": f"schedule {schedule_id}",
        "trigger": {"type": "interval", "every_seconds": 60},
        "created_at": NOW,
        "updated_at": NOW,
    }
    data.update(fields)
    return ScheduleSpec.model_validate(data)


def raw_schedule(stack, schedule_id: str) -> dict:
    return stack.dynamodb.get_item(
        TableName=stack.settings.schedules_table, Key={"schedule_id": {"S": schedule_id}}, ConsistentRead=True
    ).get("Item")


def raw_run(stack, schedule_id: str, run_id: str) -> dict:
    return stack.dynamodb.get_item(
        TableName=stack.settings.runs_table,
        Key={"schedule_id": {"S": schedule_id}, "run_id": {"S": run_id}},
        ConsistentRead=True,
    ).get("Item")


# --------------------------------------------------------------------------- create / get


def test_create_stores_spec_state_version_and_due_attributes(stack):
    created = stack.create_schedule(spec(), NOW)
    assert created.state.next_fire_at == NOW + timedelta(seconds=60)
    assert created.trigger.anchor_at == NOW  # the interval grid is fixed at creation

    schedule, version = stack.store.get_schedule_versioned("s1")
    assert version == 1
    assert schedule == created
    item = raw_schedule(stack, "s1")
    assert item["enabled"] == {"BOOL": True}
    assert item["next_fire_at"] == {"N": str(epoch_ms(NOW + timedelta(seconds=60)))}
    assert item["due_shard"] == {"N": str(shard_of("s1", stack.settings.due_shards))}
    assert "active_run_count" not in item  # zero counters and null fields are left out: a small item
    assert '"anchor_at":"2026-03-02T12:00:00Z"' in item["spec"]["S"] and "null" not in item["spec"]["S"]
    assert stack.store.get_schedule("s1").state.active_run_count == 0


def test_create_twice_is_refused(stack):
    stack.create_schedule(spec(), NOW)
    with pytest.raises(ScheduleExists):
        stack.create_schedule(spec(name="other"), NOW)
    assert stack.store.get_schedule("s1").name == "schedule s1"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"trigger": {"type": "once", "at": "2026-03-02T11:00:00Z"}}, "trigger.at must be in the future"),
        (
            {"start_at": "2026-03-01T00:00:00Z", "end_at": "2026-03-02T11:59:00Z"},
            "end_at must be in the future",
        ),
        (
            {"trigger": {"type": "once", "at": "2026-03-03T00:00:00Z"}, "end_at": "2026-03-02T18:00:00Z"},
            "trigger has no next run within the configured window",
        ),
    ],
)
def test_create_refuses_a_trigger_that_can_never_fire(stack, fields, message):
    with pytest.raises(ValueError, match=message):
        stack.create_schedule(spec(**fields), NOW)
    assert stack.store.get_schedule("s1") is None


def test_disabled_schedule_has_no_due_attributes(stack):
    created = stack.create_schedule(spec(enabled=False), NOW)
    assert created.state.next_fire_at is None
    item = raw_schedule(stack, "s1")
    assert item["enabled"] == {"BOOL": False}
    assert "next_fire_at" not in item and "due_shard" not in item
    assert stack.store.due_schedules(shard_of("s1", 8), NOW + timedelta(days=1)) == []


def test_get_missing_schedule_is_none(stack):
    assert stack.store.get_schedule("nope") is None
    assert stack.store.get_schedule_versioned("nope") is None


# --------------------------------------------------------------------------- update


def test_update_bumps_version_keeps_identity_and_next_fire(stack):
    stack.create_schedule(spec(), NOW)
    later = NOW + timedelta(minutes=5)
    edited = spec(name="renamed", created_at=later, id="ignored")
    updated = stack.update_schedule("s1", edited, later, expected_version=1)
    assert updated.id == "s1" and updated.name == "renamed"
    assert updated.created_at == NOW and updated.updated_at == later
    assert updated.state.next_fire_at == NOW + timedelta(seconds=60)  # a non-timing edit keeps the slot
    assert stack.store.get_schedule_versioned("s1")[1] == 2


def test_update_with_a_stale_version_conflicts(stack):
    stack.create_schedule(spec(), NOW)
    stack.update_schedule("s1", spec(name="a"), NOW, expected_version=1)
    with pytest.raises(VersionConflict):
        stack.update_schedule("s1", spec(name="b"), NOW, expected_version=1)
    assert stack.store.get_schedule("s1").name == "a"


def test_update_without_expected_version_reapplies_after_a_claim(stack):
    stack.create_schedule(spec(), NOW)
    at = NOW + timedelta(seconds=61)
    schedule, version = stack.store.get_schedule_versioned("s1")
    stack.store.apply_claim(schedule, version, planner.plan_claim(schedule, at), at, redelivery_seconds=120)
    updated = stack.update_schedule("s1", spec(name="after claim"), at)
    assert updated.name == "after claim"
    assert updated.state.active_run_count == 1  # the claim's state survives the edit
    assert stack.store.get_schedule_versioned("s1")[1] == 2


def test_update_missing_schedule(stack):
    with pytest.raises(ScheduleNotFound):
        stack.update_schedule("nope", spec("nope"), NOW)


def test_disable_removes_and_resume_restores_due_attributes(stack):
    stack.create_schedule(spec(), NOW)
    paused = stack.update_schedule("s1", spec(enabled=False), NOW + timedelta(minutes=10))
    assert paused.state.next_fire_at is None
    assert "next_fire_at" not in raw_schedule(stack, "s1")
    resumed_at = NOW + timedelta(hours=1, seconds=5)
    resumed = stack.update_schedule("s1", spec(), resumed_at)
    # Re-enabling recomputes from now on the creation grid: the paused hour is not caught up.
    assert resumed.state.next_fire_at == NOW + timedelta(hours=1, minutes=1)
    assert raw_schedule(stack, "s1")["next_fire_at"] == {"N": str(epoch_ms(resumed.state.next_fire_at))}


def test_timing_edit_that_never_fires_is_refused(stack):
    stack.create_schedule(spec(), NOW)
    with pytest.raises(ValueError, match="trigger.at must be in the future"):
        stack.update_schedule("s1", spec(trigger={"type": "once", "at": "2026-01-01T00:00:00Z"}), NOW)
    assert stack.store.get_schedule_versioned("s1")[1] == 1


# --------------------------------------------------------------------------- delete


def test_delete_removes_the_schedule_and_its_runs(stack):
    stack.create_schedule(spec(), NOW)
    stack.create_schedule(spec("keep"), NOW)
    for i in range(30):
        run = Run(
            run_id=slot_run_id("s1", NOW + timedelta(minutes=i)),
            schedule_id="s1",
            scheduled_for=NOW + timedelta(minutes=i),
            claimed_at=NOW,
            trigger=RunTrigger.backfill,
        )
        assert stack.store.create_run(run, NOW, redelivery_seconds=120)
    kept = Run(run_id="keep-r", schedule_id="keep", scheduled_for=NOW, claimed_at=NOW)
    stack.store.create_run(kept, NOW, redelivery_seconds=120)

    stack.store.delete_schedule("s1", expected_version=1)
    assert stack.store.get_schedule("s1") is None
    assert stack.store.list_runs("s1") == ([], None)
    assert stack.store.get_run("keep", "keep-r") is not None
    with pytest.raises(ScheduleNotFound):
        stack.store.delete_schedule("s1")


def test_a_delete_whose_runs_stay_unprocessed_fails_loudly(stack, monkeypatch):
    """DynamoDB may leave items unprocessed (throttling): a delete must not report success while runs remain."""
    stack.create_schedule(spec(), NOW)
    run = Run(run_id=slot_run_id("s1", NOW), schedule_id="s1", scheduled_for=NOW, claimed_at=NOW)
    assert stack.store.create_run(run, NOW, redelivery_seconds=120)
    real = stack.store.client.batch_write_item
    monkeypatch.setattr(
        stack.store.client, "batch_write_item", lambda RequestItems: {"UnprocessedItems": RequestItems}
    )
    monkeypatch.setattr("agentcron.store.base.time.sleep", lambda seconds: None)
    with pytest.raises(ServiceUnavailable, match="1 item\\(s\\) of .* could not be deleted"):
        stack.store.delete_schedule("s1")
    assert stack.store.get_run("s1", run.run_id) is not None  # still there, and the caller knows it
    monkeypatch.setattr(stack.store.client, "batch_write_item", real)
    with pytest.raises(ScheduleNotFound):
        stack.store.delete_schedule("s1")  # the retry finishes the leftovers
    assert stack.store.get_run("s1", run.run_id) is None


def test_delete_with_stale_version_conflicts(stack):
    stack.create_schedule(spec(), NOW)
    with pytest.raises(VersionConflict):
        stack.store.delete_schedule("s1", expected_version=7)
    assert stack.store.get_schedule("s1") is not None


# --------------------------------------------------------------------------- list


def test_list_pages_through_everything_and_filters_enabled(stack):
    ids = {f"s{i}" for i in range(7)}
    for i in range(7):
        stack.create_schedule(spec(f"s{i}", enabled=i % 2 == 0), NOW)

    seen, cursor, pages = [], None, 0
    while True:
        page, cursor = stack.store.list_schedules(limit=2, cursor=cursor)
        assert len(page) <= 2
        seen += [s.id for s in page]
        pages += 1
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and pages >= 4

    enabled, cursor = [], None
    while True:
        page, cursor = stack.store.list_schedules(enabled=True, limit=3, cursor=cursor)
        enabled += [s.id for s in page]
        if cursor is None:
            break
    assert sorted(enabled) == ["s0", "s2", "s4", "s6"]
    disabled, _ = stack.store.list_schedules(enabled=False, limit=50)
    assert sorted(s.id for s in disabled) == ["s1", "s3", "s5"]


def test_list_rejects_a_bad_cursor(stack):
    with pytest.raises(ValueError, match="cursor"):
        stack.store.list_schedules(cursor="not-a-cursor")


# --------------------------------------------------------------------------- due index


def test_due_schedules_are_per_shard_and_only_those_due(stack):
    for i in range(12):
        every = 60 if i < 8 else 3600
        stack.create_schedule(spec(f"s{i}", trigger={"type": "interval", "every_seconds": every}), NOW)
    at = NOW + timedelta(seconds=90)
    found: dict[str, int] = {}
    for shard in range(stack.settings.due_shards):
        for schedule, version in stack.store.due_schedules(shard, at):
            assert shard_of(schedule.id, stack.settings.due_shards) == shard
            found[schedule.id] = version
    assert sorted(found) == sorted(f"s{i}" for i in range(8))
    assert set(found.values()) == {1}


# --------------------------------------------------------------------------- claim


def test_apply_claim_records_a_queued_run_and_moves_the_schedule(stack):
    stack.create_schedule(spec(), NOW)
    at = NOW + timedelta(seconds=65)
    schedule, version = stack.store.get_schedule_versioned("s1")
    plan = planner.plan_claim(schedule, at)
    runs = stack.store.apply_claim(schedule, version, plan, at, redelivery_seconds=120)

    slot = NOW + timedelta(seconds=60)
    assert [(r.run_id, r.status) for r in runs] == [(slot_run_id("s1", slot), RunStatus.queued)]
    claimed, new_version = stack.store.get_schedule_versioned("s1")
    assert new_version == 1  # a claim leaves the version (the ETag) alone
    assert claimed.state.next_fire_at == NOW + timedelta(seconds=120)
    assert claimed.state.active_run_count == 1
    assert claimed.state.last_scheduled_at == slot
    item = raw_run(stack, "s1", runs[0].run_id)
    assert item["status"] == {"S": "queued"}
    assert item["open_until"] == {"N": str(epoch_ms(at + timedelta(seconds=120)))}
    assert "open_shard" in item and "purge_at" not in item
    assert stack.store.get_run("s1", runs[0].run_id) == runs[0]


def test_apply_claim_with_a_stale_version_conflicts_and_writes_nothing(stack):
    stack.create_schedule(spec(), NOW)
    at = NOW + timedelta(seconds=65)
    schedule, version = stack.store.get_schedule_versioned("s1")
    plan = planner.plan_claim(schedule, at)
    stack.update_schedule("s1", spec(name="edited"), at)
    with pytest.raises(ClaimConflict):
        stack.store.apply_claim(schedule, version, plan, at, redelivery_seconds=120)
    assert stack.store.list_runs("s1") == ([], None)


def test_apply_claim_drops_a_slot_already_recorded_and_retries(stack):
    stack.create_schedule(spec(misfire_policy="catch_up_all", overlap_policy="allow"), NOW)
    at = NOW + timedelta(seconds=185)
    schedule, version = stack.store.get_schedule_versioned("s1")
    plan = planner.plan_claim(schedule, at)
    assert len(plan.runs) == 3
    backfilled = plan.runs[1]
    stack.store.create_run(
        Run(
            run_id=backfilled.run_id,
            schedule_id="s1",
            scheduled_for=backfilled.scheduled_for,
            claimed_at=NOW,
            trigger=RunTrigger.backfill,
        ),
        NOW,
        redelivery_seconds=120,
    )
    runs = stack.store.apply_claim(schedule, version, plan, at, redelivery_seconds=120)
    assert [r.run_id for r in runs] == [plan.runs[0].run_id, plan.runs[2].run_id]
    assert stack.store.get_run("s1", backfilled.run_id).trigger == RunTrigger.backfill
    claimed = stack.store.get_schedule("s1")
    assert claimed.state.active_run_count == 3  # 1 backfill + 2 claimed
    assert claimed.state.next_fire_at == NOW + timedelta(seconds=240)


def test_apply_claim_records_skipped_and_missed_as_terminal(stack):
    stack.create_schedule(
        spec(overlap_policy="skip", misfire_policy={"type": "skip", "grace_seconds": 30}), NOW
    )
    at = NOW + timedelta(seconds=200)  # slots 60 and 120 are late (missed), 180 is within grace
    schedule, version = stack.store.get_schedule_versioned("s1")
    runs = stack.store.apply_claim(
        schedule, version, planner.plan_claim(schedule, at), at, redelivery_seconds=60
    )
    statuses = sorted((r.scheduled_for, r.status) for r in runs)
    assert [s for _, s in statuses] == [RunStatus.missed, RunStatus.missed, RunStatus.queued]
    missed = raw_run(stack, "s1", runs[0].run_id if runs[0].status == RunStatus.missed else runs[1].run_id)
    assert missed["completed_at"] == {"S": "2026-03-02T12:03:20Z"}
    assert "purge_at" in missed and "open_until" not in missed
    state = stack.store.get_schedule("s1").state
    assert (state.total_missed_count, state.active_run_count) == (2, 1)


def test_apply_claim_disables_a_finished_once_schedule(stack):
    stack.create_schedule(spec(trigger={"type": "once", "at": "2026-03-02T12:30:00Z"}), NOW)
    at = NOW + timedelta(minutes=31)
    schedule, version = stack.store.get_schedule_versioned("s1")
    plan = planner.plan_claim(schedule, at)
    runs = stack.store.apply_claim(schedule, version, plan, at, redelivery_seconds=120)
    assert len(runs) == 1
    done = stack.store.get_schedule("s1")
    assert done.enabled is False and done.state.next_fire_at is None
    item = raw_schedule(stack, "s1")
    assert item["enabled"] == {"BOOL": False} and '"enabled"' not in item["spec"]["S"]  # an attribute only
    assert "due_shard" not in item


def test_apply_claim_of_a_plan_that_changes_nothing_writes_nothing(stack):
    stack.create_schedule(spec(), NOW)
    schedule, version = stack.store.get_schedule_versioned("s1")
    plan = planner.plan_claim(schedule, NOW)  # not due yet
    assert stack.store.apply_claim(schedule, version, plan, NOW, redelivery_seconds=120) == []
    assert stack.store.get_schedule_versioned("s1")[1] == 1
