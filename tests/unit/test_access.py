"""Projects and callers, checked in the application layer: every use case, for every kind of caller.

Pure: the use cases run on a small in-memory repository written for these tests (the ports are Protocols),
so each check is seen on its own, without moto.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from agentcron.application import Services
from agentcron.application import runs as run_cases
from agentcron.application import schedules as schedule_cases
from agentcron.application import sessions as session_cases
from agentcron.config import Settings
from agentcron.domain.access import SYSTEM, Caller, parse_projects
from agentcron.exceptions import (
    Forbidden,
    InvalidInput,
    RunNotFound,
    ScheduleExists,
    ScheduleNotFound,
    SessionNotFound,
    VersionConflict,
)
from agentcron.models import Run, RunStatus, Schedule, ScheduleSpec, Session

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

ADMIN = Caller("admin")
OPS_WRITER = Caller.of("alice", ["ops"], write=True)
OPS_READER = Caller.of("bob", ["ops"], write=False)
REPORTS_WRITER = Caller.of("carol", ["reports"], write=True)


class Repository:
    """Just enough of the store's schedule and run methods for the use cases under test."""

    def __init__(self) -> None:
        self.schedules: dict[str, tuple[Schedule, int]] = {}
        self.runs: dict[tuple[str, str], Run] = {}
        self.deleted: list[str] = []

    def insert_schedule(self, schedule: Schedule) -> None:
        if schedule.id in self.schedules:
            raise ScheduleExists(schedule.id)
        self.schedules[schedule.id] = (schedule, 1)

    def get_schedule_versioned(self, schedule_id: str) -> tuple[Schedule, int] | None:
        return self.schedules.get(schedule_id)

    def get_schedule(self, schedule_id: str) -> Schedule | None:
        found = self.schedules.get(schedule_id)
        return found[0] if found else None

    def save_schedule(
        self, schedule: Schedule, *, expected_version: int, **conditions: Any
    ) -> Schedule:
        if self.schedules[schedule.id][1] != expected_version:
            raise VersionConflict("moved")
        self.schedules[schedule.id] = (schedule, expected_version + 1)
        return schedule

    def delete_schedule(self, schedule_id: str, *, expected_version: int | None = None) -> None:
        self.schedules.pop(schedule_id)
        self.deleted.append(schedule_id)

    def list_schedules(self, **kwargs: Any) -> tuple[list[Schedule], str | None]:
        return [s for s, _ in self.schedules.values()], None

    def list_project_schedules(self, projects: list[str], **kwargs: Any) -> tuple[list[Schedule], str | None]:
        return [s for s, _ in self.schedules.values() if s.project_id in projects], None

    def create_run(self, run: Run, now: datetime, *, redelivery_seconds: int) -> bool:
        self.runs[(run.schedule_id, run.run_id)] = run
        return True

    def get_run(self, schedule_id: str, run_id: str) -> Run | None:
        return self.runs.get((schedule_id, run_id))

    def list_runs(self, schedule_id: str, **kwargs: Any) -> tuple[list[Run], str | None]:
        return [r for (sid, _), r in self.runs.items() if sid == schedule_id], None

    def request_cancel(self, schedule_id: str, run_id: str, *, by: str | None = None) -> bool:
        run = self.runs[(schedule_id, run_id)]
        self.runs[(schedule_id, run_id)] = run.model_copy(
            update={"cancel_requested": True, "cancelled_by": by}
        )
        return True

    def finish_run(
        self, schedule_id: str, run_id: str, status: RunStatus, now: datetime, **kwargs: Any
    ) -> Run:
        run = self.runs[(schedule_id, run_id)].model_copy(update={"status": status, "completed_at": now})
        self.runs[(schedule_id, run_id)] = run
        return run


class Queue:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, message: Any, *, group_id: str, dedup_id: str) -> None:
        self.sent.append(message)

    def send_runs(self, schedule: Schedule, runs: list[Run]) -> None:
        self.sent.extend(runs)


class Transcripts:
    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}

    def load(self, session_id: str) -> Session | None:
        return self.sessions.get(session_id)


@pytest.fixture
def services() -> Services:
    ids = iter(f"id-{i}" for i in range(1000))
    services = Services(
        settings=Settings(),
        store=Repository(),  # type: ignore[arg-type]
        queue=Queue(),  # type: ignore[arg-type]
        sessions=Transcripts(),  # type: ignore[arg-type]
        clock=lambda: NOW,
        new_id=lambda: next(ids),
    )
    for schedule_id, project in (("ops-daily", "ops"), ("reports-daily", "reports")):
        spec = ScheduleSpec.model_validate(
            {
                "id": schedule_id,
                "name": schedule_id,
                "project_id": project,
                "trigger": {"type": "daily", "hour": 9, "minute": 0},
            }
        )
        schedule_cases.create_schedule(services, SYSTEM, spec)
    return services


def _spec(project: str | None = None, **extra: Any) -> ScheduleSpec:
    data: dict[str, Any] = {"name": "new", "trigger": {"type": "interval", "every_seconds": 600}, **extra}
    if project is not None:
        data["project_id"] = project
    return ScheduleSpec.model_validate(data)


# --------------------------------------------------------------------------- the model


def test_project_id_defaults_and_the_seed_systems_run_config_project_moves_to_the_top() -> None:
    assert _spec().project_id == "default"
    moved = ScheduleSpec.model_validate(
        {
            "name": "x",
            "trigger": {"type": "once", "at": NOW},
            "run_config": {"project_id": "ops", "model": "echo"},
        }
    )
    assert moved.project_id == "ops"
    assert "project_id" not in moved.run_config.model_dump()
    same = {
        "name": "x",
        "project_id": "ops",
        "trigger": {"type": "once", "at": NOW},
        "run_config": {"project_id": "ops"},
    }
    assert ScheduleSpec.model_validate(same).project_id == "ops"
    with pytest.raises(ValueError, match="run_config.project_id must equal project_id"):
        ScheduleSpec.model_validate({**same, "run_config": {"project_id": "reports"}})
    with pytest.raises(ValueError, match="project_id must be 1-64 characters"):
        _spec("no spaces")


@pytest.mark.parametrize(
    ("claim", "projects"),
    [
        ('["ops", "reports"]', ["ops", "reports"]),
        ("ops reports", ["ops", "reports"]),
        ("[ops reports]", ["ops", "reports"]),  # API Gateway's rendering of a list claim
        (["ops"], ["ops"]),
        ("*", ["*"]),
        ("ops ../etc", ["ops"]),  # not a project id: dropped
        (None, []),
    ],
)
def test_project_grants_are_read_from_every_claim_form(claim: Any, projects: list[str]) -> None:
    assert parse_projects(claim) == projects


def test_a_star_grant_is_every_project_and_the_actor_is_the_run_for_agents() -> None:
    assert Caller.of("x", ["ops", "*"], write=False).is_admin
    assert not OPS_WRITER.sees("reports") and OPS_WRITER.sees("ops")
    assert Caller("run:r1", frozenset({"ops"}), run_id="r1").actor == "r1"
    assert OPS_WRITER.actor == "alice"


# --------------------------------------------------------------------------- schedules


def test_create_needs_write_and_a_granted_project_and_records_who(services: Services) -> None:
    created = schedule_cases.create_schedule(services, OPS_WRITER, _spec("ops")).schedule
    assert (created.project_id, created.created_by, created.updated_by) == ("ops", "alice", "alice")
    with pytest.raises(Forbidden, match="not granted"):
        schedule_cases.create_schedule(services, OPS_WRITER, _spec("reports"))
    with pytest.raises(Forbidden, match="not granted"):
        schedule_cases.create_schedule(services, OPS_WRITER, _spec())  # "default" is a project like any other
    with pytest.raises(Forbidden, match="read but not change"):
        schedule_cases.create_schedule(services, OPS_READER, _spec("ops"))


def test_a_body_cannot_claim_who_created_it(services: Services) -> None:
    spec = _spec("ops", created_by="someone-else", updated_by="someone-else")
    created = schedule_cases.create_schedule(services, OPS_WRITER, spec).schedule
    assert (created.created_by, created.updated_by) == ("alice", "alice")
    edited, _ = schedule_cases.edit_schedule(services, ADMIN, created.id, {"name": "n", "created_by": "x"})
    assert (edited.created_by, edited.updated_by) == ("alice", "admin")


def test_outside_the_callers_projects_a_schedule_does_not_exist(services: Services) -> None:
    for use_case in (
        lambda: schedule_cases.get_schedule(services, OPS_WRITER, "reports-daily"),
        lambda: schedule_cases.edit_schedule(services, OPS_WRITER, "reports-daily", {"name": "x"}),
        lambda: schedule_cases.pause_schedule(services, OPS_WRITER, "reports-daily"),
        lambda: schedule_cases.resume_schedule(services, OPS_WRITER, "reports-daily"),
        lambda: schedule_cases.delete_schedule(services, OPS_WRITER, "reports-daily"),
        lambda: schedule_cases.upcoming(services, OPS_WRITER, "reports-daily", 3),
        lambda: run_cases.run_now(services, OPS_WRITER, "reports-daily", request_id=None),
        lambda: run_cases.backfill(services, OPS_WRITER, "reports-daily", NOW.replace(day=1, hour=0), NOW),
        lambda: run_cases.list_runs(services, OPS_WRITER, "reports-daily"),
        # a read-only caller too: not found comes before forbidden, so nothing is revealed
        lambda: schedule_cases.edit_schedule(services, OPS_READER, "reports-daily", {"name": "x"}),
    ):
        with pytest.raises(ScheduleNotFound) as caught:
            use_case()
        assert str(caught.value) == str(ScheduleNotFound("reports-daily"))  # same as a missing one
    assert schedule_cases.get_schedule(services, REPORTS_WRITER, "reports-daily")[0].name == "reports-daily"
    assert services.store.deleted == []


def test_a_read_only_caller_reads_but_every_change_is_forbidden(services: Services) -> None:
    assert schedule_cases.get_schedule(services, OPS_READER, "ops-daily")[0].id == "ops-daily"
    assert run_cases.list_runs(services, OPS_READER, "ops-daily")[0] == []
    for change in (
        lambda: schedule_cases.edit_schedule(services, OPS_READER, "ops-daily", {"name": "x"}),
        lambda: schedule_cases.pause_schedule(services, OPS_READER, "ops-daily", "lunch"),
        lambda: schedule_cases.resume_schedule(services, OPS_READER, "ops-daily"),
        lambda: schedule_cases.delete_schedule(services, OPS_READER, "ops-daily"),
        lambda: run_cases.run_now(services, OPS_READER, "ops-daily", request_id=None),
        lambda: run_cases.backfill(services, OPS_READER, "ops-daily", NOW.replace(hour=0), NOW),
    ):
        with pytest.raises(Forbidden):
            change()
    assert services.store.get_schedule("ops-daily").name == "ops-daily"
    assert services.queue.sent == []


def test_lists_hold_only_the_callers_projects(services: Services) -> None:
    def ids(caller: Caller, **kwargs: Any) -> list[str]:
        return sorted(s.id for s in schedule_cases.list_schedules(services, caller, **kwargs)[0])

    assert ids(ADMIN) == ["ops-daily", "reports-daily"]
    assert ids(OPS_READER) == ["ops-daily"]
    assert ids(ADMIN, project_id="reports") == ["reports-daily"]
    assert ids(OPS_READER, project_id="reports") == []  # not yours: as empty as a project without schedules
    assert ids(Caller.of("nobody", [], write=True)) == []


def test_a_schedule_never_changes_project(services: Services) -> None:
    with pytest.raises(InvalidInput, match="project_id cannot change") as caught:
        schedule_cases.edit_schedule(services, ADMIN, "ops-daily", {"project_id": "reports"})
    assert caught.value.field == "project_id"
    with pytest.raises(ValueError, match="run_config.project_id must equal project_id"):  # a 400 as well
        schedule_cases.edit_schedule(services, ADMIN, "ops-daily", {"run_config": {"project_id": "reports"}})
    same, _ = schedule_cases.edit_schedule(
        services, OPS_WRITER, "ops-daily", {"project_id": "ops", "name": "n"}
    )
    assert (same.project_id, same.name, same.updated_by) == ("ops", "n", "alice")


def test_an_idempotent_replay_never_returns_another_projects_schedule(services: Services) -> None:
    with pytest.raises(ScheduleExists):
        schedule_cases.create_schedule(services, OPS_WRITER, _spec("ops"), derived_id="reports-daily")


# --------------------------------------------------------------------------- runs and sessions


def test_runs_inherit_the_project_and_record_who_asked(services: Services) -> None:
    run = run_cases.run_now(services, OPS_WRITER, "ops-daily", request_id="k1")
    assert (run.project_id, run.created_by) == ("ops", "alice")
    assert run_cases.get_run(services, OPS_READER, "ops-daily", run.run_id) == run
    with pytest.raises(RunNotFound):
        run_cases.get_run(services, REPORTS_WRITER, "ops-daily", run.run_id)
    with pytest.raises(RunNotFound):
        run_cases.cancel_run(services, REPORTS_WRITER, "ops-daily", run.run_id)
    with pytest.raises(Forbidden):
        run_cases.cancel_run(services, OPS_READER, "ops-daily", run.run_id)
    cancelled, at_once = run_cases.cancel_run(services, OPS_WRITER, "ops-daily", run.run_id)
    assert at_once and cancelled.status == RunStatus.cancelled
    assert services.store.get_run("ops-daily", run.run_id).cancelled_by == "alice"


def _session(session_id: str, **metadata: str) -> Session:
    return Session(id=session_id, metadata=metadata, created_at=NOW, updated_at=NOW)


def test_a_transcript_is_served_only_to_callers_who_see_its_project(services: Services) -> None:
    services.sessions.sessions["s-ops"] = _session(
        "s-ops", project_id="ops", created_by_schedule_id="ops-daily"
    )
    assert session_cases.get_session(services, OPS_READER, "s-ops").id == "s-ops"
    assert session_cases.get_session(services, ADMIN, "s-ops").id == "s-ops"
    with pytest.raises(SessionNotFound):
        session_cases.get_session(services, REPORTS_WRITER, "s-ops")
    # written before projects: its schedule's project; schedule gone too: administrators only
    services.sessions.sessions["s-old"] = _session("s-old", created_by_schedule_id="reports-daily")
    assert session_cases.get_session(services, REPORTS_WRITER, "s-old").id == "s-old"
    with pytest.raises(SessionNotFound):
        session_cases.get_session(services, OPS_WRITER, "s-old")
    services.sessions.sessions["s-orphan"] = _session("s-orphan", created_by_schedule_id="gone")
    with pytest.raises(SessionNotFound):
        session_cases.get_session(services, OPS_WRITER, "s-orphan")
    assert session_cases.get_session(services, ADMIN, "s-orphan").id == "s-orphan"
