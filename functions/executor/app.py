"""Executor Lambda: SQS FIFO run messages -> ``agentcron.application.execute`` -> partial batch response.

The Lambda context's remaining time is handed to the agent loop: a run that would outlive the invocation
checkpoints its session and continues in a follow-up ``continue`` message (``CONTINUE_MARGIN_SECONDS``).

Each record is handled on its own. A record that raises (malformed body, unknown schedule, S3 or DynamoDB
unavailable) is reported in ``batchItemFailures`` and, with ``skip_group_on_error``, so are the later records
of its message group (FIFO order per schedule holds); other groups proceed. Every record is reported
individually, even when all of them fail, so the logs and metrics name each bad message.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agentcron.application import execute
from agentcron.clock import utcnow
from agentcron.exceptions import MalformedMessage
from agentcron.queue import parse_message
from agentcron.wiring import build_services
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response

from agentcron import telemetry, tracing

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="agentcron-executor")
metrics = Metrics(namespace=telemetry.NAMESPACE, service=telemetry.SERVICE)  # one dimension set for all
tracer = tracing.tracer("agentcron-executor")
copy_config_to_registered_loggers(source_logger=logger, include={"agentcron"})
processor = SqsFifoPartialProcessor(skip_group_on_error=True)
processor.raise_on_entire_batch_failure = False  # an all-bad batch still gets a per-message response

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


def _sent_at(record: SQSRecord) -> datetime | None:
    """SentTimestamp (epoch ms): the same on every redelivery, so run-now ids derived from it are stable."""
    raw = record.attributes.sent_timestamp
    return datetime.fromtimestamp(int(raw) / 1000, tz=UTC) if raw else None


@tracer.capture_method
def record_handler(record: SQSRecord, lambda_context: LambdaContext | None = None) -> dict[str, Any]:
    logger.remove_keys(["schedule_id", "run_id", "session_id", "message_id"])
    logger.append_keys(message_id=record.message_id)
    try:
        message = parse_message(record.body)
    except MalformedMessage as exc:
        logger.error("malformed run message", extra={"reason": str(exc)})
        _record("MalformedMessages", telemetry.COUNT, 1)
        raise
    logger.append_keys(schedule_id=message.schedule_id, run_id=getattr(message, "run_id", None))
    remaining_ms = lambda_context.get_remaining_time_in_millis if lambda_context is not None else None
    try:
        outcome = execute.handle(
            dependencies(),
            message,
            message_id=record.message_id,
            sent_at=_sent_at(record),
            remaining_ms=remaining_ms,
        )
    except Exception:
        # Not acknowledged: SQS redelivers it, and after maxReceiveCount it moves to the dead-letter queue.
        count = record.attributes.approximate_receive_count
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
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    finally:
        dependencies().end_invocation()  # the batch's Run Finished events, ten per request
