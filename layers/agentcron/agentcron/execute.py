"""The execute use case: one queue message in; a run started, resumed or finished (or nothing at all).

Flow for a run: ``start_run`` (the conditional queued -> running transition; None means a duplicate or late
delivery, which is acknowledged and changes nothing) -> resolve the run config -> load the run's checkpointed
session, or build it (with the previous successful answer when ``include_last_result``), save it to S3 and
bind it -> run the agent unless ``auto_execute`` is off -> ``finish_run`` with the outcome.

Long runs: when the invocation's time runs short (``remaining_ms`` below ``Settings.continue_margin_seconds``
before a model or tool call) the session is checkpointed, the run stays ``running`` with its lease renewed,
and a :class:`ContinueMessage` for segment N+1 goes to the run queue (same message group as the run's other
messages, de-duplication id ``"{run_id}:{N+1}"``). Its invocation takes the run over with a conditional write
(:func:`agentcron.store.segments.begin_segment`), so a duplicate or stale continue message runs nothing, and
resumes from the checkpoint: one run, one session, one transcript. The same resume serves a retry after a
crash (the lease expired, ``start_run`` takes over): at most the round in progress is lost.

Failure contract (what the executor Lambda relies on):

- Anything that goes wrong *inside the agent run* (provider errors, limits, bugs in a tool or provider) ends
  the run ``failed`` with the reason on the run and a visible "Scheduled run failed: ..." message in the
  session. A run is never left open because the agent misbehaved.
- Anything that goes wrong *before the outcome is recorded* outside the agent (S3 or DynamoDB unavailable, an
  unknown schedule on run-now) raises: the message is not acknowledged, SQS redelivers it, and after the
  queue's receive count it lands in the dead-letter queue. A redelivery of a run that did finish is a no-op;
  an outcome saved in the session but not yet on the run is recorded by the retry, without a model call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from agentcron.agent.registry import provider_for as default_provider_for
from agentcron.agent.tools import ToolContext, build_tools
from agentcron.exceptions import ScheduleNotFound
from agentcron.models import (
    ContinueMessage,
    Run,
    RunMessage,
    RunNowMessage,
    RunTrigger,
    run_now_id,
)
from agentcron.agent.runtime import CONTINUED, IGNORED, RunLost, SessionRun
from agentcron.store import segments

if TYPE_CHECKING:
    from agentcron.agent.base import Provider, ToolRunner
    from agentcron.config import Settings
    from agentcron.models import QueueMessage, Schedule
    from agentcron.queue import RunQueue
    from agentcron.sessions import SessionStore
    from agentcron.store import Store

logger = logging.getLogger(__name__)

# Outcome statuses besides the terminal RunStatus values:
DUPLICATE = (
    "duplicate"  # the run is terminal, running elsewhere, or the message is stale: acknowledged, no change
)
# IGNORED: the run was finished or taken over elsewhere while this executor worked; its work was dropped.
# CONTINUED: the run goes on in a new invocation (a continue message was sent).
__all__ = ["CONTINUED", "DUPLICATE", "IGNORED", "Outcome", "handle"]

ToolFactory = Callable[[list[str] | None, ToolContext], "ToolRunner"]


@dataclass(frozen=True)
class Outcome:
    """What handling one message did: ``status`` is a terminal RunStatus value, or one of the names above."""

    run_id: str | None
    status: str
    reason: str | None = None
    schedule_id: str | None = None


def handle(
    message: QueueMessage,
    *,
    store: Store,
    sessions: SessionStore,
    settings: Settings,
    now: Callable[[], datetime],
    message_id: str,
    sent_at: datetime | None = None,
    provider_for: Callable[[str], tuple[Provider, str]] = default_provider_for,
    queue: RunQueue | None = None,
    remaining_ms: Callable[[], int] | None = None,
    tools: ToolFactory = build_tools,
) -> Outcome:
    """Execute the run ``message`` names (creating it first for run-now; resuming it for continue).

    ``message_id`` is the SQS message id and ``sent_at`` its SentTimestamp: both are the same on every
    redelivery, so a run-now message maps to one run id however often it arrives. ``provider_for`` resolves
    a model string and ``tools`` builds a run's tool box (tests inject scripted ones). ``queue`` serves the
    ``scheduler`` tool and continuations; ``remaining_ms`` is the invocation's time left (the Lambda
    context's ``get_remaining_time_in_millis``): without both, a run never hands off.
    """
    execution = SessionRun(
        store=store,
        sessions=sessions,
        settings=settings,
        now=now,
        provider_for=provider_for,
        queue=queue,
        remaining_ms=remaining_ms if queue is not None else None,
        tools=tools,
    )
    if isinstance(message, ContinueMessage):
        return _resume(execution, message)
    schedule: Schedule | None = None
    if isinstance(message, RunNowMessage):
        schedule, run_id = _create_run_now(
            message, store=store, settings=settings, now=now, message_id=message_id, sent_at=sent_at
        )
    elif isinstance(message, RunMessage):
        run_id = message.run_id
    else:  # pragma: no cover - parse_message only yields the types above
        raise TypeError(f"unsupported queue message: {type(message).__name__}")
    return _start(execution, message.schedule_id, run_id, schedule)


def _start(execution: SessionRun, schedule_id: str, run_id: str, schedule: Schedule | None) -> Outcome:
    """queued -> running (or take over a run whose lease lapsed), then execute from wherever it stands."""
    settings, store = execution.settings, execution.store
    run = store.start_run(schedule_id, run_id, execution.now(), lease_seconds=settings.lease_seconds)
    if run is None:
        return Outcome(
            run_id, DUPLICATE, "run is missing, terminal, or running under a live lease", schedule_id
        )
    segment = segments.current_segment(store, schedule_id, run_id)
    return _outcome(execution, run, schedule, segment, resuming=False)


def _resume(execution: SessionRun, message: ContinueMessage) -> Outcome:
    """Take the run over for ``message.segment``; a stale or duplicate continue falls back to ``_start``,
    which does nothing unless the owner's lease lapsed (then it is a retry like any other)."""
    run = segments.begin_segment(
        execution.store,
        message.schedule_id,
        message.run_id,
        message.segment,
        execution.now(),
        lease_seconds=execution.settings.lease_seconds,
    )
    if run is None:
        return _start(execution, message.schedule_id, message.run_id, None)
    return _outcome(execution, run, None, message.segment, resuming=True)


def _outcome(
    execution: SessionRun, run: Run, schedule: Schedule | None, segment: int, *, resuming: bool
) -> Outcome:
    try:
        status, reason = execution.execute(run, schedule, segment, resuming=resuming)
    except RunLost as exc:
        logger.warning("run %s/%s: %s", run.schedule_id, run.run_id, exc)
        return Outcome(run.run_id, IGNORED, str(exc), run.schedule_id)
    return Outcome(run.run_id, status, reason, run.schedule_id)


def _create_run_now(
    message: RunNowMessage,
    *,
    store: Store,
    settings: Settings,
    now: Callable[[], datetime],
    message_id: str,
    sent_at: datetime | None,
) -> tuple[Schedule, str]:
    """Record the run a run-now asks for (once per request id); enabled/overlap/misfire do not apply."""
    schedule = store.get_schedule(message.schedule_id)
    if schedule is None:
        raise ScheduleNotFound(message.schedule_id)
    claimed_at = now()
    requested_at = sent_at or claimed_at
    run = Run(
        run_id=run_now_id(schedule.id, requested_at, message.request_id or message_id),
        schedule_id=schedule.id,
        scheduled_for=requested_at,
        claimed_at=claimed_at,
        trigger=RunTrigger.run_now,
        task_message=message.task_message,
    )
    if not store.create_run(run, claimed_at, redelivery_seconds=settings.redelivery_seconds):
        logger.info("run-now %s already recorded; continuing with the existing run", run.run_id)
    return schedule, run.run_id
