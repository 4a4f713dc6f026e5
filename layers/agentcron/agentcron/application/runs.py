"""Run use cases: run now, backfill, cancel, and reading a schedule's runs.

Every entry point that starts or cancels runs comes here: the API, the executor (a ``run_now`` message sent
straight to the queue), the claim (``cancel_other``) and the scheduler tool. A run is recorded first (a
conditional put: one id, one record) and sent second; a send that fails is logged and left to the claim's
outbox, which re-sends every ``queued`` run past its redelivery deadline. So a caller never sees a send
failure, and a run is never lost to one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import EllipsisType
from typing import TYPE_CHECKING

from agentcron.application.access import check_visible, check_writable
from agentcron.domain.access import Caller
from agentcron.domain.planner import timing_of
from agentcron.domain.runs import FAILURE_STATUSES, MAX_ANSWER_BYTES, MAX_REASON_BYTES, bounded_text
from agentcron.domain.schedule import MAX_PROMPT
from agentcron.exceptions import (
    InvalidInput,
    ItemTooLarge,
    OverlapBlocked,
    QueueSendFailed,
    RunNotFound,
    RunTerminal,
    ScheduleNotFound,
)
from agentcron.models import (
    OverlapPolicy,
    Run,
    RunStatus,
    RunTrigger,
    Schedule,
    TokenUsage,
    run_now_id,
    slot_run_id,
    iso,
    to_utc,
)
from agentcron.domain.messages import run_message

if TYPE_CHECKING:
    from agentcron.application.services import Services
    from agentcron.domain.jobs import Job

LEFT_OVER_PAGE = 100  # open runs of one schedule read before a decision (the rest the next time)
logger = logging.getLogger(__name__)

MAX_BACKFILL_SLOTS = 1000
TOO_LARGE_REASON = (
    "the run's outcome did not fit its record (DynamoDB's 400 KB item limit); the session holds the outcome"
)
CANCEL_REASON = "cancelled by request"
_TICK = timedelta(microseconds=1)  # [start, end) as the strictly-after search needs it


@dataclass(frozen=True)
class BackfillResult:
    """What a backfill recorded now, found recorded already, and left to a job."""

    created: list[Run] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    job: Job | None = None  # the job recording the slots after the first page
    remaining: int = 0  # slots left to that job


def require_schedule(
    services: Services, schedule_id: str, caller: Caller | None = None, *, write: bool = False
) -> Schedule:
    """The schedule; ``ScheduleNotFound`` when it is missing or outside ``caller``'s projects, ``Forbidden``
    when ``write`` and the caller may only read. Without a caller: the system's own reads."""
    schedule = services.store.get_schedule(schedule_id)
    if schedule is None:
        raise ScheduleNotFound(schedule_id)
    if caller is not None:
        check = check_writable if write else check_visible
        check(caller, schedule.project_id, ScheduleNotFound(schedule_id))
    return schedule


def send_run(
    services: Services,
    run: Run,
    *,
    group_id: str,
    dedup_id: str | None = None,
    schedule: Schedule | None = None,
) -> bool:
    """Queue a recorded run; False (logged) when the send failed: the outbox re-sends it later."""
    try:
        services.queue.send(
            run_message(schedule, run),
            group_id=group_id,
            dedup_id=dedup_id or run.run_id,
        )
    except QueueSendFailed as exc:
        logger.warning("run %s recorded but not sent (the outbox re-sends it): %s", run.run_id, exc)
        return False
    return True


def count_left_over_ends(
    services: Services, schedule: Schedule, version: int
) -> tuple[Schedule, int] | None:
    """Count the ends still left in ``open_runs`` before a decision that reads the active count (a claim's
    plan, a run-now's ``skip``), so it is exact: a run whose executor died between the run's write and its
    counting, or a run whose record is gone. Reads only when the set is not empty (a run in flight, or such
    a leftover); the schedule as it is then, None when it is gone."""
    ids = sorted(schedule.state.open_run_ids)[:LEFT_OVER_PAGE]
    if not ids:
        return schedule, version
    runs = services.store.get_runs(schedule.id, ids)
    ended = [run for run in runs if run.status.is_terminal]
    gone = frozenset(ids) - {run.run_id for run in runs}
    if not ended and not gone:
        return schedule, version
    if services.store.fold_runs(schedule.id, ended, gone=gone, last_finished_at=schedule.state.last_finished_at):
        logger.info("counted %d run end(s) left over in schedule %s", len(ended) + len(gone), schedule.id)
    return services.store.get_schedule_versioned(schedule.id)


def cancel_active(services: Services, schedule: Schedule, *, exclude: frozenset[str] = frozenset()) -> int:
    """``cancel_other``: flag the schedule's open runs (but ``exclude``) to stop; how many were flagged.

    The executor checks the flag before it starts and between rounds; the outbox finishes a queued run
    whose flag is set. Shared by the claim and by a run-now that asks for ``cancel_other``.
    """
    limit = max(1, schedule.state.active_run_count) + len(exclude)
    flagged = 0
    for run in services.store.open_runs(schedule.id, limit=limit):
        if run.run_id not in exclude and services.store.request_cancel(schedule.id, run.run_id):
            flagged += 1
    return flagged


def run_now(
    services: Services,
    caller: Caller,
    schedule_id: str,
    *,
    request_id: str | None,
    task_message: str | None = None,
    overlap_policy: OverlapPolicy | None = None,
    requested_at: datetime | None = None,
    send: bool = True,
    chain: list[str] | None = None,
) -> Run:
    """Record a run of ``schedule_id`` now (whatever ``enabled`` says) and queue it; the run.

    The run id derives from ``requested_at`` and ``request_id``, so a retried request (same id) maps to the
    run it created before: nothing is recorded twice, and a run still ``queued`` is sent again. Without a
    ``request_id`` every call is a new run. ``overlap_policy`` overrides the schedule's for this run only:
    ``skip`` refuses (``OverlapBlocked``) while a run is active, ``cancel_other`` flags the active ones.
    ``send`` False records only (the executor runs a ``run_now`` message's run in place). ``chain``: the
    schedules whose runs led to this one (the scheduler tool's chain limit reads it back).
    """
    if task_message is not None and len(task_message) > MAX_PROMPT:
        # Every entry point (API, run queue, scheduler tool) comes here: the run record stays far from 400 KB.
        raise InvalidInput(f"task_message must be at most {MAX_PROMPT} characters", field="task_message")
    schedule = require_schedule(services, schedule_id, caller, write=True)
    claimed_at = services.clock()
    requested_at = requested_at or claimed_at
    if overlap_policy in (OverlapPolicy.skip, OverlapPolicy.cancel_other) and schedule.state.active_run_count:
        settled = count_left_over_ends(services, schedule, 0)
        if settled is None:
            raise ScheduleNotFound(schedule_id)
        schedule = settled[0]
    if overlap_policy == OverlapPolicy.skip and schedule.state.active_run_count > 0:
        raise OverlapBlocked(schedule_id)
    run = Run(
        run_id=run_now_id(schedule_id, requested_at, request_id or services.new_id()),
        schedule_id=schedule_id,
        project_id=schedule.project_id,
        scheduled_for=requested_at,
        claimed_at=claimed_at,
        trigger=RunTrigger.run_now,
        task_message=(task_message or "").strip() or None,
        created_by=caller.actor,
        started_by_chain=list(chain or []),
    )
    created = services.store.create_run(run, claimed_at, redelivery_seconds=services.settings.redelivery_seconds)
    if not created:
        logger.info("run-now %s already recorded; continuing with the existing run", run.run_id)
        run = services.store.get_run(schedule_id, run.run_id) or run
    if overlap_policy == OverlapPolicy.cancel_other and schedule.state.active_run_count > 0:
        from agentcron.application import jobs  # a page of flags here, the rest by the claim sweeps

        jobs.cancel_others(services, schedule_id, keep=run.run_id)
    if send and run.status == RunStatus.queued:
        policy = overlap_policy or schedule.overlap_policy
        group = run.run_id if policy == OverlapPolicy.allow else schedule_id
        send_run(services, run, group_id=group, schedule=schedule)
    return run


def backfill_slots(schedule: Schedule, start_at: datetime, end_at: datetime, limit: int) -> list[datetime]:
    """The schedule's slots in ``[start_at, end_at)`` (its own window and DST policy applied), at most ``limit``."""
    timing = timing_of(schedule, expiring=False)
    return list(timing.iter_after(start_at - _TICK, until=end_at - _TICK, limit=limit))


def no_slot_reason(schedule: Schedule, start_at: datetime, end_at: datetime) -> str:
    """Why ``[start_at, end_at)`` holds no slot of ``schedule``: its own window, an interval grid that starts
    later, a once trigger elsewhere, or simply no fire time of the trigger in the range."""
    if schedule.start_at is not None and schedule.start_at >= end_at:
        return f"the schedule's start_at ({iso(schedule.start_at)}) is not before end_at"
    if schedule.end_at is not None and schedule.end_at <= start_at:
        return f"the schedule's end_at ({iso(schedule.end_at)}) is not after start_at"
    anchor = getattr(schedule.trigger, "anchor_at", None) or (
        schedule.created_at if schedule.trigger.type == "interval" else None
    )
    if anchor is not None and anchor >= end_at:
        return f"the interval's grid starts at its anchor ({iso(anchor)}), after the range"
    at = getattr(schedule.trigger, "at", None)
    if at is not None:
        return f"the once trigger fires at {iso(at)}, outside the range"
    return "the trigger has no fire time in the range"


def record_backfill(
    services: Services,
    schedule: Schedule,
    slots: list[datetime],
    now: datetime,
    created_by: str | None = None,
) -> BackfillResult:
    """Record one backfill run per slot (a slot that has a run already is reported, not re-run), then queue
    the new ones; a failed send is left to the outbox. ``created_by``: who asked for the backfill."""
    result = BackfillResult()
    for slot in slots:
        run = Run(
            run_id=slot_run_id(schedule.id, slot),
            schedule_id=schedule.id,
            project_id=schedule.project_id,
            scheduled_for=slot,
            claimed_at=now,
            trigger=RunTrigger.backfill,
            was_catch_up=True,
            created_by=created_by,
        )
        if services.store.create_run(run, now, redelivery_seconds=services.settings.redelivery_seconds):
            result.created.append(run)
        else:
            result.existing.append(run.run_id)
    try:
        services.queue.send_runs(schedule, result.created)
    except QueueSendFailed as exc:
        logger.warning("backfill of %s recorded but not all sent (the outbox re-sends): %s", schedule.id, exc)
    return result


def backfill(
    services: Services, caller: Caller, schedule_id: str, start_at: datetime, end_at: datetime
) -> BackfillResult:
    """One run per slot of ``[start_at, end_at)``; a slot that has a run already is reported, not re-run.

    The request records the first ``BACKFILL_PAGE`` slots itself; the rest go to a backfill job the claim
    sweeps advance a page at a time (:mod:`agentcron.application.jobs`), named in the result. A range with
    no slot is ``InvalidInput`` saying why.
    """
    from agentcron.application import jobs

    schedule = require_schedule(services, schedule_id, caller, write=True)
    now = services.clock()
    start_at, end_at = to_utc(start_at), to_utc(end_at)
    if start_at >= end_at:
        raise InvalidInput("start_at must be earlier than end_at", field="start_at")
    if end_at > now:
        raise InvalidInput("end_at must not be in the future", field="end_at")
    slots = backfill_slots(schedule, start_at, end_at, MAX_BACKFILL_SLOTS + 1)
    if len(slots) > MAX_BACKFILL_SLOTS:
        raise InvalidInput(
            f"end_at must leave at most {MAX_BACKFILL_SLOTS} slots after start_at", field="end_at"
        )
    if not slots:
        raise InvalidInput(
            f"start_at..end_at must hold a slot of the schedule: {no_slot_reason(schedule, start_at, end_at)}",
            field="start_at",
        )
    page, rest = slots[: jobs.BACKFILL_PAGE], slots[jobs.BACKFILL_PAGE :]
    result = record_backfill(services, schedule, page, now, created_by=caller.actor)
    if rest:
        job = jobs.backfill_rest(
            services, schedule_id, rest[0], end_at, total=len(slots), created_by=caller.actor
        )
        return BackfillResult(result.created, result.existing, job=job, remaining=len(rest))
    return result


def finish_run(
    services: Services,
    schedule_id: str,
    run_id: str,
    status: RunStatus,
    *,
    now: datetime | None = None,
    reason: str | None = None,
    usage: TokenUsage | None = None,
    final_answer: str | None = None,
    if_lease_expired: bool = False,
    session_id: str | None | EllipsisType = ...,
    expected: Run | None = None,
) -> Run | None:
    """End an open run with ``status`` (conditional: None, and nothing changes, when it ended already).

    ``expected``: the run as the caller knows it owns it (the executor: running, its attempt), so the store
    need not read it first; ``session_id`` binds the run's transcript in the same write (None: it has none).

    ``final_answer`` and ``reason`` are stored bounded (``domain.runs.bounded_text``: the head and a note; the
    whole text is in the transcript). A write DynamoDB refuses as too large for the item ends the run
    ``failed`` with ``TOO_LARGE_REASON`` instead of leaving it open.

    What follows a recorded end, for every caller alike (executor, claim's outbox and reaper, cancel): the
    auto-pause check after a failure, then ``services.on_run_finished`` (metrics, the Run Finished event),
    then the schedule's ``notify`` targets (:mod:`agentcron.application.notify`).
    Neither can undo or fail the transition: their errors are logged.
    """
    now = now or services.clock()
    reason = bounded_text(reason, MAX_REASON_BYTES)
    final_answer = bounded_text(final_answer, MAX_ANSWER_BYTES)

    def record(status: RunStatus, reason: str | None, final_answer: str | None) -> Run | None:
        return services.store.finish_run(
            schedule_id,
            run_id,
            status,
            now,
            reason=reason,
            usage=usage,
            final_answer=final_answer,
            if_lease_expired=if_lease_expired,
            session_id=session_id,
            expected=expected,
        )

    try:
        finished = record(status, reason, final_answer)
    except ItemTooLarge:
        # Whatever made the record too big (an old oversized task), the run still ends: failed, no answer.
        logger.exception("run %s/%s: outcome too large for its record; recorded as failed", schedule_id, run_id)
        status, reason = RunStatus.failed, TOO_LARGE_REASON
        finished = record(status, reason, None)
    if finished is None:
        return None
    if status in FAILURE_STATUSES:
        from agentcron.application.schedules import pause_after_failures

        try:
            pause_after_failures(services, schedule_id, finished.outcome_reason or status.value)
        except Exception:  # noqa: BLE001 - the next failure checks again
            logger.exception("auto-pause check failed for schedule %s", schedule_id)
    if services.on_run_finished is not None:
        try:
            services.on_run_finished(finished)
        except Exception:  # noqa: BLE001 - a notification never fails a run
            logger.exception("run-finished listener failed for %s/%s", schedule_id, run_id)
    try:
        from agentcron.application.notify import notify_run_finished

        notify_run_finished(services, finished)
    except Exception:  # noqa: BLE001 - a notification never fails a run
        logger.exception("notification failed for %s/%s", schedule_id, run_id)
    return finished


def list_runs(
    services: Services,
    caller: Caller,
    schedule_id: str,
    *,
    status: RunStatus | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Run], str | None]:
    """A page of the schedule's runs, newest first; ``ScheduleNotFound`` for an unknown schedule."""
    require_schedule(services, schedule_id, caller)
    return services.store.list_runs(schedule_id, status=status, limit=limit, cursor=cursor)


def _visible_run(services: Services, caller: Caller, schedule_id: str, run_id: str, *, write: bool) -> Run:
    """The run, if the caller may see its project (its schedule's; a run of a deleted schedule: its own)."""
    run = services.store.get_run(schedule_id, run_id)
    if run is None:
        raise RunNotFound(schedule_id, run_id)
    schedule = services.store.get_schedule(schedule_id)
    project = schedule.project_id if schedule is not None else run.project_id
    check = check_writable if write else check_visible
    check(caller, project, RunNotFound(schedule_id, run_id))
    return run


def get_run(services: Services, caller: Caller, schedule_id: str, run_id: str) -> Run:
    return _visible_run(services, caller, schedule_id, run_id, write=False)


def cancel_run(services: Services, caller: Caller, schedule_id: str, run_id: str) -> tuple[Run, bool]:
    """Cancel a run: ``(run, True)`` when it ended at once (it had not started), ``(run, False)`` when the
    running agent was asked to stop at its next round. ``RunTerminal`` when it already ended.
    """
    run = _visible_run(services, caller, schedule_id, run_id, write=True)
    store = services.store
    # The flag first: an executor that starts the run before the finish below still sees it and stops.
    if not run.status.is_terminal and store.request_cancel(schedule_id, run_id, by=caller.actor):
        if run.status == RunStatus.queued:
            finished = finish_run(services, schedule_id, run_id, RunStatus.cancelled, reason=CANCEL_REASON)
            if finished is not None:
                return finished, True
        return store.get_run(schedule_id, run_id) or run, False
    current = get_run(services, caller, schedule_id, run_id)
    raise RunTerminal(schedule_id, run_id, current.status.value)
