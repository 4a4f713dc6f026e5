"""Concurrent requests, as two Lambda containers would send them, against one moto server.

Each "container" is its own load of functions/api/app.py with its own clients. A barrier holds both requests
after they read the schedule, so both really act on the same version before either writes.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from agentcron.api import ApiHandler

from test_api_support import Api, Clock, daily_spec, load_event, reshape


def _container(stack: Any, load_handler: Any) -> Api:
    module = load_handler("api")
    clock = Clock()
    module._handler = ApiHandler.from_settings(
        stack.settings,
        dynamodb=stack.client("dynamodb"),
        sqs=stack.client("sqs"),
        s3=stack.client("s3"),
        clock=clock,
    )
    return Api(module, clock, stack)


@pytest.fixture
def containers(server_stack: Any, load_handler: Any, monkeypatch: pytest.MonkeyPatch) -> list[Api]:
    for name, value in server_stack.environment().items():
        monkeypatch.setenv(name, value)
    return [_container(server_stack, load_handler) for _ in range(2)]


def _hold_after_first_read(api: Api, barrier: threading.Barrier) -> None:
    store = api.services.store
    real = store.get_schedule_versioned
    held: list[bool] = []

    def read_then_wait(schedule_id: str) -> Any:
        found = real(schedule_id)
        if not held:
            held.append(True)
            barrier.wait(timeout=10)
        return found

    store.get_schedule_versioned = read_then_wait


def _together(calls: list[Any]) -> list[Any]:
    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result(timeout=30) for f in [pool.submit(call) for call in calls]]


def test_two_patches_with_the_same_etag_one_wins_one_gets_409(containers: list[Api]) -> None:
    first, second = containers
    assert first.create(daily_spec()).headers["etag"] == '"1"'
    barrier = threading.Barrier(2)
    for api in containers:
        _hold_after_first_read(api, barrier)
    replies = _together(
        [
            lambda: first.call("update-schedule", body={"name": "from first"}),  # If-Match "1"
            lambda: second.call("update-schedule", body={"name": "from second"}),
        ]
    )
    statuses = sorted(r.status for r in replies)
    assert statuses == [200, 409], [r.body for r in replies]
    winner = next(r for r in replies if r.status == 200)
    loser = next(r for r in replies if r.status == 409)
    assert loser.error["type"] == "version_conflict" and winner.headers["etag"] == '"2"'
    stored, version = first.stack.store.get_schedule_versioned("daily-news")
    assert stored.name == winner.body["name"] and version == 2


def test_unconditional_patches_of_different_fields_both_land(containers: list[Api]) -> None:
    """The first request reads, the second one reads and writes, then the first one writes: nothing is lost.

    Sequenced with an event rather than left to chance: moto serialises operations but returns items it keeps
    mutating, so a read racing a write could come back torn (new version, old spec): DynamoDB never does that.
    """
    first, second = containers
    first.create(daily_spec())
    first_read, second_done = threading.Event(), threading.Event()
    store = first.services.store
    real_read, reads = store.get_schedule_versioned, []

    def read_then_wait(schedule_id: str) -> Any:
        found = real_read(schedule_id)
        if not reads:
            reads.append(found[1])
            first_read.set()
            assert second_done.wait(timeout=20)
        return found

    store.get_schedule_versioned = read_then_wait
    with ThreadPoolExecutor(1) as pool:
        renaming = pool.submit(
            first.call, "update-schedule", body={"name": "renamed"}, headers={"if-match": None}
        )
        assert first_read.wait(timeout=20)
        moving = second.call("update-schedule", body={"timezone": "Asia/Tokyo"}, headers={"if-match": None})
        second_done.set()
        renamed = renaming.result(timeout=30)
    assert (moving.status, renamed.status) == (200, 200) and reads == [1]
    stored, version = first.stack.store.get_schedule_versioned("daily-news")
    assert (stored.name, stored.timezone, version) == (
        "renamed",
        "Asia/Tokyo",
        3,
    )  # the first re-read and merged


def test_the_same_idempotency_key_sent_twice_at_once_creates_one_schedule(containers: list[Api]) -> None:
    spec = daily_spec()
    del spec["id"]
    event = reshape(load_event("create-schedule"), body=spec, headers={"idempotency-key": "at-once"})
    barrier = threading.Barrier(2)

    def send(api: Api) -> Any:
        barrier.wait(timeout=10)
        return api.send(event)

    replies = _together([lambda: send(containers[0]), lambda: send(containers[1])])
    statuses = sorted(r.status for r in replies)
    assert statuses in ([201, 201], [201, 409]), [r.body for r in replies]
    created = [r.body["id"] for r in replies if r.status == 201]
    assert len(set(created)) == 1
    assert [s.id for s in containers[0].stack.store.list_schedules()[0]] == created[:1]
    for reply in replies:
        if reply.status == 409:
            assert reply.error["type"] == "idempotency_in_progress"


def test_the_same_run_now_key_sent_twice_at_once_starts_one_run(containers: list[Api]) -> None:
    containers[0].create(daily_spec())
    event = load_event("run-now")
    barrier = threading.Barrier(2)

    def send(api: Api) -> Any:
        barrier.wait(timeout=10)
        return api.send(event)

    replies = _together([lambda: send(containers[0]), lambda: send(containers[1])])
    assert sorted(r.status for r in replies) in ([202, 202], [202, 409])
    runs = containers[0].stack.store.list_runs("daily-news")[0]
    assert len(runs) == 1 and {r.body["run_id"] for r in replies if r.status == 202} == {runs[0].run_id}
