"""Jobs (:mod:`agentcron.domain.jobs`) in the runs table, under the partition ``~jobs`` (no schedule id can
be ``~jobs``, and job items carry no ``open`` index attributes, so no run query or index ever meets them).

A finished job keeps its record for ``run_history_days`` (the runs' TTL attribute), so it can be followed
after it ended. Also here: the key pages a purge deletes.
"""

from __future__ import annotations

from typing import Any

from agentcron.domain.jobs import Job, JobStatus
from agentcron.store.base import StoreBase
from agentcron.store.codec import deserialize, serialize

JOBS_PARTITION = "~jobs"


class JobsMixin(StoreBase):
    def put_job(self, job: Job) -> None:
        """Write ``job`` whole (one writer at a time: the request that starts it, then the sweep)."""
        item: dict[str, Any] = {
            "schedule_id": JOBS_PARTITION,
            "run_id": job.job_id,
            "job": job.model_dump_json(),
            "status": job.status.value,
        }
        if job.status == JobStatus.done:
            item["purge_at"] = self._purge_at(job.updated_at)
        self.client.put_item(TableName=self.runs_table, Item=serialize(item))

    def get_job(self, job_id: str) -> Job | None:
        item = self._get(self.runs_table, {"schedule_id": JOBS_PARTITION, "run_id": job_id})
        return Job.model_validate_json(deserialize(item)["job"]) if item else None

    def pending_jobs(self, *, limit: int = 25) -> list[Job]:
        """Up to ``limit`` pending jobs, oldest id first (one query of the jobs partition)."""
        request = {
            "TableName": self.runs_table,
            "KeyConditionExpression": "schedule_id = :jobs",
            "FilterExpression": "#status = :pending",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":jobs": {"S": JOBS_PARTITION}, ":pending": {"S": "pending"}},
            "ConsistentRead": True,
        }
        page = self._collect("query", request, limit=limit, key=("schedule_id", "run_id"))
        return [Job.model_validate_json(deserialize(item)["job"]) for item in page.items]

    def run_keys_page(self, schedule_id: str, *, limit: int) -> list[tuple[str, str | None]]:
        """``(run_id, session_id)`` of up to ``limit`` run records of ``schedule_id``: a purge's page."""
        request = {
            "TableName": self.runs_table,
            "KeyConditionExpression": "schedule_id = :id",
            "ExpressionAttributeValues": {":id": {"S": schedule_id}},
            "ProjectionExpression": "run_id, session_id",
            "ConsistentRead": True,
        }
        items = self._collect("query", request, limit=limit).items
        return [(item["run_id"]["S"], item.get("session_id", {}).get("S")) for item in items]

    def delete_run_records(self, schedule_id: str, run_ids: list[str]) -> None:
        keys = [serialize({"schedule_id": schedule_id, "run_id": run_id}) for run_id in run_ids]
        self._batch_delete(self.runs_table, keys)
