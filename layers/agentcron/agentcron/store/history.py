"""Run history beyond the run path: the run ids a schedule holds, imported run records, the sessions index.

Kept apart from the run transitions (:mod:`agentcron.store.runs`): nothing here takes part in a claim, a
start or a finish.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agentcron.exceptions import ServiceUnavailable
from agentcron.models import Run
from agentcron.store.base import BATCH_DELETE_ROUNDS, BATCH_WRITE_LIMIT, StoreBase
from agentcron.store.codec import decode_cursor, encode_cursor, run_from_item, run_item, serialize

SESSIONS_INDEX = "sessions"


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
        """A page of the schedule's runs that have a session, newest start first, and the next cursor.

        Reads the sparse, keys-only ``sessions`` index (HASH ``schedule_id``, RANGE ``started_at``: only runs
        that started carry it), then the runs themselves in one ``BatchGetItem``; a run whose session was
        dropped (it ended without a transcript) is left out. The cursor is the index key of the last run read.
        """
        request: dict[str, Any] = {
            "TableName": self.runs_table,
            "IndexName": SESSIONS_INDEX,
            "KeyConditionExpression": "schedule_id = :id",
            "ExpressionAttributeValues": {":id": {"S": schedule_id}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        start = decode_cursor(cursor)
        if start:
            request["ExclusiveStartKey"] = start
        out: list[Run] = []
        while True:
            response = self.client.query(**request)
            keys = [{"schedule_id": i["schedule_id"], "run_id": i["run_id"]} for i in response.get("Items") or []]
            found = {run.run_id: run for run in map(run_from_item, self._batch_get(self.runs_table, keys))}
            for key in keys:
                run = found.get(key["run_id"]["S"])
                if run is not None and run.session_id:
                    out.append(run)
            last = response.get("LastEvaluatedKey")
            if not last or len(out) >= limit:
                return out, encode_cursor(last)
            request["ExclusiveStartKey"] = last
            request["Limit"] = limit - len(out)
