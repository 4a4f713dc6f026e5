"""Claim Lambda: EventBridge Scheduler, once a minute -> ``agentcron.application.claim.run_sweeps`` for ~55 s.

The event's content does not matter (the Scheduler target's ``Input`` is a fixed marker): any event starts
the loop. The loop sweeps every ``SWEEP_SECONDS`` and stops ``SWEEP_SECONDS + 10`` s before the invocation's
time runs out and before the next minute's invocation starts (a 55 s budget). Overlapping invocations are
harmless: every claim write is conditional on the schedule's version.
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from agentcron import telemetry
from agentcron.application.claim import SweepReport, run_sweeps
from agentcron.clock import utcnow
from agentcron.wiring import build_services

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="agentcron-claim")
metrics = Metrics(namespace=telemetry.NAMESPACE, service=telemetry.SERVICE)  # one dimension set for all
tracer = Tracer(service="agentcron-claim")
copy_config_to_registered_loggers(source_logger=logger, include={"agentcron"})

BUDGET_SECONDS = 55  # the next minute's invocation starts 60 s after this one
SAFETY_SECONDS = 10  # kept free at the end of the invocation for the last sweep to finish


def _record(name: str, unit: str, value: float) -> None:
    metrics.add_metric(name=name, unit=unit, value=value)


dependencies = functools.cache(lambda: build_services(_record, clock=lambda: utcnow()))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    services = dependencies()
    period = max(0, services.settings.sweep_seconds)
    started = time.monotonic()

    def should_continue() -> bool:
        # Room for one more period and its sweep, inside the invocation and before the next one starts.
        room = context.get_remaining_time_in_millis() > (period + SAFETY_SECONDS) * 1000
        return room and time.monotonic() - started + period < BUDGET_SECONDS

    source = event.get("source") if isinstance(event, dict) else None
    logger.info("claim invocation", extra={"event_source": source, "sweep_seconds": period})
    reports = run_sweeps(services, clock=utcnow, sleep=time.sleep, should_continue=should_continue)
    total = sum(reports, SweepReport())
    telemetry.record_sweep(total, _record)
    summary = {"sweeps": len(reports), **total.as_dict()}
    logger.info("claim invocation done", extra=summary)
    return summary
