"""Values every domain module shares: UTC instants, their one text form, range checks, the model base."""

import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

SCHEDULE_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
YEAR_SECONDS = 366 * 24 * 3600


# Whitespace as JSON Schema patterns (ECMAScript's \s) see it: a "blank" text here is blank in the OpenAPI
# document too, so a pattern there and a validator here agree on every string.
JSON_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
NOT_BLANK_PATTERN = "[^" + "".join(f"\\u{ord(c):04x}" for c in JSON_WHITESPACE) + "]"


def strip_blank(text: str) -> str:
    return text.strip(JSON_WHITESPACE)


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


# Instants a schedule may name: far enough from datetime's year 9999 that a hundred upcoming fires (the most
# an API call lists) of any accepted trigger still compute.
MIN_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
MAX_INSTANT = datetime(9000, 1, 1, tzinfo=UTC)


def check_instant(field: str, value: datetime) -> datetime:
    """``value`` as aware UTC, or ValueError naming ``field`` outside [MIN_INSTANT, MAX_INSTANT)."""
    problem = f"{field} must be between {iso(MIN_INSTANT)} and {iso(MAX_INSTANT)} (exclusive)"
    try:
        value = to_utc(value)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is in year 0 in UTC
        raise ValueError(problem) from None
    if not MIN_INSTANT <= value < MAX_INSTANT:
        raise ValueError(problem)
    return value


def check_range(field: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ValueError(f"{field} must be between {low} and {high}")
    return value


def new_list() -> list[Any]:
    """An empty list: the ``default_factory`` of list fields. Pydantic reads a factory's signature when it
    builds a model, and the builtin ``list``'s costs a tokenizer compile (milliseconds of every cold start)."""
    return []


class DomainModel(BaseModel):
    # Unknown fields are ignored so the seed system's JSON (workflow_target, ...) validates unchanged.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
