"""Policies: what a claim does with late slots (misfire), with overlapping runs, with DST, with lost runs."""

from enum import StrEnum
from typing import Annotated, Literal, Union

from pydantic import Field, field_validator

from agentcron.domain.values import YEAR_SECONDS, DomainModel, check_range

class RunOncePolicy(DomainModel):
    """Coalesce every due slot into one run for the most recent slot; the others are recorded missed."""

    type: Literal["run_once"] = "run_once"


class SkipPolicy(DomainModel):
    """Run a slot only within ``grace_seconds`` of it; later slots are recorded missed."""

    type: Literal["skip"] = "skip"
    grace_seconds: int = 60

    @field_validator("grace_seconds")
    @classmethod
    def _grace(cls, v: int) -> int:
        return check_range("misfire_policy.grace_seconds", v, 0, YEAR_SECONDS)


class CatchUpAllPolicy(DomainModel):
    """Run every missed slot in order (at most ``MAX_CATCH_UP_PER_CLAIM`` per claim, the rest stay due)."""

    type: Literal["catch_up_all"] = "catch_up_all"


class CatchUpWindowPolicy(DomainModel):
    """Run the newest ``max_catch_up_runs`` slots not older than ``max_lateness_seconds``; the rest are missed."""

    type: Literal["catch_up_window"] = "catch_up_window"
    max_catch_up_runs: int = 1
    max_lateness_seconds: int = 3600

    @field_validator("max_catch_up_runs")
    @classmethod
    def _runs(cls, v: int) -> int:
        return check_range("misfire_policy.max_catch_up_runs", v, 1, 100_000)

    @field_validator("max_lateness_seconds")
    @classmethod
    def _lateness(cls, v: int) -> int:
        return check_range("misfire_policy.max_lateness_seconds", v, 0, YEAR_SECONDS)


MISFIRE_TYPES = ("run_once", "skip", "catch_up_all", "catch_up_window")
MisfirePolicy = Annotated[
    Union[RunOncePolicy, SkipPolicy, CatchUpAllPolicy, CatchUpWindowPolicy],
    Field(discriminator="type"),
]


class OverlapPolicy(StrEnum):
    allow = "allow"  # never blocks; runs of one schedule may run in parallel
    skip = "skip"  # a slot that finds a run active is recorded `skipped`
    queue_one = "queue_one"  # at most one run waits behind the active one; further slots are `skipped`
    cancel_other = "cancel_other"  # the active run is asked to cancel; the new one queues behind it
    queue_all = "queue_all"  # every slot queues behind the active run, in order (Temporal's buffer_all)


class DstPolicy(DomainModel):
    """What wall-clock triggers do on DST transitions.

    gap: a slot whose local time does not exist (spring forward) fires at the first instant after the gap
    (``shift``) or not at all (``skip``). repeat: a slot whose local time happens twice (fall back) fires at
    its ``first`` occurrence, its ``last``, or ``both``. Crons with a wildcard or step hour field fire on every
    real instant that matches, whatever this says.
    """

    gap: Literal["shift", "skip"] = "shift"
    repeat: Literal["first", "last", "both"] = "first"


class RetryPolicy(DomainModel):
    """How many times a run whose executor vanished (lease expired) is attempted before it is ``timed_out``."""

    max_attempts: int = 1

    @field_validator("max_attempts")
    @classmethod
    def _attempts(cls, v: int) -> int:
        return check_range("retry_policy.max_attempts", v, 1, 10)

