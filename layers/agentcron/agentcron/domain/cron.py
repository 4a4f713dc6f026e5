"""The cron dialect: parse an expression once, then ask for the next matching wall-clock time.

Works on naive local datetimes (a day always has 24 hours here); mapping them to real instants across DST
is :mod:`agentcron.domain.timing`'s job. Syntax: 5 fields ``m h dom mon dow``; 6 fields seconds first
``s m h dom mon dow``; 7 fields seconds first with a trailing year; the macros
``@hourly @daily @midnight @weekly @monthly @yearly @annually``. Day-of-month and day-of-week combine with
OR when both are restricted (classic cron). Hashed and random values (``H``, ``R``) are refused: they would
make a slot, and so a run id, depend on something other than the expression.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from croniter import CroniterBadDateError, croniter

HORIZON = timedelta(days=5 * 366)
"""How far past the starting time a search goes before answering None."""

CRON_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_PROBE_START = datetime(2000, 1, 1)


class CronError(ValueError):
    """An expression this dialect refuses; the message says why."""


@dataclass(frozen=True)
class CronExpr:
    """A parsed cron expression. ``every_instant``: the hour field is a wildcard or a step, so the engine
    fires on every real instant whose local time matches (DST repeats fire twice, gap times never)."""

    expr: str
    every_instant: bool
    prototype: croniter  # copied per search, never advanced

    def next_after(self, naive: datetime) -> datetime | None:
        """The first matching wall-clock time strictly after ``naive``, None when there is none."""
        return next(self.iter_after(naive), None)

    def iter_after(self, naive: datetime) -> Iterator[datetime]:
        cursor = copy.copy(self.prototype)
        if self.prototype.nth_weekday_of_month:  # croniter updates these sets while it searches
            cursor.nth_weekday_of_month = {k: set(v) for k, v in self.prototype.nth_weekday_of_month.items()}
        cursor.set_current(naive, force=True)
        while True:
            try:
                yield cursor.get_next(datetime)
            except CroniterBadDateError:
                return


@lru_cache(maxsize=2048)
def parse_cron(expr: str) -> CronExpr:
    """The parsed expression (cached: specs validate on every load); ``CronError`` with the reason."""
    text = " ".join(expr.split())
    if not text:
        raise CronError("the expression is empty")
    if text.startswith("@"):
        macro = CRON_MACROS.get(text.lower())
        if macro is None:
            raise CronError(f"unknown macro {text!r}, expected one of {', '.join(CRON_MACROS)}")
        text = macro
    fields = text.split(" ")
    if len(fields) not in (5, 6, 7):
        raise CronError(f"expected 5, 6 or 7 fields (or a macro such as @daily), got {len(fields)}")
    for field in fields:
        if any(token[:1] in ("h", "r") for token in field.lower().split(",")):
            raise CronError(f"hashed or random values (H, R) are not supported: {field!r}")
    try:
        prototype = croniter(
            text,
            _PROBE_START,
            ret_type=datetime,
            second_at_beginning=True,
            max_years_between_matches=HORIZON.days // 365 + 1,
        )
        parsed = CronExpr(text, _every_instant(fields), prototype)
        parsed.next_after(_PROBE_START)  # some faults only show when evaluated
    except CroniterBadDateError:
        pass  # no slot within the horizon of the probe: valid, just rare or over
    except (ValueError, TypeError, KeyError, IndexError) as exc:  # croniter's errors are ValueErrors
        raise CronError(str(exc) or type(exc).__name__) from None
    return CronExpr(text, _every_instant(fields), prototype)


def _every_instant(fields: list[str]) -> bool:
    hour_field = fields[1] if len(fields) == 5 else fields[2]
    return "*" in hour_field or "/" in hour_field


def validate_cron(expr: str) -> str | None:
    """None when ``expr`` is a cron expression we accept, else a short reason why not."""
    try:
        parse_cron(expr)
    except CronError as exc:
        return str(exc)
    return None
