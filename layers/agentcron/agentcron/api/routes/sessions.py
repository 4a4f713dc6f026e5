"""Session routes: the transcript of a run's agent session (from the sessions bucket), and the sessions of a
schedule (from its run records, newest first)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from agentcron.api.dependencies import CallerDep, ServicesDep
from agentcron.api.errors import ApiError
from agentcron.api.routes.common import check_cursor, check_schedule_id, check_session_id, reply, responses
from agentcron.models import Session

from agentcron import lazy

use_cases = lazy.module("agentcron.application.sessions")  # loaded by the first request about sessions
use_cases_runs = lazy.module("agentcron.application.runs")

router = APIGatewayHttpRouter()


class SessionLinkView(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built on first use: see schemas._Later

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


class SessionSummaryView(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built on first use: see schemas._Later

    session_id: str
    run_id: str
    title: str
    status: str = Field(description="The run's status.")
    trigger: str = Field(description="What started the run: schedule, run_now or backfill.")
    scheduled_for: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None


class SessionList(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built on first use: see schemas._Later

    schedule_id: str
    sessions: list[SessionSummaryView]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page.")


def schedule_sessions(
    services: Any, caller: Any, schedule_id: str, limit: int, cursor: str | None
) -> tuple[list[SessionSummaryView], str | None]:
    """The page of sessions both the native route and the original's route answer (cursor checked first)."""
    check_schedule_id(schedule_id)
    try:
        check_cursor(cursor, {"schedule_id": schedule_id, "run_id": None})
    except ApiError:
        use_cases_runs.require_schedule(services, schedule_id, caller)  # an unknown schedule: 404 first
        raise
    found, next_cursor = use_cases.list_schedule_sessions(
        services, caller, schedule_id, limit=limit, cursor=cursor
    )
    return [SessionSummaryView(**dataclasses.asdict(s)) for s in found], next_cursor


@router.get(
    "/schedules/<schedule_id>/sessions",
    summary="The sessions of a schedule's runs, newest first",
    description="One entry per run that has a session (by the run's slot, newest first), read from the "
    "run records; GET /sessions/{session_id} serves a transcript. Runs imported from the original system "
    "name sessions whose transcripts stayed there.",
    tags=["sessions"],
    responses=responses(200, "A page of sessions", SessionList, 400, 404),
)
def list_sessions(
    schedule_id: str,
    services: ServicesDep,
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
) -> Response[SessionList]:
    sessions, next_cursor = schedule_sessions(services, caller, schedule_id, limit, cursor)
    return reply(HTTPStatus.OK, SessionList(schedule_id=schedule_id, sessions=sessions, next_cursor=next_cursor))
