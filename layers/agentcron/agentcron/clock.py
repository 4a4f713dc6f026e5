"""The wall clock: the production source of "now". Only entry points and wiring read it; everything else
takes ``now`` (or a clock) as an argument, so tests never wait for time to pass."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
