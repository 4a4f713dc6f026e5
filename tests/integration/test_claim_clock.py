"""The claim clock on moto, with an injected clock: each fire claimed at its instant, every minute boundary
covered, an idle minute costs one sweep, a create or edit due soon wakes the claim, and a claim never moves
the ETag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from agentcron.application import schedules
from agentcron.application.claim import HANDOVER_SECONDS, TICK_SECONDS, run_clock, sweep
from agentcron.domain.access import SYSTEM
from agentcron.models import RunStatus, ScheduleSpec
from test_api_support import build_api, daily_spec

NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)


def create(stack: Any, schedule_id: str, every_seconds: int, **fields: Any) -> None:
    spec = {
        "id": schedule_id,
        "name": schedule_id,
        "trigger": {"type": "interval", "every_seconds": every_seconds},
        "overlap_policy": "allow",  # every slot queued: nothing here executes runs
        **fields,
    }
    stack.create_schedule(ScheduleSpec.model_validate(spec), NOW)


def runs_of(stack: Any, schedule_id: str) -> list[Any]:
    runs, _ = stack.store.list_runs(schedule_id, limit=1000)
    return sorted(runs, key=lambda run: run.scheduled_for)


def invocation(stack: Any, clock: FakeClock, start: datetime, *, awake_seconds: float) -> list[Any]:
    """One claim invocation started at ``start`` (the clock set there, as a Lambda's own clock would be)."""
    clock.now = start
    settings = stack.resources.settings(sweep_seconds=50)
    return run_clock(
        stack.services(clock, settings=settings),
        clock=clock,
        sleep=clock.sleep,
        awake_until=start + timedelta(seconds=awake_seconds),
    )


# --------------------------------------------------------------------------- the clock


def test_an_invocation_sweeps_at_each_next_fire_exactly(stack):
    create(stack, "s7", 7)  # fires at +7, +14, ... off any grid a fixed sweep period would have
    clock = FakeClock(NOW)
    reports = invocation(stack, clock, NOW + timedelta(seconds=1), awake_seconds=80)
    runs = runs_of(stack, "s7")
    assert [run.scheduled_for for run in runs] == [NOW + timedelta(seconds=7 * k) for k in range(1, 12)]
    assert all(run.claimed_at == run.scheduled_for for run in runs)  # zero claim lag
    assert clock.sleeps == [6.0] + [7.0] * 10  # to +7, then from fire to fire
    assert len(reports) == 12 and reports[0].next_due_at == NOW + timedelta(seconds=7)
    # Nothing due by +81 after the fire at +77: the invocation returned instead of waiting for +84.
    assert clock.now == NOW + timedelta(seconds=77)


def test_an_idle_invocation_sweeps_once_and_returns_at_once(stack):
    create(stack, "hourly", 3600)
    clock = FakeClock(NOW)
    reports = invocation(stack, clock, NOW + timedelta(seconds=5), awake_seconds=80)
    assert len(reports) == 1 and clock.sleeps == []
    assert reports[0].next_due_at == NOW + timedelta(hours=1)


def test_nothing_scheduled_at_all_is_one_sweep(stack):
    clock = FakeClock(NOW)
    reports = invocation(stack, clock, NOW, awake_seconds=80)
    assert len(reports) == 1 and reports[0].next_due_at is None and clock.sleeps == []


def _ticks(stack: Any, awake_seconds: float) -> list[Any]:
    """Three once-a-minute invocations, the second 9 s late and the third 14 s late (EventBridge Scheduler
    promises a minute's precision), each awake ``awake_seconds``; every run of both schedules."""
    clock = FakeClock(NOW)
    for start in (1, 60 + 9, 120 + 14):
        invocation(stack, clock, NOW + timedelta(seconds=start), awake_seconds=awake_seconds)
    return runs_of(stack, "s5") + runs_of(stack, "s7")


def test_every_minute_boundary_is_covered_by_the_handover(stack):
    create(stack, "s5", 5)
    create(stack, "s7", 7)
    runs = _ticks(stack, TICK_SECONDS + HANDOVER_SECONDS)
    assert {run.status for run in runs} == {RunStatus.queued}  # nothing missed, nothing coalesced
    assert all(run.claimed_at == run.scheduled_for for run in runs)  # each at its instant
    covered = {run.scheduled_for for run in runs_of(stack, "s5")}
    assert covered == {NOW + timedelta(seconds=5 * k) for k in range(1, 43)}  # through +210 (awake to +214)


def test_without_the_handover_the_end_of_each_minute_goes_unclaimed(stack):
    """The control: the former design (an invocation sweeping ~45 s of each minute) fails the test above."""
    create(stack, "s5", 5)
    create(stack, "s7", 7)
    runs = _ticks(stack, 45)
    late = [run for run in runs if run.status != RunStatus.queued or run.claimed_at != run.scheduled_for]
    assert late  # slots between :46 and the next (late) invocation were missed or claimed late


def test_the_handler_stays_awake_past_the_next_invocation_and_stops_within_its_budget(
    stack, load_handler, monkeypatch
):
    for key, value in stack.environment(sweep_seconds=5).items():
        monkeypatch.setenv(key, value)
    create(stack, "s20", 20)
    module = load_handler("claim")
    clock = FakeClock(NOW + timedelta(seconds=1))
    monkeypatch.setattr(module, "utcnow", clock)
    monkeypatch.setattr(module.time, "sleep", clock.sleep)

    class Context:
        function_name, function_version, memory_limit_in_mb = "ClaimFunction", "$LATEST", 512
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ClaimFunction"
        aws_request_id = "local"

        def get_remaining_time_in_millis(self) -> int:  # a fresh 90 s invocation, minus what has passed
            return int((NOW + timedelta(seconds=91) - clock.now).total_seconds() * 1000)

    summary = module.lambda_handler({"source": "agentcron.scheduler"}, Context())
    # Awake until +81 (60 s to the next invocation + the 20 s handover): fires at +20, +40, +60, +80.
    assert summary["runs_queued"] == 4 and summary["errors"] == 0
    assert all(run.claimed_at == run.scheduled_for for run in runs_of(stack, "s20"))
    assert max(clock.sleeps) <= 5  # SWEEP_SECONDS caps every sleep


# --------------------------------------------------------------------------- wakes


class Waker:
    def __init__(self) -> None:
        self.woken: list[datetime] = []

    def __call__(self, due: datetime) -> None:
        self.woken.append(due)


def test_a_create_due_before_the_next_invocation_wakes_the_claim_once(stack):
    waker = Waker()

    def create_at(schedule_id: str, seconds: int, now: datetime = NOW) -> None:
        spec = {
            "id": schedule_id,
            "name": schedule_id,
            "trigger": {"type": "once", "at": (NOW + timedelta(seconds=seconds)).isoformat()},
        }
        services = stack.services(now, wake_claim=waker)
        schedules.create_schedule(services, SYSTEM, ScheduleSpec.model_validate(spec))

    create_at("in-20s", 20)
    assert waker.woken == [NOW + timedelta(seconds=20)]
    create_at("in-30s", 30)  # the invocation woken for +20 s is awake at +30 s: no second wake
    create_at("in-2m", 120)  # the invocations to come cover it
    assert waker.woken == [NOW + timedelta(seconds=20)]
    create_at("in-10s", 10)  # earlier than the pending wake
    assert waker.woken == [NOW + timedelta(seconds=20), NOW + timedelta(seconds=10)]
    create_at("later", 40, now=NOW + timedelta(seconds=25))  # the pending wakes are past: a new one
    assert waker.woken[-1] == NOW + timedelta(seconds=40)


def test_an_edit_or_resume_due_soon_wakes_the_claim_and_a_failing_wake_fails_nothing(stack):
    create(stack, "s1", 3600)
    waker = Waker()
    services = stack.services(NOW + timedelta(minutes=1), wake_claim=waker)
    schedules.pause_schedule(services, SYSTEM, "s1")
    schedules.resume_schedule(services, SYSTEM, "s1")  # the grid's next fire is an hour away: no wake
    schedules.edit_schedule(services, SYSTEM, "s1", {"trigger": {"type": "interval", "every_seconds": 30}})
    assert len(waker.woken) == 1

    def broken(due: datetime) -> None:
        raise RuntimeError("lambda unavailable")

    failing = stack.services(NOW + timedelta(minutes=2), wake_claim=broken)
    create(stack, "s2", 3600)
    every_45 = {"trigger": {"type": "interval", "every_seconds": 45}}
    saved, _ = schedules.edit_schedule(failing, SYSTEM, "s2", every_45)
    assert saved.state.next_fire_at is not None  # stored; the next invocation claims it


def test_the_local_lambda_endpoint_answers_an_event_invoke_as_lambda_does():
    import boto3
    from agentcron.waker import ClaimWaker

    from agentcron.local.lambda_endpoint import CLAIM_FUNCTION, LambdaEndpoint

    events: list[dict[str, Any]] = []
    endpoint = LambdaEndpoint(events.append).start()
    try:
        client = boto3.client(
            "lambda", endpoint_url=endpoint.url, region_name="us-east-1",
            aws_access_key_id="local", aws_secret_access_key="local",
        )
        ClaimWaker(CLAIM_FUNCTION, client)(NOW)
        assert events == [{"source": "agentcron.wake", "action": "sweep", "due_at": "2026-03-02T12:00:00Z"}]
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            ClaimWaker("OtherFunction", client)(NOW)
    finally:
        endpoint.stop()


# --------------------------------------------------------------------------- the ETag


def test_claims_never_move_the_etag_so_an_if_match_edit_still_holds(stack, load_handler, monkeypatch):
    api = build_api(stack, load_handler, monkeypatch)
    api.create({**daily_spec(), "trigger": {"type": "interval", "every_seconds": 60}, "overlap_policy": "allow"})
    for minute in range(1, 4):
        assert sweep(stack.services(), api.clock.now + timedelta(minutes=minute, seconds=1)).runs_queued == 1
    reply = api.call("get-schedule")
    assert reply.headers["etag"] == '"1"' and reply.body["state"]["active_run_count"] == 3
    edited = api.call("update-schedule")  # If-Match "1", read before the three claims
    assert edited.status == 200 and edited.headers["etag"] == '"2"'


def test_an_edit_that_races_a_claim_is_applied_on_the_claimed_state(stack, monkeypatch):
    create(stack, "s1", 60)
    at = NOW + timedelta(seconds=61)
    real_save = stack.store.save_schedule
    claims: list[int] = []

    def claim_first(schedule: Any, **kwargs: Any) -> Any:
        if not claims:  # a claim lands between the edit's read and its write
            claims.append(sweep(stack.services(), at).runs_queued)
        return real_save(schedule, **kwargs)

    monkeypatch.setattr(stack.store, "save_schedule", claim_first)
    saved, version = schedules.edit_schedule(
        stack.services(at), SYSTEM, "s1", {"name": "renamed"}, expected_version=1
    )
    assert claims == [1] and version == 2 and saved.name == "renamed"
    assert saved.state.next_fire_at == NOW + timedelta(seconds=120)  # the claim's move kept
    assert saved.state.active_run_count == 1
    assert len(runs_of(stack, "s1")) == 1  # and the claimed slot is not claimed again
    assert sweep(stack.services(), at).runs_queued == 0


def test_a_claim_that_ends_the_schedule_changes_the_spec_and_so_the_etag(stack):
    spec = {"id": "once", "name": "once", "trigger": {"type": "once", "at": "2026-03-02T12:00:30Z"}}
    stack.create_schedule(ScheduleSpec.model_validate(spec), NOW)
    sweep(stack.services(), NOW + timedelta(seconds=31))
    schedule, version = stack.store.get_schedule_versioned("once")
    assert (schedule.enabled, version) == (False, 2)
