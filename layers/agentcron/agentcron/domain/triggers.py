"""Triggers: WHEN a schedule fires, as small validated values (the math is in :mod:`.timing`)."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Union

from pydantic import Field, ValidationInfo, field_validator

from agentcron.domain.values import YEAR_SECONDS, DomainModel, check_instant, check_range, slot_time

MAX_EVERY_SECONDS = 5 * YEAR_SECONDS  # a hundred steps from the latest instant stay inside datetime

class Weekday(StrEnum):
    mon = "mon"
    tue = "tue"
    wed = "wed"
    thu = "thu"
    fri = "fri"
    sat = "sat"
    sun = "sun"

    @property
    def index(self) -> int:
        """Monday is 0, as ``datetime.weekday()``."""
        return list(Weekday).index(self)


class _TimeOfDay(DomainModel):
    hour: int
    minute: int
    second: int = 0

    @field_validator("hour")
    @classmethod
    def _hour(cls, v: int) -> int:
        return check_range("trigger.hour", v, 0, 23)

    @field_validator("minute")
    @classmethod
    def _minute(cls, v: int) -> int:
        return check_range("trigger.minute", v, 0, 59)

    @field_validator("second")
    @classmethod
    def _second(cls, v: int) -> int:
        return check_range("trigger.second", v, 0, 59)


class IntervalTrigger(DomainModel):
    """Every ``every_seconds`` on the grid ``anchor_at + k * every_seconds`` (anchor defaults to creation)."""

    type: Literal["interval"] = "interval"
    every_seconds: int
    anchor_at: datetime | None = None

    @field_validator("every_seconds")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v <= 0:
            raise ValueError("trigger.every_seconds must be > 0")
        if v > MAX_EVERY_SECONDS:
            raise ValueError(f"trigger.every_seconds must be at most {MAX_EVERY_SECONDS} (5 years)")
        return v

    @field_validator("anchor_at")
    @classmethod
    def _anchor(cls, v: datetime | None) -> datetime | None:
        return None if v is None else slot_time(check_instant("trigger.anchor_at", v))


class OnceTrigger(DomainModel):
    """A single fire at ``at``."""

    type: Literal["once"] = "once"
    at: datetime

    @field_validator("at")
    @classmethod
    def _at(cls, v: datetime) -> datetime:
        return slot_time(check_instant("trigger.at", v))


class DailyTrigger(_TimeOfDay):
    type: Literal["daily"] = "daily"


class WeeklyTrigger(_TimeOfDay):
    type: Literal["weekly"] = "weekly"
    weekdays: list[Weekday]

    @field_validator("weekdays", mode="before")
    @classmethod
    def _weekdays(cls, v: Any) -> Any:
        """Names are matched exactly (``mon`` .. ``sun``): ``monkey`` is no Monday. Repeats collapse."""
        if isinstance(v, list):
            if not v:
                raise ValueError("trigger.weekdays must not be empty")
            bad = [d for d in v if not (isinstance(d, str) and d in Weekday.__members__)]
            if bad:
                raise ValueError(f"trigger.weekdays must be among {', '.join(Weekday)}, got {bad[0]!r}")
            return sorted(set(v), key=lambda d: Weekday(d).index)
        return v


class MonthlyTrigger(_TimeOfDay):
    """On each listed day of the month; a day a month lacks (31 in April) is skipped in that month."""

    type: Literal["monthly"] = "monthly"
    days: list[int]

    @field_validator("days")
    @classmethod
    def _days(cls, v: list[int]) -> list[int]:
        if not v:
            raise ValueError("trigger.days must not be empty")
        for day in v:
            check_range("trigger.days", day, 1, 31)
        return sorted(set(v))


class CronTrigger(DomainModel):
    """A cron expression in the schedule's timezone: 5 fields, 6 (seconds first), 7 (with year) or a macro."""

    type: Literal["cron"] = "cron"
    expr: str

    @field_validator("expr")
    @classmethod
    def _expr(cls, v: str, info: ValidationInfo) -> str:
        v = " ".join(v.split())
        if not v:
            raise ValueError("trigger.expr is required")
        from agentcron.domain.cron import validate_cron  # local: keeps croniter off the import path

        problem = validate_cron(v)
        if problem and (info.context or {}).get("stored"):
            # Lenient load: a schedule stored under an older, laxer dialect still reads, lists and deletes;
            # its claim pauses it with the reason (planner), and any edit must fix the expression.
            return v
        if problem:
            raise ValueError(f"trigger.expr is not a valid cron expression: {problem}")
        return v


TRIGGER_TYPES = ("interval", "once", "daily", "weekly", "monthly", "cron")
Trigger = Annotated[
    Union[IntervalTrigger, OnceTrigger, DailyTrigger, WeeklyTrigger, MonthlyTrigger, CronTrigger],
    Field(discriminator="type"),
]
WALL_CLOCK_TRIGGERS = (DailyTrigger, WeeklyTrigger, MonthlyTrigger, CronTrigger)
