"""Schedule routes: list, create, read, partial update, delete, pause, resume, upcoming fire times, preview.

Edits are optimistic: the schedule's ``version`` is its ETag, ``If-Match`` makes PATCH, DELETE, pause and
resume conditional on it (409 when it moved on). Without If-Match an edit re-reads and re-applies when only a
claim moved the version (claims bump it on every fire), so it never fails for that reason.
"""

from __future__ import annotations

from datetime import datetime
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Query

from agentcron import triggers
from agentcron.api.errors import bad_request, schedule_not_found
from agentcron.api.idempotency import KEY_HEADER, REPLAYED_HEADER, Idempotency, derived_schedule_id, read_key
from agentcron.api.patch import merge_patch
from agentcron.api.routes.common import (
    IF_MATCH,
    check_cursor,
    check_schedule_id,
    etag,
    if_match,
    reply,
    reply_outcome,
    responses,
    schedule_reply,
    view,
)
from agentcron.api.schemas import MAX_UPCOMING, FireTimes, PauseRequest, ScheduleList, ScheduleView
from agentcron.api.services import Services
from agentcron.exceptions import ScheduleExists, VersionConflict
from agentcron.models import Schedule, ScheduleSpec
from agentcron.planner import effective_trigger

EDIT_ATTEMPTS = 5
TAGS = ["schedules"]

IdempotencyKey = Annotated[
    str | None, Header(alias=KEY_HEADER, description="Retrying with the same key creates nothing twice.")
]
IfMatch = Annotated[
    str | None, Header(alias=IF_MATCH, description="The ETag read before: 409 if it changed.")
]
Count = Annotated[int, Query(ge=1, le=MAX_UPCOMING, description="How many fire times (1-100).")]


def fire_times(spec: ScheduleSpec, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` fires of ``spec`` strictly after ``after`` (its window and DST policy applied)."""
    return triggers.upcoming(
        effective_trigger(spec),
        after,
        count,
        timezone=spec.timezone,
        start_at=spec.start_at,
        end_at=spec.end_at,
        dst_policy=spec.dst_policy,
    )


def register(app: APIGatewayHttpResolver, services: Services, idempotency: Idempotency) -> None:
    store = services.store

    def edit(schedule_id: str, changes: dict[str, Any], expected: int | None) -> Response:
        """Merge ``changes`` into the current spec and store it; retried while only claims interfere."""
        check_schedule_id(schedule_id)
        for _ in range(EDIT_ATTEMPTS):
            found = store.get_schedule_versioned(schedule_id)
            if found is None:
                raise schedule_not_found(schedule_id)
            current, version = found
            if expected is not None and version != expected:
                raise VersionConflict(f"schedule {schedule_id} is at version {version}, not {expected}")
            spec = ScheduleSpec.model_validate(merge_patch(current.spec, changes))
            try:
                updated = store.update_schedule(schedule_id, spec, services.clock(), expected_version=version)
            except VersionConflict:
                if expected is not None:
                    raise
                continue
            except ValueError as exc:
                raise bad_request(str(exc)) from None
            return schedule_reply(HTTPStatus.OK, updated, version + 1)
        raise VersionConflict(f"schedule {schedule_id} kept changing")

    @app.get(
        "/schedules",
        summary="List schedules",
        tags=TAGS,
        responses=responses(200, "A page of schedules", ScheduleList, 400),
    )
    def list_schedules(
        enabled: Annotated[
            bool | None, Query(description="Only enabled (true) or paused (false) ones.")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
    ) -> Response[ScheduleList]:
        check_cursor(cursor, {"schedule_id": None})
        schedules, next_cursor = store.list_schedules(enabled=enabled, limit=limit, cursor=cursor)
        body = ScheduleList(schedules=[view(s, None) for s in schedules], next_cursor=next_cursor)
        return reply(HTTPStatus.OK, body)

    @app.post(
        "/schedules",
        summary="Create a schedule",
        description="`enabled` defaults to true. An id may be given; otherwise one is generated (derived "
        "from the Idempotency-Key when there is one).",
        tags=TAGS,
        responses=responses(201, "Created", ScheduleView, 400, 409, 422, etag_header=True),
    )
    def create_schedule(
        spec: Annotated[ScheduleSpec, Body()], idempotency_key: IdempotencyKey = None
    ) -> Response[ScheduleView]:
        key = read_key(app.current_event.headers)

        def create() -> dict[str, Any]:
            now = services.clock()
            fields: dict[str, Any] = {"created_at": now, "updated_at": now}
            if key is not None and "id" not in spec.model_fields_set:
                fields["id"] = derived_schedule_id(key)
            new = spec.model_copy(update=fields)
            headers = {"Location": f"/schedules/{new.id}"}
            try:
                schedule: Schedule = store.create_schedule(new, now)
                version = 1
            except ValueError as exc:
                raise bad_request(str(exc)) from None
            except ScheduleExists:
                found = store.get_schedule_versioned(new.id) if "id" in fields else None
                if found is None:
                    raise
                schedule, version = found  # created by an earlier try of this key
                headers[REPLAYED_HEADER] = "true"
            headers["ETag"] = etag(version)
            return {
                "status": 201,
                "body": view(schedule, version).model_dump(mode="json"),
                "headers": headers,
            }

        return reply_outcome(idempotency.run("create_schedule", key, app.current_event.json_body, create))

    @app.post(
        "/schedules/preview",
        summary="Next fire times of an unsaved spec",
        tags=TAGS,
        responses=responses(200, "The next fire times (nothing is saved)", FireTimes, 400),
    )
    def preview(spec: Annotated[ScheduleSpec, Body()], count: Count = 10) -> Response[FireTimes]:
        now = services.clock()
        spec = spec.model_copy(update={"created_at": now, "updated_at": now})
        times = fire_times(spec, now, count)
        return reply(
            HTTPStatus.OK,
            FireTimes(timezone=spec.timezone or "UTC", enabled=spec.enabled, fire_times=times),
        )

    @app.get(
        "/schedules/<schedule_id>",
        summary="Get a schedule",
        tags=TAGS,
        responses=responses(200, "The schedule", ScheduleView, 404, etag_header=True),
    )
    def get_schedule(schedule_id: str) -> Response[ScheduleView]:
        check_schedule_id(schedule_id)
        found = store.get_schedule_versioned(schedule_id)
        if found is None:
            raise schedule_not_found(schedule_id)
        return schedule_reply(HTTPStatus.OK, *found)

    @app.patch(
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
        if_match_header: IfMatch = None,
    ) -> Response[ScheduleView]:
        return edit(schedule_id, changes, if_match(app.current_event.headers))

    @app.delete(
        "/schedules/<schedule_id>",
        summary="Delete a schedule and its run records",
        tags=TAGS,
        responses=responses(204, "Deleted", None, 404, 409),
    )
    def delete_schedule(schedule_id: str, if_match_header: IfMatch = None):  # noqa: ANN202 - no body
        check_schedule_id(schedule_id)
        store.delete_schedule(schedule_id, expected_version=if_match(app.current_event.headers))
        return Response(status_code=HTTPStatus.NO_CONTENT, body=None, content_type=None)

    @app.post(
        "/schedules/<schedule_id>/pause",
        summary="Pause a schedule (no slot fires while paused)",
        tags=TAGS,
        responses=responses(200, "The paused schedule", ScheduleView, 400, 404, 409, etag_header=True),
    )
    def pause(
        schedule_id: str,
        request: Annotated[PauseRequest | None, Body()] = None,
        if_match_header: IfMatch = None,
    ) -> Response[ScheduleView]:
        note = request.note if request else None
        return edit(schedule_id, {"enabled": False, "pause_note": note}, if_match(app.current_event.headers))

    @app.post(
        "/schedules/<schedule_id>/resume",
        summary="Resume a schedule (the next fire is computed from now; the paused period is not caught up)",
        tags=TAGS,
        responses=responses(200, "The resumed schedule", ScheduleView, 400, 404, 409, etag_header=True),
    )
    def resume(schedule_id: str, if_match_header: IfMatch = None) -> Response[ScheduleView]:
        return edit(schedule_id, {"enabled": True, "pause_note": None}, if_match(app.current_event.headers))

    @app.get(
        "/schedules/<schedule_id>/upcoming",
        summary="Next fire times of a schedule",
        description="From the stored next fire while enabled; for a paused schedule, the fires it would "
        "have if resumed now.",
        tags=TAGS,
        responses=responses(200, "The next fire times", FireTimes, 400, 404),
    )
    def upcoming(schedule_id: str, count: Count = 10) -> Response[FireTimes]:
        check_schedule_id(schedule_id)
        schedule = store.get_schedule(schedule_id)
        if schedule is None:
            raise schedule_not_found(schedule_id)
        nxt = schedule.state.next_fire_at
        if not schedule.enabled:
            times = fire_times(schedule, services.clock(), count)
        elif nxt is None:
            times = []
        else:
            times = [nxt, *fire_times(schedule, nxt, count - 1)] if count > 1 else [nxt]
        body = FireTimes(
            schedule_id=schedule.id,
            timezone=schedule.timezone or "UTC",
            enabled=schedule.enabled,
            fire_times=times,
        )
        return reply(HTTPStatus.OK, body)
