"""The execute use case: one queue message in, one run started, run and recorded terminal (or nothing at all).

Flow for a run: ``start_run`` (the conditional queued -> running transition; None means a duplicate or late
delivery, which is acknowledged and changes nothing) -> resolve the run config -> build the session, save it
to S3, bind it to the run -> run the agent unless ``auto_execute`` is off -> ``finish_run`` with the outcome.

Failure contract (what the executor Lambda relies on):

- Anything that goes wrong *inside the agent run* (provider errors, limits, bugs in a tool or provider) ends
  the run ``failed`` with the reason on the run and a visible "Scheduled run failed: ..." message in the
  session. A run is never left open because the agent misbehaved.
- Anything that goes wrong *before the outcome is recorded* outside the agent (S3 or DynamoDB unavailable, an
  unknown schedule on run-now) raises: the message is not acknowledged, SQS redelivers it, and after the
  queue's receive count it lands in the dead-letter queue. A redelivery of a run that did finish is a no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from agentcron.agent.loop import AgentResult, run_agent
from agentcron.agent.registry import provider_for as default_provider_for
from agentcron.exceptions import ScheduleNotFound
from agentcron.models import (
    ContinueMessage,
    Message,
    Run,
    RunMessage,
    RunNowMessage,
    RunStatus,
    RunTrigger,
    TokenUsage,
    run_now_id,
)
from agentcron.sessions import build_session, resolve_run_config

if TYPE_CHECKING:
    from agentcron.agent.base import Provider
    from agentcron.config import Settings
    from agentcron.models import QueueMessage, ReasoningEffort, Schedule, Session
    from agentcron.sessions import SessionStore
    from agentcron.store import Store

logger = logging.getLogger(__name__)

DUPLICATE = (
    "duplicate"  # the run is terminal or running elsewhere: the message was acknowledged, nothing changed
)
IGNORED = "ignored"  # the run was finished elsewhere while this executor worked: its outcome was dropped

_AGENT_STATUS = {"success": RunStatus.success, "failed": RunStatus.failed, "cancelled": RunStatus.cancelled}


@dataclass(frozen=True)
class Outcome:
    """What handling one message did: ``status`` is a terminal RunStatus value, ``duplicate``, ``ignored``."""

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
) -> Outcome:
    """Execute the run ``message`` names (creating it first for run-now).

    ``message_id`` is the SQS message id and ``sent_at`` its SentTimestamp: both are the same on every
    redelivery, so a run-now message maps to one run id however often it arrives. ``provider_for`` resolves
    a model string (tests inject scripted providers).
    """
    schedule: Schedule | None = None
    if isinstance(message, RunNowMessage):
        schedule, run_id = _create_run_now(
            message, store=store, settings=settings, now=now, message_id=message_id, sent_at=sent_at
        )
    elif isinstance(message, (RunMessage, ContinueMessage)):
        # A continuation is run like a fresh delivery until checkpoints can be resumed.
        run_id = message.run_id
    else:  # pragma: no cover - parse_message only yields the types above
        raise TypeError(f"unsupported queue message: {type(message).__name__}")
    return _Execution(store, sessions, settings, now, provider_for).run(message.schedule_id, run_id, schedule)


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


class _Execution:
    """One message's work against one run; holds the collaborators so each step stays a short method."""

    def __init__(
        self,
        store: Store,
        sessions: SessionStore,
        settings: Settings,
        now: Callable[[], datetime],
        provider_for: Callable[[str], tuple[Provider, str]],
    ) -> None:
        self.store, self.sessions, self.settings = store, sessions, settings
        self.now, self.provider_for = now, provider_for

    def run(self, schedule_id: str, run_id: str, schedule: Schedule | None) -> Outcome:
        run = self.store.start_run(schedule_id, run_id, self.now(), lease_seconds=self.settings.lease_seconds)
        if run is None:
            return Outcome(
                run_id, DUPLICATE, "run is missing, terminal, or running under a live lease", schedule_id
            )
        schedule = schedule or self.store.get_schedule(schedule_id)
        if schedule is None:
            return self._finish(run, RunStatus.skipped, "schedule no longer exists")
        if run.attempt > schedule.retry_policy.max_attempts:
            reason = (
                f"executor lost the run (lease expired); attempt {run.attempt} exceeds "
                f"retry_policy.max_attempts ({schedule.retry_policy.max_attempts})"
            )
            return self._finish(run, RunStatus.timed_out, reason)
        if run.cancel_requested:
            return self._finish(run, RunStatus.cancelled, "cancel requested before the run started")
        resolved = resolve_run_config(schedule, run, self.settings)
        if not resolved.model:
            return self._finish(run, RunStatus.skipped, "resolved model is empty")

        session = build_session(schedule, run, resolved, self.now())
        self.sessions.save(session)
        self.store.bind_session(schedule_id, run_id, session.id)
        if not schedule.run_config.auto_execute or session.messages[-1].role != "user":
            # The session is the product: a user opens it and continues by hand.
            return self._finish(run, RunStatus.success, None)

        result = self._run_agent(schedule, run, resolved.model, resolved.reasoning_effort, session)
        status = _AGENT_STATUS[result.status]
        if status is not RunStatus.success:
            verb = "cancelled" if status is RunStatus.cancelled else "failed"
            session.messages.append(
                Message(
                    role="assistant", content=f"Scheduled run {verb}: {result.reason}", created_at=self.now()
                )
            )
        session.updated_at = self.now()
        # Saved before finish_run: an S3 failure here propagates and the message is retried (run still open).
        self.sessions.save(session)
        return self._finish(run, status, result.reason, result=result)

    def _run_agent(
        self,
        schedule: Schedule,
        run: Run,
        model: str,
        reasoning_effort: ReasoningEffort | None,
        session: Session,
    ) -> AgentResult:
        """The agent run; any exception in it becomes a ``failed`` result (the transcript so far is kept)."""
        before = session.usage
        try:
            provider, model_id = self.provider_for(model)
            return run_agent(
                session,
                provider,
                model_id,
                reasoning_effort=reasoning_effort,
                limits=schedule.run_config.limits,
                cancel_requested=lambda: self.store.is_cancel_requested(run.schedule_id, run.run_id),
                checkpoint=self.sessions.save,
                now=self.now,
            )
        except Exception as exc:  # noqa: BLE001 - recorded on the run, never left open
            logger.exception("agent run %s/%s failed", run.schedule_id, run.run_id)
            reason = str(exc) or type(exc).__name__
            spent = TokenUsage(
                input_tokens=session.usage.input_tokens - before.input_tokens,
                output_tokens=session.usage.output_tokens - before.output_tokens,
            )
            return AgentResult(status="failed", reason=reason, usage=spent)

    def _finish(
        self, run: Run, status: RunStatus, reason: str | None, *, result: AgentResult | None = None
    ) -> Outcome:
        finished = self.store.finish_run(
            run.schedule_id,
            run.run_id,
            status,
            self.now(),
            reason=reason,
            usage=result.usage if result else None,
            final_answer=result.final_answer if result else None,
        )
        if finished is None:
            return Outcome(
                run.run_id, IGNORED, f"run was already terminal; {status.value} not recorded", run.schedule_id
            )
        return Outcome(run.run_id, status.value, reason, run.schedule_id)
