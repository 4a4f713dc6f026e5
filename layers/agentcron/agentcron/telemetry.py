"""Metric names and what a finished run is worth in metrics; free of any metrics library.

The handlers emit these names with Powertools (EMF) in namespace :data:`NAMESPACE` under exactly one
dimension set, ``{"service": SERVICE}``, whichever function emits them: a timed-out run counts the same
whether the executor (a run limit) or the claim's reaper (an expired lease) finished it, so one alarm
and one dashboard line see every occurrence. The alarms in template.yaml name these same strings (a test
holds them together).

Runs by terminal status are one metric per status (``RunsSuccess``, ``RunsFailed``, ``RunsCancelled``,
``RunsTimedOut``, ``RunsSkipped``, ``RunsMissed``) rather than a ``Status`` dimension: an alarm on a single
status needs no metric math, and six fixed names cost the same as six dimension values.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from agentcron.models import RunStatus

if TYPE_CHECKING:
    from agentcron.models import Run

NAMESPACE = "agentcron"
SERVICE = "agentcron"  # the value of the single ``service`` dimension every handler emits
DIMENSIONS = {"service": SERVICE}

COUNT = "Count"
MILLISECONDS = "Milliseconds"

RUNS_CLAIMED = "RunsClaimed"  # queued runs a sweep recorded (and sent)
RUNS_SKIPPED = "RunsSkipped"
RUNS_MISSED = "RunsMissed"
FIRE_LAG_MS = "FireLagMs"  # slot time -> the run's first start (dispatch_lag_ms)
RUN_DURATION_MS = "RunDurationMs"  # first start -> terminal status (execution_duration_ms)
INPUT_TOKENS = "InputTokens"
OUTPUT_TOKENS = "OutputTokens"
EVENTS_FAILED = "RunFinishedEventsFailed"  # PutEvents of a Run Finished event that did not go through

Recorder = Callable[[str, str, float], None]
"""``record(name, unit, value)``: adds one metric value; the handlers bind it to Powertools."""


def status_metric(status: RunStatus | str) -> str:
    """``RunsTimedOut`` for ``timed_out``: the count metric of runs that ended in ``status``."""
    return "Runs" + "".join(part.title() for part in RunStatus(status).value.split("_"))


TERMINAL_STATUS_METRICS = {
    status: status_metric(status) for status in RunStatus if RunStatus(status).is_terminal
}
RUNS_TIMED_OUT = TERMINAL_STATUS_METRICS[RunStatus.timed_out]


def run_finished_metrics(run: Run) -> Iterator[tuple[str, str, float]]:
    """The metrics of one run that reached its terminal status: its status count, lag, duration, tokens.

    Lag and duration only when the run started (a run cancelled while queued has neither); tokens only
    when it used any, so idle schedules add no zero-valued data points.
    """
    yield status_metric(run.status), COUNT, 1
    if run.dispatch_lag_ms is not None:
        yield FIRE_LAG_MS, MILLISECONDS, run.dispatch_lag_ms
    if run.execution_duration_ms is not None:
        yield RUN_DURATION_MS, MILLISECONDS, run.execution_duration_ms
    if run.usage.input_tokens:
        yield INPUT_TOKENS, COUNT, run.usage.input_tokens
    if run.usage.output_tokens:
        yield OUTPUT_TOKENS, COUNT, run.usage.output_tokens


def record_run_finished(run: Run, record: Recorder) -> None:
    for name, unit, value in run_finished_metrics(run):
        record(name, unit, value)


def run_finished_hook(
    record: Recorder, publish: Callable[[Run], bool] | None = None
) -> Callable[[Run], None]:
    """The ``Services.on_run_finished`` listener of a handler: the run's metrics, then its event.

    ``publish`` (``RunFinishedPublisher.publish``) returns False for an event that did not go through,
    counted as ``RunFinishedEventsFailed``. Safe to call from the claim's shard threads (one lock).
    """
    lock = threading.Lock()

    def hook(run: Run) -> None:
        published = publish(run) if publish is not None else True
        with lock:
            record_run_finished(run, record)
            if not published:
                record(EVENTS_FAILED, COUNT, 1)

    return hook


# SweepReport field -> metric. Runs the reaper finishes (timed_out, cancelled) are counted by the
# run-finished listener like every other terminal run, not here.
SWEEP_METRICS = {
    "schedules_due": "SchedulesDue",
    "runs_queued": RUNS_CLAIMED,
    "runs_skipped": RUNS_SKIPPED,
    "runs_missed": RUNS_MISSED,
    "conflicts": "ClaimConflicts",
    "resent": "RunsResent",
    "retried": "RunsRetried",
    "errors": "SweepErrors",
}


def record_sweep(report: object, record: Recorder) -> None:
    """A claim invocation's totals (a ``SweepReport``) as metrics."""
    for field, name in SWEEP_METRICS.items():
        record(name, COUNT, getattr(report, field))
