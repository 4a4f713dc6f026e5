"""Long work off the request: a backfill's rest, a deleted schedule's history, a cancel of many.

A request does one bounded page and answers at once (202 with the job when work remains); each claim sweep
advances every pending job by a page; GET /jobs/{job_id} follows it. Pages are made small here so a few
records show the paging.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from agentcron.application import jobs, runs
from agentcron.application.claim import sweep
from agentcron.models import Message, Run, RunStatus, Session, slot_run_id

from test_api_support import NOW, Api, build_api, daily_spec

INTERVAL = {"type": "interval", "every_seconds": 3600, "anchor_at": "2026-01-01T00:00:00Z"}


@pytest.fixture
def api(stack: Any, load_handler: Any, monkeypatch: pytest.MonkeyPatch) -> Api:
    monkeypatch.setattr(jobs, "PURGE_PAGE", 10)
    monkeypatch.setattr(jobs, "BACKFILL_PAGE", 5)
    monkeypatch.setattr(jobs, "CANCEL_PAGE", 3)
    return build_api(stack, load_handler, monkeypatch)


def _sweep(api: Api) -> None:
    assert sweep(api.stack.services(api.clock.now), api.clock.now).errors == 0


def _job(api: Api, job_id: str) -> dict[str, Any]:
    reply = api.call("get-schedule", path=f"/jobs/{job_id}")
    assert reply.status == 200, reply.body
    return reply.body


def _runs(api: Api, count: int, schedule_id: str = "daily-news", **fields: Any) -> list[Run]:
    runs = []
    for i in range(count):
        slot = NOW - timedelta(days=10, hours=i)
        run = Run(
            run_id=slot_run_id(schedule_id, slot), schedule_id=schedule_id, scheduled_for=slot,
            claimed_at=slot, **fields,
        )
        assert api.stack.store.create_run(run, slot, redelivery_seconds=60)
        runs.append(run)
    return runs


def _session(session_id: str) -> Session:
    return Session(id=session_id, messages=[Message(role="user", content="x")], created_at=NOW, updated_at=NOW)


def test_a_long_backfill_answers_at_once_and_the_sweeps_record_the_rest(api: Api) -> None:
    api.create(daily_spec(trigger=INTERVAL))
    body = {"start_at": "2026-02-01T00:00:00Z", "end_at": "2026-02-01T12:00:00Z"}  # 12 hourly slots
    reply = api.call("backfill", body=body)
    assert reply.status == 202, reply.body
    assert len(reply.body["created"]) == 5 and reply.body["remaining"] == 7
    job_id = reply.body["job_id"]
    assert reply.headers["location"] == f"/jobs/{job_id}"
    assert _job(api, job_id)["status"] == "pending"
    _sweep(api)
    assert _job(api, job_id)["done_count"] == 5
    _sweep(api)
    job = _job(api, job_id)
    assert (job["status"], job["done_count"], job["total"]) == ("done", 7, 12)
    runs, _ = api.stack.store.list_runs("daily-news", limit=100)
    assert len([r for r in runs if r.trigger == "backfill"]) == 12


def test_a_small_backfill_needs_no_job(api: Api) -> None:
    api.create(daily_spec(trigger=INTERVAL))
    reply = api.call("backfill", body={"start_at": "2026-02-01T00:00:00Z", "end_at": "2026-02-01T03:00:00Z"})
    assert reply.status == 202 and len(reply.body["created"]) == 3
    assert reply.body["remaining"] == 0 and reply.body["job_id"] is None and "location" not in reply.headers


def test_a_backfill_without_a_slot_says_why(api: Api) -> None:
    api.create(daily_spec(trigger={**INTERVAL, "anchor_at": "2026-02-20T00:00:00Z"}))
    reply = api.call("backfill", body={"start_at": "2026-02-01T00:00:00Z", "end_at": "2026-02-02T00:00:00Z"})
    assert reply.status == 400 and reply.error["field"] == "start_at"
    assert "the interval's grid starts at its anchor (2026-02-20T00:00:00Z), after the range" in (
        reply.error["message"]
    )


def test_deleting_a_long_history_purges_records_and_transcripts_in_pages(api: Api) -> None:
    api.create(daily_spec())
    runs = _runs(api, 25, status=RunStatus.success, completed_at=NOW - timedelta(days=9))
    for run in runs:
        session = _session(f"s-{run.run_id}")
        api.stack.sessions.save(session)
        api.stack.store.bind_session("daily-news", run.run_id, session.id)
    reply = api.call("delete-schedule", headers={"if-match": None})
    assert reply.status == 202, reply.body
    job_id = reply.body["job_id"]
    assert reply.headers["location"] == f"/jobs/{job_id}" and reply.body["done_count"] == 10
    assert api.call("get-schedule").status == 404  # the schedule itself is gone at once
    again = api.call("create-schedule", body=daily_spec(), headers={"idempotency-key": None})
    assert again.status == 409 and again.error["field"] == "id"  # not over its old history
    _sweep(api)
    _sweep(api)
    assert _job(api, job_id)["status"] == "done" and _job(api, job_id)["done_count"] == 25
    assert api.stack.store.run_keys_page("daily-news", limit=100) == []
    assert all(api.stack.sessions.load(f"s-{run.run_id}") is None for run in runs)
    assert api.call("create-schedule", body=daily_spec(), headers={"idempotency-key": None}).status == 201


def test_deleting_a_short_history_is_done_in_the_request(api: Api) -> None:
    api.create(daily_spec())
    run = _runs(api, 3)[0]
    session = _session("s-short")
    api.stack.sessions.save(session)
    api.stack.store.bind_session("daily-news", run.run_id, session.id)
    reply = api.call("delete-schedule", headers={"if-match": None})
    assert reply.status == 204 and api.stack.store.run_keys_page("daily-news", limit=10) == []
    assert api.stack.sessions.load("s-short") is None  # transcripts go with their schedule


def test_cancel_other_flags_a_page_and_the_sweeps_the_rest(api: Api) -> None:
    api.create(daily_spec(overlap_policy="queue_all"))
    active = _runs(api, 8)
    reply = api.call("run-now", body={"overlap_policy": "cancel_other"}, headers={"idempotency-key": None})
    assert reply.status == 202, reply.body
    job_id = reply.body["cancel_job_id"]
    assert job_id is not None and _job(api, job_id)["done_count"] == 3
    _sweep(api)
    _sweep(api)
    assert _job(api, job_id)["status"] == "done"
    flagged = [api.stack.store.get_run("daily-news", run.run_id).cancel_requested for run in active]
    assert all(flagged)
    assert not api.stack.store.get_run("daily-news", reply.body["run_id"]).cancel_requested


def test_an_unknown_job_is_a_404(api: Api) -> None:
    for job_id in ("nothing", "bad~id"):
        reply = api.call("get-schedule", path=f"/jobs/{job_id}")
        assert reply.status == 404 and reply.error["type"] == "not_found"


def test_a_run_in_flight_when_its_schedule_is_deleted_leaves_no_record(api: Api) -> None:
    """As the README says: the run is not interrupted, its outcome is not recorded (no ghost record under a
    deleted id, even when the finish writes without reading first)."""
    api.create(daily_spec())
    run = _runs(api, 1)[0]
    started = api.stack.store.start_run("daily-news", run.run_id, NOW, lease_seconds=600)
    assert started is not None
    assert api.call("delete-schedule", headers={"if-match": None}).status == 204
    services = api.stack.services(NOW)
    assert runs.finish_run(services, "daily-news", run.run_id, RunStatus.success, expected=started) is None
    assert runs.finish_run(services, "daily-news", run.run_id, RunStatus.success) is None
    assert api.stack.store.run_keys_page("daily-news", limit=10) == []
