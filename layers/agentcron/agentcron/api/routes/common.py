"""What the route modules share: the id and cursor checks that are HTTP's alone, ETags and If-Match, the header
parameters, OpenAPI response declarations, replies."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header

from agentcron.api.errors import bad_request
from agentcron.api.idempotency import KEY_HEADER
from agentcron.api.schemas import ErrorResponse, ScheduleView
from agentcron.domain.schedule import STORED
from agentcron.exceptions import RunNotFound, ScheduleNotFound, SessionNotFound, VersionConflict
from agentcron.models import SCHEDULE_ID_PATTERN, Schedule
from agentcron.store.codec import decode_cursor, encode_cursor

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
SESSION_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
MAX_CURSOR_LENGTH = 2048
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"  # base64url without padding, as encode_cursor writes it
IF_MATCH = "If-Match"

IdempotencyKey = Annotated[
    str | None, Header(alias=KEY_HEADER, description="Retrying with the same key creates nothing twice.")
]
IfMatch = Annotated[
    str | None, Header(alias=IF_MATCH, description="The ETag read before: 409 if it changed.")
]


# --------------------------------------------------------------------------- ids


def check_schedule_id(schedule_id: str) -> str:
    """An id no schedule can have (wrong characters, too long) is simply not found."""
    if not SCHEDULE_ID_PATTERN.match(schedule_id):
        raise ScheduleNotFound(schedule_id)
    return schedule_id


def check_run_id(schedule_id: str, run_id: str) -> str:
    if not RUN_ID_PATTERN.match(run_id):
        raise RunNotFound(schedule_id, run_id)
    return run_id


def check_session_id(session_id: str) -> str:
    if not SESSION_ID_PATTERN.match(session_id):
        raise SessionNotFound(session_id)
    return session_id


# --------------------------------------------------------------------------- versions (ETag / If-Match)


def etag(version: int) -> str:
    return f'"{version}"'


def if_match(raw: str | None) -> int | None:
    """The version an If-Match header value demands (None: no header, empty or ``*``).

    A value that is no version (``"abc"``) can never match: it is reported as a conflict like a stale one.
    """
    if raw is None or raw.strip() in ("", "*"):
        return None
    value = raw.strip().removeprefix("W/").strip().strip('"')
    if value.isascii() and value.isdigit() and len(value) < 19:
        return int(value)
    raise VersionConflict(f"If-Match {raw!r} is not a version of this schedule")


# --------------------------------------------------------------------------- cursors


def check_cursor(cursor: str | None, key: dict[str, str | None]) -> str | None:
    """Refuse (400) a cursor that is not one this API handed out for this listing.

    ``key`` maps each key attribute to the value it must have (None: any string).
    """
    if cursor is None:
        return None
    problem = bad_request("cursor is not valid", field="cursor")
    if len(cursor) > MAX_CURSOR_LENGTH or not re.match(CURSOR_PATTERN, cursor):
        raise problem
    try:
        decoded = decode_cursor(cursor)
    except ValueError:
        raise problem from None
    if not decoded or set(decoded) != set(key):
        raise problem
    for name, expected in key.items():
        attribute = decoded[name]
        if set(attribute) != {"S"} or not isinstance(attribute["S"], str) or not attribute["S"]:
            raise problem
        if expected is not None and attribute["S"] != expected:
            raise problem
        if len(attribute["S"].encode("utf-8", "surrogatepass")) > 1024:
            raise problem
    return cursor


# --------------------------------------------------------------------------- replies

MAX_PAGE_BYTES = 2 * 1024 * 1024  # a list page's items as JSON: escaped, a reply stays below Lambda's 6 MB


def fit_page(
    items: list[Any], next_cursor: str | None, key: Callable[[Any], dict[str, str]]
) -> tuple[list[Any], str | None]:
    """The first items of a page whose JSON fits MAX_PAGE_BYTES (at least one), and the cursor after the
    last one kept: a page of large schedules shrinks instead of outgrowing the 6 MB a Lambda may answer.
    ``key`` gives an item's key attributes (``{"schedule_id": ...}``), as a cursor names them."""
    total = 0
    for index, item in enumerate(items):
        total += len(item.model_dump_json().encode("utf-8", "surrogatepass"))
        if total > MAX_PAGE_BYTES and index > 0:
            last = key(items[index - 1])
            return items[:index], encode_cursor({name: {"S": value} for name, value in last.items()})
    return items, next_cursor



def view(schedule: Schedule, version: int | None) -> ScheduleView:
    return ScheduleView.model_validate({**schedule.model_dump(), "version": version}, context=STORED)


def reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers or {}
    )


def reply_outcome(outcome: dict[str, Any]) -> Response:
    """A stored ``{status, body, headers}`` outcome (see ``agentcron.api.idempotency``) as a response."""
    return reply(int(outcome["status"]), outcome["body"], dict(outcome.get("headers") or {}))


def schedule_reply(status: int, schedule: Schedule, version: int) -> Response:
    return reply(status, view(schedule, version), {"ETag": etag(version)})


# --------------------------------------------------------------------------- OpenAPI declarations

_ERRORS = {
    400: "Invalid input: `error.field` names the offending field",
    401: "No verified bearer JWT (JWT mode)",
    403: "The caller may not do this: read-only (no agentcron/write scope), or a project not granted",
    404: "No such schedule, run or session",
    409: "Concurrent edit (ETag/If-Match) or a resource in the wrong state",
    422: "Idempotency-Key already used for a different request",
}
_ETAG = {
    "ETag": {
        "description": "The schedule's version, quoted: send it back as If-Match",
        "schema": {"type": "string"},
    }
}


def responses(
    success: int, description: str, model: Any = None, *errors: int, etag_header: bool = False
) -> dict:
    """The ``responses`` of a route: its success body and the error statuses it can answer (every route may
    answer 401 and 403: who calls is checked on each)."""
    ok: dict[str, Any] = {"description": description}
    if model is not None:
        ok["content"] = {"application/json": {"model": model}}
    if etag_header:
        ok["headers"] = _ETAG
    out: dict[int, Any] = {success: ok}
    for status in sorted({*errors, 401, 403}):
        out[status] = {
            "description": _ERRORS[status],
            "content": {"application/json": {"model": ErrorResponse}},
        }
    return out
