"""Retries with exponential backoff: what is retried, how long it waits, when it gives up."""

from __future__ import annotations

import pytest

from agentcron.agent.base import ProviderError
from agentcron.agent.retry import Backoff, RetryableProviderError, call_with_retries


class Script:
    """Raises the scripted errors in order, then returns "ok"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors, self.calls = list(errors), 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


class FakeTime:
    def __init__(self) -> None:
        self.now, self.slept = 0.0, []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def test_retryable_errors_back_off_exponentially_then_succeed() -> None:
    time, call = FakeTime(), Script(*(RetryableProviderError("busy") for _ in range(3)))
    result = call_with_retries(call, backoff=Backoff(attempts=4, base_delay=1, max_delay=3), sleep=time.sleep)
    assert result == "ok"
    assert call.calls == 4
    assert time.slept == [1, 2, 3]  # 1, 2, 4 capped at 3


def test_a_retry_after_hint_wins_but_is_capped() -> None:
    time = FakeTime()
    call = Script(
        RetryableProviderError("slow down", retry_after=7), RetryableProviderError("again", retry_after=99)
    )
    call_with_retries(call, backoff=Backoff(max_delay=20), sleep=time.sleep)
    assert time.slept == [7, 20]


def test_non_retryable_errors_are_raised_at_once() -> None:
    time, call = FakeTime(), Script(ProviderError("bad request"))
    with pytest.raises(ProviderError, match="^bad request$"):
        call_with_retries(call, backoff=Backoff(), sleep=time.sleep)
    assert (call.calls, time.slept) == (1, [])


def test_giving_up_says_how_often_it_tried() -> None:
    time, call = FakeTime(), Script(*(RetryableProviderError("HTTP 500") for _ in range(5)))
    with pytest.raises(ProviderError) as info:
        call_with_retries(call, backoff=Backoff(attempts=3), sleep=time.sleep)
    assert str(info.value) == "HTTP 500 (gave up after 3 attempts)"
    assert info.value.retryable is True
    assert call.calls == 3


def test_no_attempt_is_started_that_the_time_budget_cannot_fit() -> None:
    time = FakeTime()
    call = Script(*(RetryableProviderError("throttled") for _ in range(5)))
    with pytest.raises(ProviderError) as info:
        call_with_retries(
            call,
            backoff=Backoff(attempts=5, base_delay=1),
            sleep=time.sleep,
            clock=time.clock,
            budget_seconds=20,
            attempt_seconds=12,
        )
    # elapsed + wait + attempt: 0 + 1 + 12, 1 + 2 + 12, 3 + 4 + 12 fit in 20 s; 7 + 8 + 12 does not
    assert call.calls == 4
    assert time.slept == [1, 2, 4]
    assert str(info.value) == "throttled (gave up after 4 attempts, out of time)"
