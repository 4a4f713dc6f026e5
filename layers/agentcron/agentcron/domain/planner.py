"""The claim decision for ONE schedule at ``now``: a pure function of (schedule, now).

A claim turns the due slots of a schedule into run records and moves ``next_fire_at`` past them. The store
writes a whole plan in ONE DynamoDB transaction (every record plus the schedule update), so a plan holds at
most ``max_records`` records; and a claim scans at most ``MAX_SLOTS_PER_CLAIM`` slots. A long backlog is
therefore consumed by successive claims: each leaves ``next_fire_at`` on the first slot it did not decide,
still ``<= now``, so the schedule stays due and the next sweep goes on where this one stopped.

A plan is made in four steps:

1. scan the due slots, from ``state.next_fire_at`` along the effective trigger's grid, while ``slot <= now``;
2. the misfire policy picks the candidate slots to run, the missed ones, and how many slots it decides
   (a prefix of the scan: undecided slots stay due);
3. the overlap policy turns each candidate into a queued run or a ``skipped`` record;
4. every missed slot is counted, the newest are recorded individually while the record budget allows.

Every decided slot ends up in exactly one of ``runs``, ``skipped`` or ``missed_count``, and every record's
id is ``slot_run_id(schedule.id, slot)``: one slot, one id, whichever claim (or retry) writes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agentcron.domain.cron import validate_cron
from agentcron.domain.policies import (
    CatchUpAllPolicy,
    CatchUpWindowPolicy,
    OverlapPolicy,
    RunOncePolicy,
    SkipPolicy,
)
from agentcron.domain.runs import RunStatus, slot_run_id
from agentcron.domain.schedule import Schedule, ScheduleSpec, ScheduleState
from agentcron.domain.timing import Timing
from agentcron.domain.triggers import CronTrigger, IntervalTrigger, OnceTrigger, Trigger
from agentcron.domain.values import iso, to_utc

MAX_CATCH_UP_PER_CLAIM = 100  # candidates (queued + skipped) per claim; the rest stay due
MAX_SLOTS_PER_CLAIM = 1000  # slots scanned per claim: bounds a claim's CPU whatever the backlog
MAX_MISSED_RECORDS = 20  # missed slots recorded individually per claim (all are counted)
LATE_AFTER_SECONDS = 60  # a run whose slot is older than this at claim time is a catch-up run


@dataclass(frozen=True)
class PlannedRun:
    """A run record the claim writes: ``queued`` (to execute), or ``skipped`` / ``missed`` (a record only)."""

    run_id: str
    scheduled_for: datetime
    was_catch_up: bool
    status: RunStatus = RunStatus.queued
    reason: str | None = None


@dataclass(frozen=True)
class ClaimPlan:
    """What one claim does to one schedule; the store applies it atomically or not at all.

    ``runs`` are queued, ``skipped`` and ``missed`` are terminal records, all in slot order.
    ``missed_count`` counts every missed slot (``missed`` holds only the newest few). ``next_fire_at`` and
    ``enabled`` are the schedule's new values (``enabled`` turns False when the trigger has no further fire).
    ``cancel_active``: the runs already queued or running must be asked to cancel (``cancel_other``).
    ``due`` is False when the schedule was not due: such a plan changes nothing and nothing is written.
    ``consumed_count`` is how many due slots the plan decided, ``last_consumed_at`` the newest of them;
    ``still_due``: ``next_fire_at <= now`` (a backlog remains, the next sweep continues it).
    ``pause_note``: set with ``enabled`` False when the schedule stops because it expired (``expires_at``).
    ``due_at``: for a plan that is not due only because its slot waits out its jitter delay, the instant it
    becomes due (the claim clock sleeps until then); None otherwise.
    """

    runs: list[PlannedRun] = field(default_factory=list)
    skipped: list[PlannedRun] = field(default_factory=list)
    missed: list[PlannedRun] = field(default_factory=list)
    missed_count: int = 0
    next_fire_at: datetime | None = None
    enabled: bool = True
    cancel_active: bool = False
    due: bool = True
    consumed_count: int = 0
    last_consumed_at: datetime | None = None
    still_due: bool = False
    pause_note: str | None = None
    due_at: datetime | None = None

    @property
    def changes_nothing(self) -> bool:
        """True for a schedule that was not due: no record, ``next_fire_at`` and ``enabled`` as they were."""
        return not self.due

    @property
    def records(self) -> list[PlannedRun]:
        """Every record to write (queued, skipped, missed), in slot order."""
        return sorted([*self.runs, *self.skipped, *self.missed], key=lambda r: r.scheduled_for)

    @property
    def record_count(self) -> int:
        return len(self.runs) + len(self.skipped) + len(self.missed)


# --------------------------------------------------------------------------- triggers of a schedule


def effective_trigger(spec: ScheduleSpec) -> Trigger:
    """The trigger the claims follow: an interval without ``anchor_at`` is anchored at ``created_at``.

    Anchoring at creation keeps the grid fixed: a late claim never shifts later slots to the claim time.
    """
    return anchored(spec).trigger


def anchored(spec: ScheduleSpec, anchor: datetime | None = None) -> ScheduleSpec:
    """``spec`` with each interval's missing ``anchor_at`` set to ``anchor`` (default ``created_at``).

    The one place the interval-anchor rule lives: creates store it, edits keep the stored grid, claims and
    previews follow it. A spec without either (an unsaved preview) is left as it is. Every interval of a
    several-trigger schedule is anchored alike.
    """
    anchor = anchor or spec.created_at

    def fix(trigger: Trigger) -> Trigger:
        if not isinstance(trigger, IntervalTrigger) or trigger.anchor_at is not None or anchor is None:
            return trigger
        return IntervalTrigger(every_seconds=trigger.every_seconds, anchor_at=anchor)

    changes: dict[str, object] = {}
    if fix(spec.trigger) is not spec.trigger:
        changes["trigger"] = fix(spec.trigger)
    if spec.triggers and any(fix(t) is not t for t in spec.triggers):
        changes["triggers"] = [fix(t) for t in spec.triggers]
    return spec.model_copy(update=changes) if changes else spec


def effective_triggers(spec: ScheduleSpec) -> list[Trigger]:
    """Every trigger the claims follow (intervals anchored as :func:`anchored` says)."""
    return anchored(spec).all_triggers


def timing_of(spec: ScheduleSpec, *, expiring: bool = True) -> Timing:
    """The schedule's :class:`Timing`: its effective trigger in its zone, window and DST policy.

    ``expiring`` False ignores ``expires_at`` (the operational cut-off) and keeps only the user's window.
    """
    first, *more = effective_triggers(spec)
    return Timing(
        first,
        timezone=spec.timezone,
        start_at=spec.start_at,
        end_at=window_end(spec) if expiring else spec.end_at,
        dst_policy=spec.dst_policy,
        more_triggers=tuple(more),
        exclude=tuple(spec.exclude or ()),
        jitter_seconds=spec.jitter_seconds,
        jitter_key=spec.id or "",
    )


def never_fires_reason(spec: ScheduleSpec, now: datetime) -> tuple[str, str]:
    """``(field, message)``: why a spec has no next fire, naming the field a client must change."""
    now = to_utc(now)
    if isinstance(spec.trigger, OnceTrigger) and spec.trigger.at <= now:
        return "trigger.at", "trigger.at must be in the future"
    if spec.end_at is not None and spec.end_at <= now:
        return "end_at", "end_at must be in the future"
    if spec.expires_at is not None and spec.expires_at <= now:
        return "expires_at", "expires_at must be in the future"
    return "trigger", "trigger has no next run within the configured window"


def window_end(spec: ScheduleSpec) -> datetime | None:
    """The exclusive end of the slots a schedule runs: the earlier of ``end_at`` and ``expires_at``."""
    ends = [at for at in (spec.end_at, spec.expires_at) if at is not None]
    return min(ends) if ends else None


def _fire_after(spec: ScheduleSpec, after: datetime, *, expiring: bool = True) -> datetime | None:
    return timing_of(spec, expiring=expiring).next_after(after)


def _in_window(spec: ScheduleSpec, slot: datetime) -> bool:
    end = window_end(spec)
    return (spec.start_at is None or slot >= spec.start_at) and (end is None or slot < end)


def expiry_note(expires_at: datetime) -> str:
    return f"expired at {iso(expires_at)}"


def _expired_note(spec: ScheduleSpec, after: datetime) -> str | None:
    """The pause note when ``expires_at`` (not the trigger, not ``end_at``) is why nothing fires after
    ``after``; None otherwise."""
    if spec.expires_at is None or (spec.end_at is not None and spec.end_at <= spec.expires_at):
        return None
    if _fire_after(spec, after, expiring=False) is None:
        return None
    return expiry_note(spec.expires_at)


def initial_next_fire(spec: ScheduleSpec, now: datetime) -> datetime | None:
    """The first fire strictly after ``now`` (and at or after a future ``start_at``): for create and resume.

    Pure trigger math: ``spec.enabled`` is not consulted (a disabled schedule stores None; the caller knows).
    None means the trigger never fires again (a past ``once``, a closed window).
    """
    now = to_utc(now)
    after = now
    if spec.start_at is not None and spec.start_at > now:
        after = spec.start_at - timedelta(microseconds=1)  # the window start is inclusive
    return _fire_after(spec, after)


def timing_changed(old: ScheduleSpec, new: ScheduleSpec) -> bool:
    """True when an edit changes WHEN the schedule fires (triggers, exclusions, timezone, window or DST
    policy; not the jitter, which moves no slot).

    Triggers are compared as the claims follow them, so re-sending the same interval is no change, while
    a new ``created_at`` under an unanchored interval moves the grid and is one.
    """
    return (
        effective_triggers(old) != effective_triggers(new)
        or (old.exclude or []) != (new.exclude or [])
        or (old.timezone or "UTC") != (new.timezone or "UTC")
        or old.start_at != new.start_at
        or old.end_at != new.end_at
        or old.expires_at != new.expires_at
        or old.dst_policy != new.dst_policy
    )


def next_fire_after_edit(old: Schedule, new: ScheduleSpec, now: datetime) -> datetime | None:
    """The ``next_fire_at`` to store when ``old`` is replaced by ``new`` at ``now``.

    - disabling (``new.enabled`` False) gives None: a paused schedule is never due;
    - re-enabling (False -> True) recomputes from ``now``: the paused period is not caught up;
    - a change of trigger, timezone, start_at, end_at or dst_policy recomputes from ``now`` (the old slots
      belonged to the old timing);
    - any other edit (name, run config, policies, ...) keeps ``old.state.next_fire_at``, so an overdue
      slot is still claimed and no slot is lost or fired twice by editing.
    None from a recompute means the new timing never fires again (the caller stores ``enabled`` False or
    rejects the edit).
    """
    if not new.enabled:
        return None
    if not old.enabled or timing_changed(old, new):
        return initial_next_fire(new, now)
    return old.state.next_fire_at


# --------------------------------------------------------------------------- the claim decision


@dataclass(frozen=True)
class _Misfire:
    """The misfire policy's verdict on a prefix of the scanned slots (the first ``consumed`` ones)."""

    candidates: list[datetime]
    missed: list[tuple[datetime, str]]
    consumed: int


Fire = Callable[[datetime], datetime]
"""When a slot is due: ``Timing.fire_at`` (the slot plus its jitter delay). Lateness counts from there."""


def _late_seconds(now: datetime, fired: datetime) -> int:
    return int((now - fired).total_seconds())


def _scan(
    spec: ScheduleSpec,
    first: datetime,
    now: datetime,
    runnable: Callable[[datetime], bool] | None = None,
    cap: int = 0,
) -> tuple[list[datetime], datetime | None]:
    """Due slots from ``first`` (at most ``MAX_SLOTS_PER_CLAIM``) and the slot following the last of them.

    With ``runnable``, the scan also stops at the ``cap``-th runnable slot: a policy that takes due slots in
    order can use no more, and a backlog costs each claim only what it decides.
    """
    timing = timing_of(spec)
    slots: list[datetime] = []
    slot: datetime | None = first
    taken = 0
    while slot is not None and timing.fire_at(slot) <= now and len(slots) < MAX_SLOTS_PER_CLAIM:
        slots.append(slot)
        nxt = timing.next_after(slot)
        if nxt is not None and nxt <= slot:
            # A non-advancing trigger would give two records one id; refuse rather than corrupt.
            raise RuntimeError(f"trigger returned {nxt.isoformat()}, not after {slot.isoformat()}")
        if runnable is not None and runnable(slot):
            taken += 1
            if taken >= cap:
                return slots, nxt
        slot = nxt
    return slots, slot


def _runnable_in_order(schedule: Schedule, now: datetime, fire: Fire) -> Callable[[datetime], bool] | None:
    """For policies that run due slots oldest first: which slots they run (the scan may stop early)."""
    policy = schedule.misfire_policy
    if isinstance(policy, CatchUpAllPolicy):
        return lambda slot: True
    if isinstance(policy, SkipPolicy):
        grace = timedelta(seconds=policy.grace_seconds)
        return lambda slot: now - fire(slot) <= grace
    return None


def _run_once(slots: list[datetime], truncated: bool) -> _Misfire:
    if truncated:
        # The newest due slot lies beyond the scan: a later claim finds and runs it.
        return _Misfire([], [(s, "coalesced by run_once: a later slot is due") for s in slots], len(slots))
    newest = slots[-1]
    reason = f"coalesced by run_once into the run for {iso(newest)}"
    return _Misfire([newest], [(s, reason) for s in slots[:-1]], len(slots))


def _skip(policy: SkipPolicy, slots: list[datetime], now: datetime, cap: int, fire: Fire) -> _Misfire:
    grace = timedelta(seconds=policy.grace_seconds)
    candidates: list[datetime] = []
    missed: list[tuple[datetime, str]] = []
    for index, slot in enumerate(slots):
        if now - fire(slot) <= grace:
            candidates.append(slot)
            if len(candidates) == cap:
                return _Misfire(candidates, missed, index + 1)
        else:
            late = _late_seconds(now, fire(slot))
            missed.append((slot, f"late by {late}s, beyond grace {policy.grace_seconds}s"))
    return _Misfire(candidates, missed, len(slots))


def _catch_up_all(slots: list[datetime], cap: int) -> _Misfire:
    taken = slots[:cap]
    return _Misfire(taken, [], len(taken))


def _catch_up_window(
    policy: CatchUpWindowPolicy, slots: list[datetime], truncated: bool, now: datetime, cap: int, fire: Fire
) -> _Misfire:
    limit = timedelta(seconds=policy.max_lateness_seconds)
    keep = policy.max_catch_up_runs
    n = len(slots)
    # slots ascend, and so do their fire times while the jitter is below the slot spacing: a suffix is fresh
    fresh = next((i for i, s in enumerate(slots) if now - fire(s) <= limit), n)
    missed = [
        (s, f"late by {_late_seconds(now, fire(s))}s, beyond max lateness {policy.max_lateness_seconds}s")
        for s in slots[:fresh]
    ]
    beyond = f"beyond the newest {keep} catch-up runs"
    if truncated:
        # At least one due slot lies beyond the scan, so slot i has at least n - i newer slots: it is
        # certainly outside the newest `keep` when n - i >= keep. Later scanned slots stay due.
        decided = max(fresh, n - keep + 1)
        if decided > 0:
            return _Misfire([], missed + [(s, beyond) for s in slots[fresh:decided]], decided)
        # keep > MAX_SLOTS_PER_CLAIM and every scanned slot is fresh: none can be ruled out, run in order.
        return _catch_up_all(slots, cap)
    start = max(fresh, n - keep)
    missed += [(s, beyond) for s in slots[fresh:start]]
    selected = slots[start:]
    if len(selected) > cap:
        return _Misfire(selected[:cap], missed, start + cap)
    return _Misfire(selected, missed, n)


def _misfire(
    schedule: Schedule, slots: list[datetime], truncated: bool, now: datetime, cap: int, fire: Fire
) -> _Misfire:
    policy = schedule.misfire_policy
    if isinstance(policy, SkipPolicy):
        return _skip(policy, slots, now, cap, fire)
    if isinstance(policy, CatchUpAllPolicy):
        return _catch_up_all(slots, cap)
    if isinstance(policy, CatchUpWindowPolicy):
        return _catch_up_window(policy, slots, truncated, now, cap, fire)
    if isinstance(policy, RunOncePolicy):
        return _run_once(slots, truncated)
    raise TypeError(f"unknown misfire policy {policy!r}")


def _overlap(
    policy: OverlapPolicy, state: ScheduleState, candidates: list[datetime], run_waiting: bool
) -> tuple[list[datetime], list[tuple[datetime, str]], bool]:
    """Queued slots, skipped slots with reasons, and whether the active runs must be cancelled."""
    if not candidates:
        return [], [], False
    if policy in (OverlapPolicy.allow, OverlapPolicy.queue_all):
        return list(candidates), [], False
    first, newest = candidates[0], candidates[-1]
    prefix = f"overlap policy {policy.value}:"
    if policy == OverlapPolicy.skip:
        if state.active_run_count:
            return [], [(s, f"{prefix} a run of this schedule is active") for s in candidates], False
        return [first], [(s, f"{prefix} the run for {iso(first)} is active") for s in candidates[1:]], False
    if policy == OverlapPolicy.cancel_other and state.active_run_count:
        superseded = f"{prefix} superseded by the run for {iso(newest)}"
        return [newest], [(s, superseded) for s in candidates[:-1]], True
    if policy in (OverlapPolicy.queue_one, OverlapPolicy.cancel_other):
        if state.active_run_count and run_waiting:
            return [], [(s, f"{prefix} a run is already queued") for s in candidates], False
        return [first], [(s, f"{prefix} the run for {iso(first)} is queued") for s in candidates[1:]], False
    raise TypeError(f"unknown overlap policy {policy!r}")


def _record(
    schedule: Schedule, slot: datetime, now: datetime, status: RunStatus, reason: str | None, fire: Fire
) -> PlannedRun:
    return PlannedRun(
        run_id=slot_run_id(schedule.id, slot),
        scheduled_for=slot,
        was_catch_up=(now - fire(slot)) > timedelta(seconds=LATE_AFTER_SECONDS),
        status=status,
        reason=reason,
    )


def plan_claim(
    schedule: Schedule, now: datetime, *, max_records: int = MAX_CATCH_UP_PER_CLAIM, run_waiting: bool = False
) -> ClaimPlan:
    """What ONE claim does to ``schedule`` at ``now``; deterministic, no I/O.

    Contract: ``len(runs) + len(skipped) + len(missed) <= max_records``; every decided slot is in exactly
    one of runs / skipped / missed_count; ``next_fire_at`` is the trigger's next fire after the last decided
    slot (on the grid, never derived from ``now``), None (with ``enabled`` False) when there is none.
    A disabled or not-yet-due schedule gets a plan that changes nothing (``changes_nothing``).

    A slot is due at ``Timing.fire_at`` (its jitter delay added): until then the plan changes nothing, and
    lateness (misfire grace, catch-up flags) counts from there; run ids stay the nominal slot's. Excluded
    instants are no slots at all. ``max_runs`` caps the runs queued; the claim that reaches it (or finds it
    reached, run-nows included) ends the schedule. A stored cron the dialect now refuses pauses the schedule
    with the reason, rather than failing every sweep.

    ``run_waiting``: one of the schedule's active runs is queued and not started yet (``queue_one`` then
    queues nothing). The state does not say (a start writes only its run), so the claim looks it up.
    """
    if max_records < 1:
        raise ValueError("max_records must be >= 1")
    now = to_utc(now)
    state = schedule.state
    first = state.next_fire_at
    if not schedule.enabled or first is None or first > now:
        return ClaimPlan(next_fire_at=first, enabled=schedule.enabled, due=False)
    problem = refused_trigger(schedule)
    if problem is not None:
        return ClaimPlan(next_fire_at=None, enabled=False, pause_note=problem)
    used = state.total_run_count + state.active_run_count
    if schedule.max_runs is not None and used >= schedule.max_runs:
        return ClaimPlan(next_fire_at=None, enabled=False, pause_note=max_runs_note(schedule.max_runs))

    timing = timing_of(schedule)
    if not _in_window(schedule, first) or timing.excluded_by(first):
        # A stale next_fire_at outside the window (or excluded since) is no slot: re-seat on the next one.
        stale = first
        first = _fire_after(schedule, stale)
        if first is None or timing.fire_at(first) > now:
            note = _expired_note(schedule, stale) if first is None else None
            return ClaimPlan(next_fire_at=first, enabled=first is not None, pause_note=note)
    elif timing.fire_at(first) > now:  # inside its jitter delay
        return ClaimPlan(next_fire_at=first, enabled=True, due=False, due_at=timing.fire_at(first))

    fire = timing.fire_at
    remaining = MAX_CATCH_UP_PER_CLAIM if schedule.max_runs is None else schedule.max_runs - used
    cap = min(MAX_CATCH_UP_PER_CLAIM, max_records, remaining)
    slots, following = _scan(schedule, first, now, _runnable_in_order(schedule, now, fire), cap)
    truncated = following is not None and timing.fire_at(following) <= now
    verdict = _misfire(schedule, slots, truncated, now, cap, fire)
    queued, skipped, cancel_active = _overlap(schedule.overlap_policy, state, verdict.candidates, run_waiting)

    budget = min(MAX_MISSED_RECORDS, max_records - len(verdict.candidates))
    recorded = verdict.missed[-budget:] if budget > 0 else []

    consumed = verdict.consumed
    next_fire_at = slots[consumed] if consumed < len(slots) else following
    pause_note = _expired_note(schedule, slots[consumed - 1]) if next_fire_at is None else None
    if schedule.max_runs is not None and used + len(queued) >= schedule.max_runs:
        next_fire_at, pause_note = None, max_runs_note(schedule.max_runs)
    return ClaimPlan(
        runs=[_record(schedule, s, now, RunStatus.queued, None, fire) for s in queued],
        skipped=[_record(schedule, s, now, RunStatus.skipped, r, fire) for s, r in skipped],
        missed=[_record(schedule, s, now, RunStatus.missed, r, fire) for s, r in recorded],
        missed_count=len(verdict.missed),
        next_fire_at=next_fire_at,
        enabled=next_fire_at is not None,
        cancel_active=cancel_active,
        consumed_count=consumed,
        last_consumed_at=slots[consumed - 1],
        still_due=next_fire_at is not None and timing.fire_at(next_fire_at) <= now,
        pause_note=pause_note,
    )


def max_runs_note(max_runs: int) -> str:
    return f"ended after max_runs ({max_runs}) runs"


def remaining_runs(schedule: Schedule) -> int | None:
    """How many more runs ``max_runs`` allows (None: no limit). Finished and active runs count, whatever
    started them (slot, run-now, backfill); skipped and missed slots do not."""
    if schedule.max_runs is None:
        return None
    used = schedule.state.total_run_count + schedule.state.active_run_count
    return max(0, schedule.max_runs - used)


def refused_trigger(spec: ScheduleSpec) -> str | None:
    """The pause note for a stored cron the dialect now refuses (loaded leniently), else None."""
    for index, trigger in enumerate(spec.all_triggers):
        if isinstance(trigger, CronTrigger):
            problem = validate_cron(trigger.expr)
            if problem:
                where = "trigger" if index == 0 and not spec.triggers else f"triggers[{index}]"
                return (
                    f"paused: {where}.expr {trigger.expr!r} is no longer accepted ({problem}); "
                    "edit it to resume"
                )
    return None
