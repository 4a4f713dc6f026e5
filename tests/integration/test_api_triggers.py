"""Issue 14's features through the API handler: several triggers, exclusions, jitter, max_runs, notify,
and a stored cron the dialect now refuses (lenient load). Clock at 2026-03-01 09:00Z (a Sunday)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from agentcron.domain.timing import jitter_offset
from test_api_support import Api, build_api, daily_spec


@pytest.fixture
def api(stack: Any, load_handler: Any, monkeypatch: pytest.MonkeyPatch) -> Api:
    return build_api(stack, load_handler, monkeypatch)


def test_several_triggers_round_trip_and_upcoming_gives_one_fire_per_instant(api: Api) -> None:
    spec = daily_spec(
        timezone="UTC",
        triggers=[
            {"type": "cron", "expr": "0 9 * * mon-fri"},
            {"type": "cron", "expr": "0 11 * * sat,sun"},
            {"type": "daily", "hour": 9, "minute": 0},
        ],
    )
    del spec["trigger"]
    created = api.create(spec).body
    assert created["trigger"] == {"type": "cron", "expr": "0 9 * * mon-fri"} and len(created["triggers"]) == 3
    reply = api.call("upcoming", query={"count": "4"})
    # created at 09:00 on a Sunday: the weekend trigger's 11:00, then the weekday and daily 09:00s, one each
    assert reply.body["fire_times"] == [
        "2026-03-01T11:00:00Z",
        "2026-03-02T09:00:00Z",
        "2026-03-03T09:00:00Z",
        "2026-03-04T09:00:00Z",
    ]
    patched = api.call("update-schedule", body={"trigger": {"type": "daily", "hour": 7, "minute": 0}})
    assert patched.status == 200 and patched.body["triggers"] is None
    assert patched.body["trigger"] == {"type": "daily", "hour": 7, "minute": 0, "second": 0}


def test_preview_and_upcoming_leave_excluded_slots_out_and_say_so(api: Api) -> None:
    spec = daily_spec(
        timezone="UTC", exclude=[{"date": "2026-03-03", "name": "strike"}, {"cron": "* * * * sat"}]
    )
    preview = api.call("preview", body=spec, query={"count": "3"})
    assert preview.status == 200, preview.body
    assert preview.body["fire_times"] == [
        "2026-03-02T09:00:00Z",
        "2026-03-04T09:00:00Z",
        "2026-03-05T09:00:00Z",
    ]
    assert preview.body["excluded"] == [
        {
            "at": "2026-03-03T09:00:00Z",
            "reason": "exclude[0] 2026-03-03 (strike): every slot until 2026-03-04T00:00:00Z",
        }
    ]
    api.create(spec)
    upcoming = api.call("upcoming", query={"count": "6"}).body
    assert "2026-03-07T09:00:00Z" not in upcoming["fire_times"]
    assert [e["at"] for e in upcoming["excluded"]] == ["2026-03-03T09:00:00Z", "2026-03-07T09:00:00Z"]
    plain = api.call("preview", body=daily_spec(), query={"count": "1"}).body
    unused = ("jitter_seconds", "jitter_windows", "excluded", "remaining_runs")
    assert [plain[key] for key in unused] == [None] * 4  # unused features say nothing


def test_upcoming_shows_each_jitter_window_and_the_exact_fire(api: Api) -> None:
    api.create(daily_spec(timezone="UTC", jitter_seconds=900))
    body = api.call("upcoming", query={"count": "2"}).body
    assert body["jitter_seconds"] == 900
    first = body["jitter_windows"][0]
    assert (first["start"], first["end"]) == ("2026-03-02T09:00:00Z", "2026-03-02T09:15:00Z")
    from datetime import UTC, datetime, timedelta

    slot = datetime(2026, 3, 2, 9, tzinfo=UTC)
    fire = slot + timedelta(seconds=jitter_offset("daily-news", slot, 900))
    assert first["fire_at"] == fire.isoformat().replace("+00:00", "Z")
    unsaved = daily_spec(timezone="UTC", jitter_seconds=900)
    del unsaved["id"]  # no id yet: the delay is not known, only the window
    preview = api.call("preview", body=unsaved, query={"count": "1"}).body
    assert preview["jitter_windows"] == [
        {"start": "2026-03-02T09:00:00Z", "end": "2026-03-02T09:15:00Z", "fire_at": None}
    ]


def test_max_runs_bounds_upcoming(api: Api) -> None:
    api.create(daily_spec(max_runs=2))
    body = api.call("upcoming", query={"count": "5"}).body
    assert body["remaining_runs"] == 2 and len(body["fire_times"]) == 2
    bad = api.call("create-schedule", body=daily_spec("other", max_runs=0), headers={"idempotency-key": None})
    assert bad.status == 400 and bad.error["field"] == "max_runs"


def test_notify_targets_must_be_granted_by_the_deployment(api: Api) -> None:
    hook = {
        "type": "webhook",
        "url": "https://hooks.example.com/a",
        "secret_parameter": "/agentcron/webhooks/a",
    }
    reply = api.call(
        "create-schedule", body=daily_spec(notify={"targets": [hook]}), headers={"idempotency-key": None}
    )
    assert reply.status == 400, reply.body
    assert reply.error["field"] == "notify.targets[0].secret_parameter"
    bad_url = api.call(
        "create-schedule",
        body=daily_spec(notify={"targets": [{**hook, "url": "https://127.0.0.1/"}]}),
        headers={"idempotency-key": None},
    )
    assert bad_url.status == 400 and "public host" in bad_url.error["message"]


def test_a_stored_cron_the_dialect_now_refuses_still_reads_lists_and_deletes(api: Api) -> None:
    api.create(daily_spec(trigger={"type": "cron", "expr": "0 9 * * *"}))
    table = api.stack.settings.schedules_table
    item = api.stack.dynamodb.get_item(TableName=table, Key={"schedule_id": {"S": "daily-news"}})["Item"]
    spec = json.loads(item["spec"]["S"])
    spec["trigger"]["expr"] = "*/90 * * * *"  # accepted by the croniter-based engine of old
    api.stack.dynamodb.update_item(
        TableName=table,
        Key={"schedule_id": {"S": "daily-news"}},
        UpdateExpression="SET spec = :s",
        ExpressionAttributeValues={":s": {"S": json.dumps(spec)}},
    )
    got = api.call("get-schedule")
    assert got.status == 200 and got.body["trigger"]["expr"] == "*/90 * * * *"
    assert api.call("list-schedules").status == 200
    edit = api.call("update-schedule", body={"name": "renamed"})
    assert edit.status == 400 and edit.error["field"] == "trigger.expr"  # strict on edit: fix it to go on
    fixed = api.call("update-schedule", body={"trigger": {"type": "cron", "expr": "0 */2 * * *"}})
    assert fixed.status == 200
    assert api.call("delete-schedule").status == 204


def test_a_step_on_l_or_lw_through_the_api(api: Api) -> None:
    """``L/2`` is the last day and ``LW/2`` the last weekday (cronsim's meaning, docs/cron.md); a step on
    ``L-n`` still has no meaning and is a 400 naming the field."""
    api.create(daily_spec(timezone="UTC", trigger={"type": "cron", "expr": "0 9 L/2 * *"}))
    assert api.call("upcoming", query={"count": "3"}).body["fire_times"] == [
        "2026-03-31T09:00:00Z",
        "2026-04-30T09:00:00Z",
        "2026-05-31T09:00:00Z",
    ]
    patched = api.call("update-schedule", body={"trigger": {"type": "cron", "expr": "0 9 lw/3 * *"}})
    assert patched.status == 200 and patched.body["trigger"]["expr"] == "0 9 lw/3 * *"
    # 31 May 2026 is a Sunday: the last weekday is Friday the 29th
    assert api.call("upcoming", query={"count": "3"}).body["fire_times"] == [
        "2026-03-31T09:00:00Z",
        "2026-04-30T09:00:00Z",
        "2026-05-29T09:00:00Z",
    ]
    bad = api.call(
        "create-schedule",
        body=daily_spec("other", trigger={"type": "cron", "expr": "0 9 L-2/2 * *"}),
        headers={"idempotency-key": None},
    )
    assert bad.status == 400 and bad.error["field"] == "trigger.expr"
    assert "a step cannot apply to 'L-2'" in bad.error["message"]
