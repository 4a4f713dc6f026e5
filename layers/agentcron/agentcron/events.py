"""The ``Run Finished`` EventBridge event, so users can chain work on a run's outcome or get notified.

Contract: one event per run that reached a terminal status through ``Store.finish_run`` (success, failed,
cancelled, timed_out - including the reaper's timed_out and a cancel of a queued run), published AFTER the
transition is durably recorded and only by the call that made it (a duplicate finishing attempt records
nothing and publishes nothing). Skipped and missed records written by a claim are not run completions and
publish nothing; the ``RunsSkipped`` / ``RunsMissed`` metrics count them. Delivery is at most once: a
PutEvents failure is logged and counted, never fails or retries the run.

Event: source ``agentcron``, detail-type ``Run Finished``, detail ``{project_id, schedule_id, run_id, status,
session_id, usage: {input_tokens, output_tokens}, scheduled_for, completed_at, outcome_reason, trigger,
attempt}`` (times ISO-8601 UTC).
"""

from __future__ import annotations

import json
import logging
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


class RunFinishedPublisher:
    """Puts ``Run Finished`` events on one bus; ``client`` is a boto3 EventBridge (``events``) client.

    ``on_failure`` is called (with the run) for every event that did not go through, so the handler can
    count it; the publisher itself never raises.
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

    def publish(self, run: Run) -> bool:
        """True when EventBridge accepted the event; False (logged, counted) otherwise."""
        try:
            response = self.client.put_events(Entries=[run_finished_entry(run, self.bus_name)])
            failed = int(response.get("FailedEntryCount") or 0)
            if failed:
                entry = (response.get("Entries") or [{}])[0]
                raise RuntimeError(f"{entry.get('ErrorCode')}: {entry.get('ErrorMessage')}")
        except Exception as exc:  # noqa: BLE001 - a lost notification never fails the run
            log.warning("Run Finished event not published for %s/%s: %s", run.schedule_id, run.run_id, exc)
            if self.on_failure is not None:
                self.on_failure(run)
            return False
        return True

    __call__ = publish
