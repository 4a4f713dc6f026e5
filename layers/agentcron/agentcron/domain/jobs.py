"""Jobs: work that grows with a range or a history, taken off the request and done in bounded pages.

A request that starts such work does a first page itself; what remains is a job that every claim sweep
advances by one page (:mod:`agentcron.application.jobs`), and ``GET /jobs/{job_id}`` follows.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from agentcron.domain.values import DomainModel, to_utc


class JobKind(StrEnum):
    purge = "purge"  # the run records and transcripts of a deleted schedule
    backfill = "backfill"  # the remaining slots of a backfill range
    cancel = "cancel"  # the remaining open runs a run-now with cancel_other asked to stop


class JobStatus(StrEnum):
    pending = "pending"
    done = "done"


class Job(DomainModel):
    """One job: what it does (``kind`` on ``schedule_id``), how far it got, where it goes on."""

    # Built on first use, not at import: every claim sweep looks for pending jobs, but there rarely is one.
    model_config = ConfigDict(defer_build=True)

    job_id: str
    kind: JobKind
    schedule_id: str
    status: JobStatus = JobStatus.pending
    created_at: datetime
    updated_at: datetime
    total: int | None = Field(default=None, description="Items the job had to do when it started, if known.")
    done_count: int = Field(default=0, description="Items done so far (runs recorded, deleted or flagged).")
    detail: str | None = Field(default=None, description="How it ended, when it ended early.")
    params: dict[str, Any] = Field(default_factory=dict, description="What the kind needs to go on.")

    @field_validator("created_at", "updated_at")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return to_utc(v)


def purge_job_id(schedule_id: str) -> str:
    """One purge per schedule id at a time: a create of that id waits until it is done."""
    return f"purge-{schedule_id}"
