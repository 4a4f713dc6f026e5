"""Executor Lambda: SQS FIFO run messages -> ``agentcron.execute`` -> partial batch response.

The Lambda context's remaining time is handed to the agent loop: a run that would outlive the invocation
checkpoints its session and continues in a follow-up ``continue`` message (``CONTINUE_MARGIN_SECONDS``).

Each record is handled on its own. A record that raises (malformed body, unknown schedule, S3 or DynamoDB
unavailable) is reported in ``batchItemFailures`` and, with ``skip_group_on_error``, so are the later records
of its message group (FIFO order per schedule holds); other groups proceed. Every record is reported
individually, even when all of them fail, so the logs and metrics name each bad message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response

from agentcron import execute, telemetry
from agentcron.config import Settings
from agentcron.events import RunFinishedPublisher
from agentcron.exceptions import MalformedMessage
from agentcron.models import utcnow
from agentcron.queue import RunQueue, parse_message
from agentcron.sessions import SessionStore
from agentcron.store import Store

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from agentcron.models import Run

logger = Logger(service="agentcron-executor")
# One dimension set for every handler (service=agentcron): the alarms and the dashboard name it.
metrics = Metrics(namespace=telemetry.NAMESPACE, service=telemetry.SERVICE)
tracer = Tracer(service="agentcron-executor")
copy_config_to_registered_loggers(source_logger=logger, include={"agentcron"})
processor = SqsFifoPartialProcessor(skip_group_on_error=True)
processor.raise_on_entire_batch_failure = False  # an all-bad batch still gets a per-message response

_CORRELATION_KEYS = ["schedule_id", "run_id", "session_id", "message_id"]


@dataclass(frozen=True)
class Dependencies:
    settings: Settings
    store: Store
    sessions: SessionStore
    queue: RunQueue


_dependencies: Dependencies | None = None
_NON_TERMINAL_OUTCOMES = {
    execute.DUPLICATE: "RunMessagesDuplicate",
    execute.IGNORED: "RunMessagesIgnored",
    execute.CONTINUED: "RunsContinued",
}


def dependencies() -> Dependencies:
    """Settings and clients, built on first use and reused across warm invocations."""
    global _dependencies
    if _dependencies is None:
        settings = Settings.from_env()
        store = Store.from_settings(settings, boto3.client("dynamodb"))
        publisher = RunFinishedPublisher(boto3.client("events"), settings.event_bus_name)
        count = telemetry.run_finished_hook(_record, publisher.publish)

        def on_run_finished(run: Run) -> None:
            logger.append_keys(session_id=run.session_id)
            count(run)

        store.on_run_finished = on_run_finished
        _dependencies = Dependencies(
            settings=settings,
            store=store,
            sessions=SessionStore(boto3.client("s3"), settings.sessions_bucket),
            queue=RunQueue(boto3.client("sqs"), settings.run_queue_url),
        )
    return _dependencies


def _record(name: str, unit: str, value: float) -> None:
    metrics.add_metric(name=name, unit=unit, value=value)


def _sent_at(record: SQSRecord) -> datetime | None:
    """SentTimestamp (epoch ms): the same on every redelivery, so run-now ids derived from it are stable."""
    raw = record.attributes.sent_timestamp
    if not raw:
        return None
    seconds, millis = divmod(int(raw), 1000)
    return datetime.fromtimestamp(seconds, tz=UTC) + timedelta(milliseconds=millis)


@tracer.capture_method
def record_handler(record: SQSRecord, lambda_context: LambdaContext | None = None) -> dict[str, Any]:
    logger.remove_keys(_CORRELATION_KEYS)
    logger.append_keys(message_id=record.message_id)
    try:
        message = parse_message(record.body)
    except MalformedMessage as exc:
        logger.error("malformed run message", extra={"reason": str(exc)})
        metrics.add_metric(name="MalformedMessages", unit=MetricUnit.Count, value=1)
        raise
    logger.append_keys(schedule_id=message.schedule_id, run_id=getattr(message, "run_id", None))
    deps = dependencies()
    try:
        outcome = execute.handle(
            message,
            store=deps.store,
            sessions=deps.sessions,
            settings=deps.settings,
            now=utcnow,
            message_id=record.message_id,
            sent_at=_sent_at(record),
            queue=deps.queue,
            remaining_ms=lambda_context.get_remaining_time_in_millis if lambda_context is not None else None,
        )
    except Exception:
        # Not acknowledged: SQS redelivers it, and after maxReceiveCount it moves to the dead-letter queue.
        logger.exception(
            "run message failed; it will be redelivered",
            extra={"receive_count": record.attributes.approximate_receive_count},
        )
        metrics.add_metric(name="RunMessagesFailed", unit=MetricUnit.Count, value=1)
        raise
    logger.append_keys(run_id=outcome.run_id)
    logger.info("run message handled", extra={"status": outcome.status, "reason": outcome.reason})
    if outcome.status in _NON_TERMINAL_OUTCOMES:
        # Terminal statuses are counted by the store's run-finished listener (RunsSuccess, RunsFailed...).
        metrics.add_metric(name=_NON_TERMINAL_OUTCOMES[outcome.status], unit=MetricUnit.Count, value=1)
    return {"run_id": outcome.run_id, "status": outcome.status}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
