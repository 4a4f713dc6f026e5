"""Executor Lambda: SQS FIFO run messages -> ``agentcron.application.execute`` -> partial batch response.

The Lambda context's remaining time is handed to the agent loop: a run that would outlive the invocation
checkpoints its session and continues in a follow-up ``continue`` message (``CONTINUE_MARGIN_SECONDS``).

Each record is handled on its own, and its error decides what happens to it:

- a *permanent* error (a malformed body, a field out of bounds, an unknown schedule on run-now, a request
  DynamoDB refuses as invalid) can never succeed: the record goes to the dead-letter queue at once (the
  handler sends it there itself, with the reason as a message attribute and its SQS message id as the
  de-duplication id) and is acknowledged, so it never holds up the later messages of its FIFO group;
- anything else is *transient* (throttling, a service unavailable, a bug that a deploy may fix): the record
  is reported in ``batchItemFailures`` and so are the later records of its message group (FIFO order per
  schedule holds; :mod:`agentcron.fifo_batch`, Powertools' ``skip_group_on_error`` without its import);
  other groups proceed. Each reported record becomes visible
  again after a back-off (``RETRY_SECONDS``, doubling per receive) instead of the queue's visibility timeout,
  and SQS's redrive moves it to the dead-letter queue after ``MaxReceiveCount`` receives.

A permanent error whose dead-letter send fails is treated as transient: the message is never dropped.
Every record is reported individually, even when all of them fail, so the logs and metrics name each one.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agentcron.application import execute
from agentcron.clock import utcnow
from agentcron.exceptions import (
    InvalidInput,
    ItemTooLarge,
    MalformedMessage,
    QueueSendFailed,
    ScheduleNotFound,
)
from agentcron.fifo_batch import partial_response
from agentcron.queue import message_reader, parse_message
from agentcron.wiring import build_services
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from botocore.exceptions import ClientError, ParamValidationError
from pydantic import ValidationError

from agentcron import telemetry, tracing

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="agentcron-executor")
metrics = Metrics(namespace=telemetry.NAMESPACE, service=telemetry.SERVICE)  # one dimension set for all
tracer = tracing.tracer("agentcron-executor")
copy_config_to_registered_loggers(source_logger=logger, include={"agentcron"})
message_reader()  # every invocation parses run messages: built with the container, not by the first

RETRY_SECONDS = 15  # a transient failure's first back-off; doubled per receive, at most RETRY_MAX_SECONDS
RETRY_MAX_SECONDS = 600
# Errors no retry can cure. A DynamoDB ValidationException is a request the service refuses as invalid
# (an empty key, an item too large); throttling and outages have other codes and stay transient.
_PERMANENT_ERRORS = (
    MalformedMessage,
    ScheduleNotFound,
    InvalidInput,
    ItemTooLarge,
    ValidationError,
    UnicodeError,
    ParamValidationError,
)
_PERMANENT_CODES = {"ValidationException", "SerializationException"}

# Terminal statuses are counted by the run-finished listener (RunsSuccess, RunsFailed...); these are not.
_NON_TERMINAL_OUTCOMES = {
    execute.DUPLICATE: "RunMessagesDuplicate",
    execute.IGNORED: "RunMessagesIgnored",
    execute.CONTINUED: "RunsContinued",
}


def _record(name: str, unit: str, value: float) -> None:
    metrics.add_metric(name=name, unit=unit, value=value)


dependencies = functools.cache(
    lambda: build_services(
        _record, clock=lambda: utcnow(), on_finished=lambda run: logger.append_keys(session_id=run.session_id)
    )
)


def _attribute(record: dict[str, Any], name: str) -> str | None:
    """A system attribute of an SQS event record (``MessageGroupId``, ``ApproximateReceiveCount``...)."""
    return (record.get("attributes") or {}).get(name)


def _sent_at(record: dict[str, Any]) -> datetime | None:
    """SentTimestamp (epoch ms): the same on every redelivery, so run-now ids derived from it are stable."""
    raw = _attribute(record, "SentTimestamp")
    return datetime.fromtimestamp(int(raw) / 1000, tz=UTC) if raw else None


def permanent(exc: BaseException) -> bool:
    """True when handling the message again can never succeed (see the module docstring)."""
    if isinstance(exc, _PERMANENT_ERRORS):
        return True
    return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in _PERMANENT_CODES


def retry_seconds(receive_count: int) -> int:
    """The back-off before a transiently failed message is received again."""
    return min(RETRY_MAX_SECONDS, RETRY_SECONDS * 2 ** max(0, min(receive_count - 1, 10)))


def _dead_letter(record: dict[str, Any], reason: str) -> dict[str, Any]:
    """Dead-letter the record at once and acknowledge it; raises (a redelivery) if the send fails."""
    try:
        dependencies().queue.dead_letter(
            record["body"],
            message_id=record["messageId"],
            group_id=_attribute(record, "MessageGroupId"),
            reason=reason,
        )
    except QueueSendFailed:
        logger.exception("permanently bad run message not dead-lettered; it will be redelivered")
        raise
    logger.error("run message dead-lettered", extra={"reason": reason})
    _record("RunMessagesDeadLettered", telemetry.COUNT, 1)
    return {"run_id": None, "status": "dead_lettered"}


@tracer.capture_method
def record_handler(record: dict[str, Any], lambda_context: LambdaContext | None = None) -> dict[str, Any]:
    """One record of the event (as Lambda sends it): handled, dead-lettered, or raised for a retry."""
    logger.remove_keys(["schedule_id", "run_id", "session_id", "message_id"])
    logger.append_keys(message_id=record["messageId"])
    try:
        message = parse_message(record["body"])
    except MalformedMessage as exc:
        logger.error("malformed run message", extra={"reason": str(exc)})
        _record("MalformedMessages", telemetry.COUNT, 1)
        return _dead_letter(record, f"malformed: {exc}")
    logger.append_keys(schedule_id=message.schedule_id, run_id=getattr(message, "run_id", None))
    remaining_ms = lambda_context.get_remaining_time_in_millis if lambda_context is not None else None
    try:
        outcome = execute.handle(
            dependencies(),
            message,
            message_id=record["messageId"],
            sent_at=_sent_at(record),
            remaining_ms=remaining_ms,
        )
    except Exception as exc:
        if permanent(exc):
            logger.exception("run message can never succeed")
            return _dead_letter(record, f"{type(exc).__name__}: {exc}")
        # Not acknowledged: SQS redelivers it, and after maxReceiveCount it moves to the dead-letter queue.
        count = _attribute(record, "ApproximateReceiveCount")
        logger.exception("run message failed; it will be redelivered", extra={"receive_count": count})
        _record("RunMessagesFailed", telemetry.COUNT, 1)
        raise
    logger.append_keys(run_id=outcome.run_id)
    logger.info("run message handled", extra={"status": outcome.status, "reason": outcome.reason})
    if outcome.status in _NON_TERMINAL_OUTCOMES:
        _record(_NON_TERMINAL_OUTCOMES[outcome.status], telemetry.COUNT, 1)
    return {"run_id": outcome.run_id, "status": outcome.status}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Lines are per run: the request id and cold start stay, the function's name, ARN and memory (the same on
    # every line of the log group) go, halving what a run's log line costs to ingest.
    logger.remove_keys(["function_arn", "function_memory_size", "function_name"])
    try:
        response = partial_response(event.get("Records") or [], lambda record: record_handler(record, context))
        _back_off(event, response)
        return response
    finally:
        dependencies().end_invocation()  # the batch's Run Finished events, ten per request


def _back_off(event: dict[str, Any], response: dict[str, Any]) -> None:
    """Failed records (and their held-back group followers) come back after ``retry_seconds``, not after
    the queue's visibility timeout; a record whose change fails keeps that timeout (never lost)."""
    failed = {item["itemIdentifier"] for item in response.get("batchItemFailures") or []}
    queue = dependencies().queue
    for raw in event.get("Records") or []:
        if raw.get("messageId") not in failed or not raw.get("receiptHandle"):
            continue
        count = int((raw.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
        try:
            queue.retry_later(raw["receiptHandle"], retry_seconds(count))
        except Exception:  # the queue's own visibility timeout applies instead
            logger.warning("back-off not set for %s", raw.get("messageId"), exc_info=True)
