"""Trigger math: the next fire instant after a given instant. Pure functions, no I/O.

(Placeholder: interval and once only; the wall-clock kinds land with the trigger engine.)
"""

from __future__ import annotations

from datetime import datetime, timedelta

from agentcron.models import DstPolicy, IntervalTrigger, OnceTrigger, to_utc


def validate_cron(expr: str) -> str | None:
    """None when ``expr`` is a cron expression we accept, else the reason it is not."""
    return None


def next_fire_after(trigger, after: datetime, *, timezone=None, start_at=None, end_at=None,
                    dst_policy: DstPolicy | None = None) -> datetime | None:
    after = to_utc(after)
    if start_at is not None and after < start_at:
        after = start_at - timedelta(microseconds=1)
    if isinstance(trigger, IntervalTrigger):
        anchor = trigger.anchor_at or after
        step = trigger.every_seconds
        elapsed = (after - anchor).total_seconds()
        k = int(elapsed // step) + 1 if elapsed >= 0 else 0
        nxt = anchor + timedelta(seconds=k * step)
    elif isinstance(trigger, OnceTrigger):
        nxt = trigger.at if trigger.at > after else None
    else:
        raise NotImplementedError
    if nxt is not None and end_at is not None and nxt >= end_at:
        return None
    return nxt
