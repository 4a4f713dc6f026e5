"""Session use cases: what a run is configured to do, the session it starts from, reading a transcript.

Resolution order, field by field: the run's own override (``Run.task_message``, set by run-now) over the
schedule's ``run_config`` over the deployment defaults in :class:`~agentcron.config.Settings`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from agentcron.application.access import check_visible
from agentcron.domain.access import Caller
from agentcron.domain.values import iso
from agentcron.exceptions import SessionNotFound
from agentcron.models import Message, ReasoningEffort, Run, Schedule, Session

if TYPE_CHECKING:
    from agentcron.application.services import Services
    from agentcron.config import Settings


MAX_INLINE_SESSION_BYTES = 1024 * 1024  # escaped as JSON a reply may grow 6-fold: Lambda answers <= 6 MB
LINK_SECONDS = 900


@dataclass(frozen=True)
class SessionLink:
    """Where to read a transcript too large to answer inline: a pre-signed S3 URL."""

    session_id: str
    url: str
    size_bytes: int
    expires_in_seconds: int


PROJECT_KEY = "project_id"  # session metadata: the project of the run (of its schedule)


def session_project(services: Services, session: Session) -> str | None:
    """The project a transcript belongs to: its metadata's, else (a session written before projects) its
    schedule's; None when neither is known (then only an administrator may read it)."""
    project = session.metadata.get(PROJECT_KEY)
    if project:
        return project
    schedule_id = session.metadata.get("created_by_schedule_id")
    schedule = services.store.get_schedule(schedule_id) if schedule_id else None
    return schedule.project_id if schedule is not None else None


def get_session(services: Services, caller: Caller, session_id: str) -> Session:
    """A run's transcript, served only to a caller who may see the run's project (else ``SessionNotFound``).

    Session ids are random (``Services.new_id``, at least 122 random bits), so they cannot be guessed; the
    project check stands whether or not an id leaked.
    """
    session = services.sessions.load(session_id)
    if session is None:
        raise SessionNotFound(session_id)
    project = session_project(services, session)
    if project is None:
        if not caller.is_admin:
            raise SessionNotFound(session_id)
    else:
        check_visible(caller, project, SessionNotFound(session_id))
    return session


def read_session(services: Services, caller: Caller, session_id: str) -> Session | SessionLink:
    """The session (for a caller who may see it), or for one larger than MAX_INLINE_SESSION_BYTES a link to
    read it from S3 directly."""
    session = get_session(services, caller, session_id)
    size = services.sessions.size(session_id)
    if size is not None and size > MAX_INLINE_SESSION_BYTES:
        url = services.sessions.url(session_id, expires_in=LINK_SECONDS)
        return SessionLink(session_id, url, size, LINK_SECONDS)
    return session


@dataclass(frozen=True)
class ResolvedRunConfig:
    """What one run actually uses once the defaults are applied. An empty ``model`` means: skip the run."""

    model: str
    reasoning_effort: ReasoningEffort | None
    system_prompt: str
    workspace_path: str | None
    task_message: str | None


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def resolve_run_config(schedule: Schedule, run: Run, settings: Settings) -> ResolvedRunConfig:
    """Apply run override > ``schedule.run_config`` > deployment defaults; blank strings count as unset.

    ``enhance_prompt`` is appended to the system prompt (after a blank line), so a schedule can add
    instructions without restating the deployment's default prompt.
    """
    config = schedule.run_config
    system_prompt = _text(config.system_prompt) or settings.default_system_prompt.strip()
    enhance = _text(config.enhance_prompt)
    if enhance:
        system_prompt = f"{system_prompt}\n\n{enhance}" if system_prompt else enhance
    return ResolvedRunConfig(
        model=_text(config.model) or settings.default_model.strip(),
        reasoning_effort=config.reasoning_effort,
        system_prompt=system_prompt,
        workspace_path=_text(config.workspace_path) or _text(settings.default_workspace_path),
        task_message=_text(run.task_message) or _text(config.task_message),
    )


PREVIOUS_RESULT_HEADER = "The final answer of this schedule's previous successful run"


def previous_result_message(previous: Run, now: datetime) -> Message:
    """The context message ``include_last_result`` adds: the previous successful run's answer, labelled."""
    header = f"{PREVIOUS_RESULT_HEADER} (scheduled for {iso(previous.scheduled_for)}, run {previous.run_id}):"
    return Message(role="system", content=f"{header}\n\n{previous.final_answer}", created_at=now)


def build_session(
    session_id: str,
    schedule: Schedule,
    run: Run,
    resolved: ResolvedRunConfig,
    now: datetime,
    *,
    previous: Run | None = None,
) -> Session:
    """The session a run starts from: a system message, then the task as the user message (when there is one).

    ``previous`` (``run_config.include_last_result``: the schedule's last successful run) with a final answer
    adds a second system message before the task carrying that answer, so a daily agent builds on
    yesterday's result; ``metadata.previous_run_id`` names the run it came from.

    The metadata ties the session back to its schedule and run (only keys with a value are set), so sessions
    can be listed per schedule without reading the runs table; ``project_id`` decides who may read it.
    ``session_id`` comes from the caller (a random id bound to the run before the session is saved).
    """
    system = resolved.system_prompt
    if resolved.workspace_path:
        workspace = f"Workspace path: {resolved.workspace_path}"
        system = f"{system}\n\n{workspace}" if system else workspace
    messages = [Message(role="system", content=system, created_at=now)]
    if previous is not None and previous.final_answer:
        messages.append(previous_result_message(previous, now))
    else:
        previous = None
    if resolved.task_message:
        messages.append(Message(role="user", content=resolved.task_message, created_at=now))
    metadata = {
        PROJECT_KEY: schedule.project_id,
        "created_by_schedule_id": schedule.id,
        "schedule_run_id": run.run_id,
        "schedule_name": schedule.name,
        "scheduled_for": iso(run.scheduled_for),
        "model": resolved.model,
        "reasoning_effort": resolved.reasoning_effort.value if resolved.reasoning_effort else "",
        "workspace_path": resolved.workspace_path or "",
        "previous_run_id": previous.run_id if previous is not None else "",
    }
    return Session(
        id=session_id,
        title=f"{schedule.name} - {iso(run.scheduled_for)}",
        model=resolved.model,
        messages=messages,
        metadata={key: value for key, value in metadata.items() if value},
        created_at=now,
        updated_at=now,
    )


@dataclass(frozen=True)
class SessionSummary:
    """One session of a schedule, from its run record (no transcript is read): which run it belongs to and
    how that run went. ``title`` is the session's, as :func:`build_session` names it."""

    session_id: str
    run_id: str
    title: str
    status: str
    trigger: str
    scheduled_for: datetime
    started_at: datetime | None
    completed_at: datetime | None


def list_schedule_sessions(
    services: Services, caller: Caller, schedule_id: str, *, limit: int = 50, cursor: str | None = None
) -> tuple[list[SessionSummary], str | None]:
    """A page of the schedule's sessions, newest first (by their run's slot), and the next cursor.

    ``ScheduleNotFound`` for a schedule the caller may not see. Read from the runs table's ``sessions``
    index, never by listing the bucket. A run imported from the original system names its session there;
    its transcript is not here (``GET /sessions/{id}`` answers 404 for it).
    """
    from agentcron.application.runs import require_schedule

    schedule = require_schedule(services, schedule_id, caller)
    runs, next_cursor = services.store.session_runs(schedule_id, limit=limit, cursor=cursor)
    return [
        SessionSummary(
            session_id=run.session_id or "",
            run_id=run.run_id,
            title=f"{schedule.name} - {iso(run.scheduled_for)}",
            status=run.status.value,
            trigger=run.trigger.value,
            scheduled_for=run.scheduled_for,
            started_at=run.started_at,
            completed_at=run.completed_at,
        )
        for run in runs
    ], next_cursor
