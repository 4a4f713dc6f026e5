"""What the handlers really emit (EMF on stdout, JSON logs) matches the template's alarms and dashboard."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from agentcron import telemetry
from agentcron.local.resources import load_template
from agentcron.models import Run, RunStatus, ScheduleSpec, slot_run_id

ROOT = Path(__file__).resolve().parents[2]
SLOT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class LambdaContext:
    function_name: str = "agentcron-Function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:agentcron-Function"
    aws_request_id: str = "5b9f3c0e-1f0a-4a5e-9d7c-2e4b6a8c0d12"
    remaining_ms: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def _load(stack, load_handler, monkeypatch, name: str, now: datetime) -> Any:
    for key, value in stack.environment(sweep_seconds=0).items():
        monkeypatch.setenv(key, value)
    module = load_handler(name)
    monkeypatch.setattr(module, "utcnow", lambda: now)
    buffer = io.StringIO()
    monkeypatch.setattr(module.logger.registered_handler, "stream", buffer)
    module.log_lines = lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    return module


def emf_metrics(stdout: str) -> set[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """(namespace, metric, dimensions) of every EMF blob printed."""
    found = set()
    for line in stdout.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dims = tuple(sorted((d, blob[d]) for d in dimension_set))
                for metric in directive["Metrics"]:
                    found.add((directive["Namespace"], metric["Name"], dims))
    return found


def _schedule(stack, schedule_id: str) -> None:
    spec = ScheduleSpec.model_validate(
        {
            "id": schedule_id,
            "name": schedule_id,
            "trigger": {"type": "daily", "hour": 9, "minute": 0},
            "run_config": {"task_message": "say hi", "auto_execute": True},
        }
    )
    stack.create_schedule(spec, SLOT - timedelta(days=1))


def _queued(stack, schedule_id: str) -> Run:
    run = Run(
        run_id=slot_run_id(schedule_id, SLOT), schedule_id=schedule_id, scheduled_for=SLOT, claimed_at=SLOT
    )
    assert stack.store.create_run(run, SLOT, redelivery_seconds=120)
    return run


def _sqs_event(schedule_id: str, run_id: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": "m-1",
                "receiptHandle": "rh-1",
                "body": json.dumps({"type": "run", "schedule_id": schedule_id, "run_id": run_id}),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": str(int(SLOT.timestamp() * 1000)),
                    "MessageGroupId": schedule_id,
                    "MessageDeduplicationId": run_id,
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:runs.fifo",
                "awsRegion": "us-east-1",
            }
        ]
    }


def test_handlers_emit_what_the_alarms_watch_and_announce_runs(
    stack, load_handler, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A rule that shows the Run Finished events the handlers put on the default bus.
    events, sqs = boto3.client("events"), boto3.client("sqs")
    url = sqs.create_queue(QueueName="finished")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="finished", EventPattern=json.dumps({"source": ["agentcron"], "detail-type": ["Run Finished"]})
    )
    events.put_targets(Rule="finished", Targets=[{"Id": "q", "Arn": arn}])

    # executor: a run that succeeds
    _schedule(stack, "ok-1")
    ok = _queued(stack, "ok-1")
    executor = _load(stack, load_handler, monkeypatch, "executor", SLOT + timedelta(seconds=4))
    assert executor.lambda_handler(_sqs_event("ok-1", ok.run_id), LambdaContext(remaining_ms=900_000)) == {
        "batchItemFailures": []
    }
    handled = [line for line in executor.log_lines() if line.get("message") == "run message handled"]
    stored = stack.store.get_run("ok-1", ok.run_id)
    assert stored.status is RunStatus.success and stored.session_id
    assert handled[0]["schedule_id"] == "ok-1" and handled[0]["run_id"] == ok.run_id
    assert handled[0]["session_id"] == stored.session_id

    # claim: the reaper times out a run whose executor vanished
    _schedule(stack, "lost-1")
    lost = _queued(stack, "lost-1")
    stack.store.start_run("lost-1", lost.run_id, SLOT + timedelta(seconds=1), lease_seconds=60)
    claim = _load(stack, load_handler, monkeypatch, "claim", SLOT + timedelta(minutes=5))
    claim.lambda_handler({}, LambdaContext())
    assert stack.store.get_run("lost-1", lost.run_id).status is RunStatus.timed_out

    emitted = emf_metrics(capsys.readouterr().out)
    dims = tuple(sorted(telemetry.DIMENSIONS.items()))
    for metric in ("RunsSuccess", "FireLagMs", "RunDurationMs", "RunsTimedOut", "RunsClaimed"):
        assert (telemetry.NAMESPACE, metric, dims) in emitted, metric

    # every alarm on a custom metric watches a (namespace, metric, dimensions) the handlers emitted
    template = load_template(ROOT / "template.yaml")
    watched = [
        res["Properties"]
        for res in template["Resources"].values()
        if res["Type"] == "AWS::CloudWatch::Alarm"
        and res["Properties"].get("Namespace") == telemetry.NAMESPACE
    ]
    assert len(watched) == 2
    for alarm in watched:
        key = (
            alarm["Namespace"],
            alarm["MetricName"],
            tuple(sorted((d["Name"], d["Value"]) for d in alarm["Dimensions"])),
        )
        assert key in emitted, key

    received = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            received.append(json.loads(message["Body"])["detail"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert sorted((d["schedule_id"], d["status"]) for d in received) == [
        ("lost-1", "timed_out"),
        ("ok-1", "success"),
    ]
    assert next(d for d in received if d["schedule_id"] == "ok-1")["session_id"] == stored.session_id


def test_api_log_records_carry_the_schedule_and_run_of_the_path(load_handler, aws_env) -> None:
    module = load_handler("api")
    assert module.correlation_keys("/schedules/daily/runs/daily-20260301T090000Z/session") == {
        "schedule_id": "daily",
        "run_id": "daily-20260301T090000Z",
    }
    assert module.correlation_keys("/schedules/daily") == {"schedule_id": "daily"}
    assert module.correlation_keys("/schedules") == {}
    assert module.correlation_keys("") == {}
