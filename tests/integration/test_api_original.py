"""The original system's routes under /api/v1 through the API Lambda handler on moto: its request and response
shapes over the same use cases as the native routes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from agentcron.models import RunStatus
from test_api_support import Api, build_api

DATA = Path(__file__).resolve().parents[1] / "data" / "original"
SPEC = {  # as the original's clients send one
    "id": "nightly",
    "name": "Nightly",
    "trigger": {"type": "weekly", "weekdays": ["Monday"], "hour": 2, "minute": 0, "second": 0},
    "misfire_policy": "skip",
    "end_at": "2026-12-31T23:59:59Z",
    "run_config": {"project_id": "ops", "model": "gpt-4o", "task_message": "tidy", "auto_execute": True,
                   "workflow_target": None},
}


@pytest.fixture
def api(stack: Any, load_handler: Any, monkeypatch: pytest.MonkeyPatch) -> Api:
    return build_api(stack, load_handler, monkeypatch)


def v1(api: Api, method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> Any:
    changes: dict[str, Any] = {"method": method, "path": f"/api/v1{path}", "headers": {"idempotency-key": None}}
    changes["body"] = body
    if query is not None:
        changes["query"] = query
    return api.call("create-schedule", **changes)


def test_create_list_patch_delete_in_the_originals_shapes(api: Api) -> None:
    reply = v1(api, "POST", "/schedules", SPEC)
    assert reply.status == 201, reply.body
    created = reply.body
    assert created["enabled"] is False  # the original's default
    assert created["misfire_policy"] == {"type": "skip"} and created["trigger"]["weekdays"] == ["mon"]
    assert created["run_config"]["project_id"] == "ops" and created["run_config"]["model"] == "gpt-4o"
    assert created["end_at"] == "2026-12-31T23:59:59Z"  # inclusive in its shape, exclusive stored
    assert "state" in created and "version" not in created and "project_id" not in created
    stored = api.stack.store.get_schedule("nightly")
    assert stored.run_config.model == "openai:gpt-4o" and stored.end_at.isoformat() == "2027-01-01T00:00:00+00:00"

    listed = v1(api, "GET", "/schedules")
    assert listed.status == 200 and [s["id"] for s in listed.body["schedules"]] == ["nightly"]

    patched = v1(api, "PATCH", "/schedules/nightly", {"enabled": True, "run_config": {"project_id": "ops"}})
    assert patched.status == 200, patched.body
    assert patched.body["enabled"] is True and patched.body["state"]["next_fire_at"]

    bad = v1(api, "PATCH", "/schedules/nightly", {"trigger": {"type": "daily", "hour": 25, "minute": 0}})
    assert bad.status == 400 and bad.body == {"error": "trigger.hour must be between 0 and 23"}

    deleted = v1(api, "DELETE", "/schedules/nightly")
    assert deleted.status == 200 and deleted.body == {"schedule_id": "nightly", "deleted": True}
    missing = v1(api, "GET", "/schedules/nightly/runs")
    assert missing.status == 404 and missing.body == {"error": "Schedule not found", "schedule_id": "nightly"}


def test_run_now_runs_and_sessions_of_imported_history(api: Api) -> None:
    imported = api.call("create-schedule", path="/imports", body=json.loads((DATA / "schedules.json").read_text()),
                        headers={"idempotency-key": None})
    assert imported.status == 200, imported.body
    runs = v1(api, "GET", "/schedules/digest/runs")
    assert runs.status == 200
    records = runs.body["runs"]
    assert [r["status"] for r in records] == ["missed", "failed", "success"]
    assert set(records[2]) == {
        "run_id", "schedule_id", "scheduled_for", "claimed_at", "started_at", "completed_at", "status",
        "session_id", "dispatch_lag_ms", "execution_duration_ms", "was_catch_up",
    }
    assert v1(api, "GET", "/schedules/digest/runs", query={"limit": "1"}).body["runs"] == records[:1]

    sessions = v1(api, "GET", "/schedules/digest/sessions").body["sessions"]
    assert [s["id"] for s in sessions] == [
        "5b7e1c9a-0d3f-4e21-8c6a-1f2e3d4c5b6c",
        "5b7e1c9a-0d3f-4e21-8c6a-1f2e3d4c5b6b",
        "5b7e1c9a-0d3f-4e21-8c6a-1f2e3d4c5b6a",
    ]
    assert sessions[0]["metadata"]["created_by_schedule_id"] == "digest"

    queued = v1(api, "POST", "/schedules/poller/run", {"task_message": "now"})
    assert queued.status == 202 and set(queued.body) == {"schedule_id", "run_id", "enqueued_at"}
    run = api.stack.store.get_run("poller", queued.body["run_id"])
    assert run.status == RunStatus.queued and run.task_message == "now"
    assert v1(api, "POST", "/schedules/poller/run").status == 202  # no body


def test_the_original_routes_are_not_in_the_openapi_document(api: Api) -> None:
    document = api.call("openapi").body
    assert not any(path.startswith("/api/v1") for path in document["paths"])
    assert "/imports" in document["paths"] and "/schedules/{schedule_id}/sessions" in document["paths"]
