"""Import the original system's store file: its schedules with their state and run history.

What an entry becomes is the domain's (:mod:`agentcron.domain.original`, through
:func:`agentcron.domain.schedule.imported`); this use case checks every entry as a create would (the caller's
projects, the model and tools a run may name, the deployment's notify grants), decides for each whether it is
created, updated or unchanged, and writes only when the whole file is valid and ``dry_run`` is off.

- A new id is created with the file's state (counters and last-* instants) and its run records.
- An id that exists (in the same project) is **unchanged** when its spec equals the file's (the server's
  stamps aside) and it holds every run record of the file; otherwise it is **updated**: the file's spec
  replaces the stored one (``next_fire_at`` recomputed from now when its timing or ``enabled`` changed, kept
  otherwise), the run records it lacks are added, and its counters are left alone (from the first import on,
  this system counts). A second identical import therefore writes nothing.
- Any problem in any entry (an invalid field, a model no provider serves, an id taken in another project)
  refuses the whole file (:class:`ImportRefused`, naming each entry and field) before anything is written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentcron.application import jobs
from agentcron.application.access import check_creatable
from agentcron.application.claim import wake_for
from agentcron.application.schedules import check_deployment, check_fires_computable, check_run_config
from agentcron.domain import planner
from agentcron.domain.access import Caller
from agentcron.domain.original import ImportedSchedule, Problem, read_store
from agentcron.exceptions import Forbidden, InvalidInput, StateMoved, VersionConflict
from agentcron.models import Schedule

if TYPE_CHECKING:
    from agentcron.application.services import Services

log = logging.getLogger(__name__)

STAMPS = frozenset({"created_by", "updated_by", "updated_at"})  # the server's: not part of the comparison
SAVE_ATTEMPTS = 5


class ImportRefused(InvalidInput):
    """The file has invalid entries; nothing was imported. ``problems``: ``{field, message, type}`` each."""

    def __init__(self, problems: list[dict[str, str]]) -> None:
        count = len({p["field"].split(".")[1] if "." in p["field"] else p["field"] for p in problems})
        first = problems[0]
        super().__init__(
            f"the store file has {count} invalid entr{'y' if count == 1 else 'ies'}; nothing was imported "
            f"(first: {first['message']})",
            field=first["field"],
        )
        self.problems = problems


@dataclass
class ImportReport:
    """What an import did (or, with ``dry_run``, would do), by schedule id."""

    dry_run: bool
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    workflow_disabled: list[str] = field(default_factory=list)  # used workflow_target: imported disabled
    runs_imported: int = 0
    orphan_runs: int = 0  # run records of no schedule in the file: not imported


@dataclass
class _Decision:
    entry: ImportedSchedule
    action: str  # created | updated | unchanged
    current: tuple[Schedule, int] | None
    missing_runs: list[Any]


def import_store(services: Services, caller: Caller, data: Any, *, dry_run: bool = False) -> ImportReport:
    """Import the store file ``data`` (its parsed JSON) as ``caller``; ``dry_run`` writes nothing.

    ``Forbidden`` for a read-only caller or an entry in a project not granted to it (as a create);
    ``ImportRefused`` when any entry is invalid.
    """
    if not caller.can_write:
        raise Forbidden("this caller may read but not change (it lacks the agentcron/write scope)")
    from agentcron.agent.registry import BUILTIN_PROVIDERS

    now = services.clock()
    provider = services.settings.default_model_provider.strip() or None
    found = read_store(data, now, model_provider=provider, providers=BUILTIN_PROVIDERS)
    problems = [p.as_dict() for p in found.problems]
    decisions: list[_Decision] = []
    for entry in found.schedules:
        schedule = entry.schedule
        check_creatable(caller, schedule.project_id)
        try:
            decisions.append(_decide(services, caller, entry))
        except InvalidInput as exc:
            where = f"schedules.{schedule.id}"
            field_name = f"{where}.{exc.field}" if exc.field else where
            problems.append(Problem(where, field_name, f"{where}: {exc}").as_dict())
    if problems:
        raise ImportRefused(problems)
    report = ImportReport(dry_run=dry_run, orphan_runs=found.orphan_runs)
    for decision in decisions:
        schedule_id = decision.entry.schedule.id
        getattr(report, decision.action).append(schedule_id)
        if decision.entry.workflow:
            report.workflow_disabled.append(schedule_id)
        report.runs_imported += len(decision.missing_runs)
        if not dry_run and decision.action != "unchanged":
            _write(services, caller, decision)
    if not dry_run:
        log.info(
            "import by %s: %d created, %d updated, %d unchanged, %d run records",
            caller.actor,
            len(report.created),
            len(report.updated),
            len(report.unchanged),
            report.runs_imported,
        )
    return report


def _decide(services: Services, caller: Caller, entry: ImportedSchedule) -> _Decision:
    """Created, updated or unchanged, and the run records to add; ``InvalidInput`` naming the field."""
    schedule = entry.schedule
    check_run_config(schedule)
    check_deployment(services, schedule)
    if schedule.state.next_fire_at is not None:
        check_fires_computable(schedule, schedule.state.next_fire_at)
    current = services.store.get_schedule_versioned(schedule.id)
    if current is None:
        if jobs.purge_pending(services, schedule.id):
            raise InvalidInput("id is still being deleted here; import again shortly", field="id")
        return _Decision(entry, "created", None, list(entry.runs))
    stored = current[0]
    if not caller.sees(stored.project_id):
        raise InvalidInput("id is taken by a schedule here", field="id")  # as a create's 409 says
    if stored.project_id != schedule.project_id:
        raise InvalidInput(
            f"project_id cannot change (the schedule here is in {stored.project_id!r})", field="project_id"
        )
    held = services.store.run_ids(schedule.id)
    missing = [run for run in entry.runs if run.run_id not in held]
    same = stored.spec.model_dump(exclude=STAMPS) == schedule.spec.model_dump(exclude=STAMPS)
    return _Decision(entry, "unchanged" if same and not missing else "updated", current, missing)


def _write(services: Services, caller: Caller, decision: _Decision) -> None:
    now = services.clock()
    schedule = decision.entry.schedule
    if decision.current is None:
        stamped = schedule.model_copy(update={"created_by": caller.actor, "updated_by": caller.actor})
        services.store.insert_schedule(stamped)
        saved = stamped
    else:
        saved = _update(services, caller, schedule)
    if decision.missing_runs:
        services.store.put_history(decision.missing_runs, now)
    wake_for(services, saved)


def _update(services: Services, caller: Caller, schedule: Schedule) -> Schedule:
    """The file's spec over the stored schedule; its counters kept, ``next_fire_at`` as the module says."""
    for _ in range(SAVE_ATTEMPTS):
        found = services.store.get_schedule_versioned(schedule.id)
        if found is None:  # deleted meanwhile: created again, as the file says
            services.store.insert_schedule(schedule)
            return schedule
        old, version = found
        if old.spec.model_dump(exclude=STAMPS) == schedule.spec.model_dump(exclude=STAMPS):
            return old
        moved = old.enabled != schedule.enabled or planner.timing_changed(old, schedule)
        nxt = schedule.state.next_fire_at if moved else old.state.next_fire_at
        new = schedule.model_copy(
            update={
                "created_by": old.created_by,
                "updated_by": caller.actor,
                "updated_at": services.clock(),
                "state": old.state.model_copy(update={"next_fire_at": nxt if schedule.enabled else None}),
            }
        )
        try:
            return services.store.save_schedule(
                new, expected_version=version, planned_from=old.state.next_fire_at
            )
        except (StateMoved, VersionConflict):
            continue
    raise VersionConflict(f"Schedule {schedule.id} kept changing during the import; import again")
