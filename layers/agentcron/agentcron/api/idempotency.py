"""``Idempotency-Key`` on POST /schedules and POST /schedules/{id}/run: a retry creates nothing twice.

Powertools idempotency keeps, per (operation, key), the first response in the idempotency table for
``EXPIRES_AFTER_SECONDS``: a retry gets that response again (with ``Idempotent-Replayed: true``), a retry
while the first request still runs gets 409, and the same key with a different body gets 422. The routes
add a second, table-free guard where they can: a schedule created under a key gets an id derived from the
key, so even a retry after the record expired (or after a crash between create and save) finds it.

Without a configured table (or without the header) the operation simply runs. The guard lives here, on the
API side: the use cases below know nothing of HTTP retries (the derived id is all they are told).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
from aws_lambda_powertools.utilities.idempotency.base import IdempotencyHandler

from agentcron.api.errors import bad_request

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

    from agentcron.config import Settings

KEY_HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
EXPIRES_AFTER_SECONDS = 24 * 3600
REPLAYED_HEADER = "Idempotent-Replayed"

Outcome = dict[str, Any]  # {"status": int, "body": JSON value, "headers": {str: str}}


def read_key(raw: str | None) -> str | None:
    """The Idempotency-Key of a request (None when absent); 400 when it is empty, too long or not printable."""
    if raw is None:
        return None
    key = raw.strip()
    if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise bad_request(
            f"{KEY_HEADER} must be 1-{MAX_KEY_LENGTH} printable ASCII characters", field=KEY_HEADER
        )
    return key


def derived_schedule_id(key: str) -> str:
    """The id of a schedule created under ``key`` without an explicit id: a retry maps to the same id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"agentcron:schedule:{key}"))


def idempotency_store(settings: Settings, dynamodb: Any = None) -> BasePersistenceLayer | None:
    """The Powertools persistence layer on ``settings.idempotency_table``; None when no table is configured
    (keys are then not honoured, though a schedule created under a key still gets the key's derived id)."""
    if not settings.idempotency_table:
        return None
    import boto3
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(
        table_name=settings.idempotency_table, boto3_client=dynamodb or boto3.client("dynamodb")
    )


def _mark_replayed(response: Outcome, record: DataRecord) -> Outcome:
    headers = dict(response.get("headers") or {})
    headers[REPLAYED_HEADER] = "true"
    return {**response, "headers": headers}


class Idempotency:
    """Runs an operation at most once per (operation, key) while the record lives."""

    def __init__(
        self, persistence: BasePersistenceLayer | None, *, expires_after_seconds: int = EXPIRES_AFTER_SECONDS
    ):
        self.persistence = persistence
        self.config = IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="request",
            expires_after_seconds=expires_after_seconds,
            response_hook=_mark_replayed,
        )

    def register_context(self, context: Any) -> None:
        """The Lambda context bounds how long an in-progress record blocks retries (a crashed request)."""
        if context is not None and hasattr(context, "get_remaining_time_in_millis"):
            self.config.register_lambda_context(context)

    def run(
        self,
        operation: str,
        key: str | None,
        request: Any,
        operation_fn: Callable[[], Outcome],
        *,
        principal: str = "",
    ) -> Outcome:
        """``operation_fn()``, or the outcome it gave for the same ``key`` of the same ``principal`` before.

        Keys are per principal: another caller's key never replays (so never reveals) a response.
        ``request`` (JSON-able) is what a reuse of the key must match. Exceptions from ``operation_fn``
        propagate and leave no record, so a failed request can be retried with the same key.
        """
        if key is None or self.persistence is None:
            return operation_fn()
        handler = IdempotencyHandler(
            function=operation_fn,
            function_payload={"key": [principal, key], "request": request},
            config=self.config,
            persistence_store=self.persistence,
            key_prefix=f"agentcron.api.{operation}",
            function_args=(),
            function_kwargs={},
        )
        return handler.handle()
