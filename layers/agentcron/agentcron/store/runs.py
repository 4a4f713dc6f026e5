"""Runs: reads and the conditional status transitions.

Every transition is conditional on the status (and attempt) read just before, so two writers never both
win, and a terminal run is never changed again. A run's creation changes the schedule's counters in the
same transaction (it is counted active, its id joins ``open_runs``); its start writes the run alone (one
write unit): nothing on the schedule depends on whether an active run has started; its end writes the run,
then counts the outcome on the schedule once (domain/tally.py). When the schedule item is gone the run
transition still happens alone: an outcome is never lost to a deleted schedule.

Leases: a running run's executor owns it until ``lease_until`` (epoch ms). The ``open`` index entry
(``open_until``) is when the reaper looks next; a start and a lease renewal leave it where it is (no index
write), and a reaper that looks before the lease ends moves it to the lease's end (:meth:`defer_reaper`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from types import EllipsisType
from typing import Any

from botocore.exceptions import ClientError

from agentcron.domain.tally import Tally, tally
from agentcron.exceptions import ItemTooLarge, RunNotFound, ScheduleNotFound
from agentcron.models import Run, RunStatus, TokenUsage
from agentcron.store.base import CONDITION_FAILED, StoreBase, condition_failed, too_large
from agentcron.store.codec import (
    OPEN_RUNS,
    TALLY,
    Update,
    deserialize,
    epoch_ms,
    iso,
    run_from_item,
    run_item,
    serialize,
)

log = logging.getLogger(__name__)

TRANSITION_ATTEMPTS = 4  # re-reads after losing a race with another writer of the same run
MAX_REDELIVERY_SECONDS = 3600  # the outbox backoff cap
RUN_KEY = ("schedule_id", "run_id")


class RunsMixin(StoreBase):
    # ------------------------------------------------------------------ reads

    def get_run(self, schedule_id: str, run_id: str) -> Run | None:
        item = self._get_run_item(schedule_id, run_id)
        return run_from_item(item) if item else None

    def get_runs(self, schedule_id: str, run_ids: list[str]) -> list[Run]:
        """The runs of ``run_ids`` that exist, read consistently (any order)."""
        keys = [{"schedule_id": {"S": schedule_id}, "run_id": {"S": run_id}} for run_id in run_ids]
        return [run_from_item(item) for item in self._batch_get(self.runs_table, keys)]

    def _get_run_item(self, schedule_id: str, run_id: str) -> dict[str, Any] | None:
        return self._get(self.runs_table, {"schedule_id": schedule_id, "run_id": run_id})

    def list_runs(
        self,
        schedule_id: str,
        *,
        status: RunStatus | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[Run], str | None]:
        """A page of one schedule's runs, newest first, optionally of one status; cursor of the next page."""
        request = self._history_query(schedule_id, [status] if status else None)
        page = self._collect("query", request, limit=limit, cursor=cursor, key=RUN_KEY)
        return [run_from_item(item) for item in page.items], page.cursor

    def open_runs(self, schedule_id: str, *, limit: int = 10) -> list[Run]:
        """The newest ``limit`` queued or running runs of a schedule (open runs are the recent ones)."""
        request = self._history_query(schedule_id, [RunStatus.queued, RunStatus.running])
        return [
            run_from_item(item) for item in self._collect("query", request, limit=limit, key=RUN_KEY).items
        ]

    def last_success(self, schedule_id: str) -> Run | None:
        request = self._history_query(schedule_id, [RunStatus.success])
        items = self._collect("query", request, limit=1, key=RUN_KEY).items
        return run_from_item(items[0]) if items else None

    def _history_query(self, schedule_id: str, statuses: list[RunStatus] | None) -> dict[str, Any]:
        request: dict[str, Any] = {
            "TableName": self.runs_table,
            "KeyConditionExpression": "schedule_id = :id",
            "ExpressionAttributeValues": {":id": {"S": schedule_id}},
            "ScanIndexForward": False,
            "ConsistentRead": True,
        }
        if statuses:
            aliases = [f":s{i}" for i in range(len(statuses))]
            request["FilterExpression"] = f"#status IN ({', '.join(aliases)})"
            request["ExpressionAttributeNames"] = {"#status": "status"}
            for alias, status in zip(aliases, statuses, strict=True):
                request["ExpressionAttributeValues"][alias] = {"S": status.value}
        return request

    def stale_open_runs(self, shard: int, now: datetime, *, limit: int = 100) -> list[Run]:
        """Open runs of ``shard`` whose ``open_until <= now``: never delivered, or due a look at their lease.

        The ``open`` index holds keys only (a run's writes while open never touch it): one query for the
        keys, one consistent ``BatchGetItem`` of the runs, those that moved on since left out."""
        request = {
            "TableName": self.runs_table,
            "IndexName": "open",
            "KeyConditionExpression": "open_shard = :shard AND open_until <= :now",
            "ExpressionAttributeValues": {":shard": {"N": str(shard)}, ":now": {"N": str(epoch_ms(now))}},
        }
        keys = [
            {name: item[name] for name in RUN_KEY} for item in self._collect("query", request, limit=limit).items
        ]
        runs = []
        for item in self._batch_get(self.runs_table, keys):
            until = item.get("open_until")
            if until is not None and int(until["N"]) <= epoch_ms(now):
                runs.append(run_from_item(item))
        return sorted(runs, key=lambda run: (run.scheduled_for, run.run_id))

    def is_cancel_requested(self, schedule_id: str, run_id: str) -> bool:
        item = self._get(self.runs_table, {"schedule_id": schedule_id, "run_id": run_id}, "cancel_requested")
        return bool(item and deserialize(item).get("cancel_requested"))

    # ------------------------------------------------------------------ creation

    def create_run(self, run: Run, now: datetime, *, redelivery_seconds: int) -> bool:
        """Record a run-now or backfill run; False when its id exists already (a retried request).

        One transaction: the conditional put and, for a queued run, the schedule's ``active_run_count + 1``
        and ``last_queued_run_id``.
        A queued run carries the outbox deadline ``now + redelivery_seconds``; a terminal one its purge time.
        ``ScheduleNotFound`` when the schedule does not exist.
        """
        item = run_item(run)
        if run.status.is_terminal:
            item["purge_at"] = self._purge_at(run.completed_at or now)
        else:
            item.update(self._open_attributes(run.run_id, now + timedelta(seconds=redelivery_seconds)))
            item["send_count"] = 0
            item[TALLY] = OPEN_RUNS
        put = {
            "Put": {
                "TableName": self.runs_table,
                "Item": serialize(item),
                "ConditionExpression": "attribute_not_exists(run_id)",
            }
        }
        key = serialize({"schedule_id": run.schedule_id})
        if run.status == RunStatus.queued:
            counters = Update().add("active_run_count", 1).set("last_queued_run_id", run.run_id)
            counters.add(OPEN_RUNS, {run.run_id})
            counters.when("attribute_exists(schedule_id)")
            schedule: dict[str, Any] = {
                "Update": counters.request(self.schedules_table, {"schedule_id": run.schedule_id})
            }
        else:
            schedule = {
                "ConditionCheck": {
                    "TableName": self.schedules_table,
                    "Key": key,
                    "ConditionExpression": "attribute_exists(schedule_id)",
                }
            }
        items = [put, schedule]
        codes = self._transact(items)
        if codes is None:
            return True
        if codes[0] == CONDITION_FAILED:
            return False
        if codes[1] == CONDITION_FAILED:
            raise ScheduleNotFound(run.schedule_id)
        raise RuntimeError(f"run {run.run_id} was not recorded: {codes}")

    # ------------------------------------------------------------------ transitions

    def start_run(
        self, schedule_id: str, run_id: str, now: datetime, *, lease_seconds: int, session_id: str | None = None
    ) -> Run | None:
        """queued -> running (or take over a ``running`` run whose lease expired); None when not startable.

        Sets attempt + 1, ``started_at``, the lease ``lease_until = now + lease_seconds`` and, on the first
        start, ``dispatch_lag_ms``: one conditional write of the run, nothing else.
        None when the run is missing, terminal, or running under a live lease: acknowledge and do nothing.
        """
        for _ in range(TRANSITION_ATTEMPTS):
            item = self._get_run_item(schedule_id, run_id)
            if item is None:
                return None
            run = run_from_item(item)
            if run.status == RunStatus.running and run.lease_until is not None and run.lease_until > now:
                return None
            if run.status not in (RunStatus.queued, RunStatus.running):
                return None
            update, started = self._start_write(run, now, lease_seconds, session_id)
            if run.status == RunStatus.running:
                update.when(_lease_over(update, now))
            if self._update_run(schedule_id, run_id, update):
                return started
        return None

    def start_queued(self, run: Run, now: datetime, *, lease_seconds: int, session_id: str) -> Run | None:
        """Start ``run`` as its message knows it (queued, at its attempt, not cancelled): one conditional
        write, no read. None when the stored run is not in that state any more; :meth:`start_run` then reads
        it and decides. Same write as :meth:`start_run`'s queued -> running, ``session_id`` included (kept
        when the run has one: the condition on the attempt makes it the message's).
        """
        update, started = self._start_write(run, now, lease_seconds, session_id)
        cancel = update.n("cancel_requested")
        update.when(f"attribute_not_exists({cancel}) OR {cancel} = {update.v(False)}")
        return started if self._update_run(run.schedule_id, run.run_id, update) else None

    def _start_write(
        self, run: Run, now: datetime, lease_seconds: int, session_id: str | None
    ) -> tuple[Update, Run]:
        """The start of ``run`` as read (its status and attempt the conditions) and the run as started. The
        lag and the session id are kept when the run has them (a retry). The ``open`` index entry stays:
        the reaper finds the lease when it looks."""
        lag = max(0, epoch_ms(now) - epoch_ms(run.scheduled_for))
        lease_until = now + timedelta(seconds=lease_seconds)
        update = Update()
        update.set("status", RunStatus.running.value).set("attempt", run.attempt + 1).set("started_at", iso(now))
        update.set("lease_until", epoch_ms(lease_until))
        update.set_if_absent("dispatch_lag_ms", lag)
        if session_id is not None:
            update.set_if_absent("session_id", session_id)
        update.when(f"{update.n('status')} = {update.v(run.status.value)}")
        update.when(f"{update.n('attempt')} = {update.v(run.attempt)}")
        started = run.model_copy(
            update={
                "status": RunStatus.running,
                "attempt": run.attempt + 1,
                "started_at": now,
                "lease_until": lease_until,
                "dispatch_lag_ms": run.dispatch_lag_ms if run.dispatch_lag_ms is not None else lag,
                "session_id": run.session_id or session_id,
            }
        )
        return update, started

    def bind_session(self, schedule_id: str, run_id: str, session_id: str) -> None:
        """Record the agent session of a run; ``RunNotFound`` when the run does not exist."""
        update = Update().set("session_id", session_id).when("attribute_exists(run_id)")
        if not self._update_run(schedule_id, run_id, update):
            raise RunNotFound(schedule_id, run_id)

    def request_cancel(self, schedule_id: str, run_id: str, *, by: str | None = None) -> bool:
        """Flag an open run for cancellation (the executor checks the flag); False when it is not open.

        ``by`` (who asked) is recorded as ``cancelled_by``."""
        update = Update().set("cancel_requested", True).set("cancelled_by", by)
        queued, running = update.v(RunStatus.queued.value), update.v(RunStatus.running.value)
        update.when(f"{update.n('status')} IN ({queued}, {running})")
        return self._update_run(schedule_id, run_id, update)

    def finish_run(
        self,
        schedule_id: str,
        run_id: str,
        status: RunStatus,
        now: datetime,
        *,
        reason: str | None = None,
        usage: TokenUsage | None = None,
        final_answer: str | None = None,
        if_lease_expired: bool = False,
        session_id: str | None | EllipsisType = ...,
        expected: Run | None = None,
    ) -> Run | None:
        """An open run becomes terminal ``status``; None (and nothing changes) when it is already terminal.

        ``expected``: the run as the caller knows it (its status and attempt); the first try writes without
        reading it, and only a failed condition leads to a read. ``session_id`` is recorded with the outcome (None:
        the run has no transcript, and the id its start reserved is dropped; unset: left as it is).

        ``if_lease_expired`` (the reaper): only while the run's lease is still over at ``now``, so a lease
        renewed in the meantime keeps a live run alive (None is returned).

        Two writes, no transaction: the run's (it gets ``purge_at`` and leaves the open index), the decision;
        then its outcome into the schedule's counters (:func:`agentcron.domain.tally.tally`) with its id out
        of ``open_runs``, conditional on the id still being there (:meth:`fold_runs`), so a duplicate or a
        late repair never counts it twice. A run queued before ends were counted that way (no ``tally``
        attribute) still ends in one transaction with the counters.
        """
        if not status.is_terminal:
            raise ValueError(f"finish_run needs a terminal status, got {status.value}")
        for attempt in range(TRANSITION_ATTEMPTS):
            item: dict[str, Any] | None = None
            if attempt == 0 and expected is not None and not if_lease_expired:
                run = expected
            else:
                item = self._get_run_item(schedule_id, run_id)
                if item is None:
                    return None
                run = run_from_item(item)
                if if_lease_expired and (run.lease_until is None or run.lease_until > now):
                    return None
            if not run.status.can_become(status):
                return None  # terminal means terminal
            changes: dict[str, Any] = {"status": status, "completed_at": now, "lease_until": None}
            if session_id is not ...:
                changes["session_id"] = session_id
            if run.started_at is not None:
                changes["execution_duration_ms"] = max(0, epoch_ms(now) - epoch_ms(run.started_at))
            if reason is not None:
                changes["outcome_reason"] = reason
            if final_answer is not None:
                changes["final_answer"] = final_answer
            if usage is not None:
                changes["usage"] = usage
            finished = run.model_copy(update=changes)
            update = Update()
            update.set("status", status.value).set("completed_at", iso(now))
            update.set("execution_duration_ms", finished.execution_duration_ms)
            update.set("outcome_reason", finished.outcome_reason).set("final_answer", finished.final_answer)
            update.set("input_tokens", finished.usage.input_tokens)
            update.set("output_tokens", finished.usage.output_tokens)
            update.set("purge_at", self._purge_at(now)).remove("open_shard").remove("open_until")
            update.remove("lease_until")
            if session_id is not ...:
                update.set("session_id", session_id)  # None removes it
            update.when(f"{update.n('status')} = {update.v(run.status.value)}")
            update.when(f"{update.n('attempt')} = {update.v(run.attempt)}")
            if if_lease_expired:
                update.when(_lease_over(update, now))
            if item is None or TALLY in item:  # (unread: the usual case, a run queued by this version)
                update.when(f"attribute_exists({update.n(TALLY)})")
                if self._update_run(schedule_id, run_id, update):
                    self._count_end(finished)
                    return finished
            elif self._transition(schedule_id, run_id, update, _counters(tally([finished]))):
                return finished  # a run queued before ends were counted through open_runs
        return None

    def _count_end(self, finished: Run) -> None:
        """The second write of a run's end: its outcome into the schedule's counters. Should this process
        die or the write fail after the run's own write, the next claim of the schedule counts it
        (:meth:`fold_runs` from the claim); nothing is counted twice."""
        try:
            self.fold_runs(finished.schedule_id, [finished])
        except Exception:  # noqa: BLE001 - the outcome is recorded; only its counting waits for the claim
            log.warning("counters of run %s/%s left to the next claim", finished.schedule_id, finished.run_id,
                        exc_info=True)

    def fold_runs(
        self,
        schedule_id: str,
        runs: list[Run],
        *,
        gone: frozenset[str] = frozenset(),
        last_finished_at: datetime | None | EllipsisType = ...,
    ) -> bool:
        """Count ended ``runs`` (and ``gone``: ids of counted runs whose records no longer exist) into the
        schedule's counters and take them out of its ``open_runs`` set, in ONE write that holds only while
        every one of them is still in the set: each run is counted once, whoever writes it.

        ``last_finished_at``, when the caller read the schedule (a claim counting ends that were left over):
        the write also holds only while that is unchanged, and the instants and the failure streak move
        only for runs that ended after it (a run that ended later was counted first). False when the
        condition failed: counted already, or the schedule changed or is gone.
        """
        ids = {run.run_id for run in runs} | gone
        if not ids:
            return True
        latest = last_finished_at is ... or last_finished_at is None or any(
            run.completed_at is not None and run.completed_at > last_finished_at for run in runs
        )
        change = tally(runs, latest=latest)
        update = _counters(change, active=change.adds.get("active_run_count", 0) - len(gone))
        update.delete(OPEN_RUNS, ids)
        update.when("attribute_exists(schedule_id)")
        for run_id in sorted(ids):
            update.when(f"contains({update.n(OPEN_RUNS)}, {update.v(run_id)})")
        if last_finished_at is not ...:
            update.when_equal("last_finished_at", None if last_finished_at is None else iso(last_finished_at))
        try:
            self.client.update_item(**update.request(self.schedules_table, {"schedule_id": schedule_id}))
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def count_agent_create(self, schedule_id: str, run_id: str, *, limit: int) -> bool:
        """Count one schedule creation by the run's scheduler tool, unless it made ``limit`` already (False).

        A counter on the run record, so the cap holds across the run's invocations, retries and continuations.
        """
        update = Update().add("scheduler_creates", 1)
        name = update.n("scheduler_creates")
        update.when(f"attribute_exists({update.n('run_id')})")
        update.when(f"attribute_not_exists({name}) OR {name} < {update.v(limit)}")
        return self._update_run(schedule_id, run_id, update)

    # ------------------------------------------------------------------ outbox and reaper

    def defer_redelivery(
        self,
        schedule_id: str,
        run_id: str,
        now: datetime,
        *,
        redelivery_seconds: int,
        max_seconds: int = MAX_REDELIVERY_SECONDS,
    ) -> int | None:
        """Claim the re-send of a queued run past its deadline: push the deadline, count the send.

        The new deadline backs off: ``now + min(redelivery_seconds * 2**send_count, max_seconds)``.
        Conditional on the run still being queued with the deadline read, so of two sweeps one re-sends.
        Returns the number of this re-send (1, 2, ...; the caller sends the run) or None (not queued, not
        overdue, or another sweep won).
        """
        item = self._get_run_item(schedule_id, run_id)
        if item is None:
            return None
        raw, run = deserialize(item), run_from_item(item)
        deadline = raw.get("open_until")
        if run.status != RunStatus.queued or deadline is None or int(deadline) > epoch_ms(now):
            return None
        send_count = int(raw.get("send_count", 0))
        delay = min(redelivery_seconds * 2**send_count, max_seconds)
        update = Update().set("send_count", send_count + 1)
        for name, value in self._open_attributes(run_id, now + timedelta(seconds=delay)).items():
            update.set(name, value)
        update.when(f"{update.n('status')} = {update.v(RunStatus.queued.value)}")
        update.when(f"{update.n('open_until')} = {update.v(int(deadline))}")
        return send_count + 1 if self._update_run(schedule_id, run_id, update) else None

    def requeue_run(
        self, schedule_id: str, run_id: str, now: datetime, *, redelivery_seconds: int, attempt: int
    ) -> Run | None:
        """running -> queued for another attempt, when attempt ``attempt``'s lease expired (the retry policy).

        Schedule: ``last_queued_run_id`` (the run waits again). The outbox deadline restarts at
        ``now + redelivery_seconds``.
        None when the run moved on (finished, renewed, taken over) since it was read.
        """
        update = Update().set("status", RunStatus.queued.value).set("send_count", 0).remove("lease_until")
        for name, value in self._open_attributes(run_id, now + timedelta(seconds=redelivery_seconds)).items():
            update.set(name, value)
        update.when(f"{update.n('status')} = {update.v(RunStatus.running.value)}")
        update.when(f"{update.n('attempt')} = {update.v(attempt)}")
        update.when(_lease_over(update, now))
        counters = Update().set("last_queued_run_id", run_id)
        if not self._transition(schedule_id, run_id, update, counters):
            return None
        return self.get_run(schedule_id, run_id)

    def defer_reaper(self, run: Run) -> bool:
        """Move a running run's ``open`` index entry to the end of its lease (the reaper looked too early:
        the entry still held the outbox deadline of its queued time, or a lease renewed since). False when
        the run moved on since it was read."""
        if run.status != RunStatus.running or run.lease_until is None:
            return False
        update = Update()
        for name, value in self._open_attributes(run.run_id, run.lease_until).items():
            update.set(name, value)
        update.when(f"{update.n('status')} = {update.v(RunStatus.running.value)}")
        update.when(f"{update.n('attempt')} = {update.v(run.attempt)}")
        update.when(f"{update.n('lease_until')} = {update.v(epoch_ms(run.lease_until))}")
        return self._update_run(run.schedule_id, run.run_id, update)

    # ------------------------------------------------------------------ plumbing

    def _update_run(self, schedule_id: str, run_id: str, update: Update) -> bool:
        """A conditional run update on its own; False when the condition (or the run) is not there."""
        try:
            self.client.update_item(
                **update.request(self.runs_table, {"schedule_id": schedule_id, "run_id": run_id})
            )
            return True
        except ClientError as exc:
            if condition_failed(exc):
                return False
            if too_large(exc):
                raise ItemTooLarge(str(exc)) from exc
            raise

    def _transition(self, schedule_id: str, run_id: str, run_update: Update, counters: Update) -> bool:
        """The run update and the schedule counters in one transaction; False when the run's condition failed.

        A missing schedule drops the counters and the run update is applied alone.
        """
        run_request = run_update.request(self.runs_table, {"schedule_id": schedule_id, "run_id": run_id})
        counters.when("attribute_exists(schedule_id)")
        items = [
            {"Update": run_request},
            {"Update": counters.request(self.schedules_table, {"schedule_id": schedule_id})},
        ]
        codes = self._transact(items)
        if codes is None:
            return True
        run_code, schedule_code = codes
        if run_code != "None":
            return False  # lost a race (condition failed or concurrent transaction): the caller re-reads
        if schedule_code == CONDITION_FAILED:
            return self._update_run(schedule_id, run_id, run_update)
        return False


def _lease_over(update: Update, now: datetime) -> str:
    """The condition that a running run's lease has ended at ``now`` (a run started before leases had an
    attribute of their own kept its lease in ``open_until``); ``Update.when`` parenthesises it."""
    lease, opened, at = update.n("lease_until"), update.n("open_until"), update.v(epoch_ms(now))
    return f"{lease} <= {at} OR (attribute_not_exists({lease}) AND {opened} <= {at})"


def _counters(change: Tally, *, active: int | None = None) -> Update:
    """The schedule update of a :class:`Tally` (``active``: its ``active_run_count`` change instead)."""
    update = Update()
    for name, amount in change.adds.items():
        if name != "active_run_count":
            update.add(name, amount)
    update.add("active_run_count", change.adds.get("active_run_count", 0) if active is None else active)
    for name, value in change.sets.items():
        update.set(name, iso(value) if isinstance(value, datetime) else value)
    return update
