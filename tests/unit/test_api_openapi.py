"""The generated OpenAPI document: valid, complete, and in step with the validators it documents."""

from __future__ import annotations

import json
from typing import Any
from unittest.mock import MagicMock

import pytest
from openapi_spec_validator import validate
from pydantic import ValidationError

from agentcron.api import create_app
from agentcron.api.openapi import BOUNDS, document, timezones
from agentcron.application import Services
from agentcron.config import Settings
from agentcron.models import (
    CatchUpWindowPolicy,
    CronTrigger,
    DailyTrigger,
    IntervalTrigger,
    MonthlyTrigger,
    RetryPolicy,
    RunConfig,
    RunLimits,
    ScheduleSpec,
    SkipPolicy,
    WeeklyTrigger,
)

ROUTES = {
    ("/schedules", "get"),
    ("/schedules", "post"),
    ("/schedules/preview", "post"),
    ("/schedules/{schedule_id}", "get"),
    ("/schedules/{schedule_id}", "patch"),
    ("/schedules/{schedule_id}", "delete"),
    ("/schedules/{schedule_id}/pause", "post"),
    ("/schedules/{schedule_id}/resume", "post"),
    ("/schedules/{schedule_id}/run", "post"),
    ("/schedules/{schedule_id}/backfill", "post"),
    ("/schedules/{schedule_id}/upcoming", "get"),
    ("/schedules/{schedule_id}/runs", "get"),
    ("/schedules/{schedule_id}/runs/{run_id}", "get"),
    ("/schedules/{schedule_id}/runs/{run_id}/cancel", "post"),
    ("/schedules/{schedule_id}/sessions", "get"),
    ("/sessions/{session_id}", "get"),
    ("/jobs/{job_id}", "get"),
    ("/imports", "post"),
}  # the original's /api/v1 routes are left out on purpose (agentcron.api.routes.original)


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    services = Services(settings=Settings(), store=MagicMock(), queue=MagicMock(), sessions=MagicMock())
    return document(create_app(services))


def test_the_document_is_valid_openapi_with_every_route(doc: dict[str, Any]) -> None:
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    assert {(path, method) for path, item in doc["paths"].items() for method in item} == ROUTES


def _refs(value: Any) -> set[str]:
    if isinstance(value, dict):
        own = {value["$ref"]} if "$ref" in value else set()
        return own.union(*(_refs(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_refs(v) for v in value))
    return set()


def test_every_reference_resolves_and_no_schema_is_unused(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    referenced = {ref.rsplit("/", 1)[-1] for ref in _refs(doc)}
    assert referenced <= set(schemas)
    assert set(schemas) <= referenced


def test_errors_are_documented_with_the_error_body(doc: dict[str, Any]) -> None:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            statuses = set(operation["responses"])
            assert any(s.startswith("2") for s in statuses), (path, method)
            for status in statuses - {"200", "201", "202", "204", "303"}:
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (path, method, status)
            # 422 only where an Idempotency-Key can be reused with another body.
            assert ("422" in statuses) == (
                (path, method) in {("/schedules", "post"), ("/schedules/{schedule_id}/run", "post")}
            )


def test_patch_documents_a_partial_spec_and_schedules_carry_an_etag(doc: dict[str, Any]) -> None:
    patch = doc["paths"]["/schedules/{schedule_id}"]["patch"]
    assert patch["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SchedulePatch"
    }
    partial = doc["components"]["schemas"]["SchedulePatch"]
    assert (
        "required" not in partial and "trigger" in partial["properties"] and "id" not in partial["properties"]
    )
    assert doc["components"]["schemas"]["ScheduleSpec"]["required"] == ["name", "trigger"]
    assert "ETag" in doc["paths"]["/schedules/{schedule_id}"]["get"]["responses"]["200"]["headers"]
    assert doc["paths"]["/schedules/{schedule_id}"]["delete"]["responses"]["204"].get("content") is None
    headers = {p["name"] for p in patch["parameters"] if p["in"] == "header"}
    assert headers == {"if-match"}


# Each documented bound, probed on both sides through the model that enforces it.
_PROBES = {
    "IntervalTrigger": lambda field, v: IntervalTrigger(every_seconds=v),
    "DailyTrigger": lambda field, v: DailyTrigger(**{"hour": 1, "minute": 1, field: v}),
    "WeeklyTrigger": lambda field, v: WeeklyTrigger(
        **{"hour": 1, "minute": 1, "weekdays": ["mon"], field: v}
    ),
    "MonthlyTrigger": lambda field, v: MonthlyTrigger(**{"hour": 1, "minute": 1, "days": [1], field: v}),
    "SkipPolicy": lambda field, v: SkipPolicy(**{field: v}),
    "CatchUpWindowPolicy": lambda field, v: CatchUpWindowPolicy(**{field: v}),
    "RetryPolicy": lambda field, v: RetryPolicy(**{field: v}),
    "RunLimits": lambda field, v: RunLimits(**{field: v}),
}


def _accepts(schema: str, field: str, value: Any) -> bool:
    try:
        _PROBES[schema](field, value)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(
    ("schema", "field", "keywords"),
    [(s, f, k) for s, props in BOUNDS.items() for f, k in props.items() if s in _PROBES and "minimum" in k],
)
def test_documented_numeric_bounds_are_the_validators_bounds(schema: str, field: str, keywords: dict) -> None:
    low, high = keywords["minimum"], keywords.get("maximum")
    assert _accepts(schema, field, low) and not _accepts(schema, field, low - 1)
    if high is not None:
        assert _accepts(schema, field, high) and not _accepts(schema, field, high + 1)


def test_documented_list_and_text_bounds_are_the_validators_bounds() -> None:
    assert not _accepts("WeeklyTrigger", "weekdays", []) and not _accepts("MonthlyTrigger", "days", [])
    day = BOUNDS["MonthlyTrigger"]["days"]["items"]
    assert _accepts("MonthlyTrigger", "days", [day["minimum"], day["maximum"]])
    assert not _accepts("MonthlyTrigger", "days", [day["maximum"] + 1])
    for example in BOUNDS["CronTrigger"]["expr"]["examples"]:
        CronTrigger(expr=example)
    base = {"trigger": {"type": "daily", "hour": 1, "minute": 1}}
    with pytest.raises(ValidationError):
        ScheduleSpec.model_validate({**base, "name": "   "})
    with pytest.raises(ValidationError):
        ScheduleSpec.model_validate({**base, "name": "x", "id": "a b"})
    with pytest.raises(ValidationError):
        RunConfig(auto_execute=True, task_message="  ")
    RunConfig(auto_execute=True, task_message="go")


def test_every_documented_timezone_is_accepted() -> None:
    zones = timezones()
    assert "Europe/Paris" in zones and len(zones) > 300
    for zone in zones:
        ScheduleSpec.model_validate(
            {"name": "x", "trigger": {"type": "daily", "hour": 1, "minute": 1}, "timezone": zone}
        )


def test_the_document_is_plain_json(doc: dict[str, Any]) -> None:
    assert json.loads(json.dumps(doc)) == doc
