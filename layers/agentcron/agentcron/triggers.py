"""Trigger math (kept at this path for callers of ``agentcron.triggers.next_fire_after``).

It lives in :mod:`agentcron.domain.timing`; cron parsing in :mod:`agentcron.domain.cron`.
"""

from agentcron.domain.timing import (
    CRON_MACROS,
    Timing,
    iter_fire_times,
    next_fire_after,
    upcoming,
    validate_cron,
)

__all__ = ["CRON_MACROS", "Timing", "iter_fire_times", "next_fire_after", "upcoming", "validate_cron"]
