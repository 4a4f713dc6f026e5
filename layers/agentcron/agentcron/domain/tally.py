"""What finished runs add to their schedule's counters: the one rule, shared by every writer of the counters.

A run queued by a claim, a run-now or a backfill is counted active in the same write that records it, and
its id joins the schedule's ``open_runs`` set. When it ends, its outcome is added to the counters and its id
leaves the set in one conditional write (``contains(open_runs, id)``), so it is counted exactly once
whoever writes it: the executor right after the run's own terminal write, or, when that process died in
between, the next claim of the schedule, which finds the finished run still in the set.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from agentcron.domain.runs import FAILURE_STATUSES, Run, RunStatus


@dataclass(frozen=True)
class Tally:
    """Counter changes: ``adds`` are increments, ``sets`` overwrite (instants, and a reset failure streak)."""

    adds: dict[str, int] = field(default_factory=dict)
    sets: dict[str, datetime | int] = field(default_factory=dict)


def tally(runs: Iterable[Run], *, latest: bool = True) -> Tally:
    """The counters' changes for finished ``runs`` that were active (queued or running) until they ended.

    Per run: ``active_run_count`` - 1, the tokens used, and by outcome: success -> ``total_run_count`` and
    ``total_success_count`` + 1, the failure streak back to 0, ``last_success_at``; failed, timed_out and
    cancelled -> ``total_run_count``, ``total_failure_count`` and the streak + 1, ``last_failure_at``;
    skipped / missed -> ``total_skipped_count`` / ``total_missed_count`` + 1. ``last_finished_at`` and
    ``last_started_at`` come from the run that ended last. Runs are taken in the order they ended.

    ``latest=False`` leaves out what only the most recent outcome may set (the instants and the streak): for
    runs counted late, after a run that ended after them was counted already.
    """
    adds: dict[str, int] = {}
    sets: dict[str, datetime | int] = {}
    streak: int | None = None  # the failure streak's new value once a success is seen; else failures add up

    def add(name: str, amount: int) -> None:
        if amount:
            adds[name] = adds.get(name, 0) + amount

    for run in sorted(runs, key=lambda run: (run.completed_at is None, run.completed_at)):
        add("active_run_count", -1)
        add("input_tokens", run.usage.input_tokens)
        add("output_tokens", run.usage.output_tokens)
        if not run.status.is_terminal:
            raise ValueError(f"run {run.run_id} has not ended ({run.status.value})")
        if run.completed_at is not None:
            sets["last_finished_at"] = run.completed_at
        if run.started_at is not None:
            sets["last_started_at"] = run.started_at
        if run.status == RunStatus.success:
            add("total_run_count", 1)
            add("total_success_count", 1)
            streak = 0
            if run.completed_at is not None:
                sets["last_success_at"] = run.completed_at
        elif run.status in FAILURE_STATUSES:
            add("total_run_count", 1)
            add("total_failure_count", 1)
            if streak is None:
                add("consecutive_failures", 1)
            else:
                streak += 1
            if run.completed_at is not None:
                sets["last_failure_at"] = run.completed_at
        elif run.status == RunStatus.skipped:
            add("total_skipped_count", 1)
        elif run.status == RunStatus.missed:
            add("total_missed_count", 1)
    if streak is not None:
        adds.pop("consecutive_failures", None)
        sets["consecutive_failures"] = streak
    if not latest:
        adds.pop("consecutive_failures", None)
        sets = {}
    return Tally(adds, sets)
