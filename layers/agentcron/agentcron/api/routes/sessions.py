"""Session route: the transcript of a run's agent session, read from the sessions bucket."""

from __future__ import annotations

from http import HTTPStatus

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from agentcron.api.errors import ApiError
from agentcron.api.routes.common import SESSION_ID_PATTERN, reply, responses
from agentcron.api.services import Services
from agentcron.models import Session


def register(app: APIGatewayHttpResolver, services: Services) -> None:
    @app.get(
        "/sessions/<session_id>",
        summary="A run's agent session (the transcript)",
        description="The id is the run's `session_id`. Sessions outlive deleted schedules until the bucket's "
        "lifecycle removes them.",
        tags=["sessions"],
        responses=responses(200, "The session", Session, 404),
    )
    def get_session(session_id: str) -> Response[Session]:
        session = services.sessions.load(session_id) if SESSION_ID_PATTERN.match(session_id) else None
        if session is None:
            raise ApiError(HTTPStatus.NOT_FOUND, "Session not found", type="not_found", session_id=session_id)
        return reply(HTTPStatus.OK, session)
