"""The API's pure pieces: PATCH merging, If-Match, cursors, body screening, error shapes, idempotency keys."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import ValidationError

from agentcron.api import errors
from agentcron.api.app import MAX_BODY_BYTES, screen_body
from agentcron.api.errors import ApiError, bad_request, problems_of
from agentcron.api.idempotency import derived_schedule_id, read_key
from agentcron.api.routes.common import check_cursor, etag, if_match
from agentcron.application.patch import merge_patch
from agentcron.exceptions import (
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
from agentcron.store.codec import encode_cursor

CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def _spec(**fields: object) -> ScheduleSpec:
    data = {
        "id": "news",
        "name": "News",
        "trigger": {"type": "daily", "hour": 9, "minute": 0},
        "timezone": "Europe/Paris",
        "run_config": {"model": "echo", "task_message": "Summarise.", "auto_execute": True},
        "created_at": CREATED,
        "updated_at": CREATED,
    }
    return ScheduleSpec.model_validate({**data, **fields})


# --------------------------------------------------------------------------- PATCH


def test_patch_replaces_top_level_fields_and_keeps_the_rest() -> None:
    merged = ScheduleSpec.model_validate(merge_patch(_spec(), {"name": "Morning news"}))
    assert merged.name == "Morning news"
    assert merged.trigger == _spec().trigger and merged.timezone == "Europe/Paris"
    assert merged.run_config == _spec().run_config


def test_patch_merges_run_config_but_replaces_a_trigger_whole() -> None:
    body = {
        "run_config": {"task_message": "Headlines only."},
        "trigger": {"type": "interval", "every_seconds": 60},
    }
    merged = ScheduleSpec.model_validate(merge_patch(_spec(), body))
    assert merged.run_config.task_message == "Headlines only."
    assert merged.run_config.model == "echo" and merged.run_config.auto_execute  # kept
    assert merged.trigger.type == "interval" and merged.trigger.every_seconds == 60


def test_patch_null_clears_an_optional_field_and_a_partial_trigger_is_refused() -> None:
    assert ScheduleSpec.model_validate(merge_patch(_spec(), {"timezone": None})).timezone is None
    with pytest.raises(ValidationError) as caught:
        ScheduleSpec.model_validate(merge_patch(_spec(), {"trigger": {"hour": 10}}))
    assert [e.field for e in field_errors(caught.value)] == ["trigger.type"]


def test_patch_never_takes_identity_or_server_fields_from_the_body() -> None:
    body = {
        "id": "other",
        "created_at": "2030-01-01T00:00:00Z",
        "state": {"total_run_count": 99},
        "version": 7,
    }
    merged = ScheduleSpec.model_validate(merge_patch(_spec(), body))
    assert merged.id == "news" and merged.created_at == CREATED


# --------------------------------------------------------------------------- If-Match


@pytest.mark.parametrize(
    ("header", "expected"),
    [('"7"', 7), ("7", 7), ('W/"7"', 7), (' "12" ', 12), ("*", None), ("", None)],
)
def test_if_match_reads_the_version(header: str, expected: int | None) -> None:
    assert if_match(header) == expected


def test_if_match_absent_is_unconditional_and_garbage_never_matches() -> None:
    assert if_match(None) is None
    for garbage in ('"abc"', '"-1"', '"1.5"', '"99999999999999999999999"', '"٣"'):
        with pytest.raises(VersionConflict):
            if_match(garbage)


def test_etag_is_the_quoted_version() -> None:
    assert etag(7) == '"7"' and if_match(etag(7)) == 7


# --------------------------------------------------------------------------- cursors


def test_a_cursor_of_the_right_shape_passes() -> None:
    cursor = encode_cursor({"schedule_id": {"S": "news"}, "run_id": {"S": "news-20260301T090000Z"}})
    assert check_cursor(cursor, {"schedule_id": "news", "run_id": None}) == cursor
    assert check_cursor(None, {"schedule_id": None}) is None


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        encode_cursor({"schedule_id": {"N": "1"}, "run_id": {"S": "x"}}),
        encode_cursor({"schedule_id": {"S": "other"}, "run_id": {"S": "x"}}),  # another schedule's page
        encode_cursor({"schedule_id": {"S": "news"}}),  # missing the sort key
        encode_cursor({"schedule_id": {"S": "news"}, "run_id": {"S": ""}}),
        "A" * 5000,
    ],
)
def test_a_cursor_not_handed_out_for_this_listing_is_a_400(cursor: str) -> None:
    with pytest.raises(ApiError) as caught:
        check_cursor(cursor, {"schedule_id": "news", "run_id": None})
    assert (caught.value.status, caught.value.field) == (400, "cursor")


# --------------------------------------------------------------------------- body screening


def _event(body: str | None, *, b64: bool = False, content_type: str = "application/json") -> dict:
    return {"body": body, "isBase64Encoded": b64, "headers": {"content-type": content_type}}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (_event('{"name": '), "body is not valid JSON"),
        (_event("[" * 100_000 + "]" * 100_000), "body must not nest arrays and objects deeper than 32 levels"),
        (_event("%%%", b64=True), "body is not valid base64"),
        (_event(base64.b64encode(b"\xff\xfe{}").decode(), b64=True), "body must be UTF-8 text"),
        (_event("x" * (MAX_BODY_BYTES + 1)), f"body must be at most {MAX_BODY_BYTES} bytes"),
        (_event('{"name": "\ud800"}'), "body must be UTF-8 text"),
        (_event('{"name": "\\ud800"}'), "body must not contain unpaired surrogates (\\ud800-\\udfff)"),
        (_event('{"tags": [{"\\udc00": 1}]}'), "body must not contain unpaired surrogates (\\ud800-\\udfff)"),
    ],
)
def test_bodies_no_route_can_read_are_refused_before_routing(event: dict, message: str) -> None:
    response = screen_body(event)
    assert response is not None and response["statusCode"] == 400
    assert json.loads(response["body"])["error"] == {
        "message": message,
        "field": "body",
        "type": "validation_error",
    }


def test_readable_bodies_and_other_content_types_pass_the_screen() -> None:
    assert screen_body(_event('{"name": "x"}')) is None
    assert screen_body(_event(base64.b64encode(b'{"a": 1}').decode(), b64=True)) is None
    assert screen_body(_event(None)) is None
    assert screen_body(_event('{"a": 1}', content_type="application/json; charset=utf-8")) is None


def test_a_body_of_another_content_type_is_a_415() -> None:
    response = screen_body(_event("a=b", content_type="application/x-www-form-urlencoded"))
    assert response is not None and response["statusCode"] == 415
    assert json.loads(response["body"])["error"]["type"] == "unsupported_media_type"


# --------------------------------------------------------------------------- errors


def test_request_validation_errors_name_the_field_without_the_location() -> None:
    problems = problems_of(
        [
            {
                "type": "value_error",
                "loc": ("body", "trigger", "daily", "hour"),
                "msg": "Value error, trigger.hour must be between 0 and 23",
            },
            {
                "type": "less_than_equal",
                "loc": ("query", "count"),
                "msg": "Input should be less than or equal to 100",
            },
            {"type": "missing", "loc": ("body",), "msg": "Field required"},
            {"type": "json_invalid", "loc": ("body", 3), "msg": "JSON decode error"},
        ]
    )
    assert problems == [
        {
            "field": "trigger.hour",
            "message": "trigger.hour must be between 0 and 23",
            "type": "validation_error",
        },
        {
            "field": "count",
            "message": "count: Input should be less than or equal to 100",
            "type": "validation_error",
        },
        {"field": "body", "message": "body is required", "type": "validation_error"},
        {"field": "body", "message": "body is not valid JSON", "type": "validation_error"},
    ]


def _answer_to(exc: Exception) -> tuple[int, dict]:
    """What the API answers when ``exc`` comes up from below a route (a use case, a check)."""
    app = APIGatewayHttpResolver(enable_validation=True)
    errors.install(app)

    @app.get("/raise")
    def raising() -> None:
        raise exc

    event = {
        "version": "2.0",
        "rawPath": "/raise",
        "headers": {},
        "requestContext": {"http": {"method": "GET", "path": "/raise"}, "stage": "$default"},
        "isBase64Encoded": False,
    }
    response = app.resolve(event, None)
    return response["statusCode"], json.loads(response["body"])


def _error(message: str, type: str, field: str | None = None, **ids: str) -> dict:
    return {"error": {"message": message, "field": field, "type": type}, **ids}


@pytest.mark.parametrize(
    ("exc", "status", "body"),
    [
        (ScheduleNotFound("news"), 404, _error("Schedule not found", "not_found", schedule_id="news")),
        (
            RunNotFound("news", "r1"),
            404,
            _error("Run not found", "not_found", schedule_id="news", run_id="r1"),
        ),
        (SessionNotFound("s1"), 404, _error("Session not found", "not_found", session_id="s1")),
        (
            ScheduleExists("news"),
            409,
            _error("Schedule already exists", "conflict", "id", schedule_id="news"),
        ),
        (
            VersionConflict("news is at 3, not 2"),
            409,
            _error("Schedule was changed by another request; read it again and retry", "version_conflict"),
        ),
        (
            RunTerminal("news", "r1", "success"),
            409,
            _error("Run is already success", "run_terminal", schedule_id="news", run_id="r1"),
        ),
        (
            OverlapBlocked("news"),
            409,
            _error(
                "Schedule has a run queued or running (overlap_policy skip)",
                "overlap_skipped",
                schedule_id="news",
            ),
        ),
        (
            InvalidInput("end_at must not be in the future", field="end_at"),
            400,
            _error("end_at must not be in the future", "validation_error", "end_at"),
        ),
        (
            InvalidInput("trigger has no fire time after its start"),  # no field: read from the message
            400,
            _error("trigger has no fire time after its start", "validation_error", "trigger"),
        ),
        (RuntimeError("a bug"), 500, _error("Internal error", "internal_error")),
    ],
)
def test_domain_errors_become_http_answers_in_one_place(exc: Exception, status: int, body: dict) -> None:
    assert _answer_to(exc) == (status, body)


def test_a_model_validation_error_is_a_400_listing_every_field() -> None:
    with pytest.raises(ValidationError) as caught:
        ScheduleSpec.model_validate({"name": " ", "trigger": {"type": "daily", "hour": 25, "minute": 0}})
    status, body = _answer_to(caught.value)
    assert status == 400 and body["error"]["type"] == "validation_error"
    assert {problem["field"] for problem in body["errors"]} == {"name", "trigger.hour"}
    assert body["error"]["field"] == body["errors"][0]["field"]


def test_bad_request_takes_the_field_from_the_message() -> None:
    error = bad_request("trigger.at must be in the future")
    assert (error.status, error.field, error.type) == (400, "trigger.at", "validation_error")
    assert bad_request("something odd").field is None
    assert bad_request("trigger has no next run within the configured window").field == "trigger"


# --------------------------------------------------------------------------- idempotency keys


def test_idempotency_keys_are_read_and_checked() -> None:
    assert read_key(None) is None
    assert read_key(" abc-123 ") == "abc-123"
    for bad in ("", "   ", "x" * 256, "clé", "tab\there"):
        with pytest.raises(ApiError) as caught:
            read_key(bad)
        assert caught.value.field == "Idempotency-Key"


def test_a_schedule_created_under_a_key_gets_a_stable_valid_id() -> None:
    first = derived_schedule_id("retry-me")
    assert first == derived_schedule_id("retry-me") != derived_schedule_id("another")
    assert _spec(id=first).id == first
