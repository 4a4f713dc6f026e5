"""The original system's routes under ``/api/v1``, with its request and response shapes, so its clients keep
working: a thin translation over the same use cases as the native routes (nothing is decided here).

| route | what | answer |
|---|---|---|
| ``GET /api/v1/schedules`` | every schedule the caller sees | ``{"schedules": [schedule]}`` |
| ``POST /api/v1/schedules`` | create (the original's defaults: ``enabled`` false) | 201, the schedule |
| ``PATCH /api/v1/schedules/{id}`` | partial update | the schedule |
| ``DELETE /api/v1/schedules/{id}`` | delete with its runs | ``{"schedule_id", "deleted": true}`` |
| ``POST /api/v1/schedules/{id}/run`` | run now (``{task_message?}``) | 202 ``{schedule_id, run_id, enqueued_at}`` |
| ``GET /api/v1/schedules/{id}/runs`` | newest first, ``?limit=`` (200) | ``{"schedule_id", "runs": [run record]}`` |
| ``GET /api/v1/schedules/{id}/sessions`` | newest first, ``?limit=`` (200) | ``{"schedule_id", "sessions": [session]}`` |

A schedule is the original's store entry (:func:`agentcron.domain.original.original_schedule`), a run its run
record; input is read as the import reads an entry (:func:`agentcron.domain.schedule.imported`: shorthands,
bare model names, inclusive ``end_at``). Errors have the original's shape: ``{"error": message}``, and for a
missing schedule ``{"error": "Schedule not found", "schedule_id"}`` (404).

Left out of the OpenAPI document (and so of its schemathesis run): these routes take the original's lenient
input (unknown fields ignored, shorthands spelled out) and answer the original's error shape, which the
document's strict schemas (``additionalProperties: false``, the native error body) would misdescribe. The
README documents them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import ValidationError

from agentcron.api.dependencies import CallerDep, JsonBody, QueryDep, ServicesDep
from agentcron.application import Services
from agentcron.application import schedules as schedule_cases
from agentcron.domain.schedule import imported
from agentcron.domain.validation import field_errors
from agentcron.domain.values import iso
from agentcron.exceptions import (
    Forbidden,
    InvalidInput,
    OverlapBlocked,
    ScheduleExists,
    ScheduleNotFound,
    VersionConflict,
)
from agentcron.models import SCHEDULE_ID_PATTERN, ScheduleSpec

from agentcron import lazy

run_cases = lazy.module("agentcron.application.runs")  # loaded by the first request that needs them
session_cases = lazy.module("agentcron.application.sessions")

PREFIX = "/api/v1"
# The route functions are named v1_*: the strict body check finds a native route's model by function name.
MAX_LISTED = 200  # the original kept the 200 newest terminal runs of a schedule
router = APIGatewayHttpRouter()


def _answer(status: int, body: Any) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def _original_errors(route: Callable[..., Response]) -> Callable[..., Response]:
    """The original's error shape for what the use cases refuse (the native routes answer their own)."""

    @functools.wraps(route)
    def wrapped(*args: Any, **kwargs: Any) -> Response:
        try:
            return route(*args, **kwargs)
        except ScheduleNotFound as exc:
            return _answer(HTTPStatus.NOT_FOUND, {"error": "Schedule not found", "schedule_id": exc.schedule_id})
        except ValidationError as exc:
            return _answer(HTTPStatus.BAD_REQUEST, {"error": field_errors(exc)[0].message})
        except InvalidInput as exc:
            return _answer(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
        except Forbidden as exc:
            return _answer(HTTPStatus.FORBIDDEN, {"error": str(exc)})
        except ScheduleExists as exc:
            return _answer(HTTPStatus.CONFLICT, {"error": "Schedule already exists", "schedule_id": exc.schedule_id})
        except (VersionConflict, OverlapBlocked) as exc:
            return _answer(HTTPStatus.CONFLICT, {"error": str(exc)})

    return wrapped


def _provider(services: Services) -> str | None:
    return services.settings.default_model_provider.strip() or None


def _read(services: Services, body: Any) -> dict[str, Any]:
    """A request body of the original read as the import reads an entry."""
    from agentcron.agent.registry import BUILTIN_PROVIDERS

    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    return imported(body, model_provider=_provider(services), providers=BUILTIN_PROVIDERS)


def _schedule(services: Services, schedule: Any) -> dict[str, Any]:
    return _original().original_schedule(schedule, model_provider=_provider(services))


def _original() -> Any:
    """The original's shapes (:mod:`agentcron.domain.original`), loaded by the first request of this API:
    no other route needs them, so a cold start does not import them."""
    from agentcron.domain import original

    return original


def _limit(raw: str | None) -> int:
    try:
        return max(1, min(MAX_LISTED, int(raw))) if raw else MAX_LISTED
    except ValueError:
        raise InvalidInput("limit must be an integer") from None


def _check_id(schedule_id: str) -> str:
    if not SCHEDULE_ID_PATTERN.match(schedule_id):
        raise ScheduleNotFound(schedule_id)
    return schedule_id


@router.get(f"{PREFIX}/schedules", include_in_schema=False)
@_original_errors
def v1_list_schedules(services: ServicesDep, caller: CallerDep):
    found, cursor = schedule_cases.list_schedules(services, caller, limit=100)
    while cursor:
        more, cursor = schedule_cases.list_schedules(services, caller, limit=100, cursor=cursor)
        found += more
    return _answer(HTTPStatus.OK, {"schedules": [_schedule(services, s) for s in found]})


@router.post(f"{PREFIX}/schedules", include_in_schema=False)
@_original_errors
def v1_create_schedule(services: ServicesDep, caller: CallerDep, body: JsonBody):
    data = _read(services, body)
    data.setdefault("enabled", False)  # the original created schedules disabled
    for stamp in ("created_at", "updated_at"):
        data.pop(stamp, None)
    created = schedule_cases.create_schedule(services, caller, ScheduleSpec.model_validate(data))
    return _answer(HTTPStatus.CREATED, _schedule(services, created.schedule))


@router.patch(f"{PREFIX}/schedules/<schedule_id>", include_in_schema=False)
@_original_errors
def v1_update_schedule(schedule_id: str, services: ServicesDep, caller: CallerDep, body: JsonBody):
    changes = _read(services, body)
    for stamp in ("id", "created_at", "updated_at", "created_by", "updated_by"):
        changes.pop(stamp, None)
    if "project_id" in changes:  # the original's run_config.project_id, moved up by the reading
        current, _ = schedule_cases.get_schedule(services, caller, _check_id(schedule_id))
        if changes["project_id"] == current.project_id:
            del changes["project_id"]
    saved, _ = schedule_cases.edit_schedule(services, caller, _check_id(schedule_id), changes)
    return _answer(HTTPStatus.OK, _schedule(services, saved))


@router.delete(f"{PREFIX}/schedules/<schedule_id>", include_in_schema=False)
@_original_errors
def v1_delete_schedule(schedule_id: str, services: ServicesDep, caller: CallerDep):
    schedule_cases.delete_schedule(services, caller, _check_id(schedule_id))
    return _answer(HTTPStatus.OK, {"schedule_id": schedule_id, "deleted": True})


@router.post(f"{PREFIX}/schedules/<schedule_id>/run", include_in_schema=False)
@_original_errors
def v1_run_now(schedule_id: str, services: ServicesDep, caller: CallerDep, body: JsonBody):
    task = body.get("task_message") if isinstance(body, dict) else None
    if task is not None and not isinstance(task, str):
        raise InvalidInput("task_message must be a string")
    run = run_cases.run_now(services, caller, _check_id(schedule_id), request_id=None, task_message=task)
    enqueued_at = _original().original_run(run)["claimed_at"]
    body = {"schedule_id": schedule_id, "run_id": run.run_id, "enqueued_at": enqueued_at}
    return _answer(HTTPStatus.ACCEPTED, body)


@router.get(f"{PREFIX}/schedules/<schedule_id>/runs", include_in_schema=False)
@_original_errors
def v1_list_runs(schedule_id: str, services: ServicesDep, caller: CallerDep, query: QueryDep):
    found, _ = run_cases.list_runs(services, caller, _check_id(schedule_id), limit=_limit(query.get("limit")))
    runs = [_original().original_run(r) for r in found]
    return _answer(HTTPStatus.OK, {"schedule_id": schedule_id, "runs": runs})


@router.get(f"{PREFIX}/schedules/<schedule_id>/sessions", include_in_schema=False)
@_original_errors
def v1_list_sessions(schedule_id: str, services: ServicesDep, caller: CallerDep, query: QueryDep):
    found, _ = session_cases.list_schedule_sessions(
        services, caller, _check_id(schedule_id), limit=_limit(query.get("limit"))
    )
    sessions = [_session(schedule_id, s) for s in found]
    return _answer(HTTPStatus.OK, {"schedule_id": schedule_id, "sessions": sessions})


def _session(schedule_id: str, summary: Any) -> dict[str, Any]:
    """A session as the original lists one: its id and title, when it was made and last changed, and the
    metadata keys the original gives a scheduled session."""
    created = summary.started_at or summary.scheduled_for
    updated = summary.completed_at or created
    return {
        "id": summary.session_id,
        "title": summary.title,
        "created_at": iso(created),
        "updated_at": iso(updated),
        "metadata": {"created_by_schedule_id": schedule_id, "schedule_run_id": summary.run_id},
        "status": summary.status,
    }

