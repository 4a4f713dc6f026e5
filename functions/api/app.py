"""API Lambda: API Gateway HTTP API (payload 2.0) -> ``agentcron.api`` routes -> JSON response.

The handler is built on the first request and reused while the container is warm (clients, settings and
the resolver with its generated OpenAPI document). Requests arrive already authenticated by API Gateway; who
the caller is (its projects, read or write) is read from the authorizer context (``agentcron.api.auth``) and
checked by the use cases.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentcron.api import ApiHandler
from agentcron.api.idempotency import idempotency_store
from agentcron.clock import utcnow
from agentcron.wiring import build_services
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

from agentcron import telemetry, tracing

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="agentcron-api")
# One dimension set for every handler (service=agentcron): the alarms and the dashboard name it.
metrics = Metrics(namespace=telemetry.NAMESPACE, service=telemetry.SERVICE)
tracer = tracing.tracer("agentcron-api")
copy_config_to_registered_loggers(source_logger=logger, include={"agentcron"})


def _record(name: str, unit: str, value: float) -> None:
    metrics.add_metric(name=name, unit=unit, value=value)


_handler: ApiHandler | None = None


def api_handler() -> ApiHandler:
    """The API of this container: built on the first request, reused while the container is warm."""
    global _handler
    if _handler is None:
        # A cancel of a queued run finishes it here: the same metrics and Run Finished event as elsewhere.
        services = build_services(_record, clock=lambda: utcnow())
        store = idempotency_store(services.settings, services.store.client)
        _handler = ApiHandler(services, idempotency_store=store)
    return _handler


def correlation_keys(path: str) -> dict[str, str]:
    """``schedule_id`` / ``run_id`` of a ``/schedules/{id}[/runs/{run_id}...]`` path, for every log record."""
    parts = [part for part in path.split("/") if part]
    keys: dict[str, str] = {}
    if len(parts) >= 2 and parts[0] == "schedules":
        keys["schedule_id"] = parts[1]
        if len(parts) >= 4 and parts[2] == "runs":
            keys["run_id"] = parts[3]
    return keys


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(**correlation_keys(str(event.get("rawPath") or "")))
    handler = api_handler()
    try:
        response = handler(event, context)
    finally:
        handler.services.end_invocation()
    status = int(response.get("statusCode", 500))
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    if status >= 400:
        metrics.add_metric(
            name="ServerErrors" if status >= 500 else "ClientErrors", unit=MetricUnit.Count, value=1
        )
    return response
