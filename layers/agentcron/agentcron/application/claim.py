"""The claim use case: turn due slots into queued runs on the run queue, and finish what others left open.

A sweep at ``now`` does, for every due-index shard in parallel:

1. **claim**: read the shard's due schedules (``next_fire_at <= now``); for each, ``plan_claim`` decides
   the records and ``apply_claim`` writes them with the schedule update in ONE transaction conditional on
   the schedule's version and ``next_fire_at``. A lost race (another claimer, an edit) re-reads the schedule
   and re-plans; a schedule claimed meanwhile is no longer due and its plan is a no-op. Only then are the
   queued runs sent (batches of 10, de-duplication id = run id).
2. **outbox**: a ``queued`` run whose redelivery deadline passed (the claim crashed before sending, a send
   failed, the message went to the DLQ) is re-sent, its deadline pushed forward with exponential backoff.
3. **reaper**: a ``running`` run whose lease expired (the executor vanished) goes back to ``queued`` and is
   re-sent while its retry policy allows another attempt, else it becomes ``timed_out``.

The **claim clock** (:func:`run_clock`) decides when sweeps happen: an invocation sweeps at once, then
sleeps until the earliest next fire the sweep saw and sweeps exactly then, again and again, until nothing is
due before ``awake_until`` (then it returns: an idle minute costs one sweep). Invocations start once a minute
(EventBridge Scheduler) and each stays awake ``TICK_SECONDS + HANDOVER_SECONDS`` from its start, so the
next one is running before it stops: a minute boundary is covered twice, never not at all. A schedule
created or edited with a fire due before the next invocation is sure to be awake wakes one at once
(:func:`wake_for`). ``settings.sweep_seconds`` caps each sleep, a backstop for the index's replication lag.

Every write is conditional, so two sweeps at once (the handover overlap, a wake, a duplicate invocation)
never record a slot twice: at worst a message is sent twice, and the executor's conditional start
acknowledges the duplicate. One bad schedule or run is logged and counted, never stops the sweep.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from agentcron.application.jobs import advance_jobs
from agentcron.application.runs import cancel_active, count_left_over_ends, finish_run, send_run
from agentcron.domain.planner import ClaimPlan, plan_claim
from agentcron.exceptions import ClaimConflict, QueueSendFailed
from agentcron.models import OverlapPolicy, Run, RunStatus, Schedule
from agentcron.queue import message_group_id

if TYPE_CHECKING:
    from agentcron.application.services import Services

log = logging.getLogger(__name__)

MAX_RECORDS_PER_CLAIM = 99  # one transaction: the schedule update + at most 99 run records (limit 100)
CLAIM_RETRIES = 3  # re-reads and re-plans after a ClaimConflict
CLAIMS_PER_SCHEDULE = 10  # claims of one backlogged schedule (plan.still_due) within one sweep
DUE_PAGE = 100  # due-index entries read per query
DUE_PAGES = 20  # queries per shard and sweep: more due schedules than this wait for the next sweep
STALE_PAGE = 100  # overdue open runs handled per shard and sweep
MAX_WORKERS = 16
TICK_SECONDS = 60  # EventBridge Scheduler starts a claim invocation once a minute (rate(1 minute))
HANDOVER_SECONDS = 20  # each invocation stays awake this long past the next one's start: the overlap
STUCK_PAUSE_SECONDS = 1.0  # a schedule still due after a sweep that could not claim it waits this long
LEASE_EXPIRED = "lease expired: the executor stopped without recording an outcome"
CANCELLED_BEFORE_START = "cancelled before it started"


@dataclass
class SweepReport:
    """What one sweep did (summed over shards); ``errors`` counts schedules or runs that raised.

    ``next_due_at`` is the earliest next fire the sweep saw (in the index or written by its claims): the
    instant the claim clock sleeps until. None when no enabled schedule has a next fire.
    """

    schedules_due: int = 0
    runs_queued: int = 0
    runs_skipped: int = 0
    runs_missed: int = 0
    conflicts: int = 0
    resent: int = 0
    timed_out: int = 0
    retried: int = 0
    errors: int = 0
    next_due_at: datetime | None = None

    def __add__(self, other: SweepReport) -> SweepReport:
        counts = {f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self) if f.name != "next_due_at"}
        return SweepReport(**counts, next_due_at=earliest(self.next_due_at, other.next_due_at))

    def as_dict(self) -> dict[str, int]:
        return {name: value for name, value in asdict(self).items() if name != "next_due_at"}

    def saw(self, at: datetime | None) -> None:
        self.next_due_at = earliest(self.next_due_at, at)


def earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def sweep(services: Services, now: datetime, *, reap: bool = True) -> SweepReport:
    """One claim pass over every shard in parallel (boto3 clients are thread-safe), with the outbox and
    reaper pass unless ``reap`` is False (the clock reaps once per invocation: their deadlines are minutes)."""
    shards = services.settings.due_shards
    with ThreadPoolExecutor(max_workers=min(shards, MAX_WORKERS)) as pool:
        reports = list(pool.map(lambda shard: _sweep_shard(services, shard, now, reap), range(shards)))
    report = sum(reports, SweepReport())
    if reap:  # long API work, a page per job with the outbox pass (application.jobs)
        report.errors += advance_jobs(services, now)
    return report


def run_clock(
    services: Services,
    *,
    clock: Callable[[], datetime],
    sleep: Callable[[float], None],
    awake_until: datetime,
    should_continue: Callable[[], bool] = lambda: True,
) -> list[SweepReport]:
    """Sweep now, then at every next fire the sweeps see, until nothing is due by ``awake_until``.

    Each sleep ends at the next fire exactly, or after ``settings.sweep_seconds`` if that comes first (0:
    one sweep, no sleep). The first sweep also runs the outbox and reaper. ``clock`` and ``sleep`` are
    injected: the Lambda passes the wall clock, tests pass fakes; ``should_continue`` is the invocation's
    own time budget.
    """
    reports: list[SweepReport] = []
    cap = services.settings.sweep_seconds
    while True:
        now = clock()
        report = sweep(services, now, reap=not reports)
        reports.append(report)
        nxt = report.next_due_at
        if cap <= 0 or nxt is None or nxt > awake_until or not should_continue():
            return reports
        wait = (nxt - clock()).total_seconds()
        if nxt <= now and not (report.runs_queued or report.runs_skipped or report.runs_missed):
            wait = STUCK_PAUSE_SECONDS  # due but not claimable right now (errors): never spin
        if wait > 0:
            sleep(min(wait, cap))
        if not should_continue():
            return reports


def wake_for(services: Services, schedule: Schedule) -> None:
    """Wake the claim when ``schedule`` fires before the next once-a-minute invocation is sure to run.

    A next fire within ``TICK_SECONDS`` may fall before the next invocation starts, and any invocation
    awake now sleeps until a fire it read before this schedule existed; a later one is covered by the
    invocations to come. The wake is recorded first (one conditional write), so a burst of creates
    wakes the claim once. A failure is logged, never fails the edit: the next invocation claims the slot.
    """
    nxt = schedule.state.next_fire_at if schedule.enabled else None
    if services.wake_claim is None or nxt is None:
        return
    now = services.clock()
    if nxt - now > timedelta(seconds=TICK_SECONDS):
        return
    try:
        if services.store.request_wake(nxt, now):
            services.wake_claim(nxt)
    except Exception:  # noqa: BLE001 - the next invocation claims the slot, at most a minute late
        log.exception("waking the claim for schedule %s failed", schedule.id)


# --------------------------------------------------------------------------- claim


def _sweep_shard(services: Services, shard: int, now: datetime, reap: bool) -> SweepReport:
    report = SweepReport()
    try:
        _claim_shard(services, shard, now, report)
    except Exception:  # noqa: BLE001 - the due query itself failed; the reaper still runs
        log.exception("claim of shard %s failed", shard)
        report.errors += 1
        report.saw(now)  # unknown: look again soon
    if not reap:
        return report
    try:
        _reap_shard(services, shard, now, report)
    except Exception:  # noqa: BLE001
        log.exception("outbox/reaper of shard %s failed", shard)
        report.errors += 1
    return report


def _claim_shard(services: Services, shard: int, now: datetime, report: SweepReport) -> None:
    """Claim the shard's due schedules; their runs are sent together at the end, ten per request."""
    outbox: list[tuple[Schedule, Run]] = []
    try:
        _claim_pages(services, shard, now, report, outbox)
    finally:
        _send(services, outbox, report)


def _send(services: Services, outbox: list[tuple[Schedule, Run]], report: SweepReport) -> None:
    if not outbox:
        return
    try:
        services.queue.send_many(outbox)
    except QueueSendFailed as exc:  # the runs are recorded: the outbox re-sends them
        log.warning("sending claimed runs failed; the outbox will re-send them: %s", exc)
        report.errors += 1


def _claim_pages(
    services: Services, shard: int, now: datetime, report: SweepReport, outbox: list[tuple[Schedule, Run]]
) -> None:
    seen: set[str] = set()
    for _ in range(DUE_PAGES):
        page = services.store.due_page(shard, now, limit=DUE_PAGE)
        report.saw(page.next_due_at)
        fresh = [(schedule, version) for schedule, version in page.schedules if schedule.id not in seen]
        for schedule, version in fresh:
            seen.add(schedule.id)
            report.schedules_due += 1
            try:
                claim_schedule(services, schedule, version, now, report=report, outbox=outbox)
            except Exception:  # noqa: BLE001 - one bad schedule never stops the sweep
                log.exception("claim of schedule %s failed", schedule.id)
                report.errors += 1
                report.saw(now)
        if not page.more or not fresh:
            if page.more:
                report.saw(now)  # more due than this sweep could read: sweep again at once
            return
    report.saw(now)


def claim_schedule(
    services: Services,
    schedule: Schedule,
    version: int,
    now: datetime,
    *,
    report: SweepReport | None = None,
    outbox: list[tuple[Schedule, Run]] | None = None,
) -> list[Run]:
    """Claim one schedule at ``now`` (its backlog too, up to ``CLAIMS_PER_SCHEDULE`` claims); the runs
    queued. They are sent at once, or added to ``outbox`` for the caller to send with other schedules' runs.

    ``ClaimConflict`` when the schedule kept changing through ``CLAIM_RETRIES`` re-reads.
    """
    report = report if report is not None else SweepReport()
    sent: list[Run] = []
    settled = count_left_over_ends(services, schedule, version)
    if settled is None:
        return sent
    schedule, version = settled
    for _ in range(CLAIMS_PER_SCHEDULE):
        claimed = _claim_once(services, schedule, version, now, report)
        if claimed is None:
            break
        schedule, plan, records = claimed
        if plan.enabled:
            report.saw(plan.next_fire_at)
        queued = [run for run in records if run.status == RunStatus.queued]
        report.runs_queued += len(queued)
        report.runs_skipped += sum(1 for run in records if run.status == RunStatus.skipped)
        report.runs_missed += plan.missed_count - sum(1 for r in plan.missed if r.run_id not in _ids(records))
        sent += queued
        if outbox is not None:
            outbox += [(schedule, run) for run in queued]
        else:
            _send(services, [(schedule, run) for run in queued], report)
        if plan.cancel_active:
            cancel_active(services, schedule, exclude=frozenset(_ids(queued)))
        if not plan.still_due:
            break
        found = services.store.get_schedule_versioned(schedule.id)
        if found is None:
            break
        schedule, version = found
    return sent


def _run_waiting(services: Services, schedule: Schedule, now: datetime) -> bool:
    """Whether a run of ``schedule`` is queued and not started: only ``queue_one`` asks, and only while a run
    is active and a slot is due; then it is one read of the run queued last (runs of a schedule start in the
    order they were queued, so if that one started, none waits)."""
    state = schedule.state
    if (
        schedule.overlap_policy != OverlapPolicy.queue_one
        or not state.active_run_count
        or state.last_queued_run_id is None
        or state.next_fire_at is None
        or state.next_fire_at > now
    ):
        return False
    run = services.store.get_run(schedule.id, state.last_queued_run_id)
    return run is not None and run.status == RunStatus.queued


def _claim_once(
    services: Services, schedule: Schedule, version: int, now: datetime, report: SweepReport
) -> tuple[Schedule, ClaimPlan, list[Run]] | None:
    """Plan and apply one claim; re-read and re-plan after a conflict. None when there is nothing to do."""
    for attempt in range(CLAIM_RETRIES + 1):
        plan = plan_claim(
            schedule, now, max_records=MAX_RECORDS_PER_CLAIM, run_waiting=_run_waiting(services, schedule, now)
        )
        if plan.changes_nothing:
            report.saw(plan.due_at)  # a jittered slot: sweep again when its delay has passed
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
    if send_run(services, run, group_id=group, dedup_id=f"{run.run_id}.r{send}", schedule=schedule):
        report.resent += 1
    else:
        report.errors += 1


def _expire(services: Services, run: Run, now: datetime, report: SweepReport) -> None:
    """A running run whose lease expired: another attempt if the retry policy allows, else ``timed_out``.
    One whose lease still runs (the index entry still held its queued deadline) is looked at again when the
    lease ends."""
    store = services.store
    if run.lease_until is not None and run.lease_until > now:
        store.defer_reaper(run)
        return
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
        dedup = f"{run.run_id}.a{run.attempt + 1}"
        if send_run(services, again, group_id=group, dedup_id=dedup, schedule=schedule):
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
