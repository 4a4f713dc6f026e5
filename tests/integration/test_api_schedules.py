"""Schedule routes through the API Lambda handler, fed the API Gateway v2 sample events of events/.

GIVEN a moto stack from template.yaml and the clock at 2026-03-01 09:00Z, WHEN a sample event (possibly with
another path, body or header) reaches functions/api/app.py, THEN the answer and the stored state are checked.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

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
    ("create-schedule", daily_spec(start_at="9999-12-31T12:00:00Z"), "start_at"),  # no fire before 10000
    ("create-schedule", daily_spec(start_at="9999-12-31T20:00:00Z"), "start_at"),  # upcoming: out of range
    ("create-schedule", daily_spec(start_at="0001-01-01T00:00:00+01:00"), "start_at"),  # year 0 in UTC
    ("create-schedule", daily_spec(end_at="9999-12-31T23:59:59-01:00"), "end_at"),
    ("create-schedule", daily_spec(expires_at="8999-12-31T23:59:59-01:00"), "expires_at"),
    (
        "create-schedule",
        daily_spec(trigger={"type": "once", "at": "9999-12-31T20:00:00Z"}),
        "trigger.at",
    ),
    (
        "create-schedule",
        daily_spec(trigger={"type": "interval", "every_seconds": 10**30}),
        "trigger.every_seconds",
    ),
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
    ("preview", daily_spec(start_at="9999-12-31T12:00:00Z"), "start_at"),
    ("backfill", {"start_at": "0001-01-01T00:00:00Z", "end_at": "0001-01-02T00:00:00Z"}, "start_at"),
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


def test_a_reply_too_large_to_record_strands_no_key(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The record of a key goes with the write it guards: when the reply cannot be saved (DynamoDB's item
    limit), the in-progress record is removed, the write's answer is given, and a retry replays the write
    instead of a 409 "still in progress" forever."""
    persistence = api.module._handler.idempotency.persistence
    error = ClientError(
        {"Error": {"Code": "ValidationException", "Message": "Item size has exceeded the maximum allowed size"}},
        "UpdateItem",
    )
    spec = daily_spec()
    del spec["id"]  # the key derives the id
    with monkeypatch.context() as patched:
        patched.setattr(persistence, "save_success", lambda **kwargs: (_ for _ in ()).throw(error))
        first = api.call("create-schedule", body=spec)
    assert first.status == 201
    table = api.stack.settings.idempotency_table
    assert api.stack.dynamodb.scan(TableName=table)["Items"] == []  # nothing left "in progress"
    again = api.call("create-schedule", body=spec)
    assert again.status == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.body["id"] == first.body["id"] and len(api.stack.store.list_schedules()[0]) == 1


def test_a_large_schedule_is_recorded_by_id_and_replayed_whole(api: Api) -> None:
    """A 70,000-character non-ASCII name once made the saved reply larger than an item: names are capped
    now, and the record keeps the schedule id rather than the reply, whatever the reply's size."""
    big = "\u00e9\U0001f600" * 5_000  # 10,000 characters, 30 KB of UTF-8, 90 KB escaped
    spec = daily_spec(run_config={"task_message": big, "system_prompt": big, "model": "echo"})
    first = api.call("create-schedule", body=spec)
    assert first.status == 201, first.body
    table = api.stack.settings.idempotency_table
    items = api.stack.dynamodb.scan(TableName=table)["Items"]
    assert len(items) == 1 and len(json.dumps(items[0])) < 4096
    again = api.call("create-schedule", body=spec)
    assert again.status == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.body == first.body and again.headers["etag"] == first.headers["etag"]
    named = api.call("create-schedule", body=daily_spec("other", name="\u00e9" * 30_000))
    assert named.status == 400 and named.error["field"] == "name"


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
    for field in ("id", "created_at", "updated_at"):
        refused = api.call("update-schedule", body={field: "renamed"}, headers={"if-match": None})
        assert refused.status == 400 and refused.error["field"] == field, refused.body
    reply = api.call("update-schedule", body={"timezone": None}, headers={"if-match": None})
    assert reply.status == 200 and reply.body["id"] == "daily-news" and reply.body["timezone"] == "UTC"
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



def test_a_wrong_method_is_a_405_with_allow(api: Api) -> None:
    api.create(daily_spec())
    for method, path, allowed in [
        ("PUT", "/schedules/daily-news", "DELETE, GET, PATCH"),
        ("GET", "/schedules/preview", "POST"),  # the preview's path, not a schedule called "preview"
        ("TRACE", "/schedules", "GET, POST"),
        ("DELETE", "/schedules/daily-news/runs", "GET"),
    ]:
        reply = api.call("get-schedule", method=method, path=path)
        assert reply.status == 405, (method, path, reply.body)
        assert reply.headers["allow"] == allowed
        assert reply.error["type"] == "method_not_allowed" and reply.error["message"].startswith(method)


def test_a_page_of_large_schedules_shrinks_by_bytes(api: Api) -> None:
    """A list page stays far below Lambda's 6 MB answer: 25 schedules of ~96 KB each come in several pages."""
    prompt = "p" * 32_000
    config = {"model": "echo", "task_message": prompt, "system_prompt": prompt, "enhance_prompt": prompt}
    for i in range(25):
        api.create(daily_spec(f"big-{i:02}", run_config=config))
    seen: list[str] = []
    query: dict[str, str] = {"limit": "100"}
    pages = 0
    while True:
        reply = api.call("list-schedules", query=query)
        assert reply.status == 200 and len(reply.raw["body"]) < 3 * 1024 * 1024
        seen += [s["id"] for s in reply.body["schedules"]]
        pages += 1
        if not reply.body["next_cursor"]:
            break
        query = {"limit": "100", "cursor": reply.body["next_cursor"]}
    assert pages > 1 and sorted(seen) == [f"big-{i:02}" for i in range(25)]


def test_every_field_has_a_cap_named_in_the_400(api: Api) -> None:
    long = "x" * 40_000
    for body, field in [
        (daily_spec(name="n" * 201), "name"),
        (daily_spec(run_config={"task_message": long}), "run_config.task_message"),
        (daily_spec(run_config={"system_prompt": long}), "run_config.system_prompt"),
        (daily_spec(run_config={"model": "echo:" + "m" * 300}), "run_config.model"),
        (daily_spec(run_config={"tools": ["current_time"] * 40}), "run_config.tools"),
        (daily_spec(pause_note="n" * 1001), "pause_note"),
        (daily_spec(id="i" * 65), "id"),
    ]:
        reply = api.call("create-schedule", body=body, headers={"idempotency-key": None})
        assert reply.status == 400 and reply.error["field"] == field, (field, reply.body)


def test_an_edit_that_grows_a_schedule_past_its_cap_is_a_400_naming_the_field(api: Api) -> None:
    api.create(daily_spec())
    prompt = "\u4e2d" * 32_000  # 96 KB of UTF-8 each, 192 KB escaped in a body
    first = api.call("update-schedule", body={"run_config": {"system_prompt": prompt}}, headers={"if-match": None})
    assert first.status == 200, first.body
    grown = api.call("update-schedule", body={"run_config": {"task_message": prompt}}, headers={"if-match": None})
    assert grown.status == 400 and grown.error["field"].startswith("run_config."), grown.body
    for event in ("pause-schedule", "resume-schedule"):  # the stored schedule stays editable
        assert api.call(event, headers={"if-match": None}).status == 200


def test_model_providers_and_tools_are_checked_when_saved(api: Api) -> None:
    for config, field, known in [
        ({"model": "nowhere:model"}, "run_config.model", "bedrock, echo, openai"),
        ({"model": "bedrock"}, "run_config.model", "bedrock:<model-id>"),
        ({"tools": ["shell"]}, "run_config.tools", "current_time, http_fetch, scheduler"),
    ]:
        reply = api.call("create-schedule", body=daily_spec(run_config=config), headers={"idempotency-key": None})
        assert reply.status == 400 and reply.error["field"] == field and known in reply.error["message"]
    api.create(daily_spec())
    patched = api.call("update-schedule", body={"run_config": {"model": "nowhere:x"}}, headers={"if-match": None})
    assert patched.status == 400 and patched.error["field"] == "run_config.model"


STRICT_REFUSALS = [  # (body changes, field): what the OpenAPI document forbids, the API refuses
    ({"enabeld": False}, "enabeld"),
    ({"run_config": {"modle": "echo"}}, "run_config.modle"),
    ({"misfire_policy": "skip"}, "misfire_policy"),
    ({"misfire_policy": None}, "misfire_policy"),
    ({"run_config": None}, "run_config"),
    ({"dst_policy": None}, "dst_policy"),
    ({"retry_policy": None}, "retry_policy"),
    ({"enabled": "true"}, "enabled"),
    ({"trigger": {"type": "interval", "every_seconds": "3600"}}, "trigger.every_seconds"),
    ({"start_at": 0}, "start_at"),
    ({"trigger": {"type": "weekly", "weekdays": ["monkey"], "hour": 1, "minute": 0}}, "trigger.weekdays"),
]


@pytest.mark.parametrize(("changes", "field"), STRICT_REFUSALS)
def test_input_is_read_strictly(api: Api, changes: dict[str, Any], field: str) -> None:
    reply = api.call("create-schedule", body=daily_spec(**changes), headers={"idempotency-key": None})
    assert reply.status == 400 and reply.error["field"] == field, reply.body
    assert api.stack.store.list_schedules()[0] == []


def test_a_patch_is_read_strictly_too_and_null_resets_a_field(api: Api) -> None:
    api.create(daily_spec(misfire_policy={"type": "skip", "grace_seconds": 5}))
    for body, field in [({"enabeld": False}, "enabeld"), ({"enabled": "false"}, "enabled"), ({"state": {}}, "state")]:
        reply = api.call("update-schedule", body=body, headers={"if-match": None})
        assert reply.status == 400 and reply.error["field"] == field, reply.body
    reset = api.call("update-schedule", body={"misfire_policy": None}, headers={"if-match": None})
    assert reset.status == 200 and reset.body["misfire_policy"] == {"type": "run_once"}


@pytest.mark.parametrize("depth", [40, 330])
def test_deep_nesting_is_a_400(api: Api, depth: int) -> None:
    api.create(daily_spec())
    nested = "[" * depth + "]" * depth
    for event, body in [
        ("create-schedule", f'{{"name": "x", "trigger": {nested}}}'),
        ("preview", nested),
        ("update-schedule", f'{{"name": {nested}}}'),
        ("pause-schedule", f'{{"note": {nested}}}'),
    ]:
        reply = api.call(event, body=body, headers={"idempotency-key": None, "if-match": None})
        assert reply.status == 400 and reply.error["field"] == "body", (event, reply.body)


def test_a_deeply_nested_cursor_is_a_400(api: Api) -> None:
    import base64

    for depth in (20, 960):
        raw = ("[" * depth + "]" * depth).encode()
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        reply = api.call("list-schedules", query={"cursor": cursor})
        assert reply.status == 400 and reply.error["field"] == "cursor", reply.body
