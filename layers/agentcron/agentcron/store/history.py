"""Run history beyond the run path: the run ids a schedule holds, imported run records, a schedule's sessions.

Kept apart from the run transitions (:mod:`agentcron.store.runs`): nothing here takes part in a claim, a
start or a finish.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agentcron.exceptions import ServiceUnavailable
from agentcron.models import Run
from agentcron.store.base import BATCH_DELETE_ROUNDS, BATCH_WRITE_LIMIT, StoreBase
from agentcron.store.codec import run_from_item, run_item, serialize

class HistoryMixin(StoreBase):
    def run_ids(self, schedule_id: str) -> set[str]:
        """Every run id a schedule holds (a keys-only query of its partition, page by page)."""
        request = {
            "TableName": self.runs_table,
            "KeyConditionExpression": "schedule_id = :id",
            "ExpressionAttributeValues": {":id": {"S": schedule_id}},
            "ProjectionExpression": "run_id",
            "ConsistentRead": True,
        }
        return {item["run_id"]["S"] for page in self._pages("query", request) for item in page.get("Items") or []}

    def put_history(self, runs: list[Run], now: datetime) -> None:
        """Write terminal run records of the past (an import), without touching any schedule's counters.

        Batched (25 a request, unprocessed ones retried); the caller has read which ids exist already, so a
        write never replaces a record. Each expires ``run_history_days`` after its completion, and at the
        earliest that long after ``now``, so imported history stays readable as long as new history does.
        """
        items = []
        for run in runs:
            if not run.status.is_terminal:
                raise ValueError(f"imported run {run.run_id} must be terminal, not {run.status.value}")
            item = run_item(run)
            item["purge_at"] = self._purge_at(max(run.completed_at or now, now))
            items.append({"PutRequest": {"Item": serialize(item)}})
        for start in range(0, len(items), BATCH_WRITE_LIMIT):
            pending: dict[str, Any] = {self.runs_table: items[start : start + BATCH_WRITE_LIMIT]}
            for _ in range(BATCH_DELETE_ROUNDS):
                response = self.client.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
                if not pending:
                    break
            if pending:
                raise ServiceUnavailable("imported run records could not all be written; import again")

    def session_runs(
        self, schedule_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[Run], str | None]:
        """A page of the schedule's runs that have a session, newest slot first, and the next cursor.

        A query of the schedule's partition, filtered to runs with a ``session_id``, read as a status-filtered
        run listing is (pages of at least ``FILTERED_PAGE`` records). No index: one would cost every run's
        start a write unit, to speed up a listing only schedules with long runs of skipped slots would notice.
        """
        request: dict[str, Any] = {
            "TableName": self.runs_table,
            "KeyConditionExpression": "schedule_id = :id",
            "FilterExpression": "attribute_exists(session_id)",
            "ExpressionAttributeValues": {":id": {"S": schedule_id}},
            "ScanIndexForward": False,
        }
        page = self._collect("query", request, limit=limit, cursor=cursor, key=("schedule_id", "run_id"))
        return [run_from_item(item) for item in page.items], page.cursor
