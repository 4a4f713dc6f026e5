"""The claim's writes: the due-index query and one claim applied as ONE transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from agentcron.exceptions import ClaimConflict
from agentcron.models import Run, RunStatus, Schedule
from agentcron.store.base import CONDITION_FAILED, TRANSACT_LIMIT, StoreBase, condition_failed
from agentcron.store.codec import (
    OPEN_RUNS,
    TALLY,
    Update,
    due_attributes,
    epoch_ms,
    epoch_seconds,
    from_epoch_ms,
    iso,
    run_item,
    schedule_from_item,
    serialize,
    spec_json,
)

if TYPE_CHECKING:
    from agentcron.planner import ClaimPlan, PlannedRun

log = logging.getLogger(__name__)

# The claim clock's item: in the runs table under a partition no schedule id can have (ids never hold '#').
CLOCK_KEY = {"schedule_id": "#claim", "run_id": "#clock"}


@dataclass(frozen=True)
class DuePage:
    """One page of a due shard: the due schedules and what the claim clock needs next."""

    schedules: list[tuple[Schedule, int]]  # due now, oldest first, with their versions
    next_due_at: datetime | None  # the earliest next fire after now seen in this page
    more: bool  # every entry read was due: the shard may hold more due schedules


class ClaimsMixin(StoreBase):

    def due_page(self, shard: int, now: datetime, *, limit: int = 100) -> DuePage:
        """The schedules of ``shard`` due at ``now`` (``next_fire_at <= now``, oldest first), and the next
        fire after ``now`` the index holds: the instant the claim clock sleeps until.

        The sparse ``due`` index is KEYS_ONLY (its entries are tiny, and neither a claim nor a run's counters
        rewrite a copy of the spec in it): one query for the due keys, one ``BatchGetItem`` of their
        schedules (eventually consistent, half the read units: a stale copy only fails the claim's condition,
        and the claim then reads the schedule consistently), and, when every due key was read, one query of a single entry for the next fire.
        So a sweep reads the due schedules plus one entry per shard, however many exist. ``more`` is True
        when the page was full (the shard may hold more due schedules). The index is eventually consistent:
        an entry whose schedule is no longer due is left out here, and the claim's condition catches
        anything else stale. An item that no longer decodes is logged and left out, so one bad schedule
        never hides the others.
        """
        now_ms = epoch_ms(now)
        request = {
            "TableName": self.schedules_table,
            "IndexName": "due",
            "KeyConditionExpression": "due_shard = :shard AND next_fire_at <= :now",
            "ExpressionAttributeValues": {":shard": {"N": str(shard)}, ":now": {"N": str(now_ms)}},
            "Limit": limit,
        }
        response = self.client.query(**request)
        entries = response.get("Items") or []
        more = len(entries) == limit and bool(response.get("LastEvaluatedKey"))
        later: list[int] = []
        if not more:
            ahead = self.client.query(
                **{
                    **request,
                    "KeyConditionExpression": "due_shard = :shard AND next_fire_at > :now",
                    "Limit": 1,
                }
            ).get("Items") or []
            later += [int(entry["next_fire_at"]["N"]) for entry in ahead]
        schedules: list[tuple[Schedule, int]] = []
        keys = [{"schedule_id": entry["schedule_id"]} for entry in entries]
        for item in self._batch_get(self.schedules_table, keys, consistent=False):
            try:
                schedule, version = schedule_from_item(item)
            except Exception:  # noqa: BLE001 - a corrupt item must not stop the shard
                log.exception("schedule item does not decode: %s", item.get("schedule_id"))
                continue
            nxt = schedule.state.next_fire_at
            if nxt is not None and epoch_ms(nxt) <= now_ms:
                schedules.append((schedule, version))
            elif nxt is not None:  # claimed since the index was read: its entry has not caught up yet
                later.append(epoch_ms(nxt))
        schedules.sort(key=lambda found: (found[0].state.next_fire_at, found[0].id))
        return DuePage(schedules, from_epoch_ms(min(later)) if later else None, more)

    def due_schedules(self, shard: int, now: datetime, *, limit: int = 100) -> list[tuple[Schedule, int]]:
        """The due schedules of :meth:`due_page`."""
        return self.due_page(shard, now, limit=limit).schedules

    def request_wake(self, due: datetime, now: datetime) -> bool:
        """Record that the claim must be awake at ``due``; True when the caller should wake it now.

        One conditional write on the claim clock item: it succeeds unless a wake is already pending at or
        before ``due`` (a pending wake's invocation stays awake past ``due``), so a burst of edits due soon
        wakes the claim once. A pending wake in the past no longer counts.
        """
        update = Update().set("wake_at", epoch_ms(due)).set("purge_at", epoch_seconds(due) + 3600)
        pending, at, current = update.n("wake_at"), update.v(epoch_ms(due)), update.v(epoch_ms(now))
        update.when(f"attribute_not_exists({pending}) OR {pending} < {current} OR {pending} > {at}")
        try:
            self.client.update_item(**update.request(self.runs_table, CLOCK_KEY))
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def apply_claim(
        self, schedule: Schedule, version: int, plan: ClaimPlan, now: datetime, *, redelivery_seconds: int
    ) -> list[Run]:
        """Write ``plan`` in ONE transaction: the schedule update and every record.

        The update is conditional on the schedule still being at ``version`` (no edit meanwhile) and at the
        ``next_fire_at`` it was planned from (no other claim meanwhile). A claim leaves ``version`` (the
        ETag) alone, unless it ends the schedule (a spent ``once``, a passed ``end_at``): that writes
        ``enabled`` and the pause note into the spec, which is a change a reader must see.
        Queued runs get the redelivery deadline ``now + redelivery_seconds`` (the outbox); skipped and missed
        records are terminal at once. Returns every record written (queued, skipped, missed).
        ``ClaimConflict`` when the schedule moved on (or is gone). A record whose slot was already written
        (a backfill or run-now got there first) is dropped and the write retried once.
        A plan that changes nothing writes nothing.
        """
        if plan.changes_nothing:
            return []
        records = list({record.run_id: record for record in plan.records}.values())
        if len(records) + 1 > TRANSACT_LIMIT:
            raise ValueError(
                f"a claim writes at most {TRANSACT_LIMIT - 1} records, the plan has {len(records)}"
            )
        for attempt in range(2):
            runs = [self._planned_run(schedule, record, now) for record in records]
            items = [{"Update": self._claim_update(schedule, version, plan, runs, records)}]
            items += [
                {
                    "Put": {
                        "TableName": self.runs_table,
                        "Item": serialize(self._claim_record(run, now, redelivery_seconds)),
                        "ConditionExpression": "attribute_not_exists(run_id)",
                    }
                }
                for run in runs
            ]
            codes = self._transact(items)
            if codes is None:
                return runs
            if codes[0] != "None":
                raise ClaimConflict(f"Schedule {schedule.id} moved on since it was read ({codes[0]})")
            taken = {runs[i - 1].run_id for i, code in enumerate(codes) if i and code == CONDITION_FAILED}
            if attempt or not taken or any(code not in ("None", CONDITION_FAILED) for code in codes):
                raise ClaimConflict(f"Claim of schedule {schedule.id} was cancelled: {sorted(set(codes))}")
            log.info("slots already recorded, dropped from the claim of %s: %s", schedule.id, sorted(taken))
            records = [record for record in records if record.run_id not in taken]
        raise AssertionError("unreachable")

    def _claim_update(
        self,
        schedule: Schedule,
        version: int,
        plan: ClaimPlan,
        runs: list[Run],
        records: list[PlannedRun],
    ) -> dict[str, Any]:
        update = Update()
        update.set("project_id", schedule.project_id)  # a schedule stored before projects joins the index
        enabled = plan.enabled and plan.next_fire_at is not None
        for name, value in due_attributes(
            schedule.id, plan.next_fire_at if enabled else None, self.due_shards
        ).items():
            update.set(name, value)
        if not enabled and schedule.enabled:
            update.set("version", version + 1)
            update.set("enabled", False)
            changes: dict[str, Any] = {"enabled": False}
            if plan.pause_note:
                changes["pause_note"] = plan.pause_note
            update.set("spec", spec_json(schedule.spec.model_copy(update=changes)))
        queued = [run for run in runs if run.status == RunStatus.queued]
        if queued:
            newest = max(queued, key=lambda run: run.scheduled_for)
            # The run queued last is the slot's (read back from last_scheduled_at): no id to store.
            update.set("last_scheduled_at", iso(newest.scheduled_for)).remove("last_queued_run_id")
            update.add(OPEN_RUNS, {run.run_id for run in queued})
        dropped_missed = sum(1 for record in plan.missed if record not in records)
        update.add("active_run_count", len(queued))
        update.add("total_missed_count", max(0, plan.missed_count - dropped_missed))
        update.add("total_skipped_count", sum(1 for run in runs if run.status == RunStatus.skipped))
        update.when(f"{update.n('version')} = {update.v(version)}")
        planned_from = schedule.state.next_fire_at
        update.when_equal("next_fire_at", None if planned_from is None else epoch_ms(planned_from))
        return update.request(self.schedules_table, {"schedule_id": schedule.id})

    @staticmethod
    def _planned_run(schedule: Schedule, record: PlannedRun, now: datetime) -> Run:
        terminal = record.status != RunStatus.queued
        return Run(
            run_id=record.run_id,
            schedule_id=schedule.id,
            project_id=schedule.project_id,
            scheduled_for=record.scheduled_for,
            claimed_at=now,
            completed_at=now if terminal else None,
            status=record.status,
            outcome_reason=record.reason,
            was_catch_up=record.was_catch_up,
        )

    def _claim_record(self, run: Run, now: datetime, redelivery_seconds: int) -> dict[str, Any]:
        """A new run record: queued ones carry the outbox deadline, terminal ones their purge time."""
        item = run_item(run)
        if run.status.is_terminal:
            item["purge_at"] = self._purge_at(run.completed_at or now)
        else:
            item.update(self._open_attributes(run.run_id, now + timedelta(seconds=redelivery_seconds)))
            item["send_count"] = 0
            item[TALLY] = OPEN_RUNS
        return item
