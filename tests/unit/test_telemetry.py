"""Metric names and the metrics of a finished run (agentcron.telemetry), and the Run Finished entry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from agentcron import telemetry
from agentcron.events import run_finished_entry
from agentcron.models import Run, RunStatus, Schedule, ScheduleState, TokenUsage
from agentcron.planner import plan_claim

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _run(**fields) -> Run:
    return Run(run_id="r1", schedule_id="s1", scheduled_for=NOW, claimed_at=NOW, **fields)


def test_one_metric_name_per_terminal_status() -> None:
    assert telemetry.TERMINAL_STATUS_METRICS == {
        RunStatus.success: "RunsSuccess",
        RunStatus.failed: "RunsFailed",
        RunStatus.skipped: "RunsSkipped",
        RunStatus.missed: "RunsMissed",
        RunStatus.cancelled: "RunsCancelled",
        RunStatus.timed_out: "RunsTimedOut",
    }
    assert telemetry.RUNS_SKIPPED == telemetry.status_metric("skipped")
    assert telemetry.RUNS_MISSED == telemetry.status_metric(RunStatus.missed)


def test_a_finished_run_counts_its_status_lag_duration_and_tokens() -> None:
    run = _run(
        status=RunStatus.success,
        dispatch_lag_ms=850,
        execution_duration_ms=12_000,
        usage=TokenUsage(input_tokens=100, output_tokens=7),
    )
    assert list(telemetry.run_finished_metrics(run)) == [
        ("RunsSuccess", "Count", 1),
        ("FireLagMs", "Milliseconds", 850),
        ("RunDurationMs", "Milliseconds", 12_000),
        ("InputTokens", "Count", 100),
        ("OutputTokens", "Count", 7),
    ]


def test_a_run_cancelled_before_it_started_counts_only_its_status() -> None:
    assert list(telemetry.run_finished_metrics(_run(status=RunStatus.cancelled))) == [
        ("RunsCancelled", "Count", 1)
    ]


def test_the_hook_counts_a_failed_publish() -> None:
    recorded: list[tuple[str, str, float]] = []
    hook = telemetry.run_finished_hook(lambda *m: recorded.append(m), lambda run: False)
    hook(_run(status=RunStatus.failed))
    assert recorded == [("RunsFailed", "Count", 1), ("RunFinishedEventsFailed", "Count", 1)]


def test_the_event_entry_is_timed_at_completion_on_the_configured_bus() -> None:
    done = NOW + timedelta(seconds=3)
    entry = run_finished_entry(
        _run(status=RunStatus.timed_out, completed_at=done, outcome_reason="lease"), "ops"
    )
    assert (entry["Source"], entry["DetailType"], entry["EventBusName"], entry["Time"]) == (
        "agentcron",
        "Run Finished",
        "ops",
        done,
    )
    detail = json.loads(entry["Detail"])
    assert (detail["status"], detail["outcome_reason"], detail["session_id"]) == ("timed_out", "lease", None)


def test_the_planner_does_not_run_slots_at_or_after_expires_at() -> None:
    schedule = Schedule.model_validate(
        {
            "id": "s1",
            "name": "s1",
            "trigger": {"type": "interval", "every_seconds": 60, "anchor_at": NOW.isoformat()},
            "misfire_policy": {"type": "catch_up_all"},
            "overlap_policy": "allow",
            "expires_at": (NOW + timedelta(minutes=3)).isoformat(),
            "state": ScheduleState(next_fire_at=NOW + timedelta(minutes=1)),
        }
    )
    plan = plan_claim(schedule, NOW + timedelta(minutes=10))
    assert [r.scheduled_for for r in plan.runs] == [NOW + timedelta(minutes=1), NOW + timedelta(minutes=2)]
    assert (plan.enabled, plan.next_fire_at, plan.pause_note) == (
        False,
        None,
        "expired at 2026-03-02T12:03:00Z",
    )


def test_an_end_at_before_expires_at_ends_the_schedule_without_an_expiry_note() -> None:
    schedule = Schedule.model_validate(
        {
            "id": "s1",
            "name": "s1",
            "trigger": {"type": "interval", "every_seconds": 60, "anchor_at": NOW.isoformat()},
            "end_at": (NOW + timedelta(minutes=2)).isoformat(),
            "expires_at": (NOW + timedelta(minutes=5)).isoformat(),
            "state": ScheduleState(next_fire_at=NOW + timedelta(minutes=1)),
        }
    )
    plan = plan_claim(schedule, NOW + timedelta(minutes=1))
    assert (plan.enabled, plan.pause_note) == (False, "finished: end_at 2026-03-02T12:02:00Z reached")
