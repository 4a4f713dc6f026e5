"""Long work off the request: a request does one bounded page, a job does the rest, a page per claim sweep.

Work that grows with a range or a history cannot be done inside one request (API Gateway ends a request at
30 s; the local server would answer nothing else meanwhile). Three such kinds (:class:`JobKind`):

- **purge**: deleting a schedule deletes its run records and their transcripts; the schedule item goes at
  once (nothing claims it any more), then the records ``PURGE_PAGE`` at a time. A create of the same id is
  refused (409) until the purge is done, so old runs never show under a new schedule.
- **backfill**: ``BACKFILL_PAGE`` slots are recorded and queued per page, from the job's cursor on.
- **cancel**: a run-now with ``cancel_other`` flags ``CANCEL_PAGE`` of the schedule's open runs per page
  (only runs claimed before the request; the new run itself never).

The request answers 202 with the job (``job_id``, ``Location: /jobs/{job_id}``) when work remains; each
claim sweep calls :func:`advance_jobs`, which moves every pending job on by one page. A page is idempotent
(records exist, deletes and flags repeat harmlessly), so a sweep that dies half-way is simply repeated.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from agentcron.domain.jobs import Job, JobKind, JobStatus, purge_job_id
from agentcron.models import to_utc

if TYPE_CHECKING:
    from agentcron.application.services import Services

log = logging.getLogger(__name__)

PURGE_PAGE = 200  # run records (and transcripts) deleted per page
BACKFILL_PAGE = 50  # slots recorded and queued per page
CANCEL_PAGE = 50  # open runs flagged per page
JOBS_PER_SWEEP = 25  # pending jobs a sweep advances (the others wait for the next sweep)
_TICK = timedelta(microseconds=1)


def start(services: Services, kind: JobKind, schedule_id: str, *, job_id: str | None = None, **fields) -> Job:
    """Record a pending job (the request has done its first page)."""
    now = services.clock()
    job = Job(
        job_id=job_id or f"{kind.value}-{services.new_id()}",
        kind=kind,
        schedule_id=schedule_id,
        created_at=now,
        updated_at=now,
        **fields,
    )
    services.store.put_job(job)
    return job


def get_job(services: Services, job_id: str) -> Job | None:
    return services.store.get_job(job_id)


# --------------------------------------------------------------------------- purge


def purge_page(services: Services, schedule_id: str) -> int:
    """Delete one page of a deleted schedule's run records and their transcripts; how many were deleted
    (fewer than PURGE_PAGE: nothing is left). Transcripts go first, so a page that fails half-way leaves
    records that still name what is left to delete."""
    keys = services.store.run_keys_page(schedule_id, limit=PURGE_PAGE)
    sessions = [session for _, session in keys if session]
    if sessions:
        services.sessions.delete_many(sessions)
    if keys:
        services.store.delete_run_records(schedule_id, [run_id for run_id, _ in keys])
    return len(keys)


def purge(services: Services, schedule_id: str) -> Job | None:
    """The first page of a purge now; the pending job when more remains (None: all gone)."""
    deleted = purge_page(services, schedule_id)
    if deleted < PURGE_PAGE:
        return None
    return start(services, JobKind.purge, schedule_id, job_id=purge_job_id(schedule_id), done_count=deleted)


def purge_pending(services: Services, schedule_id: str) -> bool:
    job = services.store.get_job(purge_job_id(schedule_id))
    return job is not None and job.status == JobStatus.pending


# --------------------------------------------------------------------------- backfill


def backfill_rest(
    services: Services,
    schedule_id: str,
    next_at: datetime,
    end_at: datetime,
    total: int,
    created_by: str | None = None,
) -> Job:
    """A job for the slots of ``[next_at, end_at)`` the request left."""
    params = {"next_at": next_at.isoformat(), "end_at": end_at.isoformat(), "created_by": created_by}
    return start(services, JobKind.backfill, schedule_id, total=total, params=params)


def _backfill_page(services: Services, job: Job) -> tuple[int, bool]:
    from agentcron.application.runs import backfill_slots, record_backfill

    schedule = services.store.get_schedule(job.schedule_id)
    if schedule is None:
        job.detail = "the schedule was deleted"
        return 0, True
    next_at = to_utc(datetime.fromisoformat(job.params["next_at"]))
    end_at = to_utc(datetime.fromisoformat(job.params["end_at"]))
    slots = backfill_slots(schedule, next_at, end_at, BACKFILL_PAGE)
    if slots:
        asked_by = job.params.get("created_by")
        record_backfill(services, schedule, slots, services.clock(), created_by=asked_by)
        job.params["next_at"] = (slots[-1] + _TICK).isoformat()
    return len(slots), len(slots) < BACKFILL_PAGE


# --------------------------------------------------------------------------- cancel


def cancel_page(
    services: Services, schedule_id: str, before: datetime, exclude: frozenset[str]
) -> tuple[int, bool]:
    """Flag up to CANCEL_PAGE open runs of the schedule claimed at or before ``before`` (but ``exclude``);
    (how many were flagged, whether none is left)."""
    schedule = services.store.get_schedule(schedule_id)
    if schedule is None:
        return 0, True
    limit = schedule.state.active_run_count + len(exclude) + 1
    candidates = [
        run
        for run in services.store.open_runs(schedule_id, limit=limit)
        if run.run_id not in exclude and not run.cancel_requested and run.claimed_at <= before
    ]
    page = candidates[:CANCEL_PAGE]
    flagged = sum(1 for run in page if services.store.request_cancel(schedule_id, run.run_id))
    return flagged, len(candidates) <= CANCEL_PAGE


def cancel_job_id(run_id: str) -> str:
    """The job that cancels what a run-now with ``cancel_other`` left (derived: the reply can name it)."""
    return f"cancel-{run_id}"


def cancel_others(services: Services, schedule_id: str, keep: str) -> Job | None:
    """``cancel_other`` for a run-now: the first page now; the pending job when more remain."""
    before = services.clock()
    flagged, finished = cancel_page(services, schedule_id, before, frozenset({keep}))
    if finished:
        return None
    return start(
        services,
        JobKind.cancel,
        schedule_id,
        job_id=cancel_job_id(keep),
        done_count=flagged,
        params={"before": before.isoformat(), "keep": keep},
    )


# --------------------------------------------------------------------------- the sweep's step


def advance(services: Services, job: Job) -> Job:
    """Move ``job`` on by one page and store it (done when nothing is left)."""
    if job.kind == JobKind.purge:
        count = purge_page(services, job.schedule_id)
        finished = count < PURGE_PAGE
    elif job.kind == JobKind.backfill:
        count, finished = _backfill_page(services, job)
    else:
        before = to_utc(datetime.fromisoformat(job.params["before"]))
        keep = frozenset({job.params.get("keep", "")})
        count, finished = cancel_page(services, job.schedule_id, before, keep)
    job = job.model_copy(
        update={
            "done_count": job.done_count + count,
            "updated_at": services.clock(),
            "status": JobStatus.done if finished else JobStatus.pending,
        }
    )
    services.store.put_job(job)
    return job


def advance_jobs(services: Services, now: datetime) -> int:
    """One page of every pending job (at most JOBS_PER_SWEEP); the claim sweep's step. Errors are logged and
    the job stays pending for the next sweep; returns how many jobs failed."""
    failed = 0
    for job in services.store.pending_jobs(limit=JOBS_PER_SWEEP):
        try:
            advance(services, job)
        except Exception:  # noqa: BLE001 - one job's failure never stops the sweep or the other jobs
            log.exception("job %s (%s of %s) failed; retried", job.job_id, job.kind, job.schedule_id)
            failed += 1
    return failed


