"""The scheduler tool under attack: a scripted OpenAI-compatible model (a local Chat Completions server) makes
a real run try every escape the tool must refuse, through the real executor, provider and tool box.

What a hostile model (or a page that injected its instructions) attempts: reach another project's schedule
(list, patch, run_now, delete, list_runs), create outside its project, grant tools, a model or limits the run
lacks, grant ``scheduler`` itself, schedule a tight loop, create without bound, and make two schedules start
each other. Each refusal comes back to the model as ``error: ...``; the store shows nothing escaped.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from typing import Any

import pytest
from agentcron.agent import Providers
from agentcron.application import execute
from agentcron.domain.access import SYSTEM
from agentcron.models import Run, RunMessage, RunStatus, ScheduleSpec, slot_run_id
from test_execute import SLOT, Clock
from test_provider_openai import ChatServer

RUN_LIMITS = {"max_rounds": 40, "max_total_tokens": 1_000_000, "max_duration_seconds": 600}
DAILY = {"type": "daily", "hour": 18, "minute": 0}


def _schedule(stack, schedule_id: str, project: str, **run_config: Any) -> None:
    spec = {
        "id": schedule_id,
        "name": schedule_id,
        "project_id": project,
        "trigger": DAILY,
        "run_config": {"task_message": "work", "auto_execute": True, **run_config},
    }
    stack.create_schedule(ScheduleSpec.model_validate(spec), SLOT - timedelta(days=1))


def _tool_call(call_id: str, **arguments: Any) -> tuple[int, dict[str, Any]]:
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": "scheduler", "arguments": json.dumps(arguments)},
            }
        ],
    }
    return 200, {
        "id": f"resp-{call_id}",
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1},
    }


def _answer(text: str) -> tuple[int, dict[str, Any]]:
    return 200, {
        "id": "resp-final",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1},
    }


def _spec(**changes: Any) -> dict[str, Any]:
    spec = {
        "name": "spawned",
        "trigger": DAILY,
        "run_config": {"task_message": "t", "tools": ["current_time"]},
    }
    for key, value in changes.items():
        if key == "run_config":
            spec["run_config"] = {**spec["run_config"], **value}
        else:
            spec[key] = value
    return spec


# Each attempt: (tool call id, arguments, what the tool must answer: a prefix of its text)
ATTEMPTS: list[tuple[str, dict[str, Any], str]] = [
    # another project's schedule is invisible: exactly "not found", as for one that does not exist
    (
        "x-patch",
        {
            "action": "patch",
            "schedule_id": "victim",
            "spec": {"trigger": {"type": "interval", "every_seconds": 1}},
        },
        "error: Schedule not found: victim",
    ),
    ("x-run", {"action": "run_now", "schedule_id": "victim"}, "error: Schedule not found: victim"),
    ("x-delete", {"action": "delete", "schedule_id": "victim"}, "error: Schedule not found: victim"),
    ("x-runs", {"action": "list_runs", "schedule_id": "victim"}, "error: Schedule not found: victim"),
    ("x-ghost", {"action": "delete", "schedule_id": "ghost"}, "error: Schedule not found: ghost"),
    # no escalation on create
    (
        "x-grant-scheduler",
        {"action": "create", "spec": _spec(id="s1", run_config={"tools": ["scheduler"]})},
        "error: run_config.tools: the scheduler tool cannot grant the scheduler tool",
    ),
    (
        "x-grant-tool",
        {"action": "create", "spec": _spec(id="s2", run_config={"tools": ["http_fetch"]})},
        "error: run_config.tools: this run cannot grant http_fetch",
    ),
    (
        "x-default-tools",
        {"action": "create", "spec": _spec(id="s3", run_config={"tools": None})},
        "error: run_config.tools: this run cannot grant http_fetch",
    ),
    (
        "x-model",
        {"action": "create", "spec": _spec(id="s4", run_config={"model": "bedrock:anthropic.claude-opus"})},
        "error: run_config.model: this run cannot give a schedule a model other than its own",
    ),
    (
        "x-limits",
        {"action": "create", "spec": _spec(id="s5", run_config={"limits": {"max_rounds": 1000}})},
        "error: run_config.limits.max_rounds must be at most 40",
    ),
    (
        "x-interval",
        {"action": "create", "spec": _spec(id="s6", trigger={"type": "interval", "every_seconds": 1})},
        "error: trigger: an agent may not schedule runs more often than every 300 s",
    ),
    (
        "x-cron",
        {"action": "create", "spec": _spec(id="s7", trigger={"type": "cron", "expr": "*/10 * * * * *"})},
        "error: trigger: an agent may not schedule runs more often than every 300 s",
    ),
    (
        "x-cron-minutes",
        {"action": "create", "spec": _spec(id="s8", trigger={"type": "cron", "expr": "*/2 * * * *"})},
        "error: trigger: an agent may not schedule runs more often than every 300 s",
    ),
    # no escalation on patch of a schedule of its own project
    (
        "x-patch-tools",
        {
            "action": "patch",
            "schedule_id": "peer",
            "spec": {"run_config": {"tools": ["scheduler", "current_time", "http_fetch"]}},
        },
        "error: run_config.tools: this run cannot grant http_fetch",
    ),
    (
        "x-patch-loop",
        {
            "action": "patch",
            "schedule_id": "peer",
            "spec": {"trigger": {"type": "interval", "every_seconds": 60}},
        },
        "error: trigger: an agent may not schedule runs more often than every 300 s",
    ),
    (
        "x-patch-limits",
        {
            "action": "patch",
            "schedule_id": "peer",
            "spec": {"run_config": {"limits": {"max_total_tokens": 10_000_000}}},
        },
        "error: run_config.limits.max_total_tokens must be at most 1000000",
    ),
    (
        "x-move",
        {"action": "patch", "schedule_id": "peer", "spec": {"project_id": "reports"}},
        "error: project_id cannot change",
    ),
    # its own schedule stays protected
    ("x-self-run", {"action": "run_now", "schedule_id": "own"}, "error: a run cannot start its own schedule"),
    (
        "x-self-delete",
        {"action": "delete", "schedule_id": "own"},
        "error: a run cannot delete its own schedule",
    ),
    # what it may do lands in its project, recorded with the run id; creations are capped per run
    ("ok-create-1", {"action": "create", "spec": _spec(id="c1", project_id="reports")}, '{"created"'),
    (
        "ok-create-2",
        {"action": "create", "spec": _spec(id="c2", run_config={"project_id": "reports"})},
        '{"created"',
    ),
    ("x-cap", {"action": "create", "spec": _spec(id="c3")}, "error: a run may create at most 2 schedules"),
    (
        "ok-patch",
        {"action": "patch", "schedule_id": "peer", "spec": {"name": "renamed by an agent"}},
        '{"patched"',
    ),
    ("ok-run", {"action": "run_now", "schedule_id": "peer", "task_message": "go"}, '{"queued"'),
    ("ok-list", {"action": "list"}, '{"schedules"'),
]


@pytest.fixture
def attack(stack):
    # GIVEN a run in project ops whose model (the fake server) is hostile, a peer schedule in ops and a
    # victim in reports
    with ChatServer() as server:
        settings = dataclasses.replace(
            stack.settings, openai_base_url=server.base_url, scheduler_max_creates_per_run=2
        )
        stack.settings = settings
        tools = ["scheduler", "current_time"]
        _schedule(stack, "own", "ops", model="openai:fake", tools=tools, limits=RUN_LIMITS)
        _schedule(stack, "peer", "ops", model="openai:fake", tools=tools, limits=RUN_LIMITS)
        _schedule(stack, "victim", "reports", model="openai:fake", tools=["current_time", "http_fetch"])
        yield stack, server, settings


def _run(stack, schedule_id: str, run: Run | None = None) -> Run:
    run = run or Run(
        run_id=slot_run_id(schedule_id, SLOT),
        schedule_id=schedule_id,
        project_id="ops",
        scheduled_for=SLOT,
        claimed_at=SLOT,
    )
    stack.store.create_run(run, SLOT, redelivery_seconds=60)
    return run


def _execute(stack, settings, run: Run) -> Any:
    services = stack.services(Clock(SLOT + timedelta(seconds=1)), settings=settings)
    return execute.handle(
        services,
        RunMessage(schedule_id=run.schedule_id, run_id=run.run_id),
        message_id=f"m-{run.run_id}",
        provider_for=Providers(settings).resolve,
    )


def _tool_results(stack, run: Run) -> dict[str, str]:
    stored = stack.store.get_run(run.schedule_id, run.run_id)
    session = stack.sessions.load(stored.session_id)
    return {m.tool_call_id: m.content for m in session.messages if m.role == "tool"}


def test_a_hostile_model_escapes_nothing(attack) -> None:
    stack, server, settings = attack
    before = stack.store.get_schedule("victim")
    server.script = [_tool_call(call_id, **arguments) for call_id, arguments, _ in ATTEMPTS] + [
        _answer("done")
    ]
    run = _run(stack, "own")

    # WHEN the run executes, the model making one attempt per round
    outcome = _execute(stack, settings, run)

    # THEN each attempt got the refusal (or the confined result) it must, and the run itself succeeded
    assert outcome.status == "success", outcome
    results = _tool_results(stack, run)
    for call_id, _, expected in ATTEMPTS:
        assert results[call_id].startswith(expected), (call_id, results[call_id])
    listed = {s["id"] for s in json.loads(results["ok-list"])["schedules"]}
    assert listed == {"own", "peer", "c1", "c2"}  # its project only: no victim
    # the victim is untouched and has no run
    assert stack.store.get_schedule("victim") == before
    assert stack.store.list_runs("victim")[0] == []
    # what it created landed in ops whatever the spec said, with no more than it had, naming the run
    for created_id in ("c1", "c2"):
        created = stack.store.get_schedule(created_id)
        assert (created.project_id, created.created_by, created.updated_by) == ("ops", run.run_id, run.run_id)
        assert created.run_config.tools == ["current_time"]
        assert created.run_config.limits.model_dump() == RUN_LIMITS  # none given: the run's own
    for refused in ("s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "c3"):
        assert stack.store.get_schedule(refused) is None
    peer = stack.store.get_schedule("peer")
    assert (peer.name, peer.updated_by, peer.project_id) == ("renamed by an agent", run.run_id, "ops")
    assert peer.trigger.type == "daily" and peer.run_config.tools == ["scheduler", "current_time"]
    # the run it started remembers who started it (the chain) and who asked
    (started,) = stack.store.list_runs("peer")[0]
    assert (started.started_by_chain, started.created_by, started.project_id) == (["own"], run.run_id, "ops")


def test_two_schedules_cannot_start_each_other(attack) -> None:
    stack, server, settings = attack
    # GIVEN own's run started peer's run with run_now
    server.script = [_tool_call("start-peer", action="run_now", schedule_id="peer"), _answer("started peer")]
    first = _run(stack, "own")
    assert _execute(stack, settings, first).status == "success"
    (peer_run,) = stack.store.list_runs("peer")[0]
    assert peer_run.started_by_chain == ["own"]
    stack.drain()

    # WHEN peer's run (the model told to) starts own in turn
    server.script = [_tool_call("start-own", action="run_now", schedule_id="own"), _answer("tried")]
    assert _execute(stack, settings, peer_run).status == "success"

    # THEN the chain limit refuses it: own has its first run only, nothing was queued
    result = _tool_results(stack, peer_run)["start-own"]
    assert result.startswith("error: chain limit: own started the run that led to this one (own -> peer)")
    assert [r.run_id for r in stack.store.list_runs("own")[0]] == [first.run_id]
    assert stack.drain() == []
    assert stack.store.get_run(peer_run.schedule_id, peer_run.run_id).status == RunStatus.success


def test_the_project_cap_holds_whatever_the_run(attack) -> None:
    stack, server, settings = attack
    # GIVEN a project that holds as many schedules as the tool may grow it to (own, peer)
    settings = dataclasses.replace(settings, scheduler_max_project_schedules=2)
    server.script = [_tool_call("grow", action="create", spec=_spec(id="more")), _answer("tried")]
    run = _run(stack, "own")
    # WHEN the run creates one more
    assert _execute(stack, settings, run).status == "success"
    # THEN it is refused, while an administrator could still add one (the cap is the tool's)
    assert _tool_results(stack, run)["grow"].startswith("error: project 'ops' holds 2 schedules already")
    assert stack.store.get_schedule("more") is None
    stack.create_schedule(ScheduleSpec.model_validate({**_spec(id="more"), "project_id": "ops"}), SLOT)
    assert stack.store.get_schedule("more").created_by == SYSTEM.actor
