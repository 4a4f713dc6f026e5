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


class VersionConflict(AgentcronError):
    """An optimistic write lost: the schedule changed since it was read (HTTP 409, or re-read and retry)."""


class ClaimConflict(VersionConflict):
    """Another claimer (or an edit) changed the schedule between the due query and the claim write."""


class RunNotFound(AgentcronError):
    def __init__(self, schedule_id: str, run_id: str) -> None:
        super().__init__(f"Run not found: {schedule_id}/{run_id}")
        self.schedule_id = schedule_id
        self.run_id = run_id


class MalformedMessage(AgentcronError):
    """A queue message that is not JSON or not one of the known message types; the reason says which."""
