"""Claim Lambda: EventBridge Scheduler, once a minute -> ``agentcron.claim.run_sweeps`` for ~55 s.

The event's content does not matter (the Scheduler target's ``Input`` is a fixed marker): any event starts
the loop. The loop sweeps every ``SWEEP_SECONDS`` and stops ``SWEEP_SECONDS + 10`` s before the invocation's
time runs out and before the next minute's invocation starts (a 55 s budget). Overlapping invocations are
harmless: every claim write is conditional on the schedule's version.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from agentcron import telemetry
from agentcron.claim import SweepReport, run_sweeps
from agentcron.config import Settings
from agentcron.events import RunFinishedPublisher
from agentcron.models import utcnow
from agentcron.queue import RunQueue
from agentcron.store import Store

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="agentcron-claim")
# One dimension set for every handler (service=agentcron): the alarms and the dashboard name it.
metrics = Metrics(namespace=telemetry.NAMESPACE, service=telemetry.SERVICE)
tracer = Tracer(service="agentcron-claim")
copy_config_to_registered_loggers(source_logger=logger, include={"agentcron"})

BUDGET_SECONDS = 55  # the next minute's invocation starts 60 s after this one
SAFETY_SECONDS = 10  # kept free at the end of the invocation for the last sweep to finish

# SweepReport field -> metric. Runs the reaper finishes (timed_out, cancelled) are counted by the store's
# run-finished listener (telemetry.run_finished_hook) like every other terminal run, not here.
_METRICS = {
    "schedules_due": "SchedulesDue",
    "runs_queued": telemetry.RUNS_CLAIMED,
    "runs_skipped": telemetry.RUNS_SKIPPED,
    "runs_missed": telemetry.RUNS_MISSED,
    "conflicts": "ClaimConflicts",
    "resent": "RunsResent",
    "retried": "RunsRetried",
    "errors": "SweepErrors",
}


def _record(name: str, unit: str, value: float) -> None:
    metrics.add_metric(name=name, unit=unit, value=value)


@dataclass(frozen=True)
class Dependencies:
    settings: Settings
    store: Store
    queue: RunQueue


_dependencies: Dependencies | None = None


def dependencies() -> Dependencies:
    """Settings and clients, built on first use and reused across warm invocations."""
    global _dependencies
    if _dependencies is None:
        settings = Settings.from_env()
        store = Store.from_settings(settings, boto3.client("dynamodb"))
        publisher = RunFinishedPublisher(boto3.client("events"), settings.event_bus_name)
        store.on_run_finished = telemetry.run_finished_hook(_record, publisher.publish)
        _dependencies = Dependencies(
            settings=settings,
            store=store,
            queue=RunQueue(boto3.client("sqs"), settings.run_queue_url),
        )
    return _dependencies


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    period = max(0, deps.settings.sweep_seconds)
    started = time.monotonic()

    def should_continue() -> bool:
        # Room for one more period and its sweep, inside the invocation and before the next one starts.
        remaining_ms = context.get_remaining_time_in_millis()
        elapsed = time.monotonic() - started
        return remaining_ms > (period + SAFETY_SECONDS) * 1000 and elapsed + period < BUDGET_SECONDS

    source = event.get("source") if isinstance(event, dict) else None
    logger.info("claim invocation", extra={"event_source": source, "sweep_seconds": period})
    reports = run_sweeps(
        deps.store,
        deps.queue,
        settings=deps.settings,
        clock=utcnow,
        sleep=time.sleep,
        should_continue=should_continue,
    )
    total = sum(reports, SweepReport())
    for field, name in _METRICS.items():
        _record(name, telemetry.COUNT, getattr(total, field))
    summary = {"sweeps": len(reports), **total.as_dict()}
    logger.info("claim invocation done", extra=summary)
    return summary
