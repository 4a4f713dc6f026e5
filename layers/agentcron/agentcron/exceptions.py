"""Domain errors. Adapters translate AWS errors into these so no botocore type leaks upward."""

from __future__ import annotations


class AgentcronError(Exception):
    """Base class of every error agentcron raises on purpose."""


class ScheduleNotFound(AgentcronError):
    def __init__(self, schedule_id: str) -> None:
        super().__init__(f"Schedule not found: {schedule_id}")
        self.schedule_id = schedule_id


class ScheduleExists(AgentcronError):
    def __init__(self, schedule_id: str) -> None:
        super().__init__(f"Schedule already exists: {schedule_id}")
        self.schedule_id = schedule_id


class ScheduleBeingDeleted(ScheduleExists):
    """The id's old run records are still being deleted (a purge job): created again once that is done."""


class VersionConflict(AgentcronError):
    """An optimistic write lost: the schedule changed since it was read (HTTP 409, or re-read and retry)."""


class ClaimConflict(VersionConflict):
    """Another claimer (or an edit) changed the schedule between the due query and the claim write."""


class StateMoved(AgentcronError):
    """An edit read the schedule before a claim moved its ``next_fire_at``: re-read and apply again.

    Not a ``VersionConflict``: the version (the ETag) did not change, so an ``If-Match`` edit still holds.
    """


class RunNotFound(AgentcronError):
    def __init__(self, schedule_id: str, run_id: str) -> None:
        super().__init__(f"Run not found: {schedule_id}/{run_id}")
        self.schedule_id = schedule_id
        self.run_id = run_id


class QueueSendFailed(AgentcronError):
    """The run queue did not take some messages; their runs stay ``queued`` and the outbox re-sends them."""

    def __init__(self, failed: dict[str, str]) -> None:
        detail = ", ".join(f"{run_id}: {reason}" for run_id, reason in failed.items())
        super().__init__(f"{len(failed)} message(s) not sent: {detail}")
        self.failed = failed


class MalformedMessage(AgentcronError):
    """A queue message that is not JSON or not one of the known message types; the reason says which."""


class InvalidInput(AgentcronError, ValueError):
    """A request the domain refuses (HTTP 400); ``field`` names what the client must change."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class RunTerminal(AgentcronError):
    """The run already ended; nothing can change it (HTTP 409)."""

    def __init__(self, schedule_id: str, run_id: str, status: str) -> None:
        super().__init__(f"Run is already {status}")
        self.schedule_id, self.run_id, self.status = schedule_id, run_id, status


class OverlapBlocked(AgentcronError):
    """A run-now with overlap ``skip`` while a run of the schedule is queued or running (HTTP 409)."""

    def __init__(self, schedule_id: str) -> None:
        super().__init__("Schedule has a run queued or running (overlap_policy skip)")
        self.schedule_id = schedule_id


class SessionNotFound(AgentcronError):
    def __init__(self, session_id: str) -> None:
        super().__init__(f"Session not found: {session_id}")
        self.session_id = session_id


class ItemTooLarge(AgentcronError):
    """A write would make a record exceed DynamoDB's 400 KB item limit: no retry can make it fit."""


class ServiceUnavailable(AgentcronError):
    """An AWS service failed or refused (throttling, outage): worth retrying later, never the caller's fault."""


class Forbidden(AgentcronError):
    """The caller may see the resource but not do this (a read-only caller changing something, a create in a
    project not granted): HTTP 403."""
