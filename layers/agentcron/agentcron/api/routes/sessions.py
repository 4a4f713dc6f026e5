"""Session route: the transcript of a run's agent session, read from the sessions bucket."""

from __future__ import annotations

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from agentcron.api.dependencies import CallerDep, ServicesDep
from agentcron.api.routes.common import check_session_id, reply, responses
from agentcron.application import sessions as use_cases
from agentcron.models import Session

router = APIGatewayHttpRouter()


@router.get(
    "/sessions/<session_id>",
    summary="A run's agent session (the transcript)",
    description="The id is the run's `session_id` (random). Only a caller who may see the run's project "
    "reads it (404 otherwise). Sessions outlive deleted schedules until the bucket's lifecycle removes them.",
    tags=["sessions"],
    responses=responses(200, "The session", Session, 404),
)
def get_session(session_id: str, services: ServicesDep, caller: CallerDep) -> Response[Session]:
    check_session_id(session_id)
    return reply(HTTPStatus.OK, use_cases.get_session(services, caller, session_id))
