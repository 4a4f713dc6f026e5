"""Timing: a trigger in its timezone, window and DST policy, and the next fire instant after a given one.

:class:`Timing` is the value every caller asks "next fire after t?"; the module's functions are its
implementation and the older keyword-argument form (``next_fire_after``, ``iter_fire_times``). Pure, no I/O.

Every instant in and out is aware UTC (a naive input is read as UTC) with whole seconds. A schedule's window
is ``start_at`` inclusive, ``end_at`` exclusive.

``interval`` (``anchor_at + k * every_seconds`` for k >= 0, no drift) and ``once`` are plain UTC arithmetic;
timezone and DST do not apply to them.

``daily``, ``weekly``, ``monthly`` and ``cron`` are wall-clock triggers, evaluated in two steps:

1. List the *wall-clock* slots (naive local datetimes) in order. The fixed kinds compute them directly; a
   cron uses croniter on naive datetimes, where a day always has 24 hours, so croniter's own timezone
   handling (which fires a fixed-hour slot twice on a fall-back day) never comes into play.
2. Map each slot to real instants with zoneinfo's ``fold``:

   - an unambiguous local time is one instant;
   - a repeated local time (fall back) has two instants: the ``DstPolicy.repeat`` setting keeps the
     ``first``, the ``last`` or ``both``;
   - a local time in a spring-forward gap has none: ``DstPolicy.gap`` ``shift`` fires at the first instant
     after the gap (several slots inside one gap collapse into that one instant), ``skip`` drops it.

   A cron whose hour field is a wildcard or a step (``0 * * * *``, ``*/15 */2 * * *``, ``@hourly``) means
   "every real instant whose local time matches": repeated local times fire at both instants, gap times do
   not exist and do not fire, whatever the policy says. Every other cron (fixed hour: a number, list or
   range) and the fixed kinds follow the policy.

Cron syntax and its rules are in :mod:`agentcron.domain.cron`.

No fixed horizon: the cron engine answers ``None`` only for an expression that never fires again (a past
year), however far away its next slot is; an expression that can never fire is refused when parsed.
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from agentcron.domain.cron import MACROS as CRON_MACROS
from agentcron.domain.cron import CronError, CronExpr, parse_cron, validate_cron
from agentcron.domain.exclusions import Exclusion
from agentcron.domain.policies import DstPolicy
from agentcron.domain.triggers import (
    CronTrigger,
    DailyTrigger,
    IntervalTrigger,
    MonthlyTrigger,
    OnceTrigger,
    Trigger,
    WeeklyTrigger,
)
from agentcron.domain.values import iso, to_utc

__all__ = [
    "CRON_MACROS",
    "MAX_EXCLUDED_IN_A_ROW",
    "MAX_JITTER_SECONDS",
    "Excluded",
    "Timing",
    "iter_fire_times",
    "jitter_offset",
    "next_fire_after",
    "upcoming",
    "validate_cron",
]

_DEFAULT_POLICY = DstPolicy()
_EPSILON = timedelta(microseconds=1)
_SECOND = timedelta(seconds=1)
_DAY = timedelta(days=1)
_MAX_OFFSET = timedelta(hours=26)  # beyond any UTC offset a zone has had


# --------------------------------------------------------------------------- wall-clock slots

WallSlots = Callable[[datetime], Iterator[datetime]]
"""Given a naive local datetime, the trigger's wall-clock slots strictly after it, in order."""


def _cron_slots(cron: CronExpr) -> WallSlots:
    return cron.iter_after


def _daily_slots(at: time, weekdays: frozenset[int] | None = None) -> WallSlots:
    def slots(start: datetime) -> Iterator[datetime]:
        day = start.date()
        if datetime.combine(day, at) <= start:
            day += _DAY
        while True:
            if weekdays is None or day.weekday() in weekdays:
                yield datetime.combine(day, at)
            day += _DAY

    return slots


def _monthly_slots(at: time, days: tuple[int, ...]) -> WallSlots:
    def slots(start: datetime) -> Iterator[datetime]:
        year, month = start.year, start.month
        while True:
            last = calendar.monthrange(year, month)[1]
            for day in days:
                if day > last:
                    break  # days are sorted; the 31st is skipped in a month without one
                slot = datetime(year, month, day, at.hour, at.minute, at.second)
                if slot > start:
                    yield slot
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    return slots


def _wall_slots(trigger: Any) -> tuple[WallSlots, bool]:
    """The slot generator and whether the trigger fires on every matching instant (ignores DST policy)."""
    if isinstance(trigger, CronTrigger):
        try:
            parsed = parse_cron(trigger.expr)
        except CronError as exc:
            raise ValueError(f"trigger.expr is not a valid cron expression: {exc}") from None
        return _cron_slots(parsed), parsed.every_instant
    at = time(trigger.hour, trigger.minute, trigger.second)
    if isinstance(trigger, DailyTrigger):
        return _daily_slots(at), False
    if isinstance(trigger, WeeklyTrigger):
        return _daily_slots(at, frozenset(day.index for day in trigger.weekdays)), False
    if isinstance(trigger, MonthlyTrigger):
        return _monthly_slots(at, tuple(sorted(set(trigger.days)))), False
    raise TypeError(f"not a trigger: {type(trigger).__name__}")


# --------------------------------------------------------------------------- local time -> instants


def _utc(naive: datetime) -> datetime:
    return naive.replace(tzinfo=UTC)


def _offset_at(zone: tzinfo, instant: datetime) -> timedelta:
    return instant.astimezone(zone).utcoffset()  # type: ignore[return-value]


def _transition(zone: tzinfo, before: datetime, after: datetime) -> datetime:
    """The instant in (before, after] where the zone's offset changes (tz data changes at whole seconds)."""
    offset_before = _offset_at(zone, before)
    low = before.replace(microsecond=0)
    high = after if not after.microsecond else after.replace(microsecond=0) + _SECOND
    while high - low > _SECOND:
        middle = (low + (high - low) / 2).replace(microsecond=0)
        if _offset_at(zone, middle) == offset_before:
            low = middle
        else:
            high = middle
    return high


def _instants(zone: tzinfo, wall: datetime, every_instant: bool, policy: DstPolicy) -> tuple[datetime, ...]:
    """The real instants a wall-clock slot fires at, in order (none, one or two)."""
    offset = wall.replace(tzinfo=zone).utcoffset()
    offset_fold = wall.replace(tzinfo=zone, fold=1).utcoffset()
    if offset == offset_fold:
        return (_utc(wall - offset),)
    if offset > offset_fold:  # repeated local time: fold 0 is the first pass
        first, last = _utc(wall - offset), _utc(wall - offset_fold)
        if every_instant or policy.repeat == "both":
            return (first, last)
        return (first,) if policy.repeat == "first" else (last,)
    # a gap: the instants a moment before and after it bracket the transition
    if every_instant or policy.gap == "skip":
        return ()
    return (_transition(zone, _utc(wall - offset_fold), _utc(wall - offset)),)


def _next_wall_clock(
    slots: WallSlots, every_instant: bool, zone: tzinfo, after: datetime, policy: DstPolicy
) -> datetime | None:
    """The first instant strictly after ``after`` at which the wall-clock slots fire.

    Slots after ``after``'s local time are mapped in order and the first one that fires wins: mapped
    instants only go backwards inside a repeated hour, and there only from a later slot's first pass to an
    earlier slot's second pass. That case is when ``after`` itself is in the first pass of a repeated hour:
    slots between the start of that hour and ``after``'s local time fire again in the second pass, so the
    earliest of them competes as well.
    """
    local = after.astimezone(zone)
    wall = local.replace(tzinfo=None)
    best: datetime | None = None
    if local.fold == 0 and (every_instant or policy.repeat != "first"):
        offset, offset_fold = local.utcoffset(), local.replace(fold=1).utcoffset()
        if offset_fold < offset:  # in the first pass of a repeated hour
            change = _transition(zone, after.replace(microsecond=0), after + (offset - offset_fold))
            repeat_start = change.replace(tzinfo=None) + offset_fold
            for slot in slots(repeat_start - _EPSILON):
                if slot <= wall:
                    best = _utc(slot - offset_fold)
                break
    for slot in slots(wall):
        if best is not None and _utc(slot) - _MAX_OFFSET > best:
            break  # no UTC offset is large enough for this slot to fire before ``best``
        fired = [instant for instant in _instants(zone, slot, every_instant, policy) if instant > after]
        if fired:
            return fired[0] if best is None else min(best, fired[0])
    return best


# --------------------------------------------------------------------------- public API


def _zone(timezone: str | tzinfo | None) -> tzinfo:
    if timezone is None:
        return UTC
    if isinstance(timezone, tzinfo):
        return timezone
    return ZoneInfo(timezone)


def next_fire_after(
    trigger: Any,
    after: datetime,
    *,
    timezone: str | tzinfo | None = None,
    start_at: datetime | None = None,
    end_at: datetime | None = None,
    dst_policy: DstPolicy | None = None,
) -> datetime | None:
    """The first fire instant strictly after ``after`` inside [start_at, end_at), or None when there is none.

    ``trigger`` is one of the models' trigger classes, ``timezone`` an IANA name (None: UTC) used by the
    wall-clock kinds only. An interval without ``anchor_at`` is anchored at ``after`` (whole seconds).
    """
    after = to_utc(after)
    anchor = after.replace(microsecond=0)  # an interval's default anchor: the caller's ``after``
    if start_at is not None:
        after = max(after, to_utc(start_at) - _EPSILON)
    end = to_utc(end_at) if end_at is not None else None
    if end is not None and after >= end:
        return None
    if isinstance(trigger, IntervalTrigger):
        anchor = trigger.anchor_at or anchor
        step = timedelta(seconds=trigger.every_seconds)
        fire = anchor + max(0, (after - anchor) // step + 1) * step
    elif isinstance(trigger, OnceTrigger):
        fire = trigger.at if trigger.at > after else None
    else:
        slots, every_instant = _wall_slots(trigger)
        fire = _next_wall_clock(slots, every_instant, _zone(timezone), after, dst_policy or _DEFAULT_POLICY)
    if fire is None or (end is not None and fire >= end):
        return None
    return fire


def iter_fire_times(
    trigger: Any,
    after: datetime,
    *,
    until: datetime | None = None,
    limit: int | None = None,
    timezone: str | tzinfo | None = None,
    start_at: datetime | None = None,
    end_at: datetime | None = None,
    dst_policy: DstPolicy | None = None,
) -> Iterator[datetime]:
    """Successive fire instants strictly after ``after``, up to and including ``until``, at most ``limit``.

    Without ``until``, ``limit`` or ``end_at`` a recurring trigger never ends: bound it. An interval
    without ``anchor_at`` is anchored once, at ``after``.
    """
    after = to_utc(after)
    if isinstance(trigger, IntervalTrigger) and trigger.anchor_at is None:
        trigger = trigger.model_copy(update={"anchor_at": after.replace(microsecond=0)})
    stop = to_utc(until) if until is not None else None
    count = 0
    while limit is None or count < limit:
        fire = next_fire_after(
            trigger, after, timezone=timezone, start_at=start_at, end_at=end_at, dst_policy=dst_policy
        )
        if fire is None or (stop is not None and fire > stop):
            return
        yield fire
        count += 1
        after = fire


def upcoming(trigger: Any, after: datetime, count: int, **kwargs: Any) -> list[datetime]:
    """The next ``count`` fire instants after ``after`` (fewer when the trigger or its window ends)."""
    return list(iter_fire_times(trigger, after, limit=count, **kwargs))


MAX_EXCLUDED_IN_A_ROW = 10_000
"""Consecutive excluded slots one search steps over before it answers "no next fire" (a bound on CPU: an
exclusion that covers everything must not spin). Date and date-range items, and cron items that cover whole
days, are stepped over a day or a range at a time and barely count."""

MAX_JITTER_SECONDS = 24 * 3600


def jitter_offset(key: str, slot: datetime, jitter_seconds: int) -> int:
    """The delay in seconds (0..jitter_seconds) of ``slot``: a hash of the key (the schedule id) and the
    slot, so every claimer, retry and preview computes the same one, and slots of one schedule spread."""
    if jitter_seconds <= 0:
        return 0
    digest = hashlib.sha256(f"{key}/{to_utc(slot).isoformat()}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % (jitter_seconds + 1)


@dataclass(frozen=True)
class Excluded:
    """A slot an exclusion left out: its instant and which item did it (``exclude[0] 2026-12-25``)."""

    at: datetime
    reason: str


@dataclass(frozen=True)
class Timing:
    """WHEN something fires: its triggers, its timezone (IANA; None is UTC), its window [start_at, end_at),
    its DST policy, the exclusions that leave slots out and the jitter that delays each slot. Every
    question about fire times goes through one of these.

    - ``more_triggers``: the slots are the union of every trigger's instants, one slot per distinct instant.
    - ``exclude``: a slot an item covers is no slot at all (never run, never missed).
    - ``jitter_seconds``/``jitter_key``: ``next_after`` answers nominal slots (run ids derive from them);
      :meth:`fire_at` is when a slot is due, ``slot + jitter_offset(key, slot)``.

    >>> timing = Timing(DailyTrigger(hour=9, minute=0), timezone="Europe/Berlin")
    >>> timing.next_after(datetime(2026, 1, 5, tzinfo=UTC))
    datetime.datetime(2026, 1, 5, 8, 0, tzinfo=datetime.timezone.utc)
    """

    trigger: Trigger
    timezone: str | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    dst_policy: DstPolicy = field(default_factory=DstPolicy)
    more_triggers: tuple[Trigger, ...] = ()
    exclude: tuple[Exclusion, ...] = ()
    jitter_seconds: int = 0
    jitter_key: str = ""

    @property
    def triggers(self) -> tuple[Trigger, ...]:
        return (self.trigger, *self.more_triggers)

    def next_after(self, after: datetime) -> datetime | None:
        """The first slot strictly after ``after`` inside the window and not excluded; None when none."""
        return self._next(after, None, [MAX_EXCLUDED_IN_A_ROW])

    def iter_after(
        self, after: datetime, *, until: datetime | None = None, limit: int | None = None
    ) -> Iterator[datetime]:
        """Successive slots strictly after ``after``, up to and including ``until``, at most ``limit``.

        An interval without ``anchor_at`` is anchored once, at ``after``."""
        timing = self._anchored(to_utc(after))
        stop = to_utc(until) if until is not None else None
        count = 0
        while limit is None or count < limit:
            fire = timing.next_after(after)
            if fire is None or (stop is not None and fire > stop):
                return
            yield fire
            count += 1
            after = fire

    def upcoming(self, after: datetime, count: int) -> list[datetime]:
        return list(self.iter_after(after, limit=count))

    def preview(self, after: datetime, count: int) -> tuple[list[datetime], list[Excluded]]:
        """The next ``count`` slots and the excluded slots met before the last of them (for a whole-day
        item, its first slot only, the reason saying until when). One budget of ``MAX_EXCLUDED_IN_A_ROW``
        skipped slots covers the whole preview, so its cost is bounded whatever ``count`` is."""
        timing = self._anchored(to_utc(after))
        fires: list[datetime] = []
        excluded: list[Excluded] = []
        budget = [MAX_EXCLUDED_IN_A_ROW]
        while len(fires) < count:
            fire = timing._next(after, excluded, budget)
            if fire is None:
                break
            fires.append(fire)
            after = fire
        return fires, excluded[: max(count, 1) * 10]

    def offset(self, slot: datetime) -> int:
        """The jitter delay of ``slot`` in seconds."""
        return jitter_offset(self.jitter_key, slot, self.jitter_seconds)

    def fire_at(self, slot: datetime) -> datetime:
        """When ``slot`` is due: the nominal instant plus its jitter delay."""
        return slot + timedelta(seconds=self.offset(slot)) if self.jitter_seconds else slot

    def excluded_by(self, slot: datetime) -> str | None:
        """Why ``slot`` is excluded (``exclude[0] 2026-12-25``), None when it is not."""
        if not self.exclude:
            return None
        local = to_utc(slot).astimezone(_zone(self.timezone)).replace(tzinfo=None)
        for index, item in enumerate(self.exclude):
            if item.covers(local):
                return item.describe(index)
        return None

    # ------------------------------------------------------------------ implementation

    def _nominal(self, after: datetime) -> datetime | None:
        window = self._window()
        fires = [next_fire_after(trigger, after, **window) for trigger in self.triggers]
        found = [fire for fire in fires if fire is not None]
        return min(found) if found else None

    def _next(self, after: datetime, report: list[Excluded] | None, budget: list[int]) -> datetime | None:
        """The next slot not excluded; each excluded one met spends one of ``budget`` (None when spent)."""
        after = to_utc(after)
        candidate = self._nominal(after)
        while candidate is not None and self.exclude:
            zone = _zone(self.timezone)
            local = candidate.astimezone(zone).replace(tzinfo=None)
            hit = next(((i, item) for i, item in enumerate(self.exclude) if item.covers(local)), None)
            if hit is None:
                break
            budget[0] -= 1
            if budget[0] < 0:
                return None
            index, item = hit
            resume = item.resume_at(local)
            reason = item.describe(index)
            if resume is not None:
                resume_at = resume.replace(tzinfo=zone).astimezone(UTC)
                if report is not None:
                    report.append(Excluded(candidate, f"{reason}: every slot until {iso(resume_at)}"))
                after = max(candidate, resume_at - _EPSILON)
            else:
                if report is not None:
                    report.append(Excluded(candidate, reason))
                after = candidate
            candidate = self._nominal(after)
        return candidate

    def _anchored(self, after: datetime) -> Timing:
        """This timing with unanchored intervals anchored at ``after`` (whole seconds)."""
        anchor = after.replace(microsecond=0)

        def fix(trigger: Trigger) -> Trigger:
            if isinstance(trigger, IntervalTrigger) and trigger.anchor_at is None:
                return trigger.model_copy(update={"anchor_at": anchor})
            return trigger

        if not any(isinstance(t, IntervalTrigger) and t.anchor_at is None for t in self.triggers):
            return self
        return replace(
            self, trigger=fix(self.trigger), more_triggers=tuple(fix(t) for t in self.more_triggers)
        )

    def _window(self) -> dict[str, Any]:
        return {
            "timezone": self.timezone,
            "start_at": self.start_at,
            "end_at": self.end_at,
            "dst_policy": self.dst_policy,
        }
