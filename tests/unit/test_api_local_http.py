"""The local adapter builds the event API Gateway builds, and writes back what the handler answers."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

from agentcron.local.http import build_event, response_parts

EVENTS = Path(__file__).resolve().parents[2] / "events"
AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _keys(value: object, prefix: str = "") -> set[str]:
    if not isinstance(value, dict):
        return set()
    out = set()
    for key, item in value.items():
        out.add(prefix + key)
        if key not in ("headers", "queryStringParameters", "pathParameters", "authorizer"):
            out |= _keys(item, f"{prefix}{key}.")
    return out


def test_the_event_has_the_shape_of_a_captured_one() -> None:
    captured = json.loads((EVENTS / "apigw-list-schedules.json").read_text())
    built = build_event("GET", "/schedules?enabled=true&limit=10", [("Host", "x")], b"", now=AT)
    assert _keys(built) == _keys(captured) - {"requestContext.authorizer"}  # no auth locally
    assert built["rawPath"] == built["requestContext"]["http"]["path"] == "/schedules"
    assert built["rawQueryString"] == captured["rawQueryString"]
    assert built["queryStringParameters"] == captured["queryStringParameters"]
    assert built["requestContext"]["http"]["method"] == "GET"
    assert built["requestContext"]["timeEpoch"] == int(AT.timestamp() * 1000)
    assert built["routeKey"] == captured["routeKey"] and built["version"] == "2.0"


def test_headers_query_cookies_and_path_are_transformed_like_api_gateway_does() -> None:
    event = build_event(
        "post",
        "/schedules/a%20b/run?tag=x&tag=y&empty=",
        [("Content-Type", "application/json"), ("X-Thing", "1"), ("x-thing", "2"), ("Cookie", "a=1; b=2")],
        b'{"task_message": "hi"}',
    )
    assert event["rawPath"] == "/schedules/a b/run"  # HTTP APIs hand the path over decoded
    assert event["pathParameters"] == {"proxy": "schedules/a b/run"}
    assert event["rawQueryString"] == "tag=x&tag=y&empty="
    assert event["queryStringParameters"] == {"tag": "x,y", "empty": ""}
    assert event["headers"] == {"content-type": "application/json", "x-thing": "1,2"}
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["requestContext"]["http"]["method"] == "POST"
    assert (event["body"], event["isBase64Encoded"]) == ('{"task_message": "hi"}', False)


def test_a_binary_body_is_base64_encoded_and_no_body_means_no_body_key() -> None:
    event = build_event("POST", "/x", [], b"\xff\x00")
    assert event["isBase64Encoded"] and base64.b64decode(event["body"]) == b"\xff\x00"
    assert "body" not in build_event("GET", "/x", [], b"")
    assert "queryStringParameters" not in build_event("GET", "/x", [], b"")


def test_responses_are_written_back_with_their_headers_cookies_and_body() -> None:
    status, headers, body = response_parts(
        {
            "statusCode": 201,
            "headers": {"ETag": '"1"'},
            "cookies": ["s=1"],
            "body": "{}",
            "isBase64Encoded": False,
        }
    )
    assert (status, body) == (201, b"{}")
    assert ("ETag", '"1"') in headers and ("Set-Cookie", "s=1") in headers
    status, _, body = response_parts(
        {"statusCode": 200, "body": base64.b64encode(b"\x01").decode(), "isBase64Encoded": True}
    )
    assert body == b"\x01"
    assert response_parts({"ok": True})[0] == 200  # a bare value: API Gateway's 200 JSON
