"""Schedule use cases: create, read, list, edit (with pause and resume), delete, preview, upcoming, and the
auto-pause that follows too many consecutive failures.

The rules of WHEN a schedule fires live in the domain (:mod:`agentcron.planner`: the first fire, what an edit
does to ``next_fire_at``); this module applies them and persists through the schedule repository, whose
writes are conditional on the version read. The version (the ETag) moves only when a person, a tool or the
auto-pause changes the schedule, never when a slot is claimed: an edit that raced a claim is re-read and
applied again whatever ``expected_version`` says (the one retry loop of edits), and one without
``expected_version`` also re-applies over a concurrent edit.

A create or an edit whose next fire is due before the next once-a-minute claim invocation is sure to be
awake wakes the claim at once (:func:`agentcron.application.claim.wake_for`), so its slot is claimed on time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from agentcron.application.access import check_creatable, check_visible, check_writable
from agentcron.application.patch import merge_patch
from agentcron.application import jobs
from agentcron.domain import planner
from agentcron.domain.access import SYSTEM, Caller
from agentcron.domain.jobs import Job
from agentcron.domain.notify import deployment_problem
from agentcron.domain.timing import Excluded
from agentcron.exceptions import (
    InvalidInput,
    ScheduleBeingDeleted,
    ScheduleExists,
    ScheduleNotFound,
    StateMoved,
    VersionConflict,
)
from agentcron.models import SCHEDULE_ID_PATTERN, Schedule, ScheduleSpec, ScheduleState

from agentcron import lazy

if TYPE_CHECKING:
    from agentcron.application.services import Services

log = logging.getLogger(__name__)
claim = lazy.module("agentcron.application.claim")  # loaded by the first write that may wake the claim

MAX_LISTED_FIRES = 100  # the most fire times a preview or an upcoming listing returns
EDIT_ATTEMPTS = 5  # re-reads of an edit that raced claims (or, without expected_version, other edits)


@dataclass(frozen=True)
class CreateResult:
    """A created schedule, its version, and whether an earlier try made it."""

    schedule: Schedule
    version: int
    replayed: bool = False  # the id existed already: an earlier try of the same request created it


def _never_fires(spec: ScheduleSpec, now: datetime) -> InvalidInput:
    field, message = planner.never_fires_reason(spec, now)
    return InvalidInput(message, field=field)


def check_run_config(spec: ScheduleSpec) -> None:
    """``InvalidInput`` naming ``run_config.model`` or ``run_config.tools`` when they name no built-in provider
    or tool (the list of known ones in the message): refused when saved, not when the first run fails."""
    from agentcron.agent.registry import model_problem
    from agentcron.agent.tools import TOOL_NAMES, unknown_tools

    config = spec.run_config
    if config.model is not None:
        problem = model_problem(config.model)
        if problem:
            raise InvalidInput(problem, field="run_config.model")
    unknown = unknown_tools([name.strip() for name in config.tools or []])
    if unknown:
        raise InvalidInput(
            f"run_config.tools must name known tools ({', '.join(TOOL_NAMES)}), got {unknown[0]!r}",
            field="run_config.tools",
        )


def check_fires_computable(spec: ScheduleSpec, first: datetime) -> None:
    """``InvalidInput`` when the upcoming fires after ``first`` cannot be computed (they would pass the end of
    the calendar): what GET /schedules/{id}/upcoming lists must be listable for every stored schedule."""
    try:
        fire_times(spec, first, MAX_LISTED_FIRES)
    except OverflowError:
        raise InvalidInput(
            "trigger has fire times too close to the end of the calendar (year 9999) to list", field="trigger"
        ) from None


def create_schedule(
    services: Services, caller: Caller, spec: ScheduleSpec, *, derived_id: str | None = None
) -> CreateResult:
    """Store a new schedule (version 1) with its first ``next_fire_at``, in the project the spec names.

    ``Forbidden`` when the caller may not create there; ``created_by``/``updated_by`` record the caller.

    ``created_at``/``updated_at`` come from the clock; an interval without ``anchor_at`` is anchored there
    (the grid is fixed at creation). ``derived_id`` (from an Idempotency-Key) is the id when the spec names
    none; if a schedule with that id exists, it is returned with ``replayed`` True. A spec that can never
    fire is ``InvalidInput`` naming the field, enabled or not (enabling it later could never fire either).
    """
    check_creatable(caller, spec.project_id)
    now = services.clock()
    check_deployment(services, spec)
    changes: dict[str, Any] = {
        "created_at": now,
        "updated_at": now,
        "created_by": caller.actor,
        "updated_by": caller.actor,
    }
    derived = derived_id is not None and spec.id is None
    if spec.id is None:
        changes["id"] = derived_id if derived else services.new_id()
    spec = planner.anchored(spec.model_copy(update=changes))
    check_run_config(spec)
    first = planner.initial_next_fire(spec, now)
    if first is None:
        raise _never_fires(spec, now)
    check_fires_computable(spec, first)
    schedule = Schedule.model_validate(
        {**spec.model_dump(), "state": ScheduleState(next_fire_at=first if spec.enabled else None)}
    )
    if jobs.purge_pending(services, schedule.id):
        raise ScheduleBeingDeleted(schedule.id)
    try:
        services.store.insert_schedule(schedule)
    except ScheduleExists:
        found = services.store.get_schedule_versioned(spec.id) if derived else None
        if found is None or not caller.sees(found[0].project_id):
            raise
        return CreateResult(*found, replayed=True)
    claim.wake_for(services, schedule)
    return CreateResult(schedule, 1)


def get_schedule(services: Services, caller: Caller, schedule_id: str) -> tuple[Schedule, int]:
    """The schedule and its version (its ETag); ``ScheduleNotFound`` (also for an id no schedule can have,
    and for a schedule outside the caller's projects)."""
    found = services.store.get_schedule_versioned(schedule_id) if SCHEDULE_ID_PATTERN.match(schedule_id) else None
    if found is None:
        raise ScheduleNotFound(schedule_id)
    check_visible(caller, found[0].project_id, ScheduleNotFound(schedule_id))
    return found


def list_schedules(
    services: Services,
    caller: Caller,
    *,
    project_id: str | None = None,
    enabled: bool | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Schedule], str | None]:
    """A page of the schedules the caller may see (of ``project_id`` only, when given).

    A project the caller may not see lists as empty, like a project without schedules. An administrator
    without a project filter pages through the whole table; everyone else reads the ``project`` index,
    project by project (the cursor says where it stopped).
    """
    if project_id is not None:
        if not caller.sees(project_id):
            return [], None
        projects: list[str] | None = [project_id]
    else:
        projects = None if caller.projects is None else sorted(caller.projects)
    if projects is None:
        return services.store.list_schedules(enabled=enabled, limit=limit, cursor=cursor)
    return services.store.list_project_schedules(projects, enabled=enabled, limit=limit, cursor=cursor)


def edited(old: Schedule, spec: ScheduleSpec, now: datetime, actor: str | None = None) -> Schedule:
    """``old`` with ``spec`` applied at ``now`` by ``actor``: id, project and ``created_at``/``created_by``
    kept, the interval grid kept, and ``next_fire_at`` as :func:`agentcron.planner.next_fire_after_edit`
    says. ``InvalidInput`` when an edit of the timing (or a resume) leaves no next fire, or moves the
    schedule to another project (a project never changes: its runs and sessions carry it)."""
    if spec.project_id != old.project_id:
        raise InvalidInput(
            f"project_id cannot change (the schedule is in {old.project_id!r}); create it in the other "
            "project and delete this one",
            field="project_id",
        )
    kept = {"id": old.id, "created_at": old.created_at, "created_by": old.created_by, "updated_at": now}
    kept["updated_by"] = actor if actor is not None else old.updated_by
    anchor = getattr(old.trigger, "anchor_at", None) or old.created_at
    new = planner.anchored(spec.model_copy(update=kept), anchor)
    nxt = planner.next_fire_after_edit(old, new, now)
    if nxt is None and new.enabled and (not old.enabled or planner.timing_changed(old, new)):
        raise _never_fires(new, now)
    if nxt is not None and planner.timing_changed(old, new):
        check_fires_computable(new, nxt)
    state = old.state.model_copy(update={"next_fire_at": nxt if new.enabled else None})
    return Schedule.model_validate({**new.model_dump(), "state": state})


def edit_schedule(
    services: Services,
    caller: Caller,
    schedule_id: str,
    changes: dict[str, Any],
    *,
    expected_version: int | None = None,
    check: Any = None,
) -> tuple[Schedule, int]:
    """Merge ``changes`` (PATCH semantics, :mod:`agentcron.application.patch`) into the schedule and store it.

    ``check(current, new)`` (optional) may refuse the result before it is stored (the scheduler tool's
    limits); ``updated_by`` records the caller.

    With ``expected_version`` a schedule edited meanwhile is a ``VersionConflict``; without it the edit is
    re-read and re-applied up to ``EDIT_ATTEMPTS`` times. A claim in between never conflicts (it leaves the
    version alone): the edit is re-applied on the claimed state. Returns the stored schedule and its new
    version.
    """
    for _ in range(EDIT_ATTEMPTS):
        current, version = get_schedule(services, caller, schedule_id)
        check_writable(caller, current.project_id, ScheduleNotFound(schedule_id))
        if expected_version is not None and version != expected_version:
            raise VersionConflict(f"Schedule {schedule_id} is at version {version}, not {expected_version}")
        spec = ScheduleSpec.model_validate(merge_patch(current.spec, changes))
        if spec.run_config != current.run_config:
            check_run_config(spec)
        if spec.notify is not None and spec.notify != current.notify:
            check_deployment(services, spec)
        new = edited(current, spec, services.clock(), caller.actor)
        if check is not None:
            check(current, new)
        try:
            saved = services.store.save_schedule(
                new, expected_version=version, planned_from=current.state.next_fire_at
            )
        except StateMoved:
            continue
        except VersionConflict:
            if expected_version is not None:
                raise
            continue
        claim.wake_for(services, saved)
        return saved, version + 1
    raise VersionConflict(f"Schedule {schedule_id} kept changing; the update was not applied")


def pause_schedule(
    services: Services,
    caller: Caller,
    schedule_id: str,
    note: str | None = None,
    *,
    expected_version: int | None = None,
) -> tuple[Schedule, int]:
    return edit_schedule(
        services,
        caller,
        schedule_id,
        {"enabled": False, "pause_note": note},
        expected_version=expected_version,
    )


def resume_schedule(
    services: Services, caller: Caller, schedule_id: str, *, expected_version: int | None = None
) -> tuple[Schedule, int]:
    """Enable again; the next fire is computed from now (the paused period is not caught up)."""
    return edit_schedule(
        services,
        caller,
        schedule_id,
        {"enabled": True, "pause_note": None},
        expected_version=expected_version,
    )


def delete_schedule(
    services: Services, caller: Caller, schedule_id: str, *, expected_version: int | None = None
) -> Job | None:
    """Delete the schedule, its run records and their transcripts; ``ScheduleNotFound`` / ``VersionConflict``
    / ``Forbidden``.

    Read first to know its project; the project never changes, so the delete that follows is still about a
    schedule the caller may change. The schedule goes at once (nothing claims it any more) and the first
    page of its runs with it; a longer history is left to a purge job the claim sweeps finish (returned;
    None when everything is gone). A run in flight is not interrupted: its record is gone, so its outcome is
    not recorded (the executor's conditional finish finds nothing), and a transcript it writes afterwards
    expires with the run history.
    """
    current, _ = get_schedule(services, caller, schedule_id)
    check_writable(caller, current.project_id, ScheduleNotFound(schedule_id))
    try:
        services.store.delete_schedule(schedule_id, expected_version=expected_version, with_runs=False)
    except ScheduleNotFound:
        jobs.purge(services, schedule_id)  # leftovers of a delete interrupted half-way
        raise
    log.info("schedule %s (project %s) deleted by %s", schedule_id, current.project_id, caller.actor)
    return jobs.purge(services, schedule_id)


@dataclass(frozen=True)
class FireTimes:
    """Next slots and what shapes them: ``times`` (nominal instants; run ids derive from these),
    ``windows`` (per slot, ``[slot, slot + jitter_seconds]``: when it may fire), ``fire_at`` (per slot, when
    it will fire; None for an unsaved spec, whose id and so offsets are not known yet) and ``excluded``
    (the slots ``exclude`` left out before the last listed one, each with the item that did it).
    ``remaining_runs``: what ``max_runs`` still allows (None: no limit); ``times`` never lists more."""

    times: list[datetime]
    windows: list[tuple[datetime, datetime]]
    fire_at: list[datetime | None]
    excluded: list[Excluded]
    jitter_seconds: int = 0
    remaining_runs: int | None = None
    excluding: bool = False  # the spec has exclusions (so "none met" is worth saying)


def fire_times(
    spec: ScheduleSpec, after: datetime, count: int, *, first: datetime | None = None, known_id: bool = True
) -> FireTimes:
    """The next ``count`` fires of ``spec`` strictly after ``after`` (window, DST policy, exclusions and
    jitter applied; ``first``: a slot already known to come first, the stored ``next_fire_at``)."""
    timing = planner.timing_of(spec, expiring=False)
    remaining = planner.remaining_runs(spec) if isinstance(spec, Schedule) else spec.max_runs
    if remaining is not None:
        count = min(count, remaining)
    head = [first] if first is not None and count > 0 else []
    times, excluded = timing.preview(first or after, count - len(head)) if count > len(head) else ([], [])
    times = head + times
    jitter = timedelta(seconds=spec.jitter_seconds)
    return FireTimes(
        times=times,
        windows=[(t, t + jitter) for t in times],
        fire_at=[timing.fire_at(t) if known_id else None for t in times],
        excluded=excluded,
        jitter_seconds=spec.jitter_seconds,
        remaining_runs=remaining,
        excluding=bool(spec.exclude),
    )


def preview(services: Services, caller: Caller, spec: ScheduleSpec, count: int) -> FireTimes:
    """The next fires of an unsaved spec, as if it were created now (any caller: nothing is read or kept;
    jitter offsets are known only with an id)."""
    now = services.clock()
    check_deployment(services, spec)
    dated = spec.model_copy(update={"created_at": now, "updated_at": now})
    return fire_times(dated, now, count, known_id=spec.id is not None)


def upcoming(
    services: Services, caller: Caller, schedule_id: str, count: int
) -> tuple[Schedule, FireTimes]:
    """From the stored next fire while enabled; for a paused schedule, the fires it would have if resumed."""
    schedule, _ = get_schedule(services, caller, schedule_id)
    nxt = schedule.state.next_fire_at
    if not schedule.enabled:
        return schedule, fire_times(schedule, services.clock(), count)
    if nxt is None:
        return schedule, fire_times(schedule, services.clock(), 0)
    return schedule, fire_times(schedule, nxt, count, first=nxt)


def check_deployment(services: Services, spec: ScheduleSpec) -> None:
    """``InvalidInput`` when ``spec.notify`` names a topic or secret this deployment has no grant for."""
    if spec.notify is None:
        return
    settings = services.settings
    topics = frozenset(t.strip() for t in settings.notify_topic_arns.split(",") if t.strip())
    problem = deployment_problem(spec.notify, topics, settings.notify_secret_path)
    if problem is not None:
        field, message = problem
        raise InvalidInput(message, field=field)


def pause_after_failures(services: Services, schedule_id: str, reason: str) -> Schedule | None:
    """Auto-pause: disable a schedule whose ``consecutive_failures`` reached ``max_consecutive_failures``.

    Runs after a failed run's transition (not inside it: the spec is a document a counter expression cannot
    edit). Conditional on the version read, so a success recorded meanwhile (counter reset) or a concurrent
    edit makes it re-read; until it lands the schedule may claim once more, and a crash in between is
    repaired by the next failure. Returns the paused schedule, None when no pause was due.
    """
    for _ in range(EDIT_ATTEMPTS):
        found = services.store.get_schedule_versioned(schedule_id)
        if found is None:
            return None
        schedule, version = found
        limit, failures = schedule.max_consecutive_failures, schedule.state.consecutive_failures
        if limit is None or not schedule.enabled or failures < limit:
            return None
        note = f"auto-paused after {failures} consecutive failures (last: {reason})"
        paused = schedule.model_copy(
            update={
                "enabled": False,
                "pause_note": note,
                "updated_at": services.clock(),
                "updated_by": SYSTEM.actor,
                "state": schedule.state.model_copy(update={"next_fire_at": None}),
            }
        )
        try:
            saved = services.store.save_schedule(paused, expected_version=version, min_failures=limit)
        except VersionConflict:
            continue
        log.warning("schedule %s %s", schedule_id, note)
        return saved
    return None
