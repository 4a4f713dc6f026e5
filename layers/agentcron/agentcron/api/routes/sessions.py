"""Session route: the transcript of a run's agent session, read from the sessions bucket."""

from __future__ import annotations

import dataclasses
from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, Field

from agentcron.api.dependencies import CallerDep, ServicesDep
from agentcron.api.routes.common import check_session_id, reply, responses
from agentcron.application import sessions as use_cases
from agentcron.models import Session

router = APIGatewayHttpRouter()


class SessionLinkView(BaseModel):
    session_id: str
    url: str = Field(description="A pre-signed S3 GET URL of the session's JSON.")
    size_bytes: int
    expires_in_seconds: int


_RESPONSES = responses(200, "The session", Session, 404)
_RESPONSES[303] = {
    "description": "The session is larger than 1 MB: read it from the pre-signed URL in Location",
    "content": {"application/json": {"model": SessionLinkView}},
    "headers": {"Location": {"description": "A pre-signed S3 URL", "schema": {"type": "string"}}},
}


@router.get(
    "/sessions/<session_id>",
    summary="A run's agent session (the transcript)",
    description="The id is the run's `session_id` (random). Only a caller who may see the run's project "
    "reads it (404 otherwise). Sessions expire with the run history (RunHistoryDays after their last "
    "write) and are deleted with their schedule. One larger than 1 MB is answered 303 with a pre-signed "
    "S3 URL (a reply stays far below Lambda's 6 MB).",
    tags=["sessions"],
    responses=_RESPONSES,
)
def get_session(session_id: str, services: ServicesDep, caller: CallerDep):  # Session, or a link (303)
    check_session_id(session_id)
    found = use_cases.read_session(services, caller, session_id)
    if isinstance(found, use_cases.SessionLink):
        body = SessionLinkView(**dataclasses.asdict(found))
        return reply(HTTPStatus.SEE_OTHER, body, {"Location": found.url})
    return reply(HTTPStatus.OK, found)
