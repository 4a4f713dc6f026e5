"""Exclusions: the local dates, date ranges and cron-described instants on which a schedule does not fire.

A schedule's ``exclude`` is a list of these items, each exactly one of:

- ``{"date": "2026-12-25"}``: every slot on that local date;
- ``{"start_date": "2026-12-24", "end_date": "2026-12-31"}``: every slot from the first to the last date,
  both inclusive;
- ``{"cron": "* * 25 12 *"}``: every slot whose local time the expression matches. A 5-field expression
  (or a macro) names minutes, so a slot matches when its time *without the seconds* matches
  (``0 9 * * *`` excludes 09:00:30 too); a 6- or 7-field expression must match to the second.

with an optional ``name`` (``"Christmas"``) that previews and upcoming lists repeat when they say why a
slot was left out. Dates and times are the schedule's local ones (its ``timezone``, UTC by default), for
every trigger kind. Pure values: the skipping itself is :class:`agentcron.domain.timing.Timing`'s.
"""

import datetime as dt
from datetime import datetime, time, timedelta
from typing import Any

from pydantic import Field, field_validator, model_validator

from agentcron.domain.cron import CronError, CronExpr, parse_cron
from agentcron.domain.values import DomainModel

MAX_EXCLUSIONS = 100
MAX_RANGE_DAYS = 3660  # ten years: a longer range is a schedule's window (start_at/end_at), not a holiday
_DAY = timedelta(days=1)


class Exclusion(DomainModel):
    """One excluded local date, date range, or cron-described set of instants (exactly one of them)."""

    date: dt.date | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    cron: str | None = None
    name: str | None = Field(default=None, max_length=200)

    @field_validator("cron")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = " ".join(v.split())
        try:
            parse_cron(v)
        except CronError as exc:
            raise ValueError(f"exclude cron is not a valid cron expression: {exc}") from None
        return v

    @model_validator(mode="after")
    def _one_form(self) -> "Exclusion":
        forms = [
            self.date is not None,
            self.start_date is not None or self.end_date is not None,
            bool(self.cron),
        ]
        if sum(forms) != 1:
            raise ValueError("an exclude item is exactly one of: date, start_date with end_date, cron")
        if forms[1]:
            if self.start_date is None or self.end_date is None:
                raise ValueError("an exclude range needs both start_date and end_date")
            if self.end_date < self.start_date:
                raise ValueError("an exclude range's end_date must not be before its start_date")
            if (self.end_date - self.start_date).days >= MAX_RANGE_DAYS:
                raise ValueError(f"an exclude range spans at most {MAX_RANGE_DAYS} days")
        return self

    @property
    def _expr(self) -> CronExpr:
        assert self.cron is not None
        return parse_cron(self.cron)

    def covers(self, local: datetime) -> bool:
        """Whether the naive local time ``local`` (whole seconds) is excluded by this item."""
        day = local.date()
        if self.date is not None:
            return day == self.date
        if self.start_date is not None and self.end_date is not None:
            return self.start_date <= day <= self.end_date
        expr = self._expr
        return expr.matches(local.replace(second=0) if expr.minute_resolution else local)

    def resume_at(self, local: datetime) -> datetime | None:
        """For a covered ``local``: the naive local midnight after the covered days, when this item covers
        whole days (every slot before it is excluded too); None when only instants are covered."""
        if self.date is not None:
            return datetime.combine(self.date + _DAY, time())
        if self.end_date is not None:
            return datetime.combine(self.end_date + _DAY, time())
        if self._expr.whole_days:
            return datetime.combine(local.date() + _DAY, time())
        return None

    def describe(self, index: int) -> str:
        """``exclude[2] 2026-12-25 (Christmas)``: which item left a slot out."""
        if self.date is not None:
            what = self.date.isoformat()
        elif self.start_date is not None:
            what = f"{self.start_date.isoformat()}..{self.end_date.isoformat()}"  # type: ignore[union-attr]
        else:
            what = f"cron {self.cron}"
        return f"exclude[{index}] {what}" + (f" ({self.name})" if self.name else "")


def check_exclusions(items: list[Any] | None) -> None:
    if items is not None and len(items) > MAX_EXCLUSIONS:
        raise ValueError(f"exclude holds at most {MAX_EXCLUSIONS} items")
