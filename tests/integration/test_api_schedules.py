"""Schedule routes through the API Lambda handler, fed the API Gateway v2 sample events of events/.

GIVEN a moto stack from template.yaml and the clock at 2026-03-01 09:00Z, WHEN a sample event (possibly with
another path, body or header) reaches functions/api/app.py, THEN the answer and the stored state are checked.
"""

from __future__ import annotations

from typing import Any

import pytest

from agentcron.application import schedules
from agentcron.domain.access import SYSTEM
from agentcron.models import Run, slot_run_id

from test_api_support import NOW, Api, build_api, daily_spec

NEXT_FIRE = "2026-03-02T08:00:00Z"  # 09:00 in Paris (CET) the day after NOW


@pytest.fixture
def api(stack: Any, load_handler: Any, monkeypatch: pytest.MonkeyPatch) -> Api:
    return build_api(stack, load_handler, monkeypatch)


# --------------------------------------------------------------------------- create


def test_create_answers_201_with_the_view_an_etag_and_a_location(api: Api) -> None:
    reply = api.call("create-schedule")
    assert reply.status == 201
    assert reply.headers["etag"] == '"1"' and reply.headers["location"] == "/schedules/daily-news"
    body = reply.body
    assert body["id"] == "daily-news" and body["version"] == 1
    assert body["enabled"] is True  # our default (the seed system's is false)
    assert body["state"]["next_fire_at"] == NEXT_FIRE
    assert body["created_at"] == body["updated_at"] == "2026-03-01T09:00:00Z"
    stored = api.stack.store.get_schedule("daily-news")
    assert stored is not None and stored.run_config.task_message.startswith("Summarise today's news")


def test_a_base64_body_and_a_jwt_authorised_request_are_read_alike(api: Api) -> None:
    assert api.call("create-schedule-base64").status == 201
    reply = api.call("create-schedule-jwt", body=daily_spec("jwt-news"))
    assert reply.status == 201 and reply.body["id"] == "jwt-news"


BAD_INPUT = [  # (event, changes, field, message or None)
    ("invalid-spec", {}, "trigger.hour", "trigger.hour must be between 0 and 23"),
    ("bad-json", {}, "body", "body is not valid JSON"),
    ("create-schedule", {"body": {"name": "x"}}, "trigger", "trigger is required"),
    ("create-schedule", {"body": None}, "body", "body is required"),
    ("create-schedule", {"body": []}, "body", None),
    (
        "create-schedule",
        {"body": {"name": " ", "trigger": {"type": "daily", "hour": 1, "minute": 0}}},
        "name",
        "name is required",
    ),
    ("create-schedule", {"body": daily_spec(trigger={"type": "hourly"})}, "trigger.type", None),
    (
        "create-schedule",
        {"body": daily_spec(timezone="Mars/Olympus")},
        "timezone",
        "timezone is not a valid IANA timezone: Mars/Olympus",
    ),
    (
        "create-schedule",
        {"body": daily_spec(trigger={"type": "once", "at": "2020-01-01T00:00:00Z"})},
        "trigger.at",
        "trigger.at must be in the future",
    ),
    (
        "create-schedule",
        {"body": daily_spec(trigger={"type": "cron", "expr": "61 * * * *"})},
        "trigger.expr",
        None,
    ),
    (
        "create-schedule",
        {"body": daily_spec(run_config={"auto_execute": True})},
        "run_config.task_message",
        "run_config.task_message is required when auto_execute is true",
    ),
    (
        "create-schedule",
        {"body": daily_spec(start_at="2027-01-02T00:00:00Z", end_at="2027-01-01T00:00:00Z")},
        "start_at",
        "start_at must be earlier than end_at",
    ),
    (
        "create-schedule",
        {"body": daily_spec(expires_at="2020-01-01T00:00:00Z")},
        "expires_at",
        "expires_at must be in the future",
    ),
    (
        "create-schedule",
        {"body": daily_spec(max_consecutive_failures=0)},
        "max_consecutive_failures",
        None,
    ),
    ("create-schedule", {"body": daily_spec(id="no spaces")}, "id", None),
    (
        "create-schedule",
        {"body": daily_spec(trigger={"type": "interval", "every_seconds": "often"})},
        "trigger.every_seconds",
        None,
    ),
    ("create-schedule", {"headers": {"idempotency-key": "x" * 300}}, "Idempotency-Key", None),
]


def test_bad_input_is_a_400_naming_the_field(api: Api) -> None:
    for event, changes, field, message in BAD_INPUT:
        reply = api.call(event, **changes)
        case = f"{event} {changes}"
        assert reply.status == 400, (case, reply.body)
        assert (reply.error["field"], reply.error["type"]) == (field, "validation_error"), case
        if message is not None:
            assert reply.error["message"] == message, case
    assert api.stack.store.list_schedules()[0] == []


EXTREME_INPUT = [  # (event, body, field): dates at the ends of the calendar, huge numbers, odd text
    ("create-schedule", daily_spec(start_at="9999-12-31T12:00:00Z"), "body"),  # no fire before year 10000
    ("create-schedule", daily_spec(start_at="0001-01-01T00:00:00+01:00"), "body"),  # year 0 in UTC
    ("create-schedule", daily_spec(end_at="9999-12-31T23:59:59-01:00"), "body"),
    ("create-schedule", daily_spec(trigger={"type": "interval", "every_seconds": 10**30}), "body"),
    (
        "create-schedule",
        daily_spec(trigger={"type": "daily", "hour": 10**40, "minute": 0}),
        "trigger.hour",
    ),
    (
        "create-schedule",
        daily_spec(trigger={"type": "cron", "expr": "0 0 30 2 *"}),
        "trigger.expr",
    ),  # can never fire: refused by the cron dialect, naming the expression
    ("create-schedule", daily_spec(timezone="America"), "timezone"),  # a folder of the zone database
    ("create-schedule", daily_spec(timezone="x" * 300), "timezone"),
    (
        "create-schedule",
        '{"name": "\\ud800", "trigger": {"type": "daily", "hour": 1, "minute": 0}}',
        "body",
    ),
    (
        "create-schedule",
        '{"name": "x", "trigger": {"type": "daily", "hour": NaN, "minute": 0}}',
        "trigger.hour",
    ),
    ("preview", daily_spec(start_at="9999-12-31T12:00:00Z"), "body"),
    ("backfill", {"start_at": "0001-01-01T00:00:00Z", "end_at": "0001-01-02T00:00:00Z"}, "body"),
]


def test_extreme_input_is_a_400_never_a_500(api: Api) -> None:
    api.create(daily_spec("existing"))
    for event, body, field in EXTREME_INPUT:
        path = {"backfill": "/schedules/existing/backfill"}.get(event)
        changes = {"path": path} if path else {}
        reply = api.call(event, body=body, headers={"idempotency-key": None}, **changes)
        assert reply.status == 400, (event, body, reply.body)
        assert (reply.error["field"], reply.error["type"]) == (field, "validation_error"), (event, body)


def test_another_content_type_is_a_415(api: Api) -> None:
    reply = api.call(
        "create-schedule", body="name=x", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert reply.status == 415 and reply.error["type"] == "unsupported_media_type"


def test_an_id_that_exists_is_a_409(api: Api) -> None:
    api.create(daily_spec())
    reply = api.call("create-schedule", body=daily_spec(name="other"), headers={"idempotency-key": None})
    assert reply.status == 409
    assert reply.body == {
        "error": {"message": "Schedule already exists", "field": "id", "type": "conflict"},
        "schedule_id": "daily-news",
    }


# --------------------------------------------------------------------------- idempotency


def test_the_same_idempotency_key_creates_one_schedule_and_replays_the_answer(api: Api) -> None:
    first = api.call("create-schedule")
    api.clock.advance(seconds=5)
    second = api.call("create-schedule")
    assert (first.status, second.status) == (201, 201)
    assert second.body == first.body and second.headers["etag"] == first.headers["etag"]
    assert "idempotent-replayed" not in first.headers and second.headers["idempotent-replayed"] == "true"
    assert len(api.stack.store.list_schedules()[0]) == 1


def test_the_same_key_with_another_body_is_a_422(api: Api) -> None:
    assert api.call("create-schedule").status == 201
    reply = api.call("create-schedule", body=daily_spec(name="something else"))
    assert reply.status == 422 and reply.error["field"] == "Idempotency-Key"


def test_without_an_id_the_key_decides_the_id_so_even_an_expired_record_creates_nothing_twice(
    api: Api,
) -> None:
    spec = daily_spec()
    del spec["id"]
    first = api.call("create-schedule", body=spec, headers={"idempotency-key": "nightly-1"})
    assert first.status == 201
    # The idempotency record expires (or the first request died before saving it): the id still matches.
    table = api.stack.settings.idempotency_table
    for item in api.stack.dynamodb.scan(TableName=table)["Items"]:
        api.stack.dynamodb.delete_item(TableName=table, Key={"id": item["id"]})
    again = api.call("create-schedule", body=spec, headers={"idempotency-key": "nightly-1"})
    assert again.status == 201 and again.body["id"] == first.body["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert len(api.stack.store.list_schedules()[0]) == 1
    other = api.call("create-schedule", body=spec, headers={"idempotency-key": "nightly-2"})
    assert other.status == 201 and other.body["id"] != first.body["id"]


def test_a_failed_request_leaves_its_key_free_for_a_retry(api: Api) -> None:
    bad = daily_spec(trigger={"type": "once", "at": "2020-01-01T00:00:00Z"})
    assert api.call("create-schedule", body=bad).status == 400
    assert api.call("create-schedule", body=bad).status == 400  # not 422: nothing was recorded
    assert api.call("create-schedule", body=daily_spec()).status == 201


# --------------------------------------------------------------------------- read


def test_get_answers_the_view_with_its_etag(api: Api) -> None:
    api.create(daily_spec())
    reply = api.call("get-schedule")
    assert reply.status == 200 and reply.headers["etag"] == '"1"'
    assert reply.body["id"] == "daily-news" and reply.body["state"]["next_fire_at"] == NEXT_FIRE


def test_an_unknown_schedule_is_a_404_with_its_id(api: Api) -> None:
    for schedule_id in ("missing", "x" * 65, "no%20such"):
        reply = api.call("get-schedule", path=f"/schedules/{schedule_id}")
        assert reply.status == 404
        assert reply.body == {
            "error": {"message": "Schedule not found", "field": None, "type": "not_found"},
            "schedule_id": schedule_id,
        }


def test_list_filters_by_enabled_and_pages_with_a_cursor(api: Api) -> None:
    for name in ("a", "b", "c"):
        api.create(daily_spec(name, enabled=name != "b"))
    enabled = api.call("list-schedules", query={"enabled": "true"}).body
    assert sorted(s["id"] for s in enabled["schedules"]) == ["a", "c"]
    paused = api.call("list-schedules", query={"enabled": "false"}).body
    assert [s["id"] for s in paused["schedules"]] == ["b"]
    seen, cursor = [], None
    for _ in range(5):
        query = {"limit": "1"} | ({"cursor": cursor} if cursor else {})
        page = api.call("list-schedules", query=query).body
        seen += [s["id"] for s in page["schedules"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == ["a", "b", "c"]


def test_bad_list_parameters_are_400s(api: Api) -> None:
    for query, field in [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"enabled": "maybe"}, "enabled"),
        ({"cursor": "bogus"}, "cursor"),
    ]:
        reply = api.call("list-schedules", query=query)
        assert reply.status == 400 and reply.error["field"] == field, query


# --------------------------------------------------------------------------- update


def test_patch_changes_only_what_it_names_and_bumps_the_etag(api: Api) -> None:
    api.create(daily_spec())
    api.clock.advance(hours=1)
    reply = api.call("update-schedule")  # name + run_config.task_message, If-Match "1"
    assert reply.status == 200 and reply.headers["etag"] == '"2"'
    body = reply.body
    assert body["name"] == "Morning news digest"
    assert body["run_config"]["task_message"] == "Summarise this morning's news."
    assert body["run_config"]["model"] == "echo" and body["run_config"]["auto_execute"] is True
    assert body["trigger"] == {"type": "daily", "hour": 9, "minute": 0, "second": 0}
    assert body["created_at"] == "2026-03-01T09:00:00Z" and body["updated_at"] == "2026-03-01T10:00:00Z"
    assert body["state"]["next_fire_at"] == NEXT_FIRE  # a name edit keeps the next fire


def test_patch_of_the_trigger_recomputes_the_next_fire(api: Api) -> None:
    api.create(daily_spec())
    reply = api.call(
        "update-schedule",
        body={"trigger": {"type": "daily", "hour": 12, "minute": 30}},
        headers={"if-match": None},
    )
    assert reply.status == 200 and reply.body["state"]["next_fire_at"] == "2026-03-01T11:30:00Z"


def test_patch_with_a_stale_etag_is_a_409_and_changes_nothing(api: Api) -> None:
    api.create(daily_spec())
    assert api.call("update-schedule").status == 200
    stale = api.call("update-schedule", body={"name": "lost update"})  # If-Match "1" again
    assert stale.status == 409 and stale.error["type"] == "version_conflict"
    assert api.stack.store.get_schedule("daily-news").name == "Morning news digest"


def test_patch_without_if_match_survives_a_claim_moving_the_version(api: Api) -> None:
    """Another edit moves the version between read and write; an unconditional edit re-reads instead of failing."""
    api.create(daily_spec())
    # Another writer (its own adapters, as a claim Lambda would have) moves the version once, right after
    # the API's first read and before its write.
    other = api.stack.services(api.clock)
    store = api.services.store
    real_read, reads = store.get_schedule_versioned, []

    def read_then_interfere(schedule_id: str) -> Any:
        found = real_read(schedule_id)
        reads.append(found[1])
        if len(reads) == 1:
            schedules.edit_schedule(other, SYSTEM, schedule_id, {})  # moves the version, changes nothing
        return found

    store.get_schedule_versioned = read_then_interfere
    try:
        reply = api.call("update-schedule", headers={"if-match": None})
    finally:
        store.get_schedule_versioned = real_read
    assert reads == [1, 2]  # read, lost the write to the other writer, read again
    assert (
        reply.status == 200 and reply.headers["etag"] == '"3"' and reply.body["name"] == "Morning news digest"
    )


def test_patch_errors_match_the_create_errors(api: Api) -> None:
    api.create(daily_spec())
    created = api.call(
        "invalid-spec", body=daily_spec("x", trigger={"type": "daily", "hour": 25, "minute": 0})
    )
    patched = api.call("update-schedule", body={"trigger": {"type": "daily", "hour": 25, "minute": 0}})
    assert created.status == patched.status == 400
    assert created.error == patched.error
    assert api.call("update-schedule", body={"trigger": None}).error["message"] == "trigger is required"
    assert api.call("update-schedule", body=["not", "an", "object"]).error["field"] == "body"
    missing = api.call("update-schedule", path="/schedules/missing")
    assert missing.status == 404 and missing.body["schedule_id"] == "missing"


def test_patch_cannot_change_the_id_and_null_clears_the_timezone(api: Api) -> None:
    api.create(daily_spec())
    reply = api.call("update-schedule", body={"id": "renamed", "timezone": None}, headers={"if-match": None})
    assert reply.status == 200 and reply.body["id"] == "daily-news" and reply.body["timezone"] is None
    assert reply.body["state"]["next_fire_at"] == "2026-03-02T09:00:00Z"  # 09:00 UTC now


# --------------------------------------------------------------------------- pause / resume / delete


def test_pause_keeps_a_note_and_stops_the_schedule_resume_restarts_it_from_now(api: Api) -> None:
    api.create(daily_spec())
    paused = api.call("pause-schedule")
    assert paused.status == 200 and paused.headers["etag"] == '"2"'
    assert paused.body["enabled"] is False and paused.body["pause_note"] == "holiday until Monday"
    assert paused.body["state"]["next_fire_at"] is None
    api.clock.advance(days=3)  # 2026-03-04 09:00Z: the fires of the 2nd, 3rd and 4th are not caught up
    resumed = api.call("resume-schedule")
    assert resumed.status == 200 and resumed.body["enabled"] is True and resumed.body["pause_note"] is None
    assert resumed.body["state"]["next_fire_at"] == "2026-03-05T08:00:00Z"
    assert api.call("pause-schedule", body=None, headers={"if-match": '"1"'}).status == 409
    assert api.call("pause-schedule", path="/schedules/missing/pause").status == 404


def test_resuming_a_schedule_that_can_never_fire_again_is_a_400(api: Api) -> None:
    api.create(daily_spec(trigger={"type": "once", "at": "2026-03-01T10:00:00Z"}))
    assert api.call("pause-schedule").status == 200
    api.clock.advance(hours=2)
    reply = api.call("resume-schedule")
    assert reply.status == 400 and reply.error["field"] == "trigger.at"


def test_delete_removes_the_schedule_and_its_runs(api: Api) -> None:
    api.create(daily_spec())
    store, slot = api.stack.store, NOW
    store.create_run(
        Run(
            run_id=slot_run_id("daily-news", slot),
            schedule_id="daily-news",
            scheduled_for=slot,
            claimed_at=slot,
        ),
        NOW,
        redelivery_seconds=60,
    )
    assert api.call("delete-schedule").status == 409  # If-Match "2": the schedule is at 1
    reply = api.call("delete-schedule", headers={"if-match": '"1"'})
    assert reply.status == 204 and reply.body is None
    assert store.get_schedule("daily-news") is None and store.list_runs("daily-news")[0] == []
    assert api.call("delete-schedule", headers={"if-match": None}).status == 404


# --------------------------------------------------------------------------- fire times


def test_upcoming_lists_the_next_fires_from_the_stored_next_fire(api: Api) -> None:
    api.create(daily_spec())
    reply = api.call("upcoming", query={"count": "3"})
    assert reply.status == 200
    assert reply.body == {
        "schedule_id": "daily-news",
        "timezone": "Europe/Paris",
        "enabled": True,
        "fire_times": ["2026-03-02T08:00:00Z", "2026-03-03T08:00:00Z", "2026-03-04T08:00:00Z"],
        # issue 14's features, unused by this schedule
        "jitter_seconds": None,
        "jitter_windows": None,
        "excluded": None,
        "remaining_runs": None,
    }
    assert len(api.call("upcoming", query={}).body["fire_times"]) == 10
    for count in ("0", "101", "x"):
        bad = api.call("upcoming", query={"count": count})
        assert bad.status == 400 and bad.error["field"] == "count"


def test_a_paused_schedule_shows_the_fires_it_would_have_if_resumed_now(api: Api) -> None:
    api.create(daily_spec(enabled=False))
    api.clock.advance(days=2)
    reply = api.call("upcoming", query={"count": "1"})
    assert reply.body["enabled"] is False and reply.body["fire_times"] == ["2026-03-04T08:00:00Z"]


def test_preview_computes_fire_times_of_an_unsaved_spec(api: Api) -> None:
    reply = api.call("preview")  # */15 9-17 * * mon-fri in New York, count 3; NOW is a Sunday
    assert reply.status == 200
    assert reply.body["fire_times"] == [
        "2026-03-02T14:00:00Z",
        "2026-03-02T14:15:00Z",
        "2026-03-02T14:30:00Z",
    ]
    assert api.stack.store.list_schedules()[0] == []
    bad = api.call(
        "preview", body={"name": "x", "trigger": {"type": "weekly", "weekdays": [], "hour": 1, "minute": 0}}
    )
    assert bad.status == 400 and bad.error["message"] == "trigger.weekdays must not be empty"


# --------------------------------------------------------------------------- the rest


def test_the_openapi_document_is_served(api: Api) -> None:
    reply = api.call("openapi")
    assert reply.status == 200 and reply.body["info"]["title"] == "agentcron"
    assert "/schedules/{schedule_id}/runs/{run_id}/cancel" in reply.body["paths"]


def test_an_unknown_route_is_a_404_in_the_error_shape(api: Api) -> None:
    reply = api.call("get-schedule", path="/nothing/here")
    assert reply.status == 404 and reply.error == {
        "message": "Not found",
        "field": None,
        "type": "route_not_found",
    }
    assert api.call("get-schedule", method="PUT").status == 404
