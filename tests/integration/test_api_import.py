"""POST /imports through the API Lambda handler on moto: the original system's store file comes over.

GIVEN the store files of tests/data/original and the clock at 2026-03-01 09:00Z, WHEN they are posted to
/imports (dry run, real, again, broken), THEN the schedules, their state and run history are stored as the
README's "Coming from the original system" says, and nothing is written from a file with a bad entry.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from agentcron.application.imports import ImportRefused, import_store
from agentcron.domain.access import Caller
from agentcron.exceptions import Forbidden
from agentcron.models import RunStatus
from test_api_support import NOW, Api, build_api

DATA = Path(__file__).resolve().parents[1] / "data" / "original"
ALL = ["digest", "flow", "legacy-ping", "poller", "reminder", "weekly-report"]


def load(name: str = "schedules.json") -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


@pytest.fixture
def api(stack: Any, load_handler: Any, monkeypatch: pytest.MonkeyPatch) -> Api:
    return build_api(stack, load_handler, monkeypatch)


def post(api: Api, body: Any, *, dry_run: bool = False) -> Any:
    query = {"dry_run": "true"} if dry_run else {}
    return api.call("create-schedule", path="/imports", query=query, body=body, headers={"idempotency-key": None})


def stored_ids(api: Api) -> list[str]:
    return sorted(s.id for s in api.stack.store.list_schedules(limit=100)[0])


def test_a_dry_run_reports_and_writes_nothing(api: Api) -> None:
    reply = post(api, load(), dry_run=True)
    assert reply.status == 200, reply.body
    assert reply.body["dry_run"] is True and sorted(reply.body["created"]) == ALL
    assert reply.body["workflow_disabled"] == ["flow"] and reply.body["runs_imported"] == 5
    assert stored_ids(api) == []


def test_an_import_stores_schedules_state_and_history_and_a_second_changes_nothing(api: Api) -> None:
    first = post(api, load())
    assert first.status == 200, first.body
    assert sorted(first.body["created"]) == ALL and first.body["updated"] == first.body["unchanged"] == []
    store = api.stack.store
    digest, version = store.get_schedule_versioned("digest")
    assert version == 1 and digest.project_id == "newsroom" and digest.run_config.model == "openai:gpt-4o-mini"
    assert digest.state.total_run_count == 12 and digest.state.consecutive_failures == 1
    assert digest.state.next_fire_at.isoformat() == "2026-03-02T08:00:00+00:00"
    assert digest.created_at.isoformat().startswith("2025-11-02T10:15:00")
    runs, _ = store.list_runs("digest")
    assert [r.status for r in runs] == [RunStatus.missed, RunStatus.failed, RunStatus.success]  # newest first
    assert runs[2].session_id == "5b7e1c9a-0d3f-4e21-8c6a-1f2e3d4c5b6a"
    flow = store.get_schedule("flow")
    assert not flow.enabled and "workflow_target" in flow.pause_note
    reminder = store.get_schedule("reminder")
    assert not reminder.enabled and reminder.state.next_fire_at is None  # a fired once stays fired
    legacy = store.get_schedule("legacy-ping")
    assert legacy.trigger.every_seconds == 3600 and legacy.state.next_fire_at.isoformat() == "2026-03-01T09:30:00+00:00"
    # the claim would find the imported ones due only at their next fire: nothing due now
    assert store.get_schedule("poller").state.next_fire_at > NOW

    versions = {sid: store.get_schedule_versioned(sid)[1] for sid in ALL}
    again = post(api, load())
    assert again.status == 200 and sorted(again.body["unchanged"]) == ALL, again.body
    assert again.body["runs_imported"] == 0
    assert {sid: store.get_schedule_versioned(sid)[1] for sid in ALL} == versions


def test_an_edited_file_updates_the_spec_and_adds_the_new_history_but_keeps_the_counters(api: Api) -> None:
    assert post(api, load()).status == 200
    changed = load()
    changed["schedules"]["poller"]["name"] = "Feed poller (renamed)"
    changed["schedules"]["poller"]["state"]["total_run_count"] = 99
    changed["run_records"]["c1d2e3f4-0000-4000-8000-000000000009"] = {
        "run_id": "c1d2e3f4-0000-4000-8000-000000000009",
        "schedule_id": "digest",
        "scheduled_for": "2026-02-21T08:00:00Z",
        "claimed_at": "2026-02-21T08:00:01Z",
        "completed_at": "2026-02-21T08:00:01Z",
        "status": "cancelled",
        "was_catch_up": True,
    }
    reply = post(api, changed, dry_run=True)
    assert sorted(reply.body["updated"]) == ["digest", "poller"] and reply.body["runs_imported"] == 1
    assert api.stack.store.get_schedule("poller").name == "Feed poller"  # dry run: nothing written
    reply = post(api, changed)
    assert sorted(reply.body["updated"]) == ["digest", "poller"], reply.body
    poller, version = api.stack.store.get_schedule_versioned("poller")
    assert poller.name == "Feed poller (renamed)" and version == 2 and poller.state.total_run_count == 4
    assert len(api.stack.store.list_runs("digest")[0]) == 4


def test_a_broken_file_is_refused_whole_naming_each_entry_and_field(api: Api) -> None:
    reply = post(api, load("broken.json"))
    assert reply.status == 400
    fields = sorted(problem["field"] for problem in reply.body["errors"])
    assert fields == [
        "run_records.c1d2e3f4-0000-4000-8000-000000000001.status",
        "schedules.digest.trigger.hour",
        "schedules.weekly-report.run_config.reasoning_effort",
    ]
    assert "nothing was imported" in reply.error["message"]
    assert stored_ids(api) == []  # not even the valid entries


def test_a_bare_model_without_a_provider_setting_is_refused_as_at_create(api: Api) -> None:
    api.services.settings = dataclasses.replace(api.services.settings, default_model_provider="")
    reply = post(api, load())
    assert reply.status == 400
    assert [p["field"] for p in reply.body["errors"]] == ["schedules.digest.run_config.model"]
    assert "known provider" in reply.body["errors"][0]["message"]
    assert stored_ids(api) == []


def test_the_file_shape_is_checked(api: Api) -> None:
    assert post(api, {"schedules": []}).status == 400
    assert post(api, {"version": "4"}).status == 400
    reply = post(api, {"version": 4, "schedules": {}})
    assert reply.status == 200 and reply.body["created"] == []


def test_import_respects_the_callers_projects(api: Api, stack: Any) -> None:
    services = stack.services(NOW)
    reader = Caller("reader", None, False)
    with pytest.raises(Forbidden):
        import_store(services, reader, load())
    ops_only = Caller("ops-writer", frozenset({"default"}), True)
    with pytest.raises(Forbidden, match="newsroom"):
        import_store(services, ops_only, load())
    assert stored_ids(api) == []
    newsroom = load()
    newsroom["schedules"] = {"digest": newsroom["schedules"]["digest"]}
    import_store(services, Caller("admin", None, True), newsroom)
    other = Caller("other", frozenset({"default"}), True)  # the id exists in a project it cannot see
    clash = load()
    clash["schedules"] = {"digest": {**clash["schedules"]["digest"], "run_config": {"task_message": "x"}}}
    with pytest.raises(ImportRefused) as refused:
        import_store(services, other, clash)
    assert [p["field"] for p in refused.value.problems] == ["schedules.digest.id"]
