"""A schedule's sessions: GET /schedules/{id}/sessions and the scheduler tool's list_sessions, on moto.

GIVEN a schedule whose runs started at different times (one ended without a transcript, one never started),
WHEN its sessions are listed, THEN they come newest first from a query of the schedule's partition (never a
scan, no index), and list_runs names each run's session.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from agentcron.agent.tools import ToolContext, build_tools
from agentcron.models import Run, RunStatus, ToolCall, slot_run_id
from test_api_support import build_api
from test_execute import SLOT, _spec

SID = "daily-news"


@pytest.fixture
def started(stack: Any) -> list[Run]:
    """Four runs of ``daily-news``: three started (the middle one ended without a transcript), one queued."""
    stack.create_schedule(_spec(SID), SLOT - timedelta(days=5))
    out = []
    for day in range(4):
        slot = SLOT - timedelta(days=4 - day)
        run = Run(run_id=slot_run_id(SID, slot), schedule_id=SID, scheduled_for=slot, claimed_at=slot)
        assert stack.store.create_run(run, slot, redelivery_seconds=120)
        if day < 3:
            run = stack.store.start_run(SID, run.run_id, slot, lease_seconds=60, session_id=f"session-{day}")
            no_transcript = {"session_id": None} if day == 1 else {}
            stack.store.finish_run(SID, run.run_id, RunStatus.success, slot + timedelta(seconds=5), **no_transcript)
        out.append(run)
    return out


def test_the_native_route_lists_sessions_newest_first_from_a_query(
    stack: Any, started: list[Run], load_handler: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = build_api(stack, load_handler, monkeypatch)
    calls: list[tuple[str, dict[str, Any]]] = []
    client = api.services.store.client
    client.meta.events.register(
        "provide-client-params.dynamodb.*",
        lambda params, event_name, **kw: calls.append((event_name.rsplit(".", 1)[-1], params)),
    )
    reply = api.call("get-schedule", path=f"/schedules/{SID}/sessions", query={"limit": "1"})
    assert reply.status == 200, reply.body
    assert [s["session_id"] for s in reply.body["sessions"]] == ["session-2"]
    assert reply.body["sessions"][0]["title"] == "Daily news - 2026-02-27T09:00:00Z"
    cursor = reply.body["next_cursor"]
    reply = api.call("get-schedule", path=f"/schedules/{SID}/sessions", query={"cursor": cursor})
    assert [s["session_id"] for s in reply.body["sessions"]] == ["session-0"]  # session-1 was dropped
    assert reply.body["sessions"][0]["status"] == "success" and reply.body["next_cursor"] is None
    assert ("Query", None) in {(name, params.get("IndexName")) for name, params in calls}
    assert "Scan" not in {name for name, _ in calls}
    assert api.call("get-schedule", path="/schedules/nope/sessions").status == 404
    assert api.call("get-schedule", path=f"/schedules/{SID}/sessions", query={"cursor": "abc"}).status == 400


def test_the_scheduler_tool_lists_sessions_and_runs_name_theirs(stack: Any, started: list[Run]) -> None:
    context = ToolContext(schedule_id="other", run_id="other-run", services=stack.services(SLOT), run_model="echo")
    box = build_tools(["scheduler"], context)

    def call(**arguments: Any) -> Any:
        return json.loads(box.run(ToolCall(id="c", name="scheduler", arguments=arguments)))

    sessions = call(action="list_sessions", schedule_id=SID)["sessions"]
    assert [s["session_id"] for s in sessions] == ["session-2", "session-0"]
    runs = call(action="list_runs", schedule_id=SID)["runs"]
    assert [r["session_id"] for r in runs] == [None, "session-2", None, "session-0"]
