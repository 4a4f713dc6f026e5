"""API Lambda: API Gateway HTTP API (payload 2.0) -> ``agentcron.api`` routes -> JSON response.

The handler is built on the first request and reused while the container is warm (clients, settings and
the resolver with its generated OpenAPI document). Requests arrive already authorised by API Gateway.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

from agentcron.api import ApiHandler, Services
from agentcron.config import Settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="agentcron-api")
metrics = Metrics(namespace="agentcron", service="api")
tracer = Tracer(service="agentcron-api")
copy_config_to_registered_loggers(source_logger=logger, include={"agentcron"})

_handler: ApiHandler | None = None


def api_handler() -> ApiHandler:
    """The API bound to this container's settings and clients (built on first use)."""
    global _handler
    if _handler is None:
        _handler = ApiHandler(Services.from_settings(Settings.from_env()))
    return _handler


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = api_handler()(event, context)
    status = int(response.get("statusCode", 500))
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    if status >= 400:
        metrics.add_metric(
            name="ServerErrors" if status >= 500 else "ClientErrors", unit=MetricUnit.Count, value=1
        )
    return response
