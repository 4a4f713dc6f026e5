"""The claim Lambda handler fed events/eventbridge-scheduler.json, on the test stack with a fixed clock."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agentcron.local.resources import load_template
from agentcron.models import RunStatus, ScheduleSpec

ROOT = Path(__file__).resolve().parents[2]
EVENT = ROOT / "events" / "eventbridge-scheduler.json"
NOW = datetime(2026, 3, 2, 12, 0, 1, tzinfo=UTC)


@dataclass
class LambdaContext:
    function_name: str = "agentcron-ClaimFunction"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:agentcron-ClaimFunction"
    aws_request_id: str = "0f6c3c55-5d1e-4a0e-8f0e-3b2d9f1c7a10"
    remaining_ms: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def app(stack, load_handler, monkeypatch: pytest.MonkeyPatch):
    for key, value in stack.environment(sweep_seconds=0).items():
        monkeypatch.setenv(key, value)
    module = load_handler("claim")
    monkeypatch.setattr(module, "utcnow", lambda: NOW)
    buffer = io.StringIO()
    monkeypatch.setattr(module.logger.registered_handler, "stream", buffer)
    module.log_lines = lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    return module


def create(stack, schedule_id: str) -> None:
    spec = ScheduleSpec.model_validate(
        {
            "id": schedule_id,
            "name": schedule_id,
            "trigger": {"type": "cron", "expr": "* * * * *"},
            "created_at": NOW - timedelta(minutes=10),
        }
    )
    stack.create_schedule(spec, NOW - timedelta(seconds=61))


def test_the_sample_event_sweeps_once_and_queues_the_due_run(stack, app):
    create(stack, "minutely")
    event = json.loads(EVENT.read_text())
    summary = app.lambda_handler(event, LambdaContext())
    assert summary["sweeps"] == 1
    assert (summary["schedules_due"], summary["runs_queued"], summary["errors"]) == (1, 1, 0)
    runs, _ = stack.store.list_runs("minutely")
    assert [(r.status, r.scheduled_for) for r in runs] == [
        (RunStatus.queued, datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    ]
    assert [m["body"]["run_id"] for m in stack.drain()] == [runs[0].run_id]
    done = [line for line in app.log_lines() if line.get("message") == "claim invocation done"]
    assert done and done[0]["runs_queued"] == 1


def test_any_event_starts_a_sweep_and_a_repeat_changes_nothing(stack, app):
    create(stack, "minutely")
    assert app.lambda_handler({}, LambdaContext())["runs_queued"] == 1
    again = app.lambda_handler({"unexpected": True}, LambdaContext())
    assert (again["sweeps"], again["runs_queued"], again["schedules_due"]) == (1, 0, 0)


def test_the_sample_event_is_what_the_template_schedule_delivers():
    template = load_template(ROOT / "template.yaml")
    events = template["Resources"]["ClaimFunction"]["Properties"]["Events"]
    inputs = [e["Properties"]["Input"] for e in events.values() if e["Type"] == "ScheduleV2"]
    assert [json.loads(i) for i in inputs] == [json.loads(EVENT.read_text())]


def test_the_loop_stops_before_the_invocation_runs_out(stack, load_handler, monkeypatch):
    for key, value in stack.environment(sweep_seconds=5).items():
        monkeypatch.setenv(key, value)
    module = load_handler("claim")
    slept: list[float] = []
    monkeypatch.setattr(module.time, "sleep", slept.append)
    context = LambdaContext(remaining_ms=14_000)  # less than SWEEP_SECONDS + 10 s left: no second sweep
    assert module.lambda_handler({}, context)["sweeps"] == 1
    assert slept == []
