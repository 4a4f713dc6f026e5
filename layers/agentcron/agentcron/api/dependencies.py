"""What the routes depend on, injected per request with Powertools ``Depends``.

The routes are plain module-level functions; each declares what it needs (``services: ServicesDep``) and
Powertools resolves it before the call. :func:`create_app <agentcron.api.app.create_app>` binds one
container's :class:`~agentcron.application.Services` and :class:`~agentcron.api.idempotency.Idempotency`
to its resolver with the :class:`Bind` middleware, which puts them in the request context (Powertools clears
that context after every request); the dependencies below read them from there. So two resolvers in one
process (two containers in a test) never share anything, and no route captures a service in a closure.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Request, Response
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.middlewares import BaseMiddlewareHandler, NextMiddleware

from agentcron.api.auth import caller_of
from agentcron.api.idempotency import Idempotency
from agentcron.application import Services
from agentcron.domain.access import Caller

SERVICES = "agentcron.services"
IDEMPOTENCY = "agentcron.idempotency"


class Bind(BaseMiddlewareHandler):
    """Puts the resolver's services and idempotency into the context of every request it routes."""

    def __init__(self, services: Services, idempotency: Idempotency) -> None:
        super().__init__()
        self.services = services
        self.idempotency = idempotency

    def handler(self, app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
        app.append_context(**{SERVICES: self.services, IDEMPOTENCY: self.idempotency})
        return next_middleware(app)


def services(request: Request) -> Services:
    """The settings, repositories, queue, transcripts and clock the use cases work with."""
    return request.context[SERVICES]


def caller(request: Request) -> Caller:
    """Who is calling (from the authorizer context of the event; 401/403 when there is none that counts)."""
    raw = request.resolved_event.raw_event
    return caller_of(raw, request.context[SERVICES].settings.api_auth)


def idempotency(request: Request) -> Idempotency:
    """The Idempotency-Key guard (Powertools idempotency on the API's table, when one is configured)."""
    return request.context[IDEMPOTENCY]


def json_body(request: Request) -> Any:
    """The request body as sent (parsed JSON, None without a body): what a reused Idempotency-Key must match."""
    return request.json_body


def query_parameters(request: Request) -> dict[str, str]:
    """The request's query string parameters (of this request: never a router's ``current_event``, which
    is the last resolver's when several resolvers share the routers)."""
    return dict(request.resolved_event.query_string_parameters or {})


ServicesDep = Annotated[Services, Depends(services)]
QueryDep = Annotated[dict[str, str], Depends(query_parameters)]
CallerDep = Annotated[Caller, Depends(caller)]
IdempotencyDep = Annotated[Idempotency, Depends(idempotency)]
JsonBody = Annotated[Any, Depends(json_body)]
