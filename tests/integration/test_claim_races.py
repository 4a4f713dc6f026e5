"""One slot, one run: racing claimers and crashes between any two claim steps never duplicate or lose one."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agentcron.application import Services
from agentcron.application.claim import SweepReport, sweep
from agentcron.models import RunStatus, ScheduleSpec, slot_run_id

NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)


def create(stack, schedule_id: str, **fields) -> None:
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


def scan_runs(stack) -> list[dict[str, Any]]:
    items, request = [], {"TableName": stack.settings.runs_table, "ConsistentRead": True}
    while True:
        response = stack.dynamodb.scan(**request)
        items += response["Items"]
        if "LastEvaluatedKey" not in response:
            return items
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


# --------------------------------------------------------------------------- racing claimers


def test_two_racing_claimers_create_each_run_exactly_once(server_stack):
    stack = server_stack
    ids = [f"s{i:02d}" for i in range(20)]
    for schedule_id in ids:
        create(stack, schedule_id)
    shards = stack.settings.due_shards
    claimers = [(stack.new_store(), stack.new_queue()) for _ in range(2)]

    for minute in (1, 2, 3):
        at = NOW + timedelta(minutes=minute, seconds=1)
        start = threading.Barrier(2, timeout=30)
        # Every shard of both claimers reads the due index before either writes: a real race, every round.
        read_all = threading.Barrier(2 * shards, timeout=30)
        reports: list[SweepReport | None] = [None, None]
        failures: list[BaseException] = []

        def racing_reads(store, read_all=read_all):
            real = type(store).due_page.__get__(store)  # the method, not an earlier round's wrapper
            waited: set[int] = set()

            def due_page(shard, now, **kwargs):
                page = real(shard, now, **kwargs)
                if shard not in waited:
                    waited.add(shard)
                    read_all.wait()
                return page

            return due_page

        def claimer(index: int, start=start, at=at, reports=reports, failures=failures) -> None:
            store, queue = claimers[index]
            try:
                store.due_page = racing_reads(store)
                start.wait()
                reports[index] = sweep(Services(stack.settings, store, queue, stack.sessions), at)
            except BaseException as exc:  # noqa: BLE001 - surfaced below
                failures.append(exc)

        threads = [threading.Thread(target=claimer, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not failures, failures
        total = reports[0] + reports[1]
        assert total.errors == 0
        assert total.runs_queued == 20, total
        assert total.schedules_due == 40  # both saw every due schedule ...
        assert total.conflicts == 20  # ... and exactly one of them lost each claim
        # Round 3 passes the redelivery deadline of round 1's runs: each is re-sent once, by one claimer.
        assert total.resent == (20 if minute * 60 + 1 >= 60 + 1 + stack.settings.redelivery_seconds else 0)

    items = scan_runs(stack)
    assert len(items) == 60
    for schedule_id in ids:
        expected = {slot_run_id(schedule_id, NOW + timedelta(minutes=m)) for m in (1, 2, 3)}
        assert {i["run_id"]["S"] for i in items if i["schedule_id"]["S"] == schedule_id} == expected
        schedule, version = stack.store.get_schedule_versioned(schedule_id)
        assert version == 1  # claims never move the ETag
        assert schedule.state.active_run_count == 3
    messages = [m["body"]["run_id"] for m in stack.drain()]
    assert set(messages) == {i["run_id"]["S"] for i in items}
    assert len(messages) == 60 + 20  # one send per run, plus the one re-send of each round-1 run


# --------------------------------------------------------------------------- crash injection


class CrashingSqs:
    """An SQS client whose ``nth`` SendMessageBatch fails: raising (a crash), or refusing its entries."""

    def __init__(self, client: Any, nth: int, mode: str) -> None:
        self._client = client
        self._nth = nth
        self._mode = mode
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def send_message_batch(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls != self._nth:
            return self._client.send_message_batch(**kwargs)
        if self._mode == "raise":
            raise ConnectionError("injected crash in the middle of a send")
        entries = kwargs["Entries"]
        sent = self._client.send_message_batch(**{**kwargs, "Entries": entries[:2]})
        refused = [
            {"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "injected"}
            for e in entries[2:]
        ]
        return {"Successful": sent.get("Successful", []), "Failed": refused}


def _crash(*args: Any, **kwargs: Any) -> None:
    raise ConnectionError("injected crash")


CRASH_POINTS = [
    "before_transaction",  # due query and plan done, nothing written
    "after_transaction",  # runs recorded queued, nothing sent
    "mid_batch_raise",  # first batch of 10 sent, the second never
    "mid_batch_refused",  # SQS refuses most of the second batch
    "after_send",  # everything sent, the claimer dies before reporting
]


@pytest.mark.parametrize("crash", CRASH_POINTS)
def test_a_crash_between_claim_steps_loses_no_slot_and_duplicates_none(stack, monkeypatch, crash):
    create(stack, "s1")
    first = NOW + timedelta(minutes=15, seconds=1)  # 15 due slots: two send batches
    real_apply, real_send = stack.store.apply_claim, stack.queue.send_many
    if crash == "before_transaction":
        monkeypatch.setattr(stack.store, "apply_claim", _crash)
    elif crash == "after_transaction":
        monkeypatch.setattr(stack.store, "apply_claim", lambda *a, **k: (real_apply(*a, **k), _crash())[0])
    elif crash.startswith("mid_batch"):
        monkeypatch.setattr(
            stack.queue, "client", CrashingSqs(stack.queue.client, 2, crash.removeprefix("mid_batch_"))
        )
    elif crash == "after_send":
        monkeypatch.setattr(stack.queue, "send_many", lambda *a, **k: (real_send(*a, **k), _crash())[0])

    report = sweep(stack.services(), first)
    assert report.errors == 1
    delivered = [m["body"]["run_id"] for m in stack.drain()]
    monkeypatch.undo()

    # A later sweep, past the redelivery deadline, finishes the work.
    later = first + timedelta(seconds=stack.settings.redelivery_seconds + 1)
    recovery = sweep(stack.services(), later)
    assert recovery.errors == 0
    delivered += [m["body"]["run_id"] for m in stack.drain()]

    runs, _ = stack.store.list_runs("s1", limit=100)
    slots = sorted(r.scheduled_for for r in runs)
    assert slots == [NOW + timedelta(minutes=m) for m in range(1, 18)]  # every slot once, none twice
    assert all(r.run_id == slot_run_id("s1", r.scheduled_for) for r in runs)
    assert {r.status for r in runs} == {RunStatus.queued}
    assert {r.run_id for r in runs} <= set(delivered)  # every queued run reached the queue at least once
    state = stack.store.get_schedule("s1").state
    assert state.active_run_count == 17
    assert state.next_fire_at == NOW + timedelta(minutes=18)


def test_a_crash_after_start_is_finished_by_the_reaper(stack):
    """The executor took the run and vanished: after the lease the reaper records the outcome."""
    create(stack, "s1", trigger={"type": "interval", "every_seconds": 3600})
    at = NOW + timedelta(hours=1)
    sweep(stack.services(), at)
    (message,) = stack.drain()
    run_id = message["body"]["run_id"]
    stack.store.start_run("s1", run_id, at, lease_seconds=stack.settings.lease_seconds)
    report = sweep(stack.services(), at + timedelta(seconds=stack.settings.lease_seconds))
    assert report.timed_out == 1
    assert stack.store.get_run("s1", run_id).status == RunStatus.timed_out
    # The redelivered SQS message finds a terminal run: nothing happens.
    assert stack.store.start_run("s1", run_id, at + timedelta(hours=2), lease_seconds=60) is None
