"""Every error a request can meet -> an HTTP answer with one body shape: ``{"error": {message, field, type}, ...}``.

This is the one place where errors become statuses: the routes and the use cases below them raise domain
errors (:mod:`agentcron.exceptions`) or pydantic's ``ValidationError``, and the handlers installed here answer
them. 400 names the offending field (the model's own messages start with the field path), 404 keeps the seed
system's ``schedule_id`` beside the message, 409 is a concurrent edit or a resource in the wrong state, 422 an
Idempotency-Key reused for a different request. No bad input ever becomes a 500: the catch-all here only
answers what is really the server's fault, and logs it.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from pydantic import ValidationError

from agentcron.exceptions import (
    Forbidden,
    InvalidInput,
    OverlapBlocked,
    RunNotFound,
    RunTerminal,
    ScheduleExists,
    ScheduleNotFound,
    SessionNotFound,
    VersionConflict,
)
from agentcron.models import ScheduleSpec, field_errors

logger = logging.getLogger(__name__)

_LEADING_FIELD = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*) (?:is|must|are) ")
_LEADING_WORD = re.compile(r"^([a-z_]+(?:\.[a-z_]+)*)\b")
_LOCATIONS = ("body", "query", "path", "header", "cookie")


class ApiError(Exception):
    """A refusal only HTTP knows of (a malformed header, a cursor this API never handed out).

    What the domain refuses comes up as its own errors (:mod:`agentcron.exceptions`), answered below.
    """

    def __init__(
        self, status: int, message: str, *, type: str, field: str | None = None, **ids: str | None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.field = field
        self.ids = {key: value for key, value in ids.items() if value is not None}


def error_response(
    status: int,
    message: str,
    *,
    type: str,
    field: str | None = None,
    errors: list[dict[str, str]] | None = None,
    **ids: Any,
) -> Response:
    body: dict[str, Any] = {"error": {"message": message, "field": field, "type": type}}
    if errors:
        body["errors"] = errors
    body.update({key: value for key, value in ids.items() if value is not None})
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def bad_request(message: str, *, field: str | None = None) -> ApiError:
    """A 400 for a message that starts with its field path (``trigger.at must be in the future``)."""
    if field is None:
        match = _LEADING_FIELD.match(message)
        field = match.group(1) if match else None
    if field is None:  # "trigger has no next run ...": a message that starts with a spec field names it
        word = _LEADING_WORD.match(message)
        if word and word.group(1).split(".")[0] in ScheduleSpec.model_fields:
            field = word.group(1)
    return ApiError(HTTPStatus.BAD_REQUEST, message, type="validation_error", field=field)


class _LineErrors:
    """Error dicts in the shape ``models.field_errors`` reads (it only calls ``.errors()``)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self._errors = errors

    def errors(self, include_url: bool = False) -> list[dict[str, Any]]:
        return self._errors


def problems_of(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """``{field, message, type}`` for pydantic-style errors, without the request location (body, query...)."""
    lines = []
    for err in errors:
        loc = tuple(err.get("loc") or ())
        if loc and loc[0] in _LOCATIONS:
            loc = loc[1:]
        if err.get("type") == "json_invalid":
            lines.append({"type": "value_error", "loc": ("body",), "msg": "body is not valid JSON"})
            continue
        lines.append({"type": err.get("type", "value_error"), "loc": loc, "msg": str(err.get("msg", ""))})
    return [problem.model_dump() for problem in field_errors(_LineErrors(lines))]  # type: ignore[arg-type]


def validation_failed(problems: list[dict[str, str]]) -> Response:
    first = problems[0] if problems else {"field": "body", "message": "the request is not valid"}
    return error_response(
        HTTPStatus.BAD_REQUEST,
        first["message"],
        type="validation_error",
        field=first["field"],
        errors=problems,
    )


def install(app: APIGatewayHttpResolver) -> None:
    """Register the handlers that turn every raised error into the error body."""

    # ------------------------------------------------------------------ bad input (400, 415)

    @app.exception_handler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.message, type=exc.type, field=exc.field, **exc.ids)

    @app.exception_handler(RequestValidationError)
    def _request_invalid(exc: RequestValidationError) -> Response:
        return validation_failed(problems_of(list(exc.errors())))

    @app.exception_handler(ValidationError)
    def _model_invalid(exc: ValidationError) -> Response:
        return validation_failed([problem.model_dump() for problem in field_errors(exc)])

    @app.exception_handler(InvalidInput)
    def _invalid(exc: InvalidInput) -> Response:
        error = bad_request(str(exc), field=exc.field)
        return error_response(error.status, error.message, type=error.type, field=error.field)

    @app.exception_handler(OverflowError)
    def _out_of_range(exc: OverflowError) -> Response:
        # Dates near year 1 or 9999 overflow in UTC conversion or in the next-fire search: the input's fault.
        return error_response(
            HTTPStatus.BAD_REQUEST,
            "body: a date is out of the supported range (or has no fire time after it)",
            type="validation_error",
            field="body",
        )

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported(exc: RequestUnsupportedContentType) -> Response:
        return error_response(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
            type="unsupported_media_type",
        )

    # ------------------------------------------------------------------ not allowed (403)

    @app.exception_handler(Forbidden)
    def _forbidden(exc: Forbidden) -> Response:
        return error_response(HTTPStatus.FORBIDDEN, str(exc), type="forbidden")

    # ------------------------------------------------------------------ missing (404)

    @app.exception_handler(ScheduleNotFound)
    def _schedule_missing(exc: ScheduleNotFound) -> Response:
        return error_response(
            HTTPStatus.NOT_FOUND, "Schedule not found", type="not_found", schedule_id=exc.schedule_id
        )

    @app.exception_handler(RunNotFound)
    def _run_missing(exc: RunNotFound) -> Response:
        return error_response(
            HTTPStatus.NOT_FOUND,
            "Run not found",
            type="not_found",
            schedule_id=exc.schedule_id,
            run_id=exc.run_id,
        )

    @app.exception_handler(SessionNotFound)
    def _session_missing(exc: SessionNotFound) -> Response:
        return error_response(
            HTTPStatus.NOT_FOUND, "Session not found", type="not_found", session_id=exc.session_id
        )

    @app.not_found
    def _no_route(exc: NotFoundError) -> Response:
        return error_response(HTTPStatus.NOT_FOUND, "Not found", type="route_not_found")

    # ------------------------------------------------------------------ wrong state (409, 422)

    @app.exception_handler(ScheduleExists)
    def _exists(exc: ScheduleExists) -> Response:
        return error_response(
            HTTPStatus.CONFLICT,
            "Schedule already exists",
            type="conflict",
            field="id",
            schedule_id=exc.schedule_id,
        )

    @app.exception_handler(VersionConflict)
    def _conflict(exc: VersionConflict) -> Response:
        return error_response(
            HTTPStatus.CONFLICT,
            "Schedule was changed by another request; read it again and retry",
            type="version_conflict",
        )

    @app.exception_handler(RunTerminal)
    def _terminal(exc: RunTerminal) -> Response:
        return error_response(
            HTTPStatus.CONFLICT,
            f"Run is already {exc.status}",
            type="run_terminal",
            schedule_id=exc.schedule_id,
            run_id=exc.run_id,
        )

    @app.exception_handler(OverlapBlocked)
    def _overlap(exc: OverlapBlocked) -> Response:
        return error_response(
            HTTPStatus.CONFLICT,
            "Schedule has a run queued or running (overlap_policy skip)",
            type="overlap_skipped",
            schedule_id=exc.schedule_id,
        )

    @app.exception_handler(IdempotencyAlreadyInProgressError)
    def _in_progress(exc: IdempotencyAlreadyInProgressError) -> Response:
        return error_response(
            HTTPStatus.CONFLICT,
            "A request with this Idempotency-Key is still in progress; retry later",
            type="idempotency_in_progress",
            field="Idempotency-Key",
        )

    @app.exception_handler(IdempotencyValidationError)
    def _key_reused(exc: IdempotencyValidationError) -> Response:
        return error_response(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "Idempotency-Key was already used for a different request",
            type="idempotency_key_reused",
            field="Idempotency-Key",
        )

    # ------------------------------------------------------------------ the server's fault (500)

    @app.exception_handler(Exception)
    def _internal(exc: Exception) -> Response:
        logger.exception("request failed: %r", exc)
        return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal error", type="internal_error")
