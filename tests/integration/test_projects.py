"""Projects on the moto stack: the project index and its cursors, schedules stored before projects, runs and
sessions inheriting the project, and session ids nobody can derive."""

from __future__ import annotations

import json
import uuid
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from agentcron.application import execute
from agentcron.application import schedules as schedule_cases
from agentcron.application.claim import sweep
from agentcron.domain.access import SYSTEM, Caller
from agentcron.exceptions import InvalidInput
from agentcron.models import RunMessage, ScheduleSpec
from test_execute import SLOT, Clock, _queued_run, _spec

NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)


def _create(stack, schedule_id: str, project: str, *, enabled: bool = True) -> None:
    spec = {
        "id": schedule_id,
        "name": schedule_id,
        "project_id": project,
        "enabled": enabled,
        "trigger": {"type": "interval", "every_seconds": 600},
    }
    stack.create_schedule(ScheduleSpec.model_validate(spec), NOW)


def _pages(services, caller: Caller, limit: int, **kwargs) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        found, cursor = schedule_cases.list_schedules(services, caller, limit=limit, cursor=cursor, **kwargs)
        pages.append([s.id for s in found])
        if cursor is None:
            return pages


def test_a_callers_listing_reads_the_project_index_page_by_page_across_its_projects(stack) -> None:
    for schedule_id, project in [
        ("a1", "alpha"),
        ("a2", "alpha"),
        ("a3", "alpha"),
        ("b1", "beta"),
        ("c1", "gamma"),
    ]:
        _create(stack, schedule_id, project, enabled=schedule_id != "a2")
    services = stack.services(NOW)
    caller = Caller.of("u", ["alpha", "beta"], write=False)
    assert _pages(services, caller, 2) == [["a1", "a2"], ["a3", "b1"], []]
    assert _pages(services, caller, 10) == [["a1", "a2", "a3", "b1"]]
    assert _pages(services, caller, 1, enabled=True) == [["a1"], ["a3"], ["b1"], []]
    assert _pages(services, caller, 2, project_id="beta") == [["b1"]]
    assert _pages(services, caller, 2, project_id="gamma") == [[]]  # not granted: empty
    assert sorted(i for page in _pages(services, SYSTEM, 2) for i in page) == ["a1", "a2", "a3", "b1", "c1"]


def test_a_cursor_cannot_open_a_project_the_caller_lacks(stack) -> None:
    _create(stack, "a1", "alpha")
    _create(stack, "g1", "gamma")
    _create(stack, "g2", "gamma")
    services = stack.services(NOW)
    # GIVEN a cursor pointing into gamma (taken from someone who may list gamma)
    _, cursor = schedule_cases.list_schedules(services, Caller.of("g", ["gamma"], write=False), limit=1)
    assert cursor is not None
    # WHEN a caller of alpha (and zeta, sorted after gamma) pages on with it
    page, _ = schedule_cases.list_schedules(
        services, Caller.of("a", ["alpha", "zeta"], write=False), cursor=cursor
    )
    # THEN it resumes at the next project of its own, and sees nothing of gamma
    assert page == []
    # and a whole-table cursor is refused on the project index (and the other way round)
    _, table_cursor = schedule_cases.list_schedules(services, SYSTEM, limit=1)
    with pytest.raises(InvalidInput, match="cursor is not valid"):
        schedule_cases.list_schedules(services, Caller.of("a", ["alpha"], write=False), cursor=table_cursor)
    with pytest.raises(InvalidInput, match="cursor is not valid"):
        schedule_cases.list_schedules(services, SYSTEM, cursor=cursor)


def test_a_schedule_stored_before_projects_loads_in_its_project_and_joins_the_index_at_its_next_write(
    stack,
) -> None:
    # GIVEN items written before projects: no project_id attribute; one spec names run_config.project_id
    for schedule_id, config in (("old-ops", {"project_id": "ops", "model": "echo"}), ("old-default", {})):
        spec = {
            "id": schedule_id,
            "name": schedule_id,
            "trigger": {"type": "interval", "every_seconds": 60},
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "run_config": config,
        }
        stack.dynamodb.put_item(
            TableName=stack.settings.schedules_table,
            Item={
                "schedule_id": {"S": schedule_id},
                "version": {"N": "1"},
                "spec": {"S": json.dumps(spec)},
                "enabled": {"BOOL": True},
                "next_fire_at": {"N": str(int((NOW - timedelta(seconds=1)).timestamp() * 1000))},
                "due_shard": {"N": str(zlib.crc32(schedule_id.encode()) % stack.settings.due_shards)},
            },
        )
    services = stack.services(NOW)
    # THEN they load in their projects (the seed system's run_config.project_id moved to the top)
    assert stack.store.get_schedule("old-ops").project_id == "ops"
    assert stack.store.get_schedule("old-default").project_id == "default"
    ops = Caller.of("u", ["ops"], write=True)
    assert schedule_cases.get_schedule(services, ops, "old-ops")[0].id == "old-ops"
    assert schedule_cases.list_schedules(services, ops)[0] == []  # not in the project index yet
    # WHEN their next fire is claimed
    sweep(services, NOW)
    # THEN they are in the index, and their runs carry the project
    assert [s.id for s in schedule_cases.list_schedules(services, ops)[0]] == ["old-ops"]
    runs = stack.store.list_runs("old-ops")[0]  # the queued one and the missed slots' records
    assert runs and {run.project_id for run in runs} == {"ops"}


def test_a_runs_session_has_a_random_id_and_the_project(stack) -> None:
    # GIVEN a run of a schedule in ops
    spec = _spec().model_copy(update={"project_id": "ops"})
    run = _queued_run(stack, spec)
    issued: list[str] = []

    def new_id() -> str:
        issued.append(str(uuid.uuid4()))
        return issued[-1]

    # WHEN it executes
    services = stack.services(Clock(SLOT + timedelta(seconds=1)), new_id=new_id)
    outcome = execute.handle(
        services, RunMessage(schedule_id=run.schedule_id, run_id=run.run_id), message_id="m1"
    )
    assert outcome.status == "success"
    # THEN its session id is the injected generator's (random: uuid4, 122 random bits), not one derived from
    # the run id, and the transcript carries the project
    stored = stack.store.get_run(run.schedule_id, run.run_id)
    assert stored.session_id in issued and uuid.UUID(stored.session_id).version == 4
    assert stored.session_id != str(
        uuid.uuid5(uuid.NAMESPACE_URL, f"agentcron:session:{run.schedule_id}/{run.run_id}")
    )
    assert stack.sessions.load(stored.session_id).metadata["project_id"] == "ops"


def test_a_retry_after_a_crash_between_bind_and_save_reuses_the_bound_session_id(stack) -> None:
    run = _queued_run(stack, _spec())
    stack.store.bind_session(run.schedule_id, run.run_id, "bound-before-the-crash")
    services = stack.services(Clock(SLOT + timedelta(seconds=1)), new_id=lambda: "offered-to-the-start")
    outcome = execute.handle(
        services, RunMessage(schedule_id=run.schedule_id, run_id=run.run_id), message_id="m1"
    )
    assert outcome.status == "success"
    assert stack.store.get_run(run.schedule_id, run.run_id).session_id == "bound-before-the-crash"
    assert stack.sessions.load("bound-before-the-crash") is not None
