"""The management API: a Powertools ``APIGatewayHttpResolver`` (payload 2.0) with request validation and a
generated OpenAPI document at ``/openapi.json``.

The routes live at module level, one Powertools router per resource (:mod:`agentcron.api.routes`), and
reach the use cases (:mod:`agentcron.application`) through the services :func:`create_app` binds to the
resolver (:mod:`agentcron.api.dependencies`). Errors become answers in one place (:mod:`agentcron.api.errors`).

:class:`ApiHandler` is what the Lambda (``functions/api/app.py``) and the local adapter call: it screens the
raw body (size, encoding, JSON) before the resolver sees it, so no malformed request can reach a code path
that would answer 500, then resolves the route.
"""

from __future__ import annotations

import base64
import binascii
import json
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from agentcron.api import errors, openapi
from agentcron.api.dependencies import Bind
from agentcron.api.idempotency import Idempotency, idempotency_store
from agentcron.api.routes import runs, schedules, sessions
from agentcron.application import Services
from agentcron.clock import utcnow

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

    from agentcron.application.ports import Clock
    from agentcron.config import Settings

MAX_BODY_BYTES = 256 * 1024  # a spec must fit a DynamoDB item (400 KB) with its state
ROUTERS = (schedules.router, runs.router, sessions.router)


def create_app(services: Services, idempotency: Idempotency | None = None) -> APIGatewayHttpResolver:
    """A resolver with every route, bound to ``services`` (and ``idempotency``: by default keys are not
    recorded). One per container: it is not thread-safe."""
    app = APIGatewayHttpResolver(enable_validation=True)
    errors.install(app)
    app.use(middlewares=[Bind(services, idempotency or Idempotency(None))])
    for router in ROUTERS:
        app.include_router(router)
    openapi.register(app)
    return app


def _error(status: int, message: str, field: str, type: str = "validation_error") -> dict[str, Any]:
    body = {"error": {"message": message, "field": field, "type": type}}
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def screen_body(event: dict[str, Any]) -> dict[str, Any] | None:
    """A 400 (or 415) for a body no route can read (too large, not UTF-8, not JSON); None when fine."""
    body = event.get("body")
    if not body:
        return None
    raw: bytes
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return _error(HTTPStatus.BAD_REQUEST, "body is not valid base64", "body")
    else:
        raw = body.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        return _error(HTTPStatus.BAD_REQUEST, f"body must be at most {MAX_BODY_BYTES} bytes", "body")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _error(HTTPStatus.BAD_REQUEST, "body must be UTF-8 text", "body")
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    content_type = str(headers.get("content-type", "")).strip().lower()
    if content_type and not content_type.startswith("application/json"):
        return _error(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
            "body",
            "unsupported_media_type",
        )
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return _error(HTTPStatus.BAD_REQUEST, "body is not valid JSON", "body")
    if _has_lone_surrogate(data):  # "\ud800" is valid JSON but no text: it cannot be stored or sent back
        return _error(
            HTTPStatus.BAD_REQUEST, "body must not contain unpaired surrogates (\\ud800-\\udfff)", "body"
        )
    return None


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    return False


class ApiHandler:
    """``handler(event, context) -> response``: the API behind one Lambda container (or the local adapter).

    ``services`` are what the use cases work with; ``idempotency_store`` is where Idempotency-Key records
    live (None: keys are not recorded; see :func:`agentcron.api.idempotency.idempotency_store`).
    """

    def __init__(self, services: Services, *, idempotency_store: BasePersistenceLayer | None = None) -> None:
        self.services = services
        self.idempotency = Idempotency(idempotency_store)
        self.app = create_app(services, self.idempotency)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        dynamodb: Any = None,
        sqs: Any = None,
        s3: Any = None,
        clock: Clock = utcnow,
    ) -> ApiHandler:
        """The API on the resources ``settings`` names (default boto3 clients for the ones not given)."""
        if dynamodb is None:
            import boto3

            dynamodb = boto3.client("dynamodb")
        services = Services.from_settings(settings, dynamodb=dynamodb, sqs=sqs, s3=s3, clock=clock)
        return cls(services, idempotency_store=idempotency_store(settings, dynamodb))

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        rejected = screen_body(event)
        if rejected is not None:
            return rejected
        self.idempotency.register_context(context)
        return self.app.resolve(event, context)
