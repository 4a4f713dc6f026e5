"""``current_time``: the current instant in UTC and in a requested IANA timezone (from the injected clock)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field

from agentcron.agent.tools.base import Tool, as_text
from agentcron.clock import utcnow
from agentcron.models import to_utc


class CurrentTimeArguments(BaseModel):
    timezone: str | None = Field(
        default=None, description="IANA timezone such as 'Europe/Paris'; omitted: UTC only"
    )


class CurrentTime(Tool):
    name = "current_time"
    description = "The current date and time in UTC and, if asked, in an IANA timezone, with the weekday."
    Arguments = CurrentTimeArguments

    def __init__(self, now: Callable[[], datetime] = utcnow) -> None:
        self.now = now

    def run(self, arguments: CurrentTimeArguments, call: Any) -> str:
        now = to_utc(self.now())
        out: dict[str, Any] = {
            "utc": now.isoformat().replace("+00:00", "Z"),
            "weekday_utc": now.strftime("%A"),
        }
        if arguments.timezone:
            try:
                local = now.astimezone(ZoneInfo(arguments.timezone.strip()))
            except (ZoneInfoNotFoundError, ValueError):
                return f"error: timezone is not a valid IANA timezone: {arguments.timezone}"
            out.update(
                timezone=arguments.timezone.strip(), local=local.isoformat(), weekday=local.strftime("%A")
            )
        return as_text(out)
