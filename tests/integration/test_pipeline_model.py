"""A model-checked pipeline: the real claim, executor and API use cases on moto, in random interleavings.

A hypothesis ``RuleBasedStateMachine`` drives, at an injected clock that only moves forward: schedule
creates, edits, pauses, resumes and deletes, run-nows (through the API use case and as raw queue messages),
cancels, claim sweeps, deliveries of the run queue's messages to the executor use case, duplicate and late
deliveries of messages already handled, and crashes: any step may die before or after any one of its calls
to DynamoDB, SQS or S3 (a fault injected into the adapters' clients), leaving whatever it wrote so far.
A crashed delivery is not acknowledged (SQS delivers it again); a crashed sweep is followed by later ones.

After every step the invariants are checked on the tables:

- one run per slot: a schedule's slot runs have distinct slots;
- nothing open past its lease plus redelivery: every open run carries its deadline in the open index (so
  the outbox and reaper find it), and after a sweep that completed at ``now`` no open run's deadline is
  ``<= now``; at the end, with the schedules paused, sweeps and deliveries settle every run terminal;
- terminal is final: a run once seen terminal keeps its status, completion time and answer;
- each schedule's counters, with the ends still pending in its ``open_runs`` set, equal its records
  (active, success, failure, skipped; missed slots are
  all counted and only the newest of a claim recorded, so the missed counter is at least its records).

Profiles: the bounded one runs in ``make test``; ``make model-check`` runs a longer one
(``AGENTCRON_MODEL_CHECK=long``, more examples and steps).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from agentcron.application import Services, execute
from agentcron.application.claim import sweep
from agentcron.application.runs import cancel_run, run_now
from agentcron.application.schedules import (
    create_schedule,
    delete_schedule,
    edit_schedule,
    pause_schedule,
    resume_schedule,
)
from agentcron.domain.access import SYSTEM
from agentcron.domain.runs import FAILURE_STATUSES
from agentcron.domain.tally import tally
from agentcron.exceptions import AgentcronError, InvalidInput, ScheduleNotFound
from agentcron.models import RunNowMessage, RunStatus, RunTrigger, ScheduleSpec
from agentcron.queue import RunQueue, parse_message
from agentcron.sessions import SessionStore
from agentcron.store import Store
from agentcron.store.codec import deserialize, epoch_ms
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, invariant, rule
from moto import mock_aws

from agentcron.local.resources import create_resources, load_template

TEMPLATE = load_template()
LONG = os.environ.get("AGENTCRON_MODEL_CHECK") == "long"
START = datetime(2026, 3, 1, 8, 59, 30, tzinfo=UTC)
MAX_SCHEDULES = 3
SETTLE_ROUNDS = 12


COVERAGE: Counter[str] = Counter()  # what the examples did: the test fails if they exercised too little


class Crash(BaseException):
    """The process died here: nothing after this point of the step happens (not an ``Exception``, so no
    handler in the product can turn it into an outcome)."""


class Faults:
    """One armed fault: the ``countdown``-th client call from now dies, before or after it took effect."""

    def __init__(self) -> None:
        self.countdown: int | None = None
        self.after = False
        self.fired = False

    def arm(self, countdown: int | None, after: bool) -> None:
        self.countdown, self.after, self.fired = countdown, after, False

    def call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        if self.countdown is None:
            return method(*args, **kwargs)
        if self.countdown == 0 and not self.after:
            self.countdown, self.fired = None, True
            raise Crash(f"before {method.__name__}")
        result = method(*args, **kwargs)
        if self.countdown == 0:
            self.countdown, self.fired = None, True
            raise Crash(f"after {method.__name__}")
        self.countdown -= 1
        return result


class FaultyClient:
    """A boto3 client whose API calls go through ``Faults``."""

    _PASS = frozenset({"get_paginator", "can_paginate", "close", "get_waiter"})

    def __init__(self, client: Any, faults: Faults) -> None:
        self._client, self._faults = client, faults

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute) or name.startswith("_") or name in self._PASS:
            return attribute
        return lambda *args, **kwargs: self._faults.call(attribute, *args, **kwargs)


faults_strategy = st.one_of(st.none(), st.tuples(st.integers(min_value=0, max_value=6), st.booleans()))


class Pipeline(RuleBasedStateMachine):
    schedules = Bundle("schedules")

    clients: tuple[Any, Any, Any] = (None, None, None)  # dynamodb, sqs, s3 inside the test's mock_aws
    examples = 0

    def __init__(self) -> None:
        super().__init__()
        Pipeline.examples += 1  # a fresh set of tables and queues per example, in one moto backend
        dynamodb, sqs, s3 = self.clients
        prefix = f"model{Pipeline.examples}"
        resources = create_resources(dynamodb=dynamodb, sqs=sqs, s3=s3, prefix=prefix, template=TEMPLATE)
        self.settings = replace(resources.settings(), due_shards=1)
        self.dlq_url = resources.queue_urls["RunDeadLetterQueue"]
        self.dynamodb, self.sqs = dynamodb, sqs
        self.now = START
        self.faults = Faults()
        self.clean = self._services(dynamodb, sqs, s3)
        self.faulty = self._services(*(FaultyClient(c, self.faults) for c in (dynamodb, sqs, s3)))
        self.counter = 0
        self.live: set[str] = set()
        self.deleted: set[str] = set()
        self.delivered: list[tuple[str, str, datetime | None]] = []  # (body, message id, sent at)
        self.terminal: dict[tuple[str, str], tuple[Any, ...]] = {}
        self.known_runs: list[tuple[str, str]] = []

    def _services(self, dynamodb: Any, sqs: Any, s3: Any) -> Services:
        s = self.settings
        return Services(
            settings=s,
            store=Store.from_settings(s, dynamodb),
            queue=RunQueue(sqs, s.run_queue_url, dead_letter_url=s.run_dead_letter_queue_url),
            sessions=SessionStore(s3, s.sessions_bucket),
            clock=lambda: self.now,
        )

    def teardown(self) -> None:
        self.settle()

    # ------------------------------------------------------------------ helpers

    def _faulty(self, fault: tuple[int, bool] | None) -> bool:
        """Run the step with ``fault`` armed; the step's body is the caller's ``with`` block."""
        self.faults.arm(*(fault if fault is not None else (None, False)))
        return fault is not None

    def _api(self, call: Any, fault: tuple[int, bool] | None) -> Any:
        """An API use case with a possible crash: domain errors are answers (4xx), a crash is a 5xx."""
        self._faulty(fault)
        try:
            return call(self.faulty)
        except Crash:
            COVERAGE["api crashes"] += 1
            return None
        except AgentcronError:
            return None
        finally:
            self.faults.arm(None, False)

    # ------------------------------------------------------------------ API rules

    @initialize(target=schedules)
    def first_schedule(self) -> str:
        return self._create(60, "queue_one", 1)

    def _create(self, every: int, overlap: str, attempts: int) -> str:
        self.counter += 1
        schedule_id = f"m{self.counter}"
        spec = ScheduleSpec.model_validate(
            {
                "id": schedule_id,
                "name": schedule_id,
                "trigger": {"type": "interval", "every_seconds": every},
                "overlap_policy": overlap,
                "retry_policy": {"max_attempts": attempts},
                "run_config": {
                    "model": "echo",
                    "task_message": f"task of {schedule_id}",
                    "auto_execute": True,
                },
            }
        )
        create_schedule(self.clean, SYSTEM, spec)
        self.live.add(schedule_id)
        return schedule_id

    @rule(
        target=schedules,
        every=st.sampled_from([60, 120, 300, 900]),
        overlap=st.sampled_from(["allow", "skip", "queue_one", "cancel_other", "queue_all"]),
        attempts=st.integers(min_value=1, max_value=3),
    )
    def create(self, every: int, overlap: str, attempts: int) -> str:
        if len(self.live) >= MAX_SCHEDULES:
            return min(self.live)  # enough schedules: the bundle gets an existing one again
        return self._create(every, overlap, attempts)

    @rule(schedule=schedules, every=st.sampled_from([60, 180, 600]), fault=faults_strategy)
    def edit(self, schedule: str, every: int, fault: Any) -> None:
        changes = {"trigger": {"type": "interval", "every_seconds": every}}
        self._api(lambda s: edit_schedule(s, SYSTEM, schedule, changes), fault)

    @rule(schedule=schedules, fault=faults_strategy)
    def pause(self, schedule: str, fault: Any) -> None:
        self._api(lambda s: pause_schedule(s, SYSTEM, schedule, "model check"), fault)

    @rule(schedule=schedules, fault=faults_strategy)
    def resume(self, schedule: str, fault: Any) -> None:
        self._api(lambda s: resume_schedule(s, SYSTEM, schedule), fault)

    @rule(schedule=consumes(schedules), fault=faults_strategy)
    def delete(self, schedule: str, fault: Any) -> None:
        self._api(lambda s: delete_schedule(s, SYSTEM, schedule), fault)
        if self.clean.store.get_schedule(schedule) is None:
            self.live.discard(schedule)
            self.deleted.add(schedule)

    @rule(
        schedule=schedules,
        request=st.sampled_from(["a", "b", None]),
        overlap=st.sampled_from([None, "skip", "cancel_other", "allow"]),
        fault=faults_strategy,
    )
    def run_now_api(self, schedule: str, request: str | None, overlap: str | None, fault: Any) -> None:
        run = self._api(
            lambda s: run_now(s, SYSTEM, schedule, request_id=request, overlap_policy=overlap), fault
        )
        if run is not None:
            self.known_runs.append((schedule, run.run_id))

    @rule(schedule=schedules, request=st.sampled_from(["q1", "q2", None]))
    def run_now_message(self, schedule: str, request: str | None) -> None:
        message = RunNowMessage(schedule_id=schedule, request_id=request, task_message="over the queue")
        self.sqs.send_message(
            QueueUrl=self.settings.run_queue_url,
            MessageBody=message.model_dump_json(exclude_none=True),
            MessageGroupId=schedule,
            MessageDeduplicationId=f"{schedule}-{request}-{self.counter}-{len(self.delivered)}",
        )

    @rule(pick=st.integers(min_value=0, max_value=50), fault=faults_strategy)
    def cancel(self, pick: int, fault: Any) -> None:
        runs = self._all_runs()
        open_runs = [r for r in runs if not r["status"].is_terminal] or runs
        if not open_runs:
            return
        run = open_runs[pick % len(open_runs)]
        self._api(lambda s: cancel_run(s, SYSTEM, run["schedule_id"], run["run_id"]), fault)

    # ------------------------------------------------------------------ time, claim and executor rules

    @rule(seconds=st.sampled_from([1, 5, 30, 61, 125, 400, 1000, 2000]))
    def advance(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)

    @rule(seconds=st.sampled_from([30, 61, 125, 400, 1000]), fault=faults_strategy)
    def tick(self, seconds: int, fault: Any) -> None:
        """Time passes and the claim clock sweeps (the common case, so it gets a rule of its own)."""
        self.advance(seconds)
        self.claim_sweep(fault)

    @rule(fault=faults_strategy)
    def claim_sweep(self, fault: Any) -> None:
        COVERAGE["sweeps"] += 1
        self._faulty(fault)
        try:
            sweep(self.faulty, self.now)
        except Crash:
            COVERAGE["claim crashes"] += 1
            return
        finally:
            self.faults.arm(None, False)
        if fault is None or not self.faults.fired:
            self.check_nothing_overdue()

    @rule(
        count=st.integers(min_value=1, max_value=4),
        fault=faults_strategy,
        acknowledge=st.booleans(),
        short=st.booleans(),
    )
    def deliver(self, count: int, fault: Any, acknowledge: bool, short: bool) -> None:
        """The executor gets up to ``count`` visible messages, one at a time; ``fault`` may crash the first.
        A crash (or ``acknowledge`` False after success: the delete was lost) leaves the message on the
        queue, delivered again later. ``short``: invocations with less time left than the continue margin
        (a run hands off to a continue message)."""
        got = (
            self.sqs.receive_message(
                QueueUrl=self.settings.run_queue_url,
                MaxNumberOfMessages=count,
                MessageSystemAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages")
            or []
        )
        for message in got:
            sent_at = datetime.fromtimestamp(int(message["Attributes"]["SentTimestamp"]) / 1000, tz=UTC)
            self.delivered.append((message["Body"], message["MessageId"], sent_at))
            done = self._execute(message["Body"], message["MessageId"], sent_at, fault, short=short)
            fault = None
            url = self.settings.run_queue_url
            if done and acknowledge:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            else:  # visible again at once: SQS redelivers it after the visibility timeout, at a later step
                self.sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
            acknowledge = True

    @rule(pick=st.integers(min_value=0, max_value=50), fault=faults_strategy)
    def deliver_again(self, pick: int, fault: Any) -> None:
        """A duplicate or late delivery of a message handled before (SQS is at-least-once)."""
        if self.delivered:
            body, message_id, sent_at = self.delivered[pick % len(self.delivered)]
            COVERAGE["duplicate deliveries"] += 1
            self._execute(body, message_id, sent_at, fault)

    def _execute(
        self, body: str, message_id: str, sent_at: datetime, fault: Any, *, short: bool = False
    ) -> bool:
        """True when the message is done with (handled, or permanently bad: the handler dead-letters it)."""
        self._faulty(fault)
        remaining = (lambda: 1000) if short else None
        try:
            outcome = execute.handle(
                self.faulty,
                parse_message(body),
                message_id=message_id,
                sent_at=sent_at,
                remaining_ms=remaining,
            )
            COVERAGE[f"outcome {outcome.status}"] += 1
        except Crash:
            COVERAGE["executor crashes"] += 1
            return False
        except AgentcronError as exc:
            # Permanent for the handler (an unknown schedule on run-now): dead-lettered and acknowledged.
            assert isinstance(exc, ScheduleNotFound | InvalidInput), f"unexpected executor error: {exc!r}"
            return True
        finally:
            self.faults.arm(None, False)
        return True

    # ------------------------------------------------------------------ invariants

    def _items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {"TableName": self.settings.runs_table, "ConsistentRead": True}
        while True:
            page = self.dynamodb.scan(**request)
            items += [deserialize(i) for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return [i for i in items if not str(i["schedule_id"]).startswith("~")]
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _all_runs(self) -> list[dict[str, Any]]:
        return [dict(item, status=RunStatus(item["status"])) for item in self._items()]

    def check_nothing_overdue(self) -> None:
        now_ms = epoch_ms(self.now)
        for run in self._all_runs():
            if not run["status"].is_terminal and run["schedule_id"] in self.live:
                assert int(run["open_until"]) > now_ms, f"open past its deadline after a sweep: {run}"

    @invariant()
    def runs_are_consistent(self) -> None:
        runs = self._all_runs()
        by_schedule: dict[str, list[dict[str, Any]]] = {}
        for run in runs:
            by_schedule.setdefault(run["schedule_id"], []).append(run)
            key = (run["schedule_id"], run["run_id"])
            if run["status"].is_terminal:
                seen = (
                    run["status"],
                    run.get("completed_at"),
                    run.get("final_answer"),
                    run.get("outcome_reason"),
                )
                assert self.terminal.setdefault(key, seen) == seen, f"terminal changed: {key} {seen}"
                assert "open_until" not in run and "open_shard" not in run, f"terminal run still open: {run}"
            else:
                assert key not in self.terminal, f"terminal run reopened: {key} {run['status']}"
                assert "open_until" in run and "open_shard" in run, f"open run out of the open index: {run}"
        for schedule_id, its_runs in by_schedule.items():
            slots = Counter(
                run["scheduled_for"]
                for run in its_runs
                if run.get("trigger", "schedule") == RunTrigger.schedule
            )
            assert all(n == 1 for n in slots.values()), f"a slot with two runs: {schedule_id} {slots}"
        for schedule_id in self.live:
            schedule = self.clean.store.get_schedule(schedule_id)
            assert schedule is not None
            statuses = Counter(run["status"] for run in by_schedule.get(schedule_id, []))
            state = schedule.state
            # An end not counted yet (its executor died between the run's write and the counting) is still
            # in open_runs: the next claim counts it. Counted or pending, never lost, never twice.
            pending = [
                run
                for run in self.clean.store.get_runs(schedule_id, sorted(state.open_run_ids))
                if run.status.is_terminal
            ]
            if pending:
                COVERAGE["ends pending"] += 1
            change = tally(pending).adds
            failures = sum(statuses[s] for s in FAILURE_STATUSES)
            actual = (
                state.active_run_count + change.get("active_run_count", 0),
                state.total_success_count + change.get("total_success_count", 0),
                state.total_failure_count + change.get("total_failure_count", 0),
                state.total_run_count + change.get("total_run_count", 0),
                state.total_skipped_count + change.get("total_skipped_count", 0),
            )
            expected = (
                statuses[RunStatus.queued] + statuses[RunStatus.running],
                statuses[RunStatus.success],
                failures,
                statuses[RunStatus.success] + failures,
                statuses[RunStatus.skipped],
            )
            assert actual == expected, f"{schedule_id}: counters {actual} != records {expected}"
            # Every missed slot is counted; a claim records only the newest MAX_MISSED_RECORDS of them.
            assert state.total_missed_count >= statuses[RunStatus.missed], (
                f"{schedule_id}: missed not counted"
            )

    def settle(self) -> None:
        """Pause every schedule, then sweep and deliver at later and later times: every run ends."""
        for schedule_id in list(self.live):
            pause_schedule(self.clean, SYSTEM, schedule_id, "settling")
        for _ in range(SETTLE_ROUNDS):
            self.now += timedelta(hours=3)
            sweep(self.clean, self.now)
            self.check_nothing_overdue()
            while got := self.sqs.receive_message(
                QueueUrl=self.settings.run_queue_url,
                MaxNumberOfMessages=10,
                MessageSystemAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages"):
                for message in got:
                    sent_at = datetime.fromtimestamp(
                        int(message["Attributes"]["SentTimestamp"]) / 1000, tz=UTC
                    )
                    self._execute(message["Body"], message["MessageId"], sent_at, None)
                    self.sqs.delete_message(
                        QueueUrl=self.settings.run_queue_url, ReceiptHandle=message["ReceiptHandle"]
                    )
            self.runs_are_consistent()
            if all(run["status"].is_terminal for run in self._all_runs() if run["schedule_id"] in self.live):
                return
        still = [(r["run_id"], r["status"]) for r in self._all_runs() if not r["status"].is_terminal]
        raise AssertionError(f"runs still open after settling: {still}")


PROFILE = settings(
    max_examples=100 if LONG else 10,
    stateful_step_count=80 if LONG else 40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=not LONG,  # make test: the same interleavings every time; model-check: new ones
    # Shrinking on moto takes minutes: make test reports the failing steps as found, model-check shrinks.
    phases=list(Phase) if LONG else [Phase.explicit, Phase.reuse, Phase.generate],
)


@pytest.mark.xdist_group("model")
def test_the_pipeline_keeps_its_invariants_in_any_interleaving(aws_env: dict[str, str]) -> None:
    COVERAGE.clear()
    Pipeline.TestCase.settings = PROFILE
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        Pipeline.clients = (session.client("dynamodb"), session.client("sqs"), session.client("s3"))
        Pipeline.TestCase("runTest").runTest()
    # The interleavings reached what the invariants are about: finished runs, crashes, duplicates.
    assert COVERAGE["outcome success"] >= 3, COVERAGE
    assert COVERAGE["executor crashes"] and COVERAGE["claim crashes"] and COVERAGE["api crashes"], COVERAGE
    assert COVERAGE["outcome duplicate"] and COVERAGE["duplicate deliveries"], COVERAGE
