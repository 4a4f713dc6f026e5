"""The ports: what the use cases need from the outside world, as ``typing.Protocol`` s.

The adapters implement them (``agentcron.store.Store`` both repositories, ``agentcron.queue.RunQueue`` the
run queue, ``agentcron.sessions.SessionStore`` the transcripts, ``agentcron.events.RunFinishedPublisher``
the events, ``agentcron.notify.Notifier`` the notifications); tests may pass anything with the same methods. Every adapter turns its SDK's errors into the
domain errors of :mod:`agentcron.exceptions`, so no botocore type reaches a use case.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from types import EllipsisType

    from agentcron.models import (
        QueueMessage,
        Run,
        RunStatus,
        Schedule,
        Session,
        SnsTarget,
        TokenUsage,
        WebhookTarget,
    )
    from agentcron.planner import ClaimPlan
    from agentcron.store.claims import DuePage

Clock = Callable[[], datetime]
"""The only source of "now": the wall clock in production, a fake in tests."""


class ScheduleRepository(Protocol):
    def insert_schedule(self, schedule: Schedule) -> None: ...
    def get_schedule(self, schedule_id: str) -> Schedule | None: ...
    def get_schedule_versioned(self, schedule_id: str) -> tuple[Schedule, int] | None: ...
    def save_schedule(
        self,
        schedule: Schedule,
        *,
        expected_version: int,
        min_failures: int | None = None,
        planned_from: datetime | None | EllipsisType = ...,
    ) -> Schedule: ...
    def delete_schedule(self, schedule_id: str, *, expected_version: int | None = None) -> None: ...
    def list_schedules(
        self, *, enabled: bool | None = None, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[Schedule], str | None]: ...
    def list_project_schedules(
        self, projects: list[str], *, enabled: bool | None = None, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[Schedule], str | None]: ...
    def count_project_schedules(self, project_id: str, *, up_to: int) -> int: ...
    def due_page(self, shard: int, now: datetime, *, limit: int = 100) -> DuePage: ...
    def request_wake(self, due: datetime, now: datetime) -> bool: ...
    def apply_claim(
        self, schedule: Schedule, version: int, plan: ClaimPlan, now: datetime, *, redelivery_seconds: int
    ) -> list[Run]: ...


class RunRepository(Protocol):
    def get_run(self, schedule_id: str, run_id: str) -> Run | None: ...
    def get_runs(self, schedule_id: str, run_ids: list[str]) -> list[Run]: ...
    def fold_runs(
        self,
        schedule_id: str,
        runs: list[Run],
        *,
        gone: frozenset[str] = frozenset(),
        last_finished_at: datetime | None | EllipsisType = ...,
    ) -> bool: ...
    def list_runs(
        self, schedule_id: str, *, status: RunStatus | None = None, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[Run], str | None]: ...
    def open_runs(self, schedule_id: str, *, limit: int = 10) -> list[Run]: ...
    def last_success(self, schedule_id: str) -> Run | None: ...
    def stale_open_runs(self, shard: int, now: datetime, *, limit: int = 100) -> list[Run]: ...
    def create_run(self, run: Run, now: datetime, *, redelivery_seconds: int) -> bool: ...
    def start_run(
        self, schedule_id: str, run_id: str, now: datetime, *, lease_seconds: int, session_id: str | None = None
    ) -> Run | None: ...
    def start_queued(self, run: Run, now: datetime, *, lease_seconds: int, session_id: str) -> Run | None: ...
    def bind_session(self, schedule_id: str, run_id: str, session_id: str) -> None: ...
    def request_cancel(self, schedule_id: str, run_id: str, *, by: str | None = None) -> bool: ...
    def count_agent_create(self, schedule_id: str, run_id: str, *, limit: int) -> bool: ...
    def is_cancel_requested(self, schedule_id: str, run_id: str) -> bool: ...
    def finish_run(
        self,
        schedule_id: str,
        run_id: str,
        status: RunStatus,
        now: datetime,
        *,
        reason: str | None = None,
        usage: TokenUsage | None = None,
        final_answer: str | None = None,
        if_lease_expired: bool = False,
    ) -> Run | None: ...


class RunQueue(Protocol):
    def send_runs(self, schedule: Schedule, runs: list[Run]) -> None: ...
    def send(self, message: QueueMessage, *, group_id: str, dedup_id: str) -> None: ...


class Transcripts(Protocol):
    def save(self, session: Session) -> None: ...
    def load(self, session_id: str) -> Session | None: ...


class RunFinishedListener(Protocol):
    def __call__(self, run: Run) -> None: ...


class Notifier(Protocol):
    """Delivers a run's end to one ``notify`` target (``agentcron.notify.Notifier``): True when taken.
    Never raises: a failed delivery is the adapter's to log."""

    def send(self, target: SnsTarget | WebhookTarget, body: bytes, *, delivery_id: str, at: datetime) -> bool: ...
