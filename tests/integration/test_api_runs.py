"""Run routes through the API Lambda handler: run now, backfill, history, one run, cancel, sessions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from agentcron.models import Message, Run, RunStatus, RunTrigger, Session, slot_run_id
from agentcron.sessions import SessionStore

from test_api_support import NOW, Api, build_api, daily_spec

SLOT = NOW - timedelta(hours=1)  # 2026-03-01 08:00Z, a slot of the daily 09:00 Paris schedule
SLOT_RUN = slot_run_id("daily-news", SLOT)  # the run id of events/apigw-get-run.json and cancel-run.json


@pytest.fixture
def api(stack: Any, load_handler: Any, monkeypatch: pytest.MonkeyPatch) -> Api:
    return build_api(stack, load_handler, monkeypatch)


def _queued(api: Api, run_id: str = SLOT_RUN, slot=SLOT, **fields) -> Run:
    run = Run(run_id=run_id, schedule_id="daily-news", scheduled_for=slot, claimed_at=slot, **fields)
    assert api.stack.store.create_run(run, slot, redelivery_seconds=60)
    return run


# --------------------------------------------------------------------------- run now


def test_run_now_records_a_queued_run_and_queues_it(api: Api) -> None:
    api.create(daily_spec(enabled=False))  # run-now ignores enabled
    reply = api.call("run-now")
    assert reply.status == 202
    run_id = reply.body["run_id"]
    assert reply.body == {
        "schedule_id": "daily-news",
        "run_id": run_id,
        "enqueued_at": "2026-03-01T09:00:00Z",
        "cancel_job_id": None,
    }
    assert reply.headers["location"] == f"/schedules/daily-news/runs/{run_id}"
    run = api.stack.store.get_run("daily-news", run_id)
    assert run is not None and run.status == RunStatus.queued and run.trigger == RunTrigger.run_now
    assert run.task_message == "Only the headlines, please." and run.scheduled_for == NOW
    assert api.stack.store.get_schedule("daily-news").state.active_run_count == 1
    (message,) = api.stack.drain()
    assert (message["group_id"], message["dedup_id"]) == ("daily-news", run_id)
    body = message["body"]
    assert (body["type"], body["schedule_id"], body["run_id"]) == ("run", "daily-news", run_id)
    assert body["run"]["task_message"] == "Only the headlines, please."
    assert body["schedule"]["id"] == "daily-news"


def test_the_same_idempotency_key_starts_one_run(api: Api) -> None:
    api.create(daily_spec())
    first = api.call("run-now")
    api.clock.advance(seconds=7)  # a retry a little later: a time-derived id alone would differ
    second = api.call("run-now")
    assert first.status == second.status == 202
    assert second.body == first.body and second.headers["idempotent-replayed"] == "true"
    assert [r.run_id for r in api.stack.store.list_runs("daily-news")[0]] == [first.body["run_id"]]
    assert len(api.stack.drain()) == 1
    third = api.call("run-now", headers={"idempotency-key": "another"})
    assert third.body["run_id"] != first.body["run_id"]


def test_without_a_key_every_request_is_a_new_run(api: Api) -> None:
    api.create(daily_spec())
    ids = {api.call("run-now", headers={"idempotency-key": None}, body=None).body["run_id"] for _ in range(3)}
    assert len(ids) == 3 and len(api.stack.store.list_runs("daily-news")[0]) == 3


def test_overlap_overrides_pick_the_group_refuse_or_cancel(api: Api) -> None:
    api.create(daily_spec())
    allowed = api.call("run-now", body={"overlap_policy": "allow"}, headers={"idempotency-key": None})
    message = api.stack.drain()[0]
    assert message["group_id"] == allowed.body["run_id"]  # its own group: it may run beside others
    skipped = api.call("run-now", body={"overlap_policy": "skip"}, headers={"idempotency-key": None})
    assert skipped.status == 409 and skipped.error["type"] == "overlap_skipped"
    api.call("run-now", body={"overlap_policy": "cancel_other"}, headers={"idempotency-key": None})
    assert api.stack.store.get_run("daily-news", allowed.body["run_id"]).cancel_requested


def test_run_now_of_an_unknown_schedule_is_a_404_and_a_bad_override_a_400(api: Api) -> None:
    missing = api.call("run-now", path="/schedules/missing/run")
    assert missing.status == 404 and missing.body["schedule_id"] == "missing"
    api.create(daily_spec())
    bad = api.call("run-now", body={"overlap_policy": "sometimes"})
    assert bad.status == 400 and bad.error["field"] == "overlap_policy"
    # a task the run record could not hold with its answer: refused before anything is recorded
    long = api.call("run-now", body={"task_message": "x" * 210_000})
    assert long.status == 400 and long.error["field"] == "task_message"


def test_a_run_whose_message_could_not_be_sent_is_still_accepted_for_the_outbox(api: Api) -> None:
    api.create(daily_spec())

    def refuse(*args, **kwargs):
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "try later"}}, "SendMessage")

    api.services.queue.client.send_message = refuse
    reply = api.call("run-now")
    assert reply.status == 202
    assert api.stack.store.get_run("daily-news", reply.body["run_id"]).status == RunStatus.queued


# --------------------------------------------------------------------------- backfill


def test_backfill_queues_one_run_per_slot_and_never_a_slot_twice(api: Api) -> None:
    api.create(daily_spec())
    day = {d: f"daily-news-202602{d}T080000Z" for d in (25, 26, 27)}  # 09:00 Paris = 08:00Z in February
    _queued(api, day[26], NOW.replace(month=2, day=26, hour=8))  # the 26th already ran (claimed)
    reply = api.call("backfill")  # [2026-02-25, 2026-02-28)
    assert reply.status == 202
    assert reply.body["created"] == [day[25], day[27]] and reply.body["existing"] == [day[26]]
    for run_id in reply.body["created"]:
        run = api.stack.store.get_run("daily-news", run_id)
        assert run.trigger == RunTrigger.backfill and run.was_catch_up and run.status == RunStatus.queued
    assert sorted(m["body"]["run_id"] for m in api.stack.drain()) == [day[25], day[27]]
    again = api.call("backfill")
    assert again.body["created"] == [] and again.body["existing"] == [day[25], day[26], day[27]]
    assert api.stack.drain() == []


BAD_RANGES = [  # (body, field, message or None)
    (
        {"start_at": "2026-02-28T00:00:00Z", "end_at": "2026-02-25T00:00:00Z"},
        "start_at",
        "start_at must be earlier than end_at",
    ),
    (
        {"start_at": "2026-02-28T00:00:00Z", "end_at": "2026-03-02T00:00:00Z"},
        "end_at",
        "end_at must not be in the future",
    ),
    (
        {"start_at": "2020-01-01T00:00:00Z", "end_at": "2026-01-01T00:00:00Z"},
        "end_at",
        "end_at must leave at most 1000 slots after start_at",
    ),
    ({"start_at": "2026-02-28T00:00:00Z"}, "end_at", "end_at is required"),
    ({"start_at": "yesterday", "end_at": "2026-02-28T00:00:00Z"}, "start_at", None),
]


def test_bad_backfill_ranges_are_400s(api: Api) -> None:
    api.create(daily_spec())
    for body, field, message in BAD_RANGES:
        reply = api.call("backfill", body=body)
        assert reply.status == 400 and reply.error["field"] == field, (body, reply.body)
        if message:
            assert reply.error["message"] == message, body
    assert api.stack.store.list_runs("daily-news")[0] == []


def test_backfill_of_an_unknown_schedule_is_a_404(api: Api) -> None:
    assert api.call("backfill", path="/schedules/missing/backfill").status == 404


# --------------------------------------------------------------------------- history


def test_runs_are_listed_newest_first_filtered_and_paged(api: Api) -> None:
    api.create(daily_spec())
    for days in (3, 2, 1):
        slot = SLOT - timedelta(days=days)
        _queued(api, slot_run_id("daily-news", slot), slot)
    oldest = slot_run_id("daily-news", SLOT - timedelta(days=3))
    api.stack.store.finish_run("daily-news", oldest, RunStatus.success, NOW)
    listed = api.call("list-runs", query={})
    assert listed.status == 200 and listed.body["schedule_id"] == "daily-news"
    assert [r["run_id"] for r in listed.body["runs"]] == [
        "daily-news-20260228T080000Z",
        "daily-news-20260227T080000Z",
        "daily-news-20260226T080000Z",
    ]
    success = api.call("list-runs")  # status=success, limit=20
    assert [r["run_id"] for r in success.body["runs"]] == [oldest] and success.body["runs"][0][
        "status"
    ] == "success"
    page = api.call("list-runs", query={"limit": "2"}).body
    assert len(page["runs"]) == 2 and page["next_cursor"]
    rest = api.call("list-runs", query={"limit": "2", "cursor": page["next_cursor"]}).body
    assert [r["run_id"] for r in rest["runs"]] == [oldest] and rest["next_cursor"] is None
    other = api.call("list-runs", path="/schedules/other/runs", query={"cursor": page["next_cursor"]})
    assert other.status == 404
    api.create(daily_spec("other"))
    foreign = api.call("list-runs", path="/schedules/other/runs", query={"cursor": page["next_cursor"]})
    assert foreign.status == 400 and foreign.error["field"] == "cursor"


def test_bad_history_parameters_are_400s(api: Api) -> None:
    api.create(daily_spec())
    for query, field in (
        ({"status": "done"}, "status"),
        ({"limit": "0"}, "limit"),
        ({"cursor": "%%%"}, "cursor"),
    ):
        reply = api.call("list-runs", query=query)
        assert reply.status == 400 and reply.error["field"] == field


def test_one_run_is_read_by_its_id(api: Api) -> None:
    api.create(daily_spec())
    assert api.call("get-run").status == 404
    _queued(api)
    reply = api.call("get-run")
    assert reply.status == 200 and reply.body["run_id"] == SLOT_RUN and reply.body["status"] == "queued"
    missing = api.call("get-run", path=f"/schedules/daily-news/runs/{'x' * 300}")
    assert missing.status == 404 and missing.error["message"] == "Run not found"


# --------------------------------------------------------------------------- cancel


def test_cancelling_a_queued_run_finishes_it_at_once(api: Api) -> None:
    api.create(daily_spec())
    _queued(api)
    reply = api.call("cancel-run")
    assert reply.status == 200 and reply.body["status"] == "cancelled"
    assert reply.body["outcome_reason"] == "cancelled by request"
    state = api.stack.store.get_schedule("daily-news").state
    assert state.active_run_count == 0 and state.total_failure_count == 1
    again = api.call("cancel-run")
    assert again.status == 409 and again.error == {
        "message": "Run is already cancelled",
        "field": None,
        "type": "run_terminal",
    }


def test_cancelling_a_running_run_asks_its_executor_to_stop(api: Api) -> None:
    api.create(daily_spec())
    _queued(api)
    assert api.stack.store.start_run("daily-news", SLOT_RUN, NOW, lease_seconds=900) is not None
    reply = api.call("cancel-run")
    assert (
        reply.status == 202 and reply.body["status"] == "running" and reply.body["cancel_requested"] is True
    )
    assert api.stack.store.is_cancel_requested("daily-news", SLOT_RUN)


def test_cancelling_an_unknown_run_is_a_404(api: Api) -> None:
    api.create(daily_spec())
    reply = api.call("cancel-run")
    assert reply.status == 404 and reply.body["run_id"] == SLOT_RUN


# --------------------------------------------------------------------------- sessions


def test_a_session_is_read_from_the_sessions_bucket(api: Api) -> None:
    session = Session(
        id="5f0c6d2e-8f3a-5b1c-9d7e-2a4b6c8d0e1f",
        title="Daily news digest - 2026-03-01T08:00:00Z",
        model="echo",
        messages=[Message(role="system", content="Be brief."), Message(role="user", content="Summarise.")],
        created_at=NOW,
        updated_at=NOW,
    )
    assert api.call("get-session").status == 404
    SessionStore(api.stack.s3, api.stack.settings.sessions_bucket).save(session)
    reply = api.call("get-session")
    assert reply.status == 200 and reply.body["id"] == session.id
    assert [m["role"] for m in reply.body["messages"]] == ["system", "user"]
    odd = api.call("get-session", path="/sessions/..%2F..%2Fetc")
    assert odd.status == 404 and odd.body["session_id"] == "..%2F..%2Fetc"


def test_deleting_a_schedule_deletes_its_sessions(api: Api) -> None:
    api.create(daily_spec())
    _queued(api)
    sessions = SessionStore(api.stack.s3, api.stack.settings.sessions_bucket)
    sessions.save(Session(id="gone-session", title="t", created_at=NOW, updated_at=NOW))
    sessions.save(Session(id="other-session", title="t", created_at=NOW, updated_at=NOW))
    api.stack.store.bind_session("daily-news", SLOT_RUN, "gone-session")
    assert api.call("get-session", path="/sessions/gone-session").status == 200
    assert api.call("delete-schedule", headers={"if-match": None}).status == 204
    assert api.stack.store.get_run("daily-news", SLOT_RUN) is None
    assert api.call("get-session", path="/sessions/gone-session").status == 404
    assert api.call("get-session", path="/sessions/other-session").status == 200


def test_a_large_session_is_answered_with_a_pre_signed_url(api: Api) -> None:
    sessions = SessionStore(api.stack.s3, api.stack.settings.sessions_bucket)
    big = [Message(role="user", content="x" * 100_000) for _ in range(12)]  # 1.2 MB of transcript
    sessions.save(Session(id="big-session", title="t", messages=big, created_at=NOW, updated_at=NOW))
    reply = api.call("get-session", path="/sessions/big-session")
    assert reply.status == 303, reply.body
    assert reply.headers["location"] == reply.body["url"] and "big-session.json" in reply.body["url"]
    assert reply.body["size_bytes"] > 1024 * 1024 and len(reply.raw["body"]) < 4096
