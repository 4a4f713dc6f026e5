"""The claim's writes: the due-index query and one claim applied as ONE transaction."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from agentcron.exceptions import ClaimConflict
from agentcron.models import Run, RunStatus, Schedule
from agentcron.store.base import CONDITION_FAILED, TRANSACT_LIMIT, StoreBase
from agentcron.store.codec import (
    Update,
    due_attributes,
    epoch_ms,
    iso,
    run_item,
    schedule_from_item,
    serialize,
    spec_json,
)

if TYPE_CHECKING:
    from agentcron.planner import ClaimPlan, PlannedRun

log = logging.getLogger(__name__)


class ClaimsMixin(StoreBase):

    def due_schedules(self, shard: int, now: datetime, *, limit: int = 100) -> list[tuple[Schedule, int]]:
        """Schedules of ``shard`` whose ``next_fire_at <= now``, oldest first (the sparse ``due`` index).

        The index is eventually consistent: the claim's version condition catches a stale entry. An item
        that no longer decodes is logged and left out, so one bad schedule never hides the others.
        """
        request = {
            "TableName": self.schedules_table,
            "IndexName": "due",
            "KeyConditionExpression": "due_shard = :shard AND next_fire_at <= :now",
            "ExpressionAttributeValues": {":shard": {"N": str(shard)}, ":now": {"N": str(epoch_ms(now))}},
        }
        out: list[tuple[Schedule, int]] = []
        for item in self._collect("query", request, limit=limit).items:
            try:
                out.append(schedule_from_item(item))
            except Exception:  # noqa: BLE001 - a corrupt item must not stop the shard
                log.exception("schedule item does not decode: %s", item.get("schedule_id"))
        return out

    def apply_claim(
        self, schedule: Schedule, version: int, plan: ClaimPlan, now: datetime, *, redelivery_seconds: int
    ) -> list[Run]:
        """Write ``plan`` in ONE transaction: the schedule update (if still at ``version``) and every record.

        Queued runs get the redelivery deadline ``now + redelivery_seconds`` (the outbox); skipped and missed
        records are terminal at once. Returns every record written (queued, skipped, missed).
        ``ClaimConflict`` when the schedule is not at ``version`` any more (or gone). A record whose slot was
        already written (a backfill or run-now got there first) is dropped and the write retried once.
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
            items = [{"Update": self._claim_update(schedule, version, plan, runs, records, now)}]
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
                raise ClaimConflict(f"Schedule {schedule.id} changed since version {version} ({codes[0]})")
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
        now: datetime,
    ) -> dict[str, Any]:
        update = Update()
        update.set("version", version + 1)
        update.set("project_id", schedule.project_id)  # a schedule stored before projects joins the index
        enabled = plan.enabled and plan.next_fire_at is not None
        for name, value in due_attributes(
            schedule.id, plan.next_fire_at if enabled else None, self.due_shards
        ).items():
            update.set(name, value)
        if not enabled and schedule.enabled:
            update.set("enabled", False)
            changes: dict[str, Any] = {"enabled": False}
            if plan.pause_note:
                changes["pause_note"] = plan.pause_note
            update.set("spec", spec_json(schedule.spec.model_copy(update=changes)))
        queued = [run for run in runs if run.status == RunStatus.queued]
        if queued:
            update.set("last_scheduled_at", iso(max(run.scheduled_for for run in queued)))
        dropped_missed = sum(1 for record in plan.missed if record not in records)
        update.add("queued_run_count", len(queued))
        update.add("total_missed_count", max(0, plan.missed_count - dropped_missed))
        update.add("total_skipped_count", sum(1 for run in runs if run.status == RunStatus.skipped))
        update.when(f"{update.n('version')} = {update.v(version)}")
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
        return item
