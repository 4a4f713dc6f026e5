"""Schedules: create, read, edit, delete, list, the due-index query and the atomic claim."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from agentcron import planner
from agentcron.exceptions import ClaimConflict, ScheduleExists, ScheduleNotFound, VersionConflict
from agentcron.models import IntervalTrigger, OnceTrigger, Run, RunStatus, Schedule, ScheduleSpec, to_utc
from agentcron.planner import ClaimPlan, PlannedRun
from agentcron.store.base import (
    CONDITION_FAILED,
    TRANSACT_LIMIT,
    StoreBase,
    error_code,
)
from agentcron.store.codec import (
    Update,
    due_attributes,
    epoch_ms,
    iso,
    run_item,
    schedule_from_item,
    schedule_item,
    serialize,
    spec_json,
)

log = logging.getLogger(__name__)
EDIT_ATTEMPTS = 5  # an edit without expected_version re-reads after a concurrent claim bumped the version


def anchored(spec: ScheduleSpec, anchor: datetime | None = None) -> ScheduleSpec:
    """An interval without ``anchor_at`` gets one (``anchor`` or ``created_at``): the grid is fixed."""
    trigger = spec.trigger
    if not isinstance(trigger, IntervalTrigger) or trigger.anchor_at is not None:
        return spec
    fixed = IntervalTrigger(every_seconds=trigger.every_seconds, anchor_at=anchor or spec.created_at)
    return spec.model_copy(update={"trigger": fixed})


def never_fires_reason(spec: ScheduleSpec, now: datetime) -> str:
    """Why a spec has no next fire, naming the field a client must change."""
    now = to_utc(now)
    if isinstance(spec.trigger, OnceTrigger) and spec.trigger.at <= now:
        return "trigger.at must be in the future"
    if spec.end_at is not None and spec.end_at <= now:
        return "end_at must be in the future"
    if spec.expires_at is not None and spec.expires_at <= now:
        return "expires_at must be in the future"
    return "trigger has no next run within the configured window"


class SchedulesMixin(StoreBase):
    # ------------------------------------------------------------------ CRUD

    def create_schedule(self, spec: ScheduleSpec, now: datetime) -> Schedule:
        """Store a new schedule (version 1) with its first ``next_fire_at``.

        An interval trigger without ``anchor_at`` is anchored at ``spec.created_at`` before storing (the grid
        is fixed at creation). A spec whose trigger can never fire is refused with ``ValueError`` naming the
        field:

        - a ``once`` trigger in the past: "trigger.at must be in the future";
        - a window already closed: "end_at must be in the future";
        - an ``expires_at`` not in the future: "expires_at must be in the future";
        - any other spec with no next fire: "trigger has no next run within the configured window".

        This holds for disabled specs too (enabling them later could never fire). ``ScheduleExists`` when the
        id is taken.
        """
        spec = anchored(spec)
        if spec.expires_at is not None and spec.expires_at <= to_utc(now):
            raise ValueError("expires_at must be in the future")
        first = planner.initial_next_fire(spec, now)
        if first is None:
            raise ValueError(never_fires_reason(spec, now))
        schedule = Schedule.model_validate(
            {**spec.model_dump(), "state": {"next_fire_at": first if spec.enabled else None}}
        )
        try:
            self.client.put_item(
                TableName=self.schedules_table,
                Item=serialize(schedule_item(schedule, 1, self.due_shards)),
                ConditionExpression="attribute_not_exists(schedule_id)",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise ScheduleExists(spec.id) from None
            raise
        return schedule

    def get_schedule(self, schedule_id: str) -> Schedule | None:
        found = self.get_schedule_versioned(schedule_id)
        return found[0] if found else None

    def get_schedule_versioned(self, schedule_id: str) -> tuple[Schedule, int] | None:
        """The schedule and its version, strongly consistent (the claim re-reads with it after a conflict)."""
        item = self._get(self.schedules_table, {"schedule_id": schedule_id})
        return schedule_from_item(item) if item else None

    def update_schedule(
        self, schedule_id: str, spec: ScheduleSpec, now: datetime, *, expected_version: int | None = None
    ) -> Schedule:
        """Replace the spec (version + 1); ``next_fire_at`` follows ``planner.next_fire_after_edit``.

        The id and ``created_at`` are kept from the stored schedule, ``updated_at`` becomes ``now``; an
        unanchored interval keeps the stored grid. With ``expected_version`` a concurrent change raises
        ``VersionConflict``; without it the edit re-reads and re-applies after a concurrent claim.
        ``ValueError`` (as in create) when an edit of the timing, or a resume, leaves no next fire.
        """
        for _ in range(EDIT_ATTEMPTS):
            found = self.get_schedule_versioned(schedule_id)
            if found is None:
                raise ScheduleNotFound(schedule_id)
            old, version = found
            if expected_version is not None and version != expected_version:
                raise VersionConflict(
                    f"Schedule {schedule_id} is at version {version}, not {expected_version}"
                )
            new = self._edited(old, spec, now)
            nxt = planner.next_fire_after_edit(old, new, now)
            if nxt is None and new.enabled and (not old.enabled or planner.timing_changed(old, new)):
                raise ValueError(never_fires_reason(new, now))
            update = Update()
            update.set("spec", spec_json(new)).set("enabled", new.enabled).set("version", version + 1)
            for name, value in due_attributes(
                schedule_id, nxt if new.enabled else None, self.due_shards
            ).items():
                update.set(name, value)
            update.when(f"{update.n('version')} = {update.v(version)}")
            try:
                response = self.client.update_item(
                    **update.request(self.schedules_table, {"schedule_id": schedule_id}),
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise
                if not exc.response.get("Item"):
                    raise ScheduleNotFound(schedule_id) from None
                if expected_version is not None:
                    raise VersionConflict(
                        f"Schedule {schedule_id} changed while it was being updated"
                    ) from None
                continue
            return schedule_from_item(response["Attributes"])[0]
        raise VersionConflict(f"Schedule {schedule_id} kept changing; the update was not applied")

    def pause_after_failures(self, schedule_id: str, reason: str, now: datetime) -> Schedule | None:
        """Auto-pause: disable the schedule once ``consecutive_failures`` reaches its limit.

        A follow-up to the ``finish_run`` transaction rather than part of it: the spec is a JSON document a
        counter expression cannot edit. It is conditional on the version read and on the counter still
        being at the limit, so a success recorded meanwhile (counter reset) wins, and a concurrent claim or
        edit makes it re-read. Until it lands the schedule may claim once more; a crash in between is
        repaired by the next failure. ``next_fire_at``/``due_shard`` go (no longer due); the spec gets
        ``enabled`` False and ``pause_note`` "auto-paused after N consecutive failures (last: <reason>)".
        Returns the paused schedule, None when no pause was due.
        """
        for _ in range(EDIT_ATTEMPTS):
            found = self.get_schedule_versioned(schedule_id)
            if found is None:
                return None
            schedule, version = found
            limit = schedule.max_consecutive_failures
            failures = schedule.state.consecutive_failures
            if limit is None or not schedule.enabled or failures < limit:
                return None
            note = f"auto-paused after {failures} consecutive failures (last: {reason})"
            spec = schedule.spec.model_copy(
                update={"enabled": False, "pause_note": note, "updated_at": to_utc(now)}
            )
            update = Update().set("spec", spec_json(spec)).set("enabled", False).set("version", version + 1)
            for name, value in due_attributes(schedule_id, None, self.due_shards).items():
                update.set(name, value)
            update.when(f"{update.n('version')} = {update.v(version)}")
            update.when(f"{update.n('consecutive_failures')} >= {update.v(limit)}")
            try:
                request = update.request(self.schedules_table, {"schedule_id": schedule_id})
                response = self.client.update_item(**request, ReturnValues="ALL_NEW")
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise
                continue
            log.warning("schedule %s %s", schedule_id, note)
            return schedule_from_item(response["Attributes"])[0]
        return None

    @staticmethod
    def _edited(old: Schedule, spec: ScheduleSpec, now: datetime) -> ScheduleSpec:
        anchor = None
        if isinstance(old.trigger, IntervalTrigger):
            anchor = old.trigger.anchor_at
        new = spec.model_copy(update={"id": old.id, "created_at": old.created_at, "updated_at": to_utc(now)})
        return anchored(new, anchor or old.created_at)

    def delete_schedule(self, schedule_id: str, *, expected_version: int | None = None) -> None:
        """Delete the schedule, then every run record of it. ``ScheduleNotFound`` / ``VersionConflict``.

        The schedule goes first, so no claim can add runs after the runs are deleted; a missing schedule
        still has its leftover runs deleted (a retry of a delete interrupted half-way) before the error.
        """
        condition = "attribute_exists(schedule_id)"
        values: dict[str, Any] = {}
        if expected_version is not None:
            condition += " AND #version = :version"
            values = {":version": {"N": str(expected_version)}}
        request: dict[str, Any] = {
            "TableName": self.schedules_table,
            "Key": serialize({"schedule_id": schedule_id}),
            "ConditionExpression": condition,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if values:
            request["ExpressionAttributeNames"] = {"#version": "version"}
            request["ExpressionAttributeValues"] = values
        try:
            self.client.delete_item(**request)
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            if exc.response.get("Item"):
                raise VersionConflict(
                    f"Schedule {schedule_id} is not at version {expected_version}"
                ) from None
            self._delete_runs(schedule_id)
            raise ScheduleNotFound(schedule_id) from None
        self._delete_runs(schedule_id)

    def _delete_runs(self, schedule_id: str) -> None:
        request = {
            "TableName": self.runs_table,
            "KeyConditionExpression": "schedule_id = :id",
            "ExpressionAttributeValues": {":id": {"S": schedule_id}},
            "ProjectionExpression": "schedule_id, run_id",
            "ConsistentRead": True,
        }
        keys = [item for page in self._pages("query", request) for item in page.get("Items") or []]
        self._batch_delete(self.runs_table, keys)

    def list_schedules(
        self, *, enabled: bool | None = None, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[Schedule], str | None]:
        """A page of schedules (table order) and the cursor of the next page (None at the end)."""
        request: dict[str, Any] = {"TableName": self.schedules_table}
        if enabled is not None:
            request["FilterExpression"] = "enabled = :enabled"
            request["ExpressionAttributeValues"] = {":enabled": {"BOOL": enabled}}
        page = self._collect("scan", request, limit=limit, cursor=cursor, key=("schedule_id",))
        return [schedule_from_item(item)[0] for item in page.items], page.cursor

    # ------------------------------------------------------------------ claim

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
            runs = [self._planned_run(schedule.id, record, now) for record in records]
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
    def _planned_run(schedule_id: str, record: PlannedRun, now: datetime) -> Run:
        terminal = record.status != RunStatus.queued
        return Run(
            run_id=record.run_id,
            schedule_id=schedule_id,
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
