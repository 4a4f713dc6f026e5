"""The ``Run Finished`` EventBridge event, so users can chain work on a run's outcome or get notified.

Contract: one event per run that reached a terminal status through ``Store.finish_run`` (success, failed,
cancelled, timed_out - including the reaper's timed_out and a cancel of a queued run), published AFTER the
transition is durably recorded and only by the call that made it (a duplicate finishing attempt records
nothing and publishes nothing). The handlers collect their invocation's events and put them ten per
``PutEvents`` request when the invocation ends (:class:`RunFinishedPublisher`). Skipped and missed records written by a claim are not run completions and
publish nothing; the ``RunsSkipped`` / ``RunsMissed`` metrics count them. Delivery is at most once: a
PutEvents failure is logged and counted, never fails or retries the run.

Event: source ``agentcron``, detail-type ``Run Finished``, detail ``{project_id, schedule_id, run_id, status,
session_id, usage: {input_tokens, output_tokens}, scheduled_for, completed_at, outcome_reason, trigger,
attempt}`` (times ISO-8601 UTC).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

    from agentcron.models import Run

log = logging.getLogger(__name__)

SOURCE = "agentcron"
DETAIL_TYPE = "Run Finished"
DEFAULT_BUS = "default"


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def run_finished_detail(run: Run) -> dict[str, Any]:
    return {
        "project_id": run.project_id,
        "schedule_id": run.schedule_id,
        "run_id": run.run_id,
        "status": run.status.value,
        "session_id": run.session_id,
        "usage": {"input_tokens": run.usage.input_tokens, "output_tokens": run.usage.output_tokens},
        "scheduled_for": _iso(run.scheduled_for),
        "completed_at": _iso(run.completed_at),
        "outcome_reason": run.outcome_reason,
        "trigger": run.trigger.value,
        "attempt": run.attempt,
    }


def run_finished_entry(run: Run, bus_name: str = DEFAULT_BUS) -> dict[str, Any]:
    """The PutEvents entry of a finished run, timed at its ``completed_at``."""
    entry: dict[str, Any] = {
        "Source": SOURCE,
        "DetailType": DETAIL_TYPE,
        "Detail": json.dumps(run_finished_detail(run)),
        "EventBusName": bus_name,
    }
    if run.completed_at is not None:
        entry["Time"] = run.completed_at
    return entry


PUT_EVENTS_LIMIT = 10  # entries per PutEvents request


class RunFinishedPublisher:
    """Collects Run Finished events and puts them on one bus, ten per request, at :meth:`flush` (the end of
    a handler's invocation): one request per ten runs instead of one per run. ``client`` is a boto3
    EventBridge (``events``) client. Thread-safe (the claim's shard threads). Never raises: an entry that
    did not go through is logged and passed to ``on_failure`` (the handler counts it).
    """

    def __init__(
        self,
        client: Any,
        bus_name: str = DEFAULT_BUS,
        *,
        on_failure: Callable[[Run], None] | None = None,
    ) -> None:
        self.client = client
        self.bus_name = bus_name or DEFAULT_BUS
        self.on_failure = on_failure
        self._pending: list[Run] = []
        self._lock = threading.Lock()

    def publish(self, run: Run) -> bool:
        with self._lock:
            self._pending.append(run)
        return True

    __call__ = publish

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for start in range(0, len(pending), PUT_EVENTS_LIMIT):
            batch = pending[start : start + PUT_EVENTS_LIMIT]
            try:
                response = self.client.put_events(
                    Entries=[run_finished_entry(run, self.bus_name) for run in batch]
                )
                results = response.get("Entries") or [{}] * len(batch)
                failed = [(run, r) for run, r in zip(batch, results, strict=False) if r.get("ErrorCode")]
            except Exception as exc:  # noqa: BLE001 - a lost notification never fails a run
                failed = [(run, {"ErrorCode": type(exc).__name__, "ErrorMessage": str(exc)}) for run in batch]
            for run, result in failed:
                log.warning(
                    "Run Finished event not published for %s/%s: %s: %s",
                    run.schedule_id, run.run_id, result.get("ErrorCode"), result.get("ErrorMessage"),
                )
                if self.on_failure is not None:
                    self.on_failure(run)
