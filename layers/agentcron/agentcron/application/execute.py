"""The execute use case: one queue message in; a run started, resumed or finished (or nothing at all).

Flow for a run: ``start_run`` (the conditional queued -> running transition; None means a duplicate or late
delivery, which is acknowledged and changes nothing) -> resolve the run config -> load the run's checkpointed
session, or build it (with the previous successful answer when ``include_last_result``), save it to S3 and
bind it -> run the agent unless ``auto_execute`` is off -> ``finish_run`` with the outcome.

One transcript write per run: the session is built in memory and saved once, with its outcome, before the
run is finished; in between it is saved at most every ``CHECKPOINT_SECONDS`` (a crash loses at most that
much agent work) and at a hand-off. A run message that carries the run as queued and its schedule's spec
(the claim's messages do) starts with one conditional write and no read: the happy path is that write, the
transcript write and the finishing write.

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
  unknown schedule on run-now) raises. The executor handler decides: a permanent error (an unknown schedule,
  an invalid request) is dead-lettered at once and acknowledged; a transient one is not acknowledged, SQS
  redelivers it, and after the queue's receive count it lands in the dead-letter queue. A redelivery of a run
  that did finish is a no-op; an outcome saved in the session but not yet on the run is recorded by the
  retry, without a model call. An outcome too large for the run's record ends the run ``failed``
  (``application.runs.finish_run``).

Inside one invocation (:class:`SessionRun`): One run's agent work in one invocation: session, tools, the loop, and what its result means for the run.

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
from agentcron.agent.tools import ToolContext, build_tools
from agentcron.application.runs import finish_run, run_now
from agentcron.application.sessions import build_session, resolve_run_config
from agentcron.domain.access import SYSTEM
from agentcron.domain.schedule import STORED
from agentcron.domain.values import iso
from agentcron.exceptions import AgentcronError
from agentcron.models import (
    ContinueMessage,
    Message,
    Run,
    RunMessage,
    RunNowMessage,
    RunStatus,
    Schedule,
    to_utc,
)
from agentcron.queue import message_group_id
from agentcron.store import segments

if TYPE_CHECKING:
    from agentcron.agent.base import Provider, ToolRunner
    from agentcron.application.services import Services
    from agentcron.application.sessions import ResolvedRunConfig
    from agentcron.models import QueueMessage, Session

logger = logging.getLogger(__name__)

IGNORED = "ignored"
CONTINUED = "continued"
OUTCOME_KEY = "outcome"  # session metadata: the terminal status decided for the run
OUTCOME_REASON_KEY = "outcome_reason"
STARTED_KEY = "run_started_at"  # session metadata: when the agent first started (max_duration_seconds)
HANDOFF_LEASE_FACTOR = 2  # a handed-off run's lease covers the continue message's wait in a busy queue
CHECKPOINT_SECONDS = 60  # the transcript is saved at most this often while the agent works
CANCEL_POLL_SECONDS = 10  # a cancel request is read at most this often (it is checked before each call)

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
    """One run's agent work inside one invocation (see the module docstring)."""

    services: Services
    provider_for: Callable[[str], tuple[Provider, str]]
    remaining_ms: Callable[[], int] | None
    tools: Callable[[list[str] | None, ToolContext], ToolRunner]
    saved_at: datetime | None = None  # the last transcript write of this invocation (or its start)

    @property
    def store(self) -> Any:
        return self.services.store

    @property
    def sessions(self) -> Any:
        return self.services.sessions

    @property
    def settings(self) -> Any:
        return self.services.settings

    @property
    def queue(self) -> Any:
        return self.services.queue

    def now(self) -> datetime:
        return self.services.clock()

    def execute(
        self, run: Run, schedule: Schedule | None, segment: int, *, resuming: bool
    ) -> tuple[str, str | None]:
        """``(status, reason)``: a terminal RunStatus value, ``continued`` or ``ignored``; raises RunLost.

        ``schedule`` is the spec the run was claimed under (from its message) or None (read here).
        """
        self.saved_at = self.now()
        schedule = schedule or self.store.get_schedule(run.schedule_id)
        if schedule is None:
            return self.finish(run, RunStatus.skipped, "schedule no longer exists")
        first_attempt = run.attempt == 1 and segment == 0 and not resuming
        # Only an executor that owned the run can have saved its session: none before the first attempt.
        session = None if first_attempt or not run.session_id else self.sessions.load(run.session_id)
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
        if not schedule.run_config.auto_execute or not any(m.role == "user" for m in session.messages):
            # The session is the product: a user opens it and continues by hand.
            self.sessions.save(session)
            return self.finish(run, RunStatus.success, None, session=session)
        result = self.run_agent(schedule, run, segment, resolved, session, resuming=resuming)
        if result.status == "continue":
            return self.hand_off(run, schedule, segment, session, result.reason)
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
        # No lease renewal: a lease outlasts the invocation, so nobody took the run over while it ran.
        self.sessions.save(session)
        return self.finish(run, status, result.reason, session=session, answer=result.final_answer)

    # ------------------------------------------------------------------ steps

    def new_session(self, schedule: Schedule, run: Run, resolved: ResolvedRunConfig) -> Session:
        """The run's session, in memory: it is saved with the outcome (or at a checkpoint).

        Its id is random (``Services.new_id``) and was given to the run by the start's write, before anything
        is saved: a retry after a crash finds it on the run and reuses it (no orphan, no extra write).
        """
        session_id = run.session_id
        if session_id is None:  # a run started without one (by an earlier version)
            session_id = self.services.new_id()
            self.store.bind_session(run.schedule_id, run.run_id, session_id)
        previous = self.store.last_success(schedule.id) if schedule.run_config.include_last_result else None
        return build_session(session_id, schedule, run, resolved, self.now(), previous=previous)

    def checkpoint(self, run: Run, segment: int, session: Session, *, force: bool = False) -> None:
        """Save the session while this executor owns the run (renewing its lease); RunLost otherwise.

        Unless ``force``d, only when ``CHECKPOINT_SECONDS`` passed since the last save: the agent loop asks
        after every round, and most runs are done well within one such period.
        """
        now = self.now()
        if not force and self.saved_at is not None and (now - self.saved_at).total_seconds() < CHECKPOINT_SECONDS:
            return
        lease = self.settings.lease_seconds
        if not segments.renew_lease(self.store, run, segment, now, lease_seconds=lease):
            raise RunLost("the run was finished or taken over elsewhere; this executor stopped")
        self.sessions.save(session)
        self.saved_at = now

    def cancel_check(self, run: Run) -> Callable[[], bool]:
        """``cancel_requested()`` for the loop: the started run's flag first, re-read at most every
        ``CANCEL_POLL_SECONDS`` after that (the loop asks before every call)."""
        state = {"at": self.now(), "value": run.cancel_requested}

        def requested() -> bool:
            now = self.now()
            if not state["value"] and (now - state["at"]).total_seconds() >= CANCEL_POLL_SECONDS:
                state["at"], state["value"] = now, self.store.is_cancel_requested(run.schedule_id, run.run_id)
            return bool(state["value"])

        return requested

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
                services=self.services,
                project_id=schedule.project_id,
                run_model=resolved.model,
                run_tools=schedule.run_config.tools,
                run_limits=schedule.run_config.limits,
                chain=list(run.started_by_chain),
            )
            return run_agent(
                session,
                provider,
                model_id,
                reasoning_effort=resolved.reasoning_effort,
                limits=schedule.run_config.limits,
                cancel_requested=self.cancel_check(run),
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

    def hand_off(
        self, run: Run, schedule: Schedule, segment: int, session: Session, reason: str | None
    ) -> tuple[str, str]:
        """Save the session, keep the run ``running`` for segment + 1 and queue its continue message."""
        self.checkpoint(run, segment, session, force=True)
        if run.session_id != session.id:
            self.store.bind_session(run.schedule_id, run.run_id, session.id)
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
        finished = finish_run(
            self.services,
            run.schedule_id,
            run.run_id,
            status,
            reason=reason,
            usage=session.usage if session is not None else None,
            final_answer=answer,
            session_id=session.id if session is not None else None,
            expected=run,
        )
        if finished is None:
            return IGNORED, f"run was already terminal; {status.value} not recorded"
        if finished.status is not status:  # recorded otherwise (an outcome too large for the record)
            return finished.status.value, finished.outcome_reason
        return status.value, reason


def _last_answer(session: Session) -> str | None:
    last: Any = next((m for m in reversed(session.messages) if m.role == "assistant"), None)
    return last.content if last is not None else None


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
    services: Services,
    message: QueueMessage,
    *,
    message_id: str,
    sent_at: datetime | None = None,
    provider_for: Callable[[str], tuple[Provider, str]] | None = None,
    remaining_ms: Callable[[], int] | None = None,
    tools: ToolFactory = build_tools,
) -> Outcome:
    """Execute the run ``message`` names (creating it first for run-now; resuming it for continue).

    ``message_id`` is the SQS message id and ``sent_at`` its SentTimestamp: both are the same on every
    redelivery, so a run-now message maps to one run id however often it arrives. ``provider_for`` resolves
    a model string (default: the providers built from ``services.settings``) and ``tools`` builds a run's
    tool box (tests inject scripted ones). ``remaining_ms`` is the invocation's time left (the Lambda
    context's ``get_remaining_time_in_millis``): without it, a run never hands off.
    """
    if provider_for is None:
        from agentcron.agent.registry import Providers

        provider_for = Providers(services.settings).resolve
    execution = SessionRun(services, provider_for=provider_for, remaining_ms=remaining_ms, tools=tools)
    if isinstance(message, ContinueMessage):
        return _resume(execution, message)
    schedule: Schedule | None = None
    if isinstance(message, RunNowMessage):
        # Recorded once per request id (enabled, overlap and misfire do not apply), then run right here.
        run = run_now(
            services,
            SYSTEM,  # whoever may send to the run queue is trusted with every project (IAM)
            message.schedule_id,
            request_id=message.request_id or message_id,
            task_message=message.task_message,
            requested_at=sent_at,
            send=False,
        )
        run_id = run.run_id
    elif isinstance(message, RunMessage):
        run_id = message.run_id
        if message.run is not None and message.schedule is not None:
            schedule = Schedule.model_validate(message.schedule.model_dump(), context=STORED)
            started = services.store.start_queued(
                message.run,
                execution.now(),
                lease_seconds=services.settings.lease_seconds,
                session_id=services.new_id(),
            )
            if started is not None:
                return _outcome(execution, started, schedule, 0, resuming=False)
            # Not as queued any more (started, retried, cancelled, finished): read it as it is.
    else:  # pragma: no cover - parse_message only yields the types above
        raise TypeError(f"unsupported queue message: {type(message).__name__}")
    return _start(execution, message.schedule_id, run_id, schedule)


def _start(execution: SessionRun, schedule_id: str, run_id: str, schedule: Schedule | None) -> Outcome:
    """queued -> running (or take over a run whose lease lapsed), then execute from wherever it stands."""
    settings, store = execution.settings, execution.store
    run = store.start_run(
        schedule_id,
        run_id,
        execution.now(),
        lease_seconds=settings.lease_seconds,
        session_id=execution.services.new_id(),
    )
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
