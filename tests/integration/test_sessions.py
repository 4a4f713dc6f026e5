"""Sessions: config resolution, the session a run starts from, and the S3 round trip."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from agentcron.config import Settings
from agentcron.models import Message, ReasoningEffort, Run, RunTrigger, Schedule, Session, TokenUsage
from agentcron.application.sessions import build_session, resolve_run_config
from agentcron.sessions import INLINE_BYTES, SessionStore

NOW = datetime(2026, 3, 1, 9, 0, 5, tzinfo=UTC)
SLOT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SETTINGS = Settings(default_model="echo", default_system_prompt="Default prompt.", default_workspace_path="")


def _schedule(**run_config) -> Schedule:
    return Schedule.model_validate(
        {
            "id": "daily-news",
            "name": "Daily news",
            "trigger": {"type": "daily", "hour": 9, "minute": 0},
            "run_config": run_config,
        }
    )


def _run(task_message: str | None = None) -> Run:
    return Run(
        run_id="daily-news-20260301T090000Z",
        schedule_id="daily-news",
        scheduled_for=SLOT,
        claimed_at=SLOT,
        task_message=task_message,
        trigger=RunTrigger.run_now if task_message else RunTrigger.schedule,
    )


# --------------------------------------------------------------------------- resolution


def test_defaults_fill_an_empty_run_config() -> None:
    resolved = resolve_run_config(_schedule(), _run(), SETTINGS)
    assert resolved.model == "echo"
    assert resolved.system_prompt == "Default prompt."
    assert resolved.workspace_path is None
    assert resolved.task_message is None
    assert resolved.reasoning_effort is None


def test_run_config_wins_over_defaults_and_run_override_wins_over_run_config() -> None:
    schedule = _schedule(
        model="echo:big",
        system_prompt="Custom.",
        enhance_prompt="Be terse.",
        workspace_path="/ws/news",
        task_message="scheduled task",
        reasoning_effort="high",
    )
    resolved = resolve_run_config(schedule, _run("override task"), SETTINGS)
    assert resolved.model == "echo:big"
    assert resolved.system_prompt == "Custom.\n\nBe terse."
    assert resolved.workspace_path == "/ws/news"
    assert resolved.task_message == "override task"
    assert resolved.reasoning_effort is ReasoningEffort.high
    assert resolve_run_config(schedule, _run(), SETTINGS).task_message == "scheduled task"


def test_blank_values_count_as_unset_and_an_empty_default_model_stays_empty() -> None:
    settings = Settings(default_model=" ", default_system_prompt="P", default_workspace_path="/default")
    resolved = resolve_run_config(
        _schedule(model="  ", system_prompt=" ", task_message="t"), _run("  "), settings
    )
    assert resolved.model == ""
    assert resolved.system_prompt == "P"
    assert resolved.workspace_path == "/default"
    assert resolved.task_message == "t"


# --------------------------------------------------------------------------- the session


SID = "5b0c3f9e-2f6e-4c1e-9a57-0e6d2f4a9b11"


def test_build_session_has_system_then_user_message_title_and_metadata() -> None:
    schedule = _schedule(workspace_path="/ws", task_message="read the news", reasoning_effort="low")
    run = _run()
    session = build_session(SID, schedule, run, resolve_run_config(schedule, run, SETTINGS), NOW)
    assert [m.role for m in session.messages] == ["system", "user"]
    assert session.messages[0].content == "Default prompt.\n\nWorkspace path: /ws"
    assert session.messages[1].content == "read the news"
    assert all(m.created_at == NOW for m in session.messages)
    assert session.title == "Daily news - 2026-03-01T09:00:00Z"
    assert session.model == "echo"
    assert session.metadata == {
        "project_id": "default",
        "created_by_schedule_id": "daily-news",
        "schedule_run_id": "daily-news-20260301T090000Z",
        "schedule_name": "Daily news",
        "scheduled_for": "2026-03-01T09:00:00Z",
        "model": "echo",
        "reasoning_effort": "low",
        "workspace_path": "/ws",
    }
    assert session.created_at == session.updated_at == NOW
    # the id is the one given (random, bound to the run before the session is saved)
    assert session.id == SID


def test_build_session_without_task_has_only_the_system_message_and_only_set_metadata() -> None:
    schedule, run = _schedule(), _run()
    session = build_session(SID, schedule, run, resolve_run_config(schedule, run, SETTINGS), NOW)
    assert [m.role for m in session.messages] == ["system"]
    assert set(session.metadata) == {
        "project_id",
        "created_by_schedule_id",
        "schedule_run_id",
        "schedule_name",
        "scheduled_for",
        "model",
    }


# --------------------------------------------------------------------------- storage


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="sessions")
        yield client


def test_session_round_trip(s3) -> None:
    store = SessionStore(s3, "sessions")
    session = Session(
        id="abc",
        title="t",
        model="echo",
        messages=[
            Message(role="user", content="hi", created_at=NOW),
            Message(role="assistant", content="echo: hi", created_at=NOW),
        ],
        metadata={"schedule_run_id": "r"},
        usage=TokenUsage(input_tokens=1, output_tokens=2),
        created_at=NOW,
        updated_at=NOW,
    )
    store.save(session)
    head = s3.head_object(Bucket="sessions", Key="sessions/abc.json")
    assert head["ContentType"] == "application/json"
    assert store.load("abc") == session
    # saving again replaces the transcript
    session.messages.append(Message(role="user", content="more", created_at=NOW))
    store.save(session)
    assert len(store.load("abc").messages) == 3


def test_load_of_a_missing_session_is_none(s3) -> None:
    assert SessionStore(s3, "sessions").load("nope") is None


def test_load_propagates_other_errors(s3) -> None:
    with pytest.raises(Exception, match="NoSuchBucket"):
        SessionStore(s3, "no-such-bucket").load("abc")


def test_a_previous_answer_becomes_context_before_the_task() -> None:
    from agentcron.models import RunStatus

    schedule = _schedule(task_message="today's digest", include_last_result=True)
    previous = _run().model_copy(update={"status": RunStatus.success, "final_answer": "yesterday: 3 items"})
    today = _run().model_copy(update={"run_id": "daily-news-20260302T090000Z"})
    resolved = resolve_run_config(schedule, today, SETTINGS)
    session = build_session(SID, schedule, today, resolved, NOW, previous=previous)
    assert [m.role for m in session.messages] == ["system", "system", "user"]
    assert session.messages[1].content.endswith("run daily-news-20260301T090000Z):\n\nyesterday: 3 items")
    assert session.metadata["previous_run_id"] == previous.run_id
    # a previous run without an answer adds nothing
    silent = previous.model_copy(update={"final_answer": None})
    assert [m.role for m in build_session(SID, schedule, today, resolved, NOW, previous=silent).messages] == [
        "system",
        "user",
    ]


# --------------------------------------------------------------------------- small in DynamoDB, large in S3


def _transcript(session_id: str, text: str) -> Session:
    return Session(
        id=session_id,
        title="t",
        model="echo",
        messages=[Message(role="user", content=text, created_at=NOW)],
        created_at=NOW,
        updated_at=NOW,
    )


def _objects(stack) -> list[str]:
    listed = stack.s3.list_objects_v2(Bucket=stack.settings.sessions_bucket).get("Contents") or []
    return [entry["Key"] for entry in listed]


def test_a_small_transcript_is_one_item_and_no_s3_object(stack) -> None:
    store = stack.sessions
    session = _transcript("small", "hello " * 50)
    store.save(session)
    assert _objects(stack) == []
    item = stack.dynamodb.get_item(TableName=stack.settings.runs_table, Key=SessionStore.item_key("small"))["Item"]
    assert len(item["body"]["B"]) <= INLINE_BYTES and "in_s3" not in item
    expected_purge = int(NOW.timestamp()) + stack.settings.run_history_days * 86400
    assert int(item["purge_at"]["N"]) == expected_purge  # expires with the run history (the table's TTL)
    assert store.load("small") == session
    assert store.size("small") == len(session.model_dump_json().encode())


def test_a_transcript_that_outgrows_the_item_moves_to_s3_and_the_item_points_to_it(stack) -> None:
    import secrets

    store = stack.sessions
    store.save(_transcript("grows", "short"))
    big = _transcript("grows", secrets.token_hex(20_000))  # 40 KB that does not compress below 8 KB
    store.save(big)
    assert _objects(stack) == ["sessions/grows.json"]
    item = stack.dynamodb.get_item(TableName=stack.settings.runs_table, Key=SessionStore.item_key("grows"))["Item"]
    assert item["in_s3"] == {"BOOL": True} and "body" not in item  # the small copy is replaced, not stale
    assert store.load("grows") == big and store.size("grows") == len(big.model_dump_json().encode())


def test_a_transcript_saved_before_items_existed_is_read_from_s3(stack) -> None:
    legacy = _transcript("legacy", "from S3")
    SessionStore(stack.s3, stack.settings.sessions_bucket).save(legacy)  # S3 only, no item
    assert stack.sessions.load("legacy") == legacy
    assert stack.sessions.size("legacy") == len(legacy.model_dump_json().encode())


def test_delete_many_removes_items_and_objects(stack) -> None:
    import secrets

    store = stack.sessions
    store.save(_transcript("a", "small"))
    store.save(_transcript("b", secrets.token_hex(20_000)))
    store.delete_many(["a", "b", "never-saved"])
    assert store.load("a") is None and store.load("b") is None and _objects(stack) == []
