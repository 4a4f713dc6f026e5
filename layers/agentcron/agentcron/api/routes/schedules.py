"""Schedule routes: list, create, read, partial update, delete, pause, resume, upcoming fire times, preview.

Each route reads the request, calls one use case of :mod:`agentcron.application.schedules` and shapes the
answer. Edits are optimistic: the schedule's ``version`` is its ETag, ``If-Match`` makes PATCH, DELETE, pause
and resume conditional on it (409 when it moved on). Without If-Match the use case re-reads and re-applies
when only a claim moved the version (claims bump it on every fire), so an edit never fails for that reason.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from agentcron.api.dependencies import CallerDep, IdempotencyDep, JsonBody, ServicesDep
from agentcron.api.errors import ApiError, bad_request
from agentcron.api.idempotency import REPLAYED_HEADER, Outcome, derived_schedule_id, read_key
from agentcron.api.routes.common import (
    IdempotencyKey,
    IfMatch,
    check_cursor,
    etag,
    fit_page,
    if_match,
    reply,
    reply_outcome,
    responses,
    schedule_reply,
    view,
)
from agentcron.api.schemas import MAX_UPCOMING, FireTimes, PauseRequest, ScheduleList, ScheduleView
from agentcron.application import Services
from agentcron.application import schedules as use_cases
from agentcron.domain.access import PROJECT_ID_PATTERN, PROJECT_ID_RULE, Caller
from agentcron.domain.jobs import Job
from agentcron.models import ScheduleSpec

TAGS = ["schedules"]
READ_ONLY = frozenset({"id", "created_at", "updated_at", "created_by", "updated_by"})  # no PATCH changes
PATCHES = {"update_schedule": ScheduleSpec}  # routes whose free-form body is a partial model (strict check)
Count = Annotated[int, Query(ge=1, le=MAX_UPCOMING, description="How many fire times (1-100).")]

router = APIGatewayHttpRouter()


def _create(services: Services, caller: Caller, spec: ScheduleSpec, key: str | None) -> Outcome:
    """Create ``spec``; under a key without an id, the key's derived id (an earlier try's schedule is replayed)."""
    created = use_cases.create_schedule(
        services, caller, spec, derived_id=derived_schedule_id(key) if key is not None else None
    )
    headers = {"Location": f"/schedules/{created.schedule.id}", "ETag": etag(created.version)}
    if created.replayed:
        headers[REPLAYED_HEADER] = "true"
    body = view(created.schedule, created.version).model_dump(mode="json")
    return {"status": HTTPStatus.CREATED.value, "body": body, "headers": headers}


@router.get(
    "/schedules",
    summary="List schedules",
    tags=TAGS,
    responses=responses(200, "A page of schedules", ScheduleList, 400),
)
def list_schedules(
    services: ServicesDep,
    caller: CallerDep,
    enabled: Annotated[bool | None, Query(description="Only enabled (true) or paused (false) ones.")] = None,
    project_id: Annotated[
        str | None, Query(description="Only this project's schedules (none when it is not yours).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
) -> Response[ScheduleList]:
    if project_id is not None and not PROJECT_ID_PATTERN.match(project_id):
        raise bad_request(PROJECT_ID_RULE, field="project_id")
    try:  # a cursor of the whole table, or of the project index
        check_cursor(cursor, {"schedule_id": None})
    except ApiError:
        check_cursor(cursor, {"project_id": None, "schedule_id": None})
    schedules, next_cursor = use_cases.list_schedules(
        services, caller, project_id=project_id, enabled=enabled, limit=limit, cursor=cursor
    )
    by_project = project_id is not None or caller.projects is not None  # the project index's cursor

    def key(schedule: ScheduleView) -> dict[str, str]:
        if by_project:
            return {"project_id": schedule.project_id or "", "schedule_id": schedule.id}
        return {"schedule_id": schedule.id}

    views, next_cursor = fit_page([view(s, None) for s in schedules], next_cursor, key)
    body = ScheduleList(schedules=views, next_cursor=next_cursor)
    return reply(HTTPStatus.OK, body)


@router.post(
    "/schedules",
    summary="Create a schedule",
    description="`enabled` defaults to true. An id may be given; otherwise one is generated (derived "
    "from the Idempotency-Key when there is one).",
    tags=TAGS,
    responses=responses(201, "Created", ScheduleView, 400, 409, 422, etag_header=True),
)
def create_schedule(
    spec: Annotated[ScheduleSpec, Body()],
    services: ServicesDep,
    caller: CallerDep,
    idempotency: IdempotencyDep,
    raw_body: JsonBody,
    idempotency_key: IdempotencyKey = None,
) -> Response[ScheduleView]:
    key = read_key(idempotency_key)
    answered: list[Outcome] = []

    def create() -> Outcome:
        outcome = _create(services, caller, spec, key)
        answered.append(outcome)
        schedule_id = outcome["body"]["id"]
        return {"status": outcome["status"], "headers": outcome["headers"], "schedule_id": schedule_id}

    record = idempotency.run("create_schedule", key, raw_body, create, principal=caller.principal)
    if answered:
        return reply_outcome(answered[-1])
    # A replay: the record keeps the schedule's id, not the reply (a reply can be larger than a record may
    # be), and the schedule is answered as stored now.
    schedule, version = use_cases.get_schedule(services, caller, record["schedule_id"])
    return reply(
        int(record["status"]), view(schedule, version), {**record.get("headers", {}), "ETag": etag(version)}
    )


@router.post(
    "/schedules/preview",
    summary="Next fire times of an unsaved spec",
    tags=TAGS,
    responses=responses(200, "The next fire times (nothing is saved)", FireTimes, 400),
)
def preview(
    spec: Annotated[ScheduleSpec, Body()], services: ServicesDep, caller: CallerDep, count: Count = 10
) -> Response[FireTimes]:
    found = use_cases.preview(services, caller, spec, count)
    body = FireTimes.of(found, timezone=spec.timezone or "UTC", enabled=spec.enabled)
    return reply(HTTPStatus.OK, body)


@router.get(
    "/schedules/<schedule_id>",
    summary="Get a schedule",
    tags=TAGS,
    responses=responses(200, "The schedule", ScheduleView, 404, etag_header=True),
)
def get_schedule(schedule_id: str, services: ServicesDep, caller: CallerDep) -> Response[ScheduleView]:
    return schedule_reply(HTTPStatus.OK, *use_cases.get_schedule(services, caller, schedule_id))


@router.patch(
    "/schedules/<schedule_id>",
    summary="Update part of a schedule",
    description="Top-level fields replace the current ones (null clears), nested objects are replaced "
    "whole except run_config, whose keys are merged. id and created_at never change.",
    tags=TAGS,
    responses=responses(200, "The updated schedule", ScheduleView, 400, 404, 409, etag_header=True),
)
def update_schedule(
    schedule_id: str,
    changes: Annotated[dict[str, Any], Body(description="Any subset of the ScheduleSpec fields.")],
    services: ServicesDep,
    caller: CallerDep,
    if_match_header: IfMatch = None,
) -> Response[ScheduleView]:
    read_only = sorted(set(changes) & READ_ONLY)
    if read_only:
        raise bad_request(f"{read_only[0]} is set by the server and cannot be changed", field=read_only[0])
    expected = if_match(if_match_header)
    edited = use_cases.edit_schedule(services, caller, schedule_id, changes, expected_version=expected)
    return schedule_reply(HTTPStatus.OK, *edited)


_DELETE_RESPONSES = responses(204, "Deleted, with its run records and transcripts", None, 404, 409)
_DELETE_RESPONSES[202] = {
    "description": "Deleted; its longer run history is being deleted by a job (follow it at Location)",
    "content": {"application/json": {"model": Job}},
    "headers": {"Location": {"description": "/jobs/{job_id}", "schema": {"type": "string"}}},
}


@router.delete(
    "/schedules/<schedule_id>",
    summary="Delete a schedule, its run records and their transcripts",
    description="The schedule goes at once. A history longer than one page is deleted by a job: 202 with "
    "the job (GET /jobs/{job_id}); until it is done the id cannot be created again (409).",
    tags=TAGS,
    responses=_DELETE_RESPONSES,
)
def delete_schedule(  # no body
    schedule_id: str, services: ServicesDep, caller: CallerDep, if_match_header: IfMatch = None
):
    expected = if_match(if_match_header)
    job = use_cases.delete_schedule(services, caller, schedule_id, expected_version=expected)
    if job is not None:
        return reply(HTTPStatus.ACCEPTED, job, {"Location": f"/jobs/{job.job_id}"})
    return Response(status_code=HTTPStatus.NO_CONTENT, body=None, content_type=None)


@router.post(
    "/schedules/<schedule_id>/pause",
    summary="Pause a schedule (no slot fires while paused)",
    tags=TAGS,
    responses=responses(200, "The paused schedule", ScheduleView, 400, 404, 409, etag_header=True),
)
def pause(
    schedule_id: str,
    services: ServicesDep,
    caller: CallerDep,
    request: Annotated[PauseRequest | None, Body()] = None,
    if_match_header: IfMatch = None,
) -> Response[ScheduleView]:
    note = request.note if request else None
    expected = if_match(if_match_header)
    paused = use_cases.pause_schedule(services, caller, schedule_id, note, expected_version=expected)
    return schedule_reply(HTTPStatus.OK, *paused)


@router.post(
    "/schedules/<schedule_id>/resume",
    summary="Resume a schedule (the next fire is computed from now; the paused period is not caught up)",
    tags=TAGS,
    responses=responses(200, "The resumed schedule", ScheduleView, 400, 404, 409, etag_header=True),
)
def resume(
    schedule_id: str, services: ServicesDep, caller: CallerDep, if_match_header: IfMatch = None
) -> Response[ScheduleView]:
    expected = if_match(if_match_header)
    resumed = use_cases.resume_schedule(services, caller, schedule_id, expected_version=expected)
    return schedule_reply(HTTPStatus.OK, *resumed)


@router.get(
    "/schedules/<schedule_id>/upcoming",
    summary="Next fire times of a schedule",
    description="From the stored next fire while enabled; for a paused schedule, the fires it would "
    "have if resumed now.",
    tags=TAGS,
    responses=responses(200, "The next fire times", FireTimes, 400, 404),
)
def upcoming(
    schedule_id: str, services: ServicesDep, caller: CallerDep, count: Count = 10
) -> Response[FireTimes]:
    schedule, found = use_cases.upcoming(services, caller, schedule_id, count)
    body = FireTimes.of(
        found, schedule_id=schedule.id, timezone=schedule.timezone or "UTC", enabled=schedule.enabled
    )
    return reply(HTTPStatus.OK, body)
