"""One run's agent work in one invocation: session, tools, the loop, and what its result means for the run.

:class:`SessionRun` gets a run the caller already owns (started, taken over, or resumed for a segment, see
``agentcron.execute``) and takes it to a terminal status, or hands it to the next invocation. Every checkpoint
first renews the run's lease conditionally on this executor's ownership (``attempt`` and ``segment``); losing
it raises :class:`RunLost`, and nothing more is written for the run (its new owner has the session).

Outcomes are first written into the session (``metadata.outcome``), then onto the run. If the run write
fails, the retry finds the outcome in the session and records it without calling the model again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agentcron.agent.loop import AgentResult, run_agent
from agentcron.agent.tools import ToolContext
from agentcron.exceptions import AgentcronError
from agentcron.models import ContinueMessage, Message, Run, RunStatus, to_utc
from agentcron.queue import message_group_id
from agentcron.sessions import build_session, iso, resolve_run_config, session_id_for
from agentcron.store import segments

if TYPE_CHECKING:
    from agentcron.agent.base import Provider, ToolRunner
    from agentcron.config import Settings
    from agentcron.models import Schedule, Session
    from agentcron.queue import RunQueue
    from agentcron.sessions import ResolvedRunConfig, SessionStore
    from agentcron.store import Store

logger = logging.getLogger(__name__)

IGNORED = "ignored"
CONTINUED = "continued"
OUTCOME_KEY = "outcome"  # session metadata: the terminal status decided for the run
OUTCOME_REASON_KEY = "outcome_reason"
STARTED_KEY = "run_started_at"  # session metadata: when the agent first started (max_duration_seconds)
HANDOFF_LEASE_FACTOR = 2  # a handed-off run's lease covers the continue message's wait in a busy queue

_STATUS = {
    "success": RunStatus.success,
    "failed": RunStatus.failed,
    "cancelled": RunStatus.cancelled,
    "timed_out": RunStatus.timed_out,
}
_VERB = {RunStatus.failed: "failed", RunStatus.cancelled: "cancelled", RunStatus.timed_out: "timed out"}


class RunLost(AgentcronError):
    """This executor no longer owns the run (taken over after a lapsed lease, or finished elsewhere)."""


@dataclass
class SessionRun:
    store: Store
    sessions: SessionStore
    settings: Settings
    now: Callable[[], datetime]
    provider_for: Callable[[str], tuple[Provider, str]]
    queue: RunQueue | None
    remaining_ms: Callable[[], int] | None
    tools: Callable[[list[str] | None, ToolContext], ToolRunner]

    def execute(
        self, run: Run, schedule: Schedule | None, segment: int, *, resuming: bool
    ) -> tuple[str, str | None]:
        """``(status, reason)``: a terminal RunStatus value, ``continued`` or ``ignored``; raises RunLost."""
        schedule = schedule or self.store.get_schedule(run.schedule_id)
        if schedule is None:
            return self.finish(run, RunStatus.skipped, "schedule no longer exists")
        session = self.sessions.load(run.session_id or session_id_for(run.schedule_id, run.run_id))
        recorded = session.metadata.get(OUTCOME_KEY) if session is not None else None
        if session is not None and recorded:
            # Decided by an earlier attempt whose run write failed: record it, call nothing.
            answer = _last_answer(session) if recorded == RunStatus.success.value else None
            reason = session.metadata.get(OUTCOME_REASON_KEY) or None
            return self.finish(run, RunStatus(recorded), reason, session=session, answer=answer)
        if run.attempt > schedule.retry_policy.max_attempts:
            reason = (
                f"executor lost the run (lease expired); attempt {run.attempt} exceeds "
                f"retry_policy.max_attempts ({schedule.retry_policy.max_attempts})"
            )
            return self.finish(run, RunStatus.timed_out, reason, session=session)
        resolved = resolve_run_config(schedule, run, self.settings)
        if session is None:
            if resuming:
                return self.finish(run, RunStatus.failed, "the checkpointed session of this run is missing")
            if run.cancel_requested:
                return self.finish(run, RunStatus.cancelled, "cancel requested before the run started")
            if not resolved.model:
                return self.finish(run, RunStatus.skipped, "resolved model is empty")
            session = self.new_session(schedule, run, resolved)
        if run.session_id != session.id:
            self.store.bind_session(run.schedule_id, run.run_id, session.id)
        if not schedule.run_config.auto_execute or not any(m.role == "user" for m in session.messages):
            # The session is the product: a user opens it and continues by hand.
            return self.finish(run, RunStatus.success, None)
        result = self.run_agent(schedule, run, segment, resolved, session, resuming=resuming)
        if result.status == "continue":
            return self.hand_off(run, schedule, segment, result.reason)
        status = _STATUS[result.status]
        if status is not RunStatus.success:
            session.messages.append(
                Message(
                    role="assistant",
                    content=f"Scheduled run {_VERB[status]}: {result.reason}",
                    created_at=self.now(),
                )
            )
        session.metadata[OUTCOME_KEY] = status.value
        session.metadata[OUTCOME_REASON_KEY] = result.reason or ""
        # Saved before finish_run: an S3 failure here propagates and the message is retried (run still open).
        self.checkpoint(run, segment, session)
        return self.finish(run, status, result.reason, session=session, answer=result.final_answer)

    # ------------------------------------------------------------------ steps

    def new_session(self, schedule: Schedule, run: Run, resolved: ResolvedRunConfig) -> Session:
        previous = self.store.last_success(schedule.id) if schedule.run_config.include_last_result else None
        session = build_session(schedule, run, resolved, self.now(), previous=previous)
        self.sessions.save(session)
        return session

    def checkpoint(self, run: Run, segment: int, session: Session) -> None:
        """Save the session while this executor owns the run (renewing its lease); RunLost otherwise."""
        lease = self.settings.lease_seconds
        if not segments.renew_lease(self.store, run, segment, self.now(), lease_seconds=lease):
            raise RunLost("the run was finished or taken over elsewhere; this executor stopped")
        self.sessions.save(session)

    def run_agent(
        self,
        schedule: Schedule,
        run: Run,
        segment: int,
        resolved: ResolvedRunConfig,
        session: Session,
        *,
        resuming: bool,
    ) -> AgentResult:
        """The agent loop; any exception in it but RunLost becomes a ``failed`` result (transcript kept)."""
        started_at = to_utc(datetime.fromisoformat(session.metadata.setdefault(STARTED_KEY, iso(self.now()))))
        try:
            provider, model_id = self.provider_for(resolved.model)
            context = ToolContext(
                schedule_id=schedule.id,
                run_id=run.run_id,
                store=self.store,
                queue=self.queue,
                now=self.now,
                redelivery_seconds=self.settings.redelivery_seconds,
            )
            return run_agent(
                session,
                provider,
                model_id,
                reasoning_effort=resolved.reasoning_effort,
                limits=schedule.run_config.limits,
                cancel_requested=lambda: self.store.is_cancel_requested(run.schedule_id, run.run_id),
                checkpoint=lambda s: self.checkpoint(run, segment, s),
                tools=self.tools(schedule.run_config.tools, context),
                now=self.now,
                started_at=started_at,
                remaining_ms=self.remaining_ms,
                continue_margin_seconds=self.settings.continue_margin_seconds,
                # A continuation always makes progress: a margin larger than an invocation cannot bounce it.
                hand_off_without_progress=not resuming,
            )
        except RunLost:
            raise
        except Exception as exc:  # noqa: BLE001 - recorded on the run, never left open
            logger.exception("agent run %s/%s failed", run.schedule_id, run.run_id)
            return AgentResult(status="failed", reason=str(exc) or type(exc).__name__)

    def hand_off(self, run: Run, schedule: Schedule, segment: int, reason: str | None) -> tuple[str, str]:
        """Keep the run ``running`` for segment + 1 and queue its continue message (the session is saved)."""
        if self.queue is None:  # pragma: no cover - handle() gives no remaining_ms without a queue
            raise RuntimeError("a run cannot continue without a run queue")
        lease = self.settings.lease_seconds * HANDOFF_LEASE_FACTOR
        if not segments.renew_lease(self.store, run, segment, self.now(), lease_seconds=lease):
            raise RunLost("the run was finished or taken over elsewhere before its hand-off")
        following = segment + 1
        self.queue.send(
            ContinueMessage(schedule_id=run.schedule_id, run_id=run.run_id, segment=following),
            group_id=message_group_id(schedule, run.run_id),
            dedup_id=f"{run.run_id}:{following}",
        )
        logger.info("run %s/%s continues in segment %d: %s", run.schedule_id, run.run_id, following, reason)
        return CONTINUED, f"continues in segment {following}"

    def finish(
        self,
        run: Run,
        status: RunStatus,
        reason: str | None,
        *,
        session: Session | None = None,
        answer: str | None = None,
    ) -> tuple[str, str | None]:
        finished = self.store.finish_run(
            run.schedule_id,
            run.run_id,
            status,
            self.now(),
            reason=reason,
            usage=session.usage if session is not None else None,
            final_answer=answer,
        )
        if finished is None:
            return IGNORED, f"run was already terminal; {status.value} not recorded"
        return status.value, reason


def _last_answer(session: Session) -> str | None:
    last: Any = next((m for m in reversed(session.messages) if m.role == "assistant"), None)
    return last.content if last is not None else None
