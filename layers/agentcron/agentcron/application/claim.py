"""The claim use case: turn due slots into queued runs on the run queue, and finish what others left open.

A sweep at ``now`` does, for every due-index shard in parallel:

1. **claim**: query the shard's due schedules (``next_fire_at <= now``); for each, ``plan_claim`` decides
   the records and ``apply_claim`` writes them with the schedule update in ONE transaction conditional on
   the schedule's version. A lost race (another claimer, an edit) re-reads the schedule and re-plans; a
   schedule claimed meanwhile is no longer due and its plan is a no-op. Only then are the queued runs sent
   (batches of 10, de-duplication id = run id).
2. **outbox**: a ``queued`` run whose redelivery deadline passed (the claim crashed before sending, a send
   failed, the message went to the DLQ) is re-sent, its deadline pushed forward with exponential backoff.
3. **reaper**: a ``running`` run whose lease expired (the executor vanished) goes back to ``queued`` and is
   re-sent while its retry policy allows another attempt, else it becomes ``timed_out``.

Every write is conditional, so two sweeps at once (a duplicate EventBridge invocation, an overlapping
invocation) never record a slot twice: at worst a message is sent twice, and the executor's conditional
start acknowledges the duplicate. One bad schedule or run is logged and counted, never stops the sweep.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta

from typing import TYPE_CHECKING

from agentcron.application.jobs import advance_jobs
from agentcron.application.runs import cancel_active, finish_run, send_run
from agentcron.domain.planner import ClaimPlan, plan_claim
from agentcron.exceptions import ClaimConflict, QueueSendFailed
from agentcron.models import Run, RunStatus, Schedule
from agentcron.queue import message_group_id

if TYPE_CHECKING:
    from agentcron.application.services import Services

log = logging.getLogger(__name__)

MAX_RECORDS_PER_CLAIM = 99  # one transaction: the schedule update + at most 99 run records (limit 100)
CLAIM_RETRIES = 3  # re-reads and re-plans after a ClaimConflict
CLAIMS_PER_SCHEDULE = 10  # claims of one backlogged schedule (plan.still_due) within one sweep
DUE_PAGE = 100  # due schedules read per query
DUE_PAGES = 20  # queries per shard and sweep: more due schedules than this wait for the next sweep
STALE_PAGE = 100  # overdue open runs handled per shard and sweep
MAX_WORKERS = 16
LEASE_EXPIRED = "lease expired: the executor stopped without recording an outcome"
CANCELLED_BEFORE_START = "cancelled before it started"


@dataclass
class SweepReport:
    """What one sweep did (summed over shards); ``errors`` counts schedules or runs that raised."""

    schedules_due: int = 0
    runs_queued: int = 0
    runs_skipped: int = 0
    runs_missed: int = 0
    conflicts: int = 0
    resent: int = 0
    timed_out: int = 0
    retried: int = 0
    errors: int = 0

    def __add__(self, other: SweepReport) -> SweepReport:
        return SweepReport(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def sweep(services: Services, now: datetime) -> SweepReport:
    """One claim + outbox + reaper pass over every shard, in parallel (boto3 clients are thread-safe)."""
    shards = services.settings.due_shards
    with ThreadPoolExecutor(max_workers=min(shards, MAX_WORKERS)) as pool:
        reports = list(pool.map(lambda shard: _sweep_shard(services, shard, now), range(shards)))
    report = sum(reports, SweepReport())
    report.errors += advance_jobs(services, now)  # long API work, a page per sweep (application.jobs)
    return report


def run_sweeps(
    services: Services,
    *,
    clock: Callable[[], datetime],
    sleep: Callable[[float], None],
    should_continue: Callable[[], bool],
) -> list[SweepReport]:
    """Sweep now, then every ``settings.sweep_seconds`` while ``should_continue()``; 0 means one sweep.

    Periods are measured from each sweep's start, so a slow sweep shortens the pause, never shifts the grid.
    ``clock`` and ``sleep`` are injected: the Lambda passes the wall clock, tests pass fakes.
    """
    reports: list[SweepReport] = []
    seconds = services.settings.sweep_seconds
    period = timedelta(seconds=seconds)
    while True:
        started = clock()
        reports.append(sweep(services, started))
        if seconds <= 0 or not should_continue():
            return reports
        pause = (started + period - clock()).total_seconds()
        if pause > 0:
            sleep(pause)
        if not should_continue():
            return reports


# --------------------------------------------------------------------------- claim


def _sweep_shard(services: Services, shard: int, now: datetime) -> SweepReport:
    report = SweepReport()
    try:
        _claim_shard(services, shard, now, report)
    except Exception:  # noqa: BLE001 - the due query itself failed; the reaper still runs
        log.exception("claim of shard %s failed", shard)
        report.errors += 1
    try:
        _reap_shard(services, shard, now, report)
    except Exception:  # noqa: BLE001
        log.exception("outbox/reaper of shard %s failed", shard)
        report.errors += 1
    return report


def _claim_shard(services: Services, shard: int, now: datetime, report: SweepReport) -> None:
    seen: set[str] = set()
    for _ in range(DUE_PAGES):
        page = services.store.due_schedules(shard, now, limit=DUE_PAGE)
        fresh = [(schedule, version) for schedule, version in page if schedule.id not in seen]
        for schedule, version in fresh:
            seen.add(schedule.id)
            report.schedules_due += 1
            try:
                claim_schedule(services, schedule, version, now, report=report)
            except Exception:  # noqa: BLE001 - one bad schedule never stops the sweep
                log.exception("claim of schedule %s failed", schedule.id)
                report.errors += 1
        if len(page) < DUE_PAGE or not fresh:
            return


def claim_schedule(
    services: Services, schedule: Schedule, version: int, now: datetime, *, report: SweepReport | None = None
) -> list[Run]:
    """Claim one schedule at ``now`` (its backlog too, up to ``CLAIMS_PER_SCHEDULE`` claims); the runs sent.

    ``ClaimConflict`` when the schedule kept changing through ``CLAIM_RETRIES`` re-reads.
    """
    report = report if report is not None else SweepReport()
    sent: list[Run] = []
    for _ in range(CLAIMS_PER_SCHEDULE):
        claimed = _claim_once(services, schedule, version, now, report)
        if claimed is None:
            break
        schedule, plan, records = claimed
        queued = [run for run in records if run.status == RunStatus.queued]
        report.runs_queued += len(queued)
        report.runs_skipped += sum(1 for run in records if run.status == RunStatus.skipped)
        report.runs_missed += plan.missed_count - sum(1 for r in plan.missed if r.run_id not in _ids(records))
        if queued:
            try:
                services.queue.send_runs(schedule, queued)
                sent += queued
            except QueueSendFailed as exc:  # the runs are recorded: the outbox re-sends them
                log.warning("sending the runs of %s failed; the outbox will re-send them: %s", schedule.id, exc)
                report.errors += 1
        if plan.cancel_active:
            cancel_active(services, schedule, exclude=frozenset(_ids(queued)))
        if not plan.still_due:
            break
        found = services.store.get_schedule_versioned(schedule.id)
        if found is None:
            break
        schedule, version = found
    return sent


def _claim_once(
    services: Services, schedule: Schedule, version: int, now: datetime, report: SweepReport
) -> tuple[Schedule, ClaimPlan, list[Run]] | None:
    """Plan and apply one claim; re-read and re-plan after a conflict. None when there is nothing to do."""
    for attempt in range(CLAIM_RETRIES + 1):
        plan = plan_claim(schedule, now, max_records=MAX_RECORDS_PER_CLAIM)
        if plan.changes_nothing:
            return None
        try:
            records = services.store.apply_claim(
                schedule, version, plan, now, redelivery_seconds=services.settings.redelivery_seconds
            )
            return schedule, plan, records
        except ClaimConflict:
            report.conflicts += 1
            if attempt == CLAIM_RETRIES:
                raise
            found = services.store.get_schedule_versioned(schedule.id)
            if found is None:
                return None
            schedule, version = found
    return None


def _ids(runs: list[Run]) -> set[str]:
    return {run.run_id for run in runs}


# --------------------------------------------------------------------------- outbox and reaper


def _reap_shard(services: Services, shard: int, now: datetime, report: SweepReport) -> None:
    for run in services.store.stale_open_runs(shard, now, limit=STALE_PAGE):
        try:
            if run.status == RunStatus.queued:
                _redeliver(services, run, now, report)
            elif run.status == RunStatus.running:
                _expire(services, run, now, report)
        except Exception:  # noqa: BLE001 - one bad run never stops the sweep
            log.exception("outbox/reaper failed on run %s/%s", run.schedule_id, run.run_id)
            report.errors += 1


def _redeliver(services: Services, run: Run, now: datetime, report: SweepReport) -> None:
    """Re-send a queued run nobody started: the claim crashed before sending, or the message was lost."""
    store = services.store
    if run.cancel_requested:
        finish_run(services, run.schedule_id, run.run_id, RunStatus.cancelled, now=now, reason=CANCELLED_BEFORE_START)
        return
    send = store.defer_redelivery(
        run.schedule_id, run.run_id, now, redelivery_seconds=services.settings.redelivery_seconds
    )
    if send is None:
        return  # started meanwhile, or another sweep re-sends it
    schedule = store.get_schedule(run.schedule_id)
    group = message_group_id(schedule, run.run_id) if schedule else run.schedule_id
    # A fresh de-duplication id per re-send: the earlier message may still be remembered by SQS.
    if send_run(services, run, group_id=group, dedup_id=f"{run.run_id}.r{send}"):
        report.resent += 1
    else:
        report.errors += 1


def _expire(services: Services, run: Run, now: datetime, report: SweepReport) -> None:
    """A running run whose lease expired: another attempt if the retry policy allows, else ``timed_out``."""
    store = services.store
    schedule = store.get_schedule(run.schedule_id)
    max_attempts = schedule.retry_policy.max_attempts if schedule else 1
    if run.attempt < max_attempts and not run.cancel_requested:
        again = store.requeue_run(
            run.schedule_id,
            run.run_id,
            now,
            redelivery_seconds=services.settings.redelivery_seconds,
            attempt=run.attempt,
        )
        if again is None:
            return  # renewed, finished or taken over meanwhile
        group = message_group_id(schedule, run.run_id) if schedule else run.schedule_id
        if send_run(services, run, group_id=group, dedup_id=f"{run.run_id}.a{run.attempt + 1}"):
            report.retried += 1
        else:
            report.errors += 1
        return
    status = RunStatus.cancelled if run.cancel_requested else RunStatus.timed_out
    finished = finish_run(
        services, run.schedule_id, run.run_id, status, now=now, reason=LEASE_EXPIRED, if_lease_expired=True
    )
    if finished is not None and status == RunStatus.timed_out:
        report.timed_out += 1
