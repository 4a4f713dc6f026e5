"""The ``scheduler`` tool on the moto stack: the same validation as the API, scoped to the calling run."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from test_execute import SLOT, Clock, _handle, _queued_run, _spec

from agentcron.agent import ModelRequest, ModelResponse
from agentcron.agent.tools import ToolContext, build_tools
from agentcron.models import Message, RunMessage, RunStatus, RunTrigger, TokenUsage, ToolCall

OWN = "daily-news"
FOLLOW_UP = {
    "id": "follow-up",
    "name": "Follow up",
    "trigger": {"type": "daily", "hour": 18, "minute": 30},
    "timezone": "Europe/Paris",
    "run_config": {"task_message": "check again", "auto_execute": True},
}


@pytest.fixture
def scheduler(stack):
    services = stack.services(SLOT)
    run = _queued_run(stack, _spec(OWN))  # the calling run (its record counts the schedules it creates)
    context = ToolContext(schedule_id=OWN, run_id=run.run_id, services=services, run_model="echo")
    box = build_tools(["scheduler"], context)
    calls = iter(range(1000))

    def call(**arguments: Any) -> Any:
        text = box.run(ToolCall(id=f"call-{next(calls)}", name="scheduler", arguments=arguments))
        return text if text.startswith("error:") else json.loads(text)

    return call


def test_create_validates_with_the_schedule_model_and_stores(stack, scheduler) -> None:
    created = scheduler(action="create", spec=FOLLOW_UP)["created"]
    assert created["id"] == "follow-up"
    assert created["trigger"] == {"type": "daily", "hour": 18, "minute": 30, "second": 0}
    assert created["next_fire_at"] == "2026-03-01T17:30:00Z"
    stored = stack.store.get_schedule("follow-up")
    assert stored.run_config.task_message == "check again"
    assert stored.created_at == SLOT


def test_invalid_specs_come_back_as_field_errors(stack, scheduler) -> None:
    bad = {**FOLLOW_UP, "trigger": {"type": "daily", "hour": 25, "minute": 0}}
    assert (
        scheduler(action="create", spec=bad)
        == "error: invalid schedule: trigger.hour must be between 0 and 23"
    )
    assert scheduler(action="create") == "error: spec is required for create"
    assert (
        scheduler(action="create", spec={**FOLLOW_UP, "id": OWN}) == f"error: Schedule already exists: {OWN}"
    )
    assert stack.store.get_schedule("follow-up") is None


def test_a_run_creates_a_bounded_number_of_schedules(scheduler) -> None:
    for i in range(5):
        assert "created" in scheduler(action="create", spec={**FOLLOW_UP, "id": f"f-{i}"})
    assert scheduler(action="create", spec={**FOLLOW_UP, "id": "f-5"}) == (
        "error: a run may create at most 5 schedules"
    )


def test_list_pages_through_summaries(scheduler) -> None:
    scheduler(action="create", spec=FOLLOW_UP)
    first = scheduler(action="list", limit=1)
    second = scheduler(action="list", limit=1, cursor=first["next_cursor"])
    ids = {first["schedules"][0]["id"], second["schedules"][0]["id"]}
    assert ids == {OWN, "follow-up"}
    assert set(first["schedules"][0]) >= {"id", "name", "enabled", "trigger", "next_fire_at"}


def test_patch_merges_run_config_and_revalidates(stack, scheduler) -> None:
    scheduler(action="create", spec=FOLLOW_UP)
    patched = scheduler(
        action="patch", schedule_id="follow-up", spec={"name": "Renamed", "run_config": {"model": "echo"}}
    )
    assert patched["patched"]["name"] == "Renamed"
    stored = stack.store.get_schedule("follow-up")
    assert (stored.run_config.model, stored.run_config.task_message) == ("echo", "check again")
    assert stored.updated_by == stack.store.list_runs(OWN)[0][0].run_id  # the change names the run
    assert scheduler(action="patch", schedule_id="follow-up", spec={"timezone": "Mars/Base"}) == (
        "error: invalid schedule: timezone is not a valid IANA timezone: Mars/Base"
    )
    assert (
        scheduler(action="patch", schedule_id="ghost", spec={"name": "x"})
        == "error: Schedule not found: ghost"
    )
    assert scheduler(action="patch", spec={"name": "x"}) == "error: schedule_id is required for patch"
    # a run may switch its own schedule off
    assert scheduler(action="patch", schedule_id=OWN, spec={"enabled": False})["patched"]["enabled"] is False


def test_run_now_records_a_run_and_queues_it(stack, scheduler) -> None:
    scheduler(action="create", spec=FOLLOW_UP)
    queued = scheduler(action="run_now", schedule_id="follow-up", task_message="only the headlines")
    run = stack.store.get_run("follow-up", queued["queued"])
    assert (run.status, run.trigger, run.task_message) == (
        RunStatus.queued,
        RunTrigger.run_now,
        "only the headlines",
    )
    (message,) = stack.drain()
    body = message["body"]
    assert (body["type"], body["schedule_id"], body["run_id"]) == ("run", "follow-up", run.run_id)
    assert body["run"]["run_id"] == run.run_id and body["schedule"]["id"] == "follow-up"
    assert message["group_id"] == "follow-up" and message["dedup_id"] == run.run_id
    runs = scheduler(action="list_runs", schedule_id="follow-up")["runs"]
    assert [(r["run_id"], r["status"], r["trigger"]) for r in runs] == [(run.run_id, "queued", "run_now")]
    assert scheduler(action="list_runs", schedule_id="follow-up", status="success")["runs"] == []


def test_the_scope_protects_the_calling_schedule(stack, scheduler) -> None:
    assert scheduler(action="delete", schedule_id=OWN).startswith(
        "error: a run cannot delete its own schedule"
    )
    assert scheduler(action="run_now", schedule_id=OWN).startswith(
        "error: a run cannot start its own schedule"
    )
    assert stack.store.get_schedule(OWN) is not None
    assert stack.drain() == []


def test_delete_removes_another_schedule(stack, scheduler) -> None:
    scheduler(action="create", spec=FOLLOW_UP)
    assert scheduler(action="delete", schedule_id="follow-up") == {"deleted": "follow-up"}
    assert stack.store.get_schedule("follow-up") is None
    assert scheduler(action="delete", schedule_id="follow-up") == "error: Schedule not found: follow-up"


def test_an_agent_schedules_its_own_follow_up_during_a_run(stack) -> None:
    # GIVEN a run whose model decides to schedule follow-up work with the scheduler tool
    run = _queued_run(stack, _spec(tools=["scheduler"]))

    class Planner:
        name = "scripted"

        def complete(self, request: ModelRequest) -> ModelResponse:
            if request.messages[-1].role == "tool":
                return ModelResponse(Message(role="assistant", content="Scheduled."), TokenUsage())
            # the run has no tool but the scheduler, so the follow-up gets none ([]), as it must
            spec = {**FOLLOW_UP, "run_config": {**FOLLOW_UP["run_config"], "tools": []}}
            call = ToolCall(id="c1", name="scheduler", arguments={"action": "create", "spec": spec})
            return ModelResponse(
                Message(role="assistant", content="", tool_calls=[call]), TokenUsage(), "tool_use"
            )

    # WHEN the run executes
    outcome = _handle(
        stack,
        RunMessage(schedule_id=run.schedule_id, run_id=run.run_id),
        Clock(SLOT + timedelta(seconds=1)),
        provider_for=lambda model: (Planner(), model),
    )
    # THEN the follow-up schedule exists and the run succeeded
    assert outcome.status == "success"
    assert stack.store.get_schedule("follow-up").name == "Follow up"


def test_a_chain_of_run_nows_stops_at_the_chain_limit(stack) -> None:
    # GIVEN a run started by a chain of three scheduler run_nows (the default SchedulerMaxChain)
    services = stack.services(SLOT)
    run = _queued_run(stack, _spec(OWN))
    stack.create_schedule(_spec("next-one"), SLOT)
    chain = ["first", "second", "third"]
    context = ToolContext(schedule_id=OWN, run_id=run.run_id, services=services, run_model="echo", chain=chain)
    box = build_tools(["scheduler"], context)

    def run_now(target: str, call_id: str) -> str:
        arguments = {"action": "run_now", "schedule_id": target}
        return box.run(ToolCall(id=call_id, name="scheduler", arguments=arguments))

    # WHEN it starts one more schedule
    # THEN the chain limit refuses it and nothing is queued; with a shorter chain the same call works
    assert run_now("next-one", "c1").startswith("error: chain limit: this run was started through 3")
    assert stack.store.list_runs("next-one")[0] == [] and stack.drain() == []
    context.chain = chain[:2]
    queued = json.loads(build_tools(["scheduler"], context).run(
        ToolCall(id="c2", name="scheduler", arguments={"action": "run_now", "schedule_id": "next-one"})
    ))
    started = stack.store.get_run("next-one", queued["queued"])
    assert started.started_by_chain == ["first", "second", OWN]


def test_the_trigger_features_through_the_tool(stack, scheduler) -> None:
    spec = {
        **FOLLOW_UP,
        "id": "weekday-weekend",
        "trigger": None,
        "triggers": [
            {"type": "cron", "expr": "0 9 * * mon-fri"},
            {"type": "cron", "expr": "0 11 * * sat,sun"},
        ],
        "exclude": [{"date": "2026-12-25", "name": "Christmas"}],
        "jitter_seconds": 120,
        "max_runs": 10,
    }
    created = scheduler(action="create", spec=spec)["created"]
    assert [t["expr"] for t in created["triggers"]] == ["0 9 * * mon-fri", "0 11 * * sat,sun"]
    assert created["exclude"] == [{"date": "2026-12-25", "name": "Christmas"}]
    assert (created["jitter_seconds"], created["max_runs"]) == (120, 10)
    daily = {"type": "daily", "hour": 7, "minute": 0}
    patched = scheduler(action="patch", schedule_id="weekday-weekend", spec={"trigger": daily})
    assert "triggers" not in patched["patched"] and patched["patched"]["trigger"]["hour"] == 7
    refused = scheduler(
        action="create",
        spec={
            **FOLLOW_UP,
            "id": "hooked",
            "notify": {"targets": [{"type": "sns", "topic_arn": "arn:aws:sns:us-east-1:123456789012:t"}]},
        },
    )
    assert refused.startswith("error: notify.targets[0].topic_arn is not among the topics")
    stored = stack.store.get_schedule("weekday-weekend")
    assert stored.jitter_seconds == 120 and stored.triggers is None


def test_a_step_on_l_through_the_tool(stack, scheduler) -> None:
    """The scheduler tool takes the dialect as the API does: ``LW/2`` is the last weekday of the month."""
    trigger = {"type": "cron", "expr": "0 9 LW/2 * *"}
    spec = {**FOLLOW_UP, "id": "month-end", "timezone": "UTC", "trigger": trigger}
    created = scheduler(action="create", spec=spec)["created"]
    assert created["trigger"]["expr"] == "0 9 LW/2 * *"
    assert created["next_fire_at"] == "2026-03-31T09:00:00Z"  # Tuesday 31 March 2026
    stepped_w = {"trigger": {"type": "cron", "expr": "0 9 15W/2 * *"}}
    refused = scheduler(action="patch", schedule_id="month-end", spec=stepped_w)
    assert refused.startswith("error:") and "a step cannot apply to '15W'" in refused
    assert stack.store.get_schedule("month-end").trigger.expr == "0 9 LW/2 * *"
