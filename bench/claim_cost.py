"""Benchmark 1: what one claim sweep reads and writes as the number of schedules grows, 100 of them due.

One in-process moto stack from template.yaml; the schedules table grows 1,000 -> 10,000 -> 100,000 (seeded
with BatchWriteItem, timed). Before each sweep, 100 fresh schedules are due at the same instant (the ones
claimed by the previous sweep fire again an hour later, so they are not due). The real
``agentcron.application.claim.sweep`` runs once per size with an :class:`~bench.meter.ApiMeter` on its clients: calls
per operation, items the service returned and evaluated (``Count``/``ScannedCount``, ``GetItem`` hits) and
request units.

moto as it comes answers an index query by walking every item of the table and snapshots whole tables before
each transaction for its rollback: costs of the fake, not of DynamoDB. ``serialize_moto_dynamodb`` (installed
here, as in the local stack) makes the query read the index entry's items and the transaction copy only the
items it updates (``agentcron.local.atomic``), so ``moto_sweep_seconds`` no longer grows with the table.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import NOISY_MACHINE, fake_aws_env, moto_peek, progress, ratio
from bench.meter import ApiMeter, PhaseStats
from bench.workload import schedule_items, seed

NAME = "claim"
NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
FULL_SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (200, 1_000)
FULL_DUE = 100
QUICK_DUE = 10


def run(
    *, quick: bool = False, sizes: tuple[int, ...] | None = None, due: int | None = None
) -> dict[str, Any]:
    fake_aws_env()
    import boto3
    from agentcron.application import Services
    from agentcron.application.claim import sweep
    from agentcron.local.atomic import serialize_moto_dynamodb
    from agentcron.local.resources import create_resources
    from moto import mock_aws

    sizes = sizes or (QUICK_SIZES if quick else FULL_SIZES)
    due = due or (QUICK_DUE if quick else FULL_DUE)
    undo_lock = serialize_moto_dynamodb()  # the shard sweeps run in parallel, as DynamoDB they must be atomic
    rows: list[dict[str, Any]] = []
    try:
        with mock_aws():
            dynamodb, sqs, s3 = (boto3.client(name) for name in ("dynamodb", "sqs", "s3"))
            resources = create_resources(dynamodb=dynamodb, sqs=sqs, s3=s3, prefix="bench")
            settings = resources.settings()
            peek, index_keys = moto_peek()
            meter = ApiMeter(peek=peek, index_keys=index_keys)
            meter.attach(dynamodb.meta.events)
            meter.attach(sqs.meta.events)
            services = Services.from_settings(settings, dynamodb=dynamodb, sqs=sqs, s3=s3)
            seeded = 0
            for size in sizes:
                with meter.pause():
                    added = size - seeded
                    seconds = seed(
                        dynamodb,
                        settings.schedules_table,
                        schedule_items(added, due, NOW, settings.due_shards, start=seeded),
                        total=added,
                        on_progress=progress,
                    )
                seeded = size
                progress(f"claim: {size:,} schedules ({added:,} seeded in {seconds:.1f}s); sweeping")
                with meter.phase(f"n{size}") as stats:
                    started = time.perf_counter()
                    report = sweep(services, NOW + timedelta(seconds=1))
                    sweep_seconds = time.perf_counter() - started
                check = (report.schedules_due, report.runs_queued, report.errors, report.conflicts)
                if check != (due, due, 0, 0) or stats.errors:
                    raise RuntimeError(
                        f"sweep at {size} schedules did not claim {due} cleanly: {report} "
                        f"{dict(stats.errors)}"
                    )
                rows.append(_row(size, due, added, seconds, sweep_seconds, stats, settings.due_shards))
                progress(
                    f"claim: {size:,} schedules -> {rows[-1]['items_read_per_sweep']} items read, "
                    f"{rows[-1]['api_calls_per_sweep']} calls"
                )
    finally:
        undo_lock()
    first, last = rows[0], rows[-1]
    return {
        "name": NAME,
        "config": {"sizes": list(sizes), "due_per_sweep": due, "due_shards": settings.due_shards},
        "figures": {
            "by_size": rows,
            "items_read_ratio_largest_to_smallest": ratio(
                last["items_read_per_sweep"], first["items_read_per_sweep"]
            ),
            "api_calls_ratio_largest_to_smallest": ratio(
                last["api_calls_per_sweep"], first["api_calls_per_sweep"]
            ),
            "read_units_ratio_largest_to_smallest": ratio(
                last["read_units_per_sweep"], first["read_units_per_sweep"]
            ),
            "schedules_ratio_largest_to_smallest": ratio(last["schedules"], first["schedules"]),
            "scans": sum(row["calls"].get("dynamodb.Scan", 0) for row in rows),
        },
        "notes": [
            "Counted with botocore event hooks on the sweep's DynamoDB and SQS clients; request units from "
            "item sizes looked up in moto's backend (see bench/units.py for the rules).",
            "moto's index queries and transactions are made to cost what they touch "
            "(agentcron.local.atomic, as in the local stack), so moto_sweep_seconds is the fake's cost of "
            "the sweep itself. The items read are the scheduler's cost.",
            NOISY_MACHINE,
        ],
    }


def _row(
    size: int, due: int, added: int, seed_seconds: float, sweep_seconds: float, stats: PhaseStats, shards: int
) -> dict[str, Any]:
    totals = stats.totals()
    return {
        "schedules": size,
        "due": due,
        "seeded": added,
        "seed_seconds": round(seed_seconds, 1),
        "moto_sweep_seconds": round(sweep_seconds, 2),
        "calls": dict(sorted(stats.calls.items())),
        "api_calls_per_sweep": totals["api_calls"],
        "dynamodb_calls_per_sweep": totals["dynamodb_calls"],
        "queries_per_sweep": stats.calls.get("dynamodb.Query", 0),
        "items_read_per_sweep": totals["dynamodb_items_read"],
        "items_read_by_operation": dict(sorted(stats.items_evaluated.items())),
        "read_units_per_sweep": totals["dynamodb_read_units"],
        "write_units_per_sweep": totals["dynamodb_write_units"],
        "per_claimed_run": {
            "api_calls": round(totals["api_calls"] / due, 3),
            "dynamodb_calls": round(totals["dynamodb_calls"] / due, 3),
            "items_read": round(totals["dynamodb_items_read"] / due, 3),
            "read_units": round(totals["dynamodb_read_units"] / due, 3),
            "write_units": round(totals["dynamodb_write_units"] / due, 3),
            "sqs_billed_requests": round(totals["sqs_billed_requests"] / due, 3),
        },
        "fixed_queries": 2 * shards,
    }
