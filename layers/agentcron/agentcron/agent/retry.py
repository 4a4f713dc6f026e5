"""Retries with exponential backoff for model calls: throttling, 429 and 5xx are worth another try.

Providers raise :class:`ProviderError` with ``retryable`` set; :func:`call_with_retries` repeats such a call
after ``base_delay * 2**(n-1)`` seconds (capped at ``max_delay``, or the server's ``retry_after`` hint when it
gives one), at most ``attempts`` times in all. Sleeping and the clock are injected, so tests never wait.

A time budget (the wall time the caller can still afford, see ``ModelRequest.time_budget_seconds``) stops the
retries early: an attempt is started only when the wait before it plus ``attempt_seconds`` still fit. The
first attempt always runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from agentcron.agent.base import ProviderError

T = TypeVar("T")


class RetryableProviderError(ProviderError):
    """A retryable failure, optionally with the server's hint of how long to wait (``Retry-After``)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, retryable=True)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Backoff:
    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 20.0

    def delay(self, failed_attempts: int, hint: float | None = None) -> float:
        """Seconds to wait after ``failed_attempts`` failures (1, 2, ...); a server hint wins, capped."""
        if hint is not None and hint >= 0:
            return min(hint, self.max_delay)
        return min(self.max_delay, self.base_delay * 2 ** (failed_attempts - 1))


def call_with_retries(
    call: Callable[[], T],
    *,
    backoff: Backoff,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    budget_seconds: float | None = None,
    attempt_seconds: float = 0.0,
) -> T:
    """``call()`` until it returns or raises a non-retryable error; the last error says how often it ran."""
    started = clock()
    failures = 0
    while True:
        try:
            return call()
        except ProviderError as exc:
            if not exc.retryable:
                raise
            failures += 1
            wait = backoff.delay(failures, getattr(exc, "retry_after", None))
            out_of_time = budget_seconds is not None and (
                clock() - started + wait + attempt_seconds > budget_seconds
            )
            if failures >= backoff.attempts or out_of_time:
                tries = f"{failures} attempt{'s' if failures > 1 else ''}"
                why = "" if failures >= backoff.attempts else ", out of time"
                raise ProviderError(f"{exc} (gave up after {tries}{why})", retryable=True) from exc
            sleep(wait)
