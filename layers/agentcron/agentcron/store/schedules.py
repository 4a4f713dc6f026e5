"""Schedules: insert, read, save an edit (conditional on the version), delete with their runs, list."""

from __future__ import annotations

import logging
from datetime import datetime
from types import EllipsisType
from typing import Any

from botocore.exceptions import ClientError

from agentcron.exceptions import InvalidInput, ScheduleExists, ScheduleNotFound, StateMoved, VersionConflict
from agentcron.models import Schedule
from agentcron.store.base import StoreBase, condition_failed
from agentcron.store.codec import (
    Update,
    decode_cursor,
    due_attributes,
    encode_cursor,
    epoch_ms,
    schedule_from_item,
    schedule_item,
    serialize,
    spec_json,
)

log = logging.getLogger(__name__)


class SchedulesMixin(StoreBase):
    # ------------------------------------------------------------------ CRUD

    def insert_schedule(self, schedule: Schedule) -> None:
        """Store a new schedule as version 1; ``ScheduleExists`` when the id is taken."""
        try:
            self.client.put_item(
                TableName=self.schedules_table,
                Item=serialize(schedule_item(schedule, 1, self.due_shards)),
                ConditionExpression="attribute_not_exists(schedule_id)",
            )
        except ClientError as exc:
            if condition_failed(exc):
                raise ScheduleExists(schedule.id) from None
            raise

    def get_schedule(self, schedule_id: str) -> Schedule | None:
        found = self.get_schedule_versioned(schedule_id)
        return found[0] if found else None

    def get_schedule_versioned(self, schedule_id: str) -> tuple[Schedule, int] | None:
        """The schedule and its version, strongly consistent (the claim re-reads with it after a conflict)."""
        item = self._get(self.schedules_table, {"schedule_id": schedule_id})
        return schedule_from_item(item) if item else None

    def save_schedule(
        self,
        schedule: Schedule,
        *,
        expected_version: int,
        min_failures: int | None = None,
        planned_from: datetime | None | EllipsisType = ...,
    ) -> Schedule:
        """Write the spec, ``enabled`` and ``next_fire_at`` of ``schedule`` as version ``expected_version + 1``.

        Conditional on the stored version being ``expected_version`` (``VersionConflict`` otherwise,
        ``ScheduleNotFound`` when it is gone); with ``min_failures``, on ``consecutive_failures`` still
        being at least that; with ``planned_from``, on the stored ``next_fire_at`` still being the one the
        new ``next_fire_at`` was derived from: a claim in between raises ``StateMoved`` (the version, the
        ETag, is unchanged by claims, so the edit is simply applied again). The state counters are not
        touched (transitions own them). Returns the schedule as stored.
        """
        update = Update().set("spec", spec_json(schedule.spec)).set("enabled", schedule.enabled)
        update.set("project_id", schedule.project_id)  # (items written before projects get it here)
        update.set("version", expected_version + 1)
        nxt = schedule.state.next_fire_at if schedule.enabled else None
        for name, value in due_attributes(schedule.id, nxt, self.due_shards).items():
            update.set(name, value)
        update.when(f"{update.n('version')} = {update.v(expected_version)}")
        if min_failures is not None:
            update.when(f"{update.n('consecutive_failures')} >= {update.v(min_failures)}")
        if planned_from is not ...:
            update.when_equal("next_fire_at", None if planned_from is None else epoch_ms(planned_from))
        try:
            response = self.client.update_item(
                **update.request(self.schedules_table, {"schedule_id": schedule.id}),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise
            old = exc.response.get("Item")
            if not old:
                raise ScheduleNotFound(schedule.id) from None
            if planned_from is not ... and int(old.get("version", {}).get("N", "0")) == expected_version:
                raise StateMoved(f"Schedule {schedule.id} was claimed while it was being updated") from None
            raise VersionConflict(f"Schedule {schedule.id} changed while it was being updated") from None
        return schedule_from_item(response["Attributes"])[0]

    def delete_schedule(
        self, schedule_id: str, *, expected_version: int | None = None, with_runs: bool = True
    ) -> None:
        """Delete the schedule, then (``with_runs``) every run record of it. ``ScheduleNotFound`` /
        ``VersionConflict``.

        The schedule goes first, so no claim can add runs after the runs are deleted; a missing schedule
        still has its leftover runs deleted (a retry of a delete interrupted half-way) before the error.
        Without ``with_runs`` the caller deletes the runs in pages (:mod:`agentcron.application.jobs`).
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
            if not condition_failed(exc):
                raise
            if exc.response.get("Item"):
                raise VersionConflict(
                    f"Schedule {schedule_id} is not at version {expected_version}"
                ) from None
            if with_runs:
                self._delete_runs(schedule_id)
            raise ScheduleNotFound(schedule_id) from None
        if with_runs:
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
        start = decode_cursor(cursor)
        if start is not None and set(start) != {"schedule_id"}:
            raise InvalidInput("cursor is not valid", field="cursor")  # a cursor of a project listing
        page = self._collect("scan", request, limit=limit, cursor=cursor, key=("schedule_id",))
        return [schedule_from_item(item)[0] for item in page.items], page.cursor

    def list_project_schedules(
        self, projects: list[str], *, enabled: bool | None = None, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[Schedule], str | None]:
        """A page of the schedules of ``projects`` (in that order, each by id) from the sparse ``project``
        index (keys only: it is never rewritten by claims or run counters), then the items themselves.

        The cursor is the last key returned (``project_id``, ``schedule_id``); one naming a project not in
        ``projects`` starts at the next listed project, so a cursor can never open another project.
        """
        start = decode_cursor(cursor)
        if start is not None and set(start) != {"project_id", "schedule_id"}:
            raise InvalidInput("cursor is not valid", field="cursor")
        after = start["project_id"].get("S", "") if start else None
        out: list[Schedule] = []
        for project in projects:
            if after is not None and project < after:
                continue
            exclusive = start if start is not None and project == after else None
            while True:
                request: dict[str, Any] = {
                    "TableName": self.schedules_table,
                    "IndexName": "project",
                    "KeyConditionExpression": "project_id = :project",
                    "ExpressionAttributeValues": {":project": {"S": project}},
                    "Limit": max(limit - len(out), 1) if enabled is None else 100,
                }
                if exclusive:
                    request["ExclusiveStartKey"] = exclusive
                response = self.client.query(**request)
                keys = [item["schedule_id"]["S"] for item in response.get("Items") or []]
                for schedule in self._get_schedules(keys):
                    if enabled is not None and schedule.enabled != enabled:
                        continue
                    out.append(schedule)
                    if len(out) == limit:
                        last = {"project_id": {"S": project}, "schedule_id": {"S": schedule.id}}
                        return out, encode_cursor(last)
                exclusive = response.get("LastEvaluatedKey")
                if not exclusive:
                    break
        return out, None

    def _get_schedules(self, schedule_ids: list[str]) -> list[Schedule]:
        """The schedules of ``schedule_ids`` still there, in that order (strongly consistent)."""
        keys = [{"schedule_id": {"S": schedule_id}} for schedule_id in schedule_ids]
        items = self._batch_get(self.schedules_table, keys)
        found = {schedule.id: schedule for schedule in (schedule_from_item(item)[0] for item in items)}
        return [found[schedule_id] for schedule_id in schedule_ids if schedule_id in found]

    def count_project_schedules(self, project_id: str, *, up_to: int) -> int:
        """How many schedules ``project_id`` holds, counting no further than ``up_to`` (the project index)."""
        request: dict[str, Any] = {
            "TableName": self.schedules_table,
            "IndexName": "project",
            "KeyConditionExpression": "project_id = :project",
            "ExpressionAttributeValues": {":project": {"S": project_id}},
            "Select": "COUNT",
        }
        count = 0
        for page in self._pages("query", request):
            count += int(page.get("Count") or 0)
            if count >= up_to:
                break
        return count
