"""What the HTTP routes work with: the store, the run queue, the session store, a clock, idempotency.

One ``Services`` per Lambda container (built from the environment on the first request and reused while the
container is warm); tests and the local adapter build theirs around their own clients and clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agentcron.models import utcnow
from agentcron.queue import RunQueue
from agentcron.sessions import SessionStore
from agentcron.store import Store

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

    from agentcron.config import Settings


@dataclass
class Services:
    """The adapters behind the routes. ``clock`` is the only source of "now" for a request."""

    settings: Settings
    store: Store
    queue: RunQueue
    sessions: SessionStore
    clock: Callable[[], datetime] = utcnow
    idempotency: BasePersistenceLayer | None = None

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
        """Adapters on the resources ``settings`` names; default boto3 clients for the ones not given.

        Idempotency keys are honoured only when ``settings.idempotency_table`` names a table; without it a
        retried run-now is still recorded once per second at most (see ``agentcron.api.idempotency``).
        """
        import boto3

        dynamodb = dynamodb or boto3.client("dynamodb")
        sqs = sqs or boto3.client("sqs")
        s3 = s3 or boto3.client("s3")
        persistence = None
        if settings.idempotency_table:
            from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

            persistence = DynamoDBPersistenceLayer(
                table_name=settings.idempotency_table, boto3_client=dynamodb
            )
        return cls(
            settings=settings,
            store=Store.from_settings(settings, dynamodb),
            queue=RunQueue(sqs, settings.run_queue_url),
            sessions=SessionStore(s3, settings.sessions_bucket),
            clock=clock,
            idempotency=persistence,
        )
