"""Values every domain module shares: UTC instants, their one text form, range checks, the model base."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

SCHEDULE_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
YEAR_SECONDS = 366 * 24 * 3600


def to_utc(value: datetime) -> datetime:
    """Aware UTC; a naive datetime is read as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def slot_time(value: datetime) -> datetime:
    """A fire time: aware UTC, whole seconds (so a slot always maps to the same run id)."""
    return to_utc(value).replace(microsecond=0)


def iso(value: datetime) -> str:
    """The one text form of an instant: ISO-8601 UTC with a ``Z`` (``2026-01-05T09:00:00Z``).

    Whole-second instants print without fractions; finer ones keep their microseconds.
    """
    return to_utc(value).isoformat().replace("+00:00", "Z")


def check_range(field: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ValueError(f"{field} must be between {low} and {high}")
    return value


class DomainModel(BaseModel):
    # Unknown fields are ignored so the seed system's JSON (workflow_target, ...) validates unchanged.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
