"""What finished runs add to their schedule's counters (domain/tally.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agentcron.domain.tally import tally
from agentcron.models import Run, RunStatus, TokenUsage

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def ended(status: RunStatus, minute: int, *, started: bool = True, tokens: int = 0) -> Run:
    at = T0 + timedelta(minutes=minute)
    return Run(
        run_id=f"r{minute}",
        schedule_id="s",
        scheduled_for=at,
        claimed_at=at,
        started_at=at if started else None,
        completed_at=at + timedelta(seconds=30),
        status=status,
        usage=TokenUsage(input_tokens=tokens, output_tokens=2 * tokens),
    )


def test_one_success() -> None:
    change = tally([ended(RunStatus.success, 1, tokens=5)])
    assert change.adds == {
        "active_run_count": -1,
        "total_run_count": 1,
        "total_success_count": 1,
        "input_tokens": 5,
        "output_tokens": 10,
    }
    at = T0 + timedelta(minutes=1)
    assert change.sets == {
        "last_finished_at": at + timedelta(seconds=30),
        "last_started_at": at,
        "last_success_at": at + timedelta(seconds=30),
        "consecutive_failures": 0,
    }


@pytest.mark.parametrize("status", [RunStatus.failed, RunStatus.timed_out, RunStatus.cancelled])
def test_a_failure_adds_to_the_streak(status: RunStatus) -> None:
    change = tally([ended(status, 1, started=False)])
    assert change.adds == {"active_run_count": -1, "total_run_count": 1, "total_failure_count": 1,
                           "consecutive_failures": 1}  # fmt: skip
    assert "last_started_at" not in change.sets and "consecutive_failures" not in change.sets


def test_runs_count_in_the_order_they_ended() -> None:
    # failure, success, failure, failure (given out of order): the streak restarts at the success -> 2
    runs = [ended(RunStatus.failed, 4), ended(RunStatus.success, 2), ended(RunStatus.failed, 1),
            ended(RunStatus.timed_out, 3)]  # fmt: skip
    change = tally(runs)
    assert change.sets["consecutive_failures"] == 2 and "consecutive_failures" not in change.adds
    assert change.adds["total_run_count"] == 4 and change.adds["active_run_count"] == -4
    assert change.sets["last_finished_at"] == T0 + timedelta(minutes=4, seconds=30)
    assert change.sets["last_success_at"] == T0 + timedelta(minutes=2, seconds=30)


def test_skipped_and_missed_count_apart() -> None:
    change = tally([ended(RunStatus.skipped, 1), ended(RunStatus.missed, 2)])
    assert change.adds == {"active_run_count": -2, "total_skipped_count": 1, "total_missed_count": 1}


def test_a_late_count_leaves_instants_and_streak_alone() -> None:
    change = tally([ended(RunStatus.failed, 1)], latest=False)
    assert change.sets == {}
    assert change.adds == {"active_run_count": -1, "total_run_count": 1, "total_failure_count": 1}


def test_a_run_still_open_is_refused() -> None:
    run = ended(RunStatus.success, 1).model_copy(update={"status": RunStatus.running, "completed_at": None})
    with pytest.raises(ValueError, match="has not ended"):
        tally([run])
