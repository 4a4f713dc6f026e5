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
import re
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated, Any, get_args, get_origin, get_type_hints

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import BaseMiddlewareHandler, NextMiddleware
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel

from agentcron.api import errors, openapi, strict
from agentcron.api.dependencies import Bind
from agentcron.api.idempotency import Idempotency, idempotency_store
from agentcron.api.routes import imports, jobs, original, runs, schedules, sessions
from agentcron.application import Services
from agentcron.clock import utcnow

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

    from agentcron.application.ports import Clock
    from agentcron.config import Settings

MAX_BODY_BYTES = 256 * 1024  # a spec must fit a DynamoDB item (400 KB) with its state
MAX_DEPTH = 32  # the deepest a spec needs is 4 (run_config.limits, a trigger's lists)
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(r"[\[\]{}]")
ROUTERS = (schedules.router, runs.router, sessions.router, jobs.router, imports.router, original.router)
BODY_LIMITS = {imports.IMPORT_PATH: imports.MAX_IMPORT_BYTES}  # paths whose bodies may be larger


def create_app(services: Services, idempotency: Idempotency | None = None) -> APIGatewayHttpResolver:
    """A resolver with every route, bound to ``services`` (and ``idempotency``: by default keys are not
    recorded). One per container: it is not thread-safe."""
    app = APIGatewayHttpResolver(enable_validation=True)
    errors.install(app)
    app.use(middlewares=[MethodGuard(), Bind(services, idempotency or Idempotency(None))])
    for router in ROUTERS:
        app.include_router(router)
    openapi.register(app)
    return app


class MethodGuard(BaseMiddlewareHandler):
    """405 with ``Allow`` for a path the API serves with other methods (``PUT /schedules/x``, ``TRACE /``),
    also where a parameter route would take the path for its own (``GET /schedules/preview`` is the
    preview's path, not a schedule called "preview")."""

    def handler(self, app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
        route, path = app.context.get("_route"), app.context.get("_path")
        if route is None or path is None:
            return next_middleware(app)
        static = [r for r in app._static_routes if r.path == path]
        if static:
            if any(r is route for r in static):
                return next_middleware(app)
            allowed = {r.method for r in static}
        elif getattr(route.func, "__name__", "") == "not_found_handler":  # Powertools' stand-in route
            allowed = {r.method for r in app._dynamic_routes if r.rule.match(path)}
            if not allowed:
                return next_middleware(app)
        else:
            return next_middleware(app)
        methods = ", ".join(sorted(allowed))
        raise errors.ApiError(
            HTTPStatus.METHOD_NOT_ALLOWED,
            f"{route.method} is not allowed here; allowed: {methods}",
            type="method_not_allowed",
            headers={"Allow": methods},
        )


def _body_model(func: Any) -> tuple[type[BaseModel], bool] | None:
    """The model a route's JSON body must match exactly, and whether it is a partial one (PATCH): the type of
    its ``Body()`` parameter, or for a free-form body the model its router's ``PATCHES`` names."""
    name = getattr(func, "__name__", "")
    if name in schedules.PATCHES:
        return schedules.PATCHES[name], True
    for hint in get_type_hints(func, include_extras=True).values():
        if get_origin(hint) is not Annotated or not any(isinstance(m, Body) for m in get_args(hint)[1:]):
            continue
        options = [a for a in get_args(get_args(hint)[0]) if a is not type(None)] or [get_args(hint)[0]]
        if len(options) == 1 and isinstance(options[0], type) and issubclass(options[0], BaseModel):
            return options[0], False
    return None


class StrictBodies:
    """Every JSON body checked against its route's model before the resolver (and pydantic's lenient
    validation) sees it: see :mod:`agentcron.api.strict`. The answer is a 400 listing every offending
    field."""

    def __init__(self, app: APIGatewayHttpResolver) -> None:
        self.app = app
        self._models: dict[Any, tuple[type[BaseModel], bool] | None] = {}

    def problems(self, event: dict[str, Any]) -> list[dict[str, str]]:
        http = (event.get("requestContext") or {}).get("http") or {}
        method, path = str(http.get("method", "")).upper(), event.get("rawPath") or http.get("path") or "/"
        for route in self.app._static_routes + self.app._dynamic_routes:
            if route.method == method and route.rule.match(path):
                break
        else:
            return []
        if route.func not in self._models:
            self._models[route.func] = _body_model(route.func)
        found = self._models[route.func]
        if found is None:
            return []
        body = event["body"]
        if event.get("isBase64Encoded"):
            body = base64.b64decode(body).decode("utf-8")
        return strict.problems(found[0], json.loads(body), patch=found[1])


def _error(
    status: int,
    message: str,
    field: str,
    type: str = "validation_error",
    problems: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"error": {"message": message, "field": field, "type": type}}
    if problems:
        body["errors"] = problems
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
    path = event.get("rawPath") or ((event.get("requestContext") or {}).get("http") or {}).get("path") or "/"
    limit = BODY_LIMITS.get(path, MAX_BODY_BYTES)
    if len(raw) > limit:
        return _error(HTTPStatus.BAD_REQUEST, f"body must be at most {limit} bytes", "body")
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
    if _too_deep(text):
        return _error(
            HTTPStatus.BAD_REQUEST,
            f"body must not nest arrays and objects deeper than {MAX_DEPTH} levels",
            "body",
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


def _too_deep(text: str) -> bool:
    """True when brackets outside strings nest deeper than MAX_DEPTH: refused before anything recursive (the
    parser, the validators, the encoder) can meet them. No recursion here: strings are cut out, then the
    brackets left are counted."""
    depth = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_DEPTH:
            return True
    return False


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
        self.strict = StrictBodies(self.app)

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
        if event.get("body"):
            problems = self.strict.problems(event)
            if problems:
                first = problems[0]
                message, field, kind = first["message"], first["field"], first["type"]
                return _error(HTTPStatus.BAD_REQUEST, message, field, kind, problems)
        self.idempotency.register_context(context)
        return self.app.resolve(event, context)
