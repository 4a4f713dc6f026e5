"""The tool box: selection by run_config.tools, schemas from pydantic, argument validation, current_time."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from agentcron.agent.base import UNPARSED_ARGUMENTS
from agentcron.agent.tools import DEFAULT_TOOLS, ToolContext, UnknownTool, build_tools, unknown_tools
from agentcron.models import ToolCall

NOW = datetime(2026, 7, 14, 22, 30, tzinfo=UTC)


def _context() -> ToolContext:
    return ToolContext(schedule_id="s", run_id="r", clock=lambda: NOW)


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (None, list(DEFAULT_TOOLS)),
        ([], []),
        (["current_time"], ["current_time"]),
        (["http_fetch", "current_time", "http_fetch"], ["http_fetch", "current_time"]),
    ],
)
def test_run_config_tools_selects_the_tool_box(names, expected) -> None:
    box = build_tools(names, _context())
    assert [spec.name for spec in box.specs()] == expected


def test_the_defaults_leave_the_scheduler_out() -> None:
    assert "scheduler" not in DEFAULT_TOOLS
    assert set(DEFAULT_TOOLS) == {"current_time", "http_fetch"}


def test_unknown_tool_names_are_an_error_naming_them() -> None:
    assert unknown_tools(["current_time", "shell", "rm"]) == ["shell", "rm"]
    with pytest.raises(UnknownTool) as info:
        build_tools(["current_time", "shell"], _context())
    assert str(info.value) == (
        "run_config.tools names unknown tool(s) 'shell'; known tools: current_time, http_fetch, scheduler"
    )


def test_schemas_come_from_the_pydantic_arguments_without_titles() -> None:
    specs = {spec.name: spec for spec in build_tools(None, _context()).specs()}
    fetch = specs["http_fetch"].input_schema
    assert fetch["type"] == "object"
    assert fetch["required"] == ["url"]
    assert fetch["properties"]["max_bytes"]["maximum"] == 200_000
    assert "title" not in json.dumps(fetch)
    assert specs["current_time"].input_schema["properties"]["timezone"]["description"].startswith("IANA")


def test_invalid_arguments_go_back_to_the_model_as_field_errors() -> None:
    box = build_tools(["http_fetch"], _context())
    result = box.run(ToolCall(id="1", name="http_fetch", arguments={"max_bytes": 0}))
    assert result.startswith("error: invalid arguments for http_fetch: ")
    assert "url is required" in result
    assert "max_bytes" in result


def test_arguments_that_were_not_json_are_reported() -> None:
    box = build_tools(["current_time"], _context())
    result = box.run(ToolCall(id="1", name="current_time", arguments={UNPARSED_ARGUMENTS: "{oops"}))
    assert result == "error: the arguments are not a JSON object: {oops"


def test_a_tool_outside_the_box_is_not_run() -> None:
    box = build_tools([], _context())
    assert (
        box.run(ToolCall(id="1", name="current_time"))
        == "error: tool 'current_time' is not available in this run"
    )


def test_current_time_in_utc_and_in_a_timezone() -> None:
    box = build_tools(["current_time"], _context())
    assert json.loads(box.run(ToolCall(id="1", name="current_time"))) == {
        "utc": "2026-07-14T22:30:00Z",
        "weekday_utc": "Tuesday",
    }
    tokyo = json.loads(box.run(ToolCall(id="2", name="current_time", arguments={"timezone": "Asia/Tokyo"})))
    assert tokyo["local"] == "2026-07-15T07:30:00+09:00"
    assert tokyo["weekday"] == "Wednesday"
    bad = box.run(ToolCall(id="3", name="current_time", arguments={"timezone": "Mars/Olympus"}))
    assert bad == "error: timezone is not a valid IANA timezone: Mars/Olympus"
