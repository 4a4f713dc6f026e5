"""Reading the original system's store file (agentcron.domain.original, through domain.schedule.imported).

GIVEN store files shaped as the original writes them (tests/data/original: a current file with a legacy
entry, a workflow entry, a fired once; and a broken copy), WHEN read at a fixed instant, THEN each entry maps
as the README's "Coming from the original system" says.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from agentcron.domain.original import NO_NEXT_FIRE_NOTE, OPEN_RUN_REASON, read_store
from agentcron.domain.schedule import WORKFLOW_NOTE, imported
from agentcron.models import RunStatus, ScheduleSpec

DATA = Path(__file__).resolve().parents[1] / "data" / "original"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PROVIDERS = ("bedrock", "echo", "openai")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def load(name: str = "schedules.json") -> dict:
    return json.loads((DATA / name).read_text())


@pytest.fixture(scope="module")
def mapped() -> dict:
    found = read_store(load(), NOW, model_provider="openai", providers=PROVIDERS)
    assert found.problems == []
    return {entry.schedule.id: entry for entry in found.schedules}


def test_every_entry_keeps_its_id_name_policies_and_run_config(mapped: dict) -> None:
    assert sorted(mapped) == ["digest", "flow", "legacy-ping", "poller", "reminder", "weekly-report"]
    digest = mapped["digest"].schedule
    assert digest.name == "Morning digest" and digest.enabled and digest.timezone == "Europe/Paris"
    assert digest.misfire_policy.type == "skip" and digest.overlap_policy == "queue_one"
    assert digest.project_id == "newsroom"  # run_config.project_id moves to the top
    config = digest.run_config
    assert config.model == "openai:gpt-4o-mini"  # a bare name: the deployment's default provider
    assert config.reasoning_effort == "low" and config.workspace_path == "/srv/digest"
    assert config.enhance_prompt == "Use bullet points." and config.auto_execute is True
    assert config.system_prompt == "You write short digests." and config.task_message.startswith("Digest")
    assert digest.created_at == utc(2025, 11, 2, 10, 15, 0).replace(microsecond=412000)
    report = mapped["weekly-report"].schedule
    assert report.enabled is False  # absent: the original's default
    assert report.misfire_policy.max_catch_up_runs == 2 and report.run_config.model.startswith("bedrock:")


def test_state_counters_and_instants_come_along_but_open_counts_start_at_zero(mapped: dict) -> None:
    state = mapped["digest"].schedule.state
    assert (state.total_run_count, state.total_success_count, state.total_failure_count) == (12, 11, 1)
    assert state.consecutive_failures == 1 and state.total_missed_count == 2
    assert state.last_success_at == utc(2026, 2, 18, 8, 1, 2) and state.last_started_at == utc(2026, 2, 19, 8, 0, 3)
    assert state.active_run_count == 0


def test_next_fire_is_recomputed_from_now(mapped: dict) -> None:
    assert mapped["digest"].schedule.state.next_fire_at == utc(2026, 3, 2, 8, 0)  # 09:00 Paris after NOW
    assert mapped["weekly-report"].schedule.state.next_fire_at is None  # disabled


def test_an_interval_keeps_the_grid_the_original_derived(mapped: dict) -> None:
    poller = mapped["poller"].schedule
    assert poller.trigger.anchor_at == utc(2026, 2, 19, 10, 7, 31)  # state.last_scheduled_at
    assert poller.state.next_fire_at == utc(2026, 3, 1, 9, 7, 31)
    assert poller.end_at == utc(2027, 1, 1, 0, 0, 0)  # inclusive there, exclusive here: one second on


def test_a_legacy_entry_becomes_an_interval_anchored_at_its_last_run(mapped: dict) -> None:
    legacy = mapped["legacy-ping"]
    trigger = legacy.schedule.trigger
    assert (trigger.type, trigger.every_seconds, trigger.anchor_at) == ("interval", 3600, utc(2026, 2, 19, 11, 30))
    assert legacy.schedule.state.last_scheduled_at == utc(2026, 2, 19, 11, 30)
    assert legacy.schedule.state.next_fire_at == utc(2026, 3, 1, 9, 30)
    assert legacy.schedule.state.active_run_count == 0
    [run] = legacy.runs
    assert run.status == RunStatus.missed and run.outcome_reason == OPEN_RUN_REASON.format(status="queued")


@pytest.mark.parametrize(
    ("entry", "anchor"),
    [
        ({"next_run_at": "2026-01-01T00:10:00Z"}, utc(2026, 1, 1, 0, 0)),  # next fire minus one interval
        ({"state": {"next_fire_at": "2026-01-01T00:10:00Z"}}, utc(2026, 1, 1, 0, 0)),
        ({"last_run_at": "2026-01-01T00:03:00Z", "next_run_at": "2026-01-01T00:10:00Z"}, utc(2026, 1, 1, 0, 3)),
        ({}, utc(2025, 12, 31, 23, 0, 5)),  # created_at
    ],
)
def test_the_anchor_is_derived_in_the_original_order(entry: dict, anchor: datetime) -> None:
    base = {"name": "x", "interval_seconds": 600, "created_at": "2025-12-31T23:00:05.9Z"}
    trigger = ScheduleSpec.model_validate(imported({**base, **entry})).trigger  # whole seconds, as slots
    assert (trigger.type, trigger.every_seconds, trigger.anchor_at) == ("interval", 600, anchor)


def test_an_interval_of_zero_seconds_is_read_as_one() -> None:
    data = imported({"name": "x", "trigger": {"type": "interval", "every_seconds": 0}, "created_at": "2026-01-01T00:00:00Z"})
    assert data["trigger"]["every_seconds"] == 1


def test_a_workflow_schedule_comes_disabled_with_a_note(mapped: dict) -> None:
    flow = mapped["flow"]
    assert flow.workflow and not flow.schedule.enabled and flow.schedule.pause_note == WORKFLOW_NOTE
    assert flow.schedule.state.next_fire_at is None
    assert not mapped["digest"].workflow


def test_a_fired_once_stays_fired(mapped: dict) -> None:
    reminder = mapped["reminder"].schedule
    assert reminder.enabled is False and reminder.state.next_fire_at is None
    assert reminder.state.total_success_count == 1


def test_a_once_not_fired_yet_keeps_its_slot_even_overdue() -> None:
    entry = {
        "id": "later",
        "name": "later",
        "enabled": True,
        "trigger": {"type": "once", "at": "2026-02-28T09:00:00Z"},
        "created_at": "2026-01-01T00:00:00Z",
        "state": {"next_fire_at": "2026-02-28T09:00:00Z"},
    }
    [found] = read_store({"schedules": {"later": entry}}, NOW).schedules
    assert found.schedule.enabled and found.schedule.state.next_fire_at == utc(2026, 2, 28, 9)


def test_a_closed_window_comes_disabled_with_a_note() -> None:
    entry = {
        "id": "over",
        "name": "over",
        "enabled": True,
        "trigger": {"type": "daily", "hour": 1, "minute": 0},
        "end_at": "2026-02-01T00:00:00Z",
        "created_at": "2026-01-01T00:00:00Z",
    }
    [found] = read_store({"schedules": {"over": entry}}, NOW).schedules
    assert not found.schedule.enabled and found.schedule.pause_note == NO_NEXT_FIRE_NOTE


def test_run_records_keep_their_history_under_ids_sorted_by_slot(mapped: dict) -> None:
    runs = mapped["digest"].runs
    assert [r.run_id for r in runs] == [
        "digest-20260218T080000Z-orig-8d0c2a52-1f7e-4e8e-9a0e-5f0b8a1e2c01",
        "digest-20260219T080000Z-orig-8d0c2a52-1f7e-4e8e-9a0e-5f0b8a1e2c02",
        "digest-20260220T080000Z-orig-8d0c2a52-1f7e-4e8e-9a0e-5f0b8a1e2c03",
    ]
    ok, failed, running = runs
    assert ok.status == RunStatus.success and ok.session_id == "5b7e1c9a-0d3f-4e21-8c6a-1f2e3d4c5b6a"
    assert ok.dispatch_lag_ms == 5012 and ok.execution_duration_ms == 57000 and ok.project_id == "newsroom"
    assert failed.status == RunStatus.failed and failed.outcome_reason == "provider error: rate limited"
    assert running.status == RunStatus.missed and running.completed_at == NOW  # nothing runs it here
    assert [r.status for r in mapped["poller"].runs] == [RunStatus.skipped]


def test_a_broken_file_names_each_bad_entry_and_field() -> None:
    found = read_store(load("broken.json"), NOW, model_provider="openai", providers=PROVIDERS)
    fields = sorted(p.field for p in found.problems)
    assert fields == [
        "run_records.c1d2e3f4-0000-4000-8000-000000000001.status",
        "schedules.digest.trigger.hour",
        "schedules.weekly-report.run_config.reasoning_effort",
    ]
    assert all(p.message.startswith(p.entry) for p in found.problems)
    assert {e.schedule.id for e in found.schedules} == {"flow", "legacy-ping", "reminder"}


def test_an_entry_id_must_match_its_key_and_an_entry_must_be_an_object() -> None:
    found = read_store({"schedules": {"a": {"id": "b", "name": "x", "created_at": "2026-01-01T00:00:00Z"}, "c": 3}}, NOW)
    assert sorted(p.field for p in found.problems) == ["schedules.a.id", "schedules.c"]


def test_without_a_provider_setting_a_bare_model_is_left_as_it_is() -> None:
    assert imported({"name": "x", "run_config": {"model": "gpt-4o"}})["run_config"]["model"] == "gpt-4o"
    data = imported({"name": "x", "run_config": {"model": "echo"}}, model_provider="openai", providers=PROVIDERS)
    assert data["run_config"]["model"] == "echo"


def test_the_cli_splits_a_large_file_by_schedule_keeping_each_schedules_runs_with_it() -> None:
    from agentcron.cli.importer import parts

    data = load()
    pieces = parts(data, limit=3000)
    assert len(pieces) > 1 and all(piece["version"] == 4 for piece in pieces)
    assert sorted(k for piece in pieces for k in piece["schedules"]) == sorted(data["schedules"])
    for piece in pieces:
        assert all(r["schedule_id"] in piece["schedules"] for r in piece["run_records"].values())
    assert sum(len(piece["run_records"]) for piece in pieces) == len(data["run_records"])
    assert parts(data) == [data]


def test_the_originals_shape_reads_back_what_the_file_said(mapped: dict) -> None:
    from agentcron.domain.original import original_run, original_schedule

    entry = load()["schedules"]["poller"]
    back = original_schedule(mapped["poller"].schedule, model_provider="openai")
    for key in ("id", "name", "enabled", "start_at", "end_at", "misfire_policy", "overlap_policy", "created_at"):
        assert back[key] == entry[key], key
    assert back["run_config"] == {"project_id": "default", **entry["run_config"]}
    digest = original_schedule(mapped["digest"].schedule, model_provider="openai")
    assert digest["run_config"]["model"] == "gpt-4o-mini" and digest["misfire_policy"] == {"type": "skip"}
    assert set(digest["state"]) <= set(load()["schedules"]["digest"]["state"])
    record = load()["run_records"]["8d0c2a52-1f7e-4e8e-9a0e-5f0b8a1e2c02"]
    run = original_run(mapped["digest"].runs[1])
    assert {k: v for k, v in run.items() if k != "run_id"} == {k: v for k, v in record.items() if k != "run_id"}
