"""The adapters and settings the use cases work with, wired once per Lambda container (or per test)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agentcron.clock import utcnow

if TYPE_CHECKING:
    from agentcron.application.ports import Notifier
    from agentcron.config import Settings
    from agentcron.models import Run
    from agentcron.queue import RunQueue
    from agentcron.sessions import SessionStore
    from agentcron.store import Store


@dataclass
class Services:
    """Settings, repositories, run queue, transcripts and the clock (the only source of "now")."""

    settings: Settings
    store: Store
    queue: RunQueue
    sessions: SessionStore
    clock: Callable[[], datetime] = utcnow
    new_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))  # ids of new schedules and run-nows
    on_run_finished: Callable[[Run], None] | None = None  # after a run ends: metrics, the Run Finished event
    notifier: Notifier | None = None  # delivers ``notify`` targets; None: the deployment configured none
    wake_claim: Callable[[datetime], None] | None = None  # starts a claim invocation for a fire due soon
    at_invocation_end: list[Callable[[], None]] = field(default_factory=list)  # e.g. put the batched events

    def end_invocation(self) -> None:
        """What must happen before a handler returns (Lambda may freeze the container right after)."""
        for step in self.at_invocation_end:
            step()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        dynamodb: Any = None,
        sqs: Any = None,
        s3: Any = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> Services:
        """Adapters on the resources ``settings`` names; default boto3 clients for the ones not given."""
        import boto3

        from agentcron.queue import RunQueue
        from agentcron.sessions import SessionStore
        from agentcron.store import Store

        dynamodb = dynamodb or boto3.client("dynamodb")
        return cls(
            settings=settings,
            store=Store.from_settings(settings, dynamodb),
            queue=RunQueue(
                sqs or boto3.client("sqs"),
                settings.run_queue_url,
                dead_letter_url=settings.run_dead_letter_queue_url,
            ),
            sessions=SessionStore(
                s3 or boto3.client("s3"),
                settings.sessions_bucket,
                dynamodb,
                settings.runs_table,
                retention_days=settings.run_history_days,
            ),
            clock=clock,
        )
