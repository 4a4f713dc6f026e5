"""Claim Lambda: EventBridge Scheduler once a minute, or a wake -> ``agentcron.application.claim.run_clock``.

The event's content does not matter (the Scheduler target's ``Input`` is a fixed marker, a wake names the
fire it was sent for): any event starts the clock. The invocation sweeps at once, then at each next fire
exactly, and stays awake until ``TICK_SECONDS + HANDOVER_SECONDS`` after its start (past the next minute's
invocation start: the handover) or returns as soon as nothing is due before then, which is what an idle
minute costs. It also stops while ``SAFETY_SECONDS`` of its time remain. Overlapping invocations are
harmless: every claim write is conditional.
"""

from __future__ import annotations

import functools
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from agentcron.application.claim import HANDOVER_SECONDS, TICK_SECONDS, SweepReport, run_clock
from agentcron.clock import utcnow
from agentcron.wiring import build_services
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from agentcron import telemetry, tracing

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="agentcron-claim")
metrics = Metrics(namespace=telemetry.NAMESPACE, service=telemetry.SERVICE)  # one dimension set for all
tracer = tracing.tracer("agentcron-claim")
copy_config_to_registered_loggers(source_logger=logger, include={"agentcron"})

SAFETY_SECONDS = 10  # kept free at the end of the invocation for the last sweep to finish


def _record(name: str, unit: str, value: float) -> None:
    metrics.add_metric(name=name, unit=unit, value=value)


dependencies = functools.cache(lambda: build_services(_record, clock=lambda: utcnow()))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    services = dependencies()
    started = utcnow()
    budget = context.get_remaining_time_in_millis() / 1000 - SAFETY_SECONDS
    awake_until = started + timedelta(seconds=min(TICK_SECONDS + HANDOVER_SECONDS, max(0.0, budget)))

    def should_continue() -> bool:
        return context.get_remaining_time_in_millis() > SAFETY_SECONDS * 1000

    source = event.get("source") if isinstance(event, dict) else None
    logger.info("claim invocation", extra={"event_source": source, "awake_until": awake_until.isoformat()})
    try:
        reports = run_clock(
            services, clock=utcnow, sleep=time.sleep, awake_until=awake_until, should_continue=should_continue
        )
    finally:
        services.end_invocation()
    total = sum(reports, SweepReport())
    telemetry.record_sweep(total, _record)
    summary = {"sweeps": len(reports), **total.as_dict()}
    logger.info("claim invocation done", extra=summary)
    return summary
