"""Helpers of the API tests: the API Lambda handler fed the sample events of events/apigw-*.json.

``api`` loads functions/api/app.py as Lambda does, binds it to this test's moto stack and an injected clock,
and calls it with a sample event whose method, path, query, headers or body a test may change (the rest of
the API Gateway v2 shape stays as captured). Imported by the test modules; it holds no test itself.
"""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from agentcron.api import ApiHandler
from agentcron.application import Services

EVENTS = Path(__file__).resolve().parents[2] / "events"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"apigw-{name}.json").read_text(encoding="utf-8"))


def reshape(
    event: dict[str, Any],
    *,
    method: str | None = None,
    path: str | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str | None] | None = None,
    body: Any = ...,
) -> dict[str, Any]:
    """A copy of ``event`` with some parts replaced, every copy of each part kept consistent.

    ``body``: a str is sent as is, anything else as JSON, None removes the body. A header set to None is
    removed.
    """
    event = copy.deepcopy(event)
    http = event["requestContext"]["http"]
    if method is not None:
        http["method"] = method
    if path is not None:
        event["rawPath"] = http["path"] = path
        event["pathParameters"] = {"proxy": path.lstrip("/")}
    if query is not None:
        event["rawQueryString"] = urlencode(query)
        if query:
            event["queryStringParameters"] = dict(query)
        else:
            event.pop("queryStringParameters", None)
    if body is not ...:
        event["isBase64Encoded"] = False
        if body is None:
            event.pop("body", None)
            event["headers"].pop("content-type", None)
            event["headers"].pop("content-length", None)
        else:
            text = body if isinstance(body, str) else json.dumps(body)
            event["body"] = text
            event["headers"]["content-type"] = "application/json"
            event["headers"]["content-length"] = str(len(text.encode()))
    for name, value in (headers or {}).items():
        if value is None:
            event["headers"].pop(name.lower(), None)
        else:
            event["headers"][name.lower()] = value
    return event


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class LambdaContext:
    function_name: str = "agentcron-ApiFunction"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:agentcron-ApiFunction"
    aws_request_id: str = "5d1f7a3c-2b4e-4c6d-8e9f-0a1b2c3d4e5f"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any
    raw: dict[str, Any] = field(repr=False)

    @property
    def error(self) -> dict[str, Any]:
        return self.body["error"]


class Api:
    """The deployed handler, as API Gateway calls it."""

    def __init__(self, module: Any, clock: Clock, stack: Any) -> None:
        self.module, self.clock, self.stack = module, clock, stack

    @property
    def services(self) -> Services:
        """The handler's own adapters (to observe or intercept what a route does)."""
        return self.module._handler.services

    def send(self, event: dict[str, Any]) -> Reply:
        raw = self.module.lambda_handler(event, LambdaContext())
        assert set(raw) >= {"statusCode", "body", "isBase64Encoded"}, raw
        headers = {str(k).lower(): str(v) for k, v in (raw.get("headers") or {}).items()}
        text = raw.get("body") or ""
        if raw.get("isBase64Encoded"):
            text = base64.b64decode(text).decode()
        body = json.loads(text) if text else None
        if body is not None:
            assert headers.get("content-type", "").startswith("application/json"), headers
        return Reply(int(raw["statusCode"]), headers, body, raw)

    def call(self, name: str, **changes: Any) -> Reply:
        """Send the sample event ``events/apigw-<name>.json``, with ``changes`` (see ``reshape``)."""
        return self.send(reshape(load_event(name), **changes))

    def create(self, spec: dict[str, Any], **headers: str) -> Reply:
        reply = self.call("create-schedule", body=spec, headers={"idempotency-key": None, **headers})
        assert reply.status == 201, reply.body
        return reply


def daily_spec(schedule_id: str = "daily-news", **fields: Any) -> dict[str, Any]:
    spec = {
        "id": schedule_id,
        "name": "Daily news digest",
        "trigger": {"type": "daily", "hour": 9, "minute": 0},
        "timezone": "Europe/Paris",
        "run_config": {"model": "echo", "task_message": "Summarise the news.", "auto_execute": True},
    }
    spec.update(fields)
    return spec


def build_api(
    stack: Any, load_handler: Any, monkeypatch: pytest.MonkeyPatch, clock: Clock | None = None
) -> Api:
    for name, value in stack.environment().items():
        monkeypatch.setenv(name, value)
    module = load_handler("api")
    clock = clock or Clock()
    module._handler = ApiHandler.from_settings(
        stack.settings, dynamodb=stack.dynamodb, sqs=stack.sqs, s3=stack.s3, clock=clock
    )
    return Api(module, clock, stack)
