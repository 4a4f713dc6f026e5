"""Benchmark 4: APScheduler 3 firing the same 1,000 jobs due at one instant, as a ratio to agentcron.

The usual in-process choice: a ``BackgroundScheduler`` with a ``SQLAlchemyJobStore`` on an SQLite file (the
durable job store) and a ``ThreadPoolExecutor`` (APScheduler's default of 10 threads). The jobs mirror the
throughput benchmark's schedules: hourly interval jobs whose first fire is the same instant a few seconds
ahead, running a trivial job (it echoes the task text, as the ``echo`` model does). Fire lag = the job's
start - its scheduled time; the time until the last job finished; jobs per second.

Two passes: ``misfire_grace_time=None`` (every job runs however late, as agentcron runs every claimed slot)
is the one compared; the second keeps APScheduler's default grace of 1 s and counts the jobs it skipped as
missed when the pool could not start them within a second.

Ratios divide APScheduler's figure by agentcron's from the throughput benchmark of the same ``make bench``
run (> 1: APScheduler took longer / lagged more / did more per second).
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import NOISY_MACHINE, distribution, progress, ratio
from bench.workload import HOURLY, TASK

NAME = "apscheduler"
FULL_JOBS = 1_000
QUICK_JOBS = 30
POOL_THREADS = 10  # APScheduler's ThreadPoolExecutor default
TIMEOUT_SECONDS = 600

_LOCK = threading.Lock()
_STARTS: dict[str, datetime] = {}
_ENDS: dict[str, datetime] = {}


def echo_job(job_id: str) -> str:
    """The trivial job: what the echo model does with the task (a short reply), timed."""
    started = datetime.now(UTC)
    reply = f"echo: {TASK}"
    with _LOCK:
        _STARTS[job_id] = started
        _ENDS[job_id] = datetime.now(UTC)
    return reply


def fire(jobs: int, *, grace: int | None, directory: Path) -> dict[str, Any]:
    """One pass: ``jobs`` interval jobs due at one instant; returns timings of the jobs that ran."""
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    with _LOCK:
        _STARTS.clear()
        _ENDS.clear()
    database = directory / f"jobs-{grace}.sqlite"
    outcomes: dict[str, int] = {"executed": 0, "missed": 0, "error": 0}
    finished = threading.Event()

    def listener(event: Any) -> None:
        kind = {EVENT_JOB_EXECUTED: "executed", EVENT_JOB_MISSED: "missed", EVENT_JOB_ERROR: "error"}[
            event.code
        ]
        with _LOCK:
            outcomes[kind] += 1
            if sum(outcomes.values()) >= jobs:
                finished.set()

    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{database}")},
        executors={"default": ThreadPoolExecutor(POOL_THREADS)},
        job_defaults={"misfire_grace_time": grace, "coalesce": True, "max_instances": 1},
        timezone=UTC,
    )
    scheduler.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED | EVENT_JOB_ERROR)
    lead = 1 + jobs / 150  # seconds to store the jobs before the instant they are due
    due_at = (datetime.now(UTC) + timedelta(seconds=lead + 1)).replace(microsecond=0)  # a whole second
    setup = time.perf_counter()
    scheduler.start(paused=True)
    for i in range(jobs):
        scheduler.add_job(
            echo_job,
            "interval",
            seconds=HOURLY,
            start_date=due_at,
            id=f"bench-{i:06d}",
            args=[f"bench-{i:06d}"],
            name="benchmark job",
        )
    scheduler.resume()
    setup_seconds = time.perf_counter() - setup
    late = (datetime.now(UTC) - due_at).total_seconds()
    if late > 0:
        scheduler.shutdown(wait=False)
        raise RuntimeError(f"storing {jobs} jobs took {setup_seconds:.1f}s, {late:.1f}s past the due instant")
    completed = finished.wait(timeout=lead + TIMEOUT_SECONDS)
    scheduler.shutdown(wait=True)
    with _LOCK:
        starts, ends = dict(_STARTS), dict(_ENDS)
    lags = [(at - due_at).total_seconds() * 1000 for at in starts.values()]
    last = max(ends.values()) if ends else None
    to_done = (last - due_at).total_seconds() if last else None
    return {
        "misfire_grace_time": grace,
        "completed": completed,
        "jobs": jobs,
        "executed": outcomes["executed"],
        "missed": outcomes["missed"],
        "errors": outcomes["error"],
        "seconds_to_store_jobs": round(setup_seconds, 2),
        "seconds_to_all_done": round(to_done, 3) if to_done is not None else None,
        "jobs_per_second": round(outcomes["executed"] / to_done, 1) if to_done else None,
        "fire_lag_ms": distribution(lags),
        "job_ms_median": round(
            statistics.median([(ends[k] - starts[k]).total_seconds() * 1000 for k in starts]), 3
        )
        if starts
        else None,
    }


def run(
    *,
    quick: bool = False,
    jobs: int | None = None,
    agentcron: dict[str, Any] | None = None,
    default_grace_pass: bool = True,
) -> dict[str, Any]:
    import logging

    import apscheduler
    import sqlalchemy

    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # one warning per missed job otherwise
    jobs = jobs or (QUICK_JOBS if quick else FULL_JOBS)
    with tempfile.TemporaryDirectory(prefix="agentcron-bench-") as tmp:
        progress(f"apscheduler: {jobs:,} jobs, SQLAlchemyJobStore on SQLite, {POOL_THREADS} threads")
        compared = fire(jobs, grace=None, directory=Path(tmp))
        progress(f"apscheduler: all done in {compared['seconds_to_all_done']}s")
        default = fire(jobs, grace=1, directory=Path(tmp)) if default_grace_pass else None
        if default:
            progress(
                f"apscheduler: with the default 1 s grace, {default['missed']} of {jobs} jobs were missed"
            )
    figures: dict[str, Any] = {"apscheduler": compared, "apscheduler_default_grace": default}
    figures["agentcron"] = _agentcron_figures(agentcron)
    a = figures["agentcron"] or {}
    lag = compared["fire_lag_ms"]
    figures["ratios_apscheduler_to_agentcron"] = {
        "seconds_to_all_done": ratio(compared["seconds_to_all_done"], a.get("seconds_to_all_terminal")),
        "fire_lag_p50": ratio(lag.get("p50"), (a.get("fire_lag_ms") or {}).get("p50")),
        "fire_lag_p99": ratio(lag.get("p99"), (a.get("fire_lag_ms") or {}).get("p99")),
        "runs_per_second": ratio(compared["jobs_per_second"], a.get("runs_per_second")),
    }
    same_size = bool(a) and a.get("runs") == jobs
    return {
        "name": NAME,
        "config": {
            "jobs": jobs,
            "pool_threads": POOL_THREADS,
            "job_store": "SQLAlchemyJobStore (SQLite file)",
            "scheduler": "BackgroundScheduler",
            "apscheduler": apscheduler.__version__,
            "sqlalchemy": sqlalchemy.__version__,
            "same_size_as_agentcron": same_size,
        },
        "figures": figures,
        "notes": [
            "Ratios are APScheduler / agentcron, both measured in this run: agentcron's figures are the "
            "throughput benchmark's (the local stack on moto; every run recorded in DynamoDB, its session in "
            "S3, its status transitions conditional), APScheduler's are in-process with an SQLite job store "
            "that persists only each job's next run time.",
            "With APScheduler's default misfire_grace_time (1 s), jobs the thread pool cannot start within a "
            "second of their time are skipped (EVENT_JOB_MISSED); apscheduler_default_grace counts them.",
            "Deployed, agentcron's executor runs as many Lambda invocations in parallel as its concurrency "
            "allows; locally it has a few worker threads sharing one process with moto.",
            NOISY_MACHINE,
        ]
        + (
            []
            if same_size
            else ["agentcron's figures are missing or from a different size: ratios are not comparable."]
        ),
    }


def _agentcron_figures(result: dict[str, Any] | None) -> dict[str, Any] | None:
    if not result:
        return None
    figures, config = result.get("figures") or {}, result.get("config") or {}
    return {
        "runs": config.get("runs"),
        "executor_workers": config.get("executor_workers"),
        "seconds_to_all_terminal": figures.get("seconds_to_all_terminal"),
        "runs_per_second": figures.get("runs_per_second"),
        "fire_lag_ms": figures.get("fire_lag_ms"),
    }
