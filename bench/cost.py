"""Benchmark 5: AWS requests, capacity units and dollars per run (claim + execute; the model call excluded).

Everything is counted, not assumed. In-process moto with the template's resources; an
:class:`~bench.meter.ApiMeter` on boto3's default session counts every call of the real handlers
(``functions/claim/app.py``, ``functions/executor/app.py``) and of the loop that stands in for the SQS event
source (receive, delete), and sizes every DynamoDB item read or written (request units by the rules in
:mod:`bench.units`). ``RUNS`` schedules are due at once:

1. ``claim_busy``: one claim invocation, as EventBridge Scheduler starts it, with the template's settings: its
   first sweep claims the due runs, the later sweeps find nothing. The invocation's clock skips its sleeps
   (the handler's ``time`` and ``utcnow`` are replaced by a clock that advances instantly when it sleeps),
   so its billed duration is measured without waiting a minute.
2. ``execute``: batches of up to 10 messages received and handed to the executor handler (the ``echo``
   model), deleted when they succeed; each invocation timed.
3. ``claim_idle``: the same claim invocation with nothing due: the fixed cost of the claim loop, paid every
   minute whatever runs.

Per run = (claim_busy - claim_idle + execute) / RUNS. Handler stdout (Powertools JSON logs and EMF
metrics, at the template's log level) is captured to price CloudWatch Logs ingestion. Durations are this
machine's, with moto answering in microseconds instead of DynamoDB's and S3's milliseconds.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from bench import prices
from bench.common import (
    NOISY_MACHINE,
    fake_aws_env,
    function_config,
    moto_peek,
    progress,
    template_parameter,
)
from bench.meter import ApiMeter, PhaseStats
from bench.workload import schedule_items, seed

NAME = "cost"
FULL_RUNS = 100
QUICK_RUNS = 10
SQS_BATCH = 10


class SkipClock:
    """Real time plus every sleep taken so far: a loop that sleeps finishes at once, its timings intact."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.skipped

    def sleep(self, seconds: float) -> None:
        self.skipped += max(0.0, seconds)

    def utcnow(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.skipped)


@contextmanager
def captured_stdout() -> Iterator[list[int]]:
    """Redirect file descriptor 1 to a temporary file; yields ``[bytes written]`` (filled in on exit)."""
    sys.stdout.flush()
    written = [0]
    with tempfile.TemporaryFile() as sink:
        saved = os.dup(1)
        os.dup2(sink.fileno(), 1)
        try:
            yield written
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
            written[0] = sink.seek(0, os.SEEK_END)


@dataclass
class Invocation:
    seconds: float
    log_bytes: int
    records: int = 0


def run(*, quick: bool = False, runs: int | None = None) -> dict[str, Any]:
    fake_aws_env()
    import boto3
    from moto import mock_aws

    runs = runs or (QUICK_RUNS if quick else FULL_RUNS)
    peek, index_keys = moto_peek()
    meter = ApiMeter(peek=peek, index_keys=index_keys)
    from agentcron.local.atomic import serialize_moto_dynamodb

    undo_lock = serialize_moto_dynamodb()
    try:
        with mock_aws():
            # Inside the mock: moto swaps boto3's default session out while it is active.
            boto3.setup_default_session()
            meter.attach(boto3.DEFAULT_SESSION.events)  # the handlers' clients are made from this session
            measured = _measure(meter, runs)
    finally:
        undo_lock()
    return _model(meter, runs, **measured)


def _measure(meter: ApiMeter, runs: int) -> dict[str, Any]:
    import boto3
    from agentcron.local.handlers import LambdaContext, load_handler
    from agentcron.local.loops import scheduler_event, sqs_event
    from agentcron.local.resources import RUN_QUEUE, create_resources
    from agentcron.store.codec import run_from_item

    with meter.pause():
        dynamodb, sqs, s3 = (boto3.client(name) for name in ("dynamodb", "sqs", "s3"))
        resources = create_resources(dynamodb=dynamodb, sqs=sqs, s3=s3, prefix="cost")
        settings = resources.settings()
        due_at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
        seed(
            dynamodb,
            settings.schedules_table,
            schedule_items(runs, runs, due_at, settings.due_shards),
            total=runs,
        )
    os.environ.update(resources.environment())
    os.environ["LOG_LEVEL"] = str(template_parameter("LogLevel", "INFO"))
    os.environ.pop("POWERTOOLS_METRICS_DISABLED", None)
    claim, executor = load_handler("claim"), load_handler("executor")

    def invoke_claim() -> Invocation:
        clock = SkipClock()
        claim.time = SimpleNamespace(monotonic=clock.monotonic, sleep=clock.sleep)  # type: ignore[attr-defined]
        claim.utcnow = clock.utcnow  # type: ignore[attr-defined]
        context = LambdaContext(
            "ClaimFunction", function_config("ClaimFunction").timeout_seconds, clock.monotonic
        )
        started = clock.monotonic()
        with captured_stdout() as written:
            summary = claim.lambda_handler(scheduler_event(), context)
        seconds = clock.monotonic() - started
        if summary.get("errors"):
            raise RuntimeError(f"claim invocation reported errors: {summary}")
        return Invocation(seconds, written[0], summary.get("runs_queued", 0))

    progress(f"cost: claim invocation with {runs} runs due")
    with meter.phase("claim_busy"):
        busy = invoke_claim()
    progress(f"cost: executing {runs} runs in batches of {SQS_BATCH}")
    executions: list[Invocation] = []
    queue_url, queue_arn = resources.queue_urls[RUN_QUEUE], resources.queue_arns[RUN_QUEUE]
    with meter.phase("execute"):
        while True:
            messages = (
                sqs.receive_message(
                    QueueUrl=queue_url, MaxNumberOfMessages=SQS_BATCH, MessageSystemAttributeNames=["All"]
                ).get("Messages")
                or []
            )
            if not messages:
                break
            context = LambdaContext("ExecutorFunction", 900, time.monotonic)
            started = time.perf_counter()
            with captured_stdout() as written:
                response = executor.lambda_handler(sqs_event(messages, queue_arn, "us-east-1"), context)
            executions.append(Invocation(time.perf_counter() - started, 0, len(messages)))
            executions[-1].log_bytes = written[0]
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
            if failed:
                raise RuntimeError(f"executor reported failures: {sorted(failed)}")
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
    progress("cost: idle claim invocation (the fixed cost)")
    with meter.phase("claim_idle"):
        idle = invoke_claim()
    with meter.pause():
        items = [
            item
            for item in dynamodb.scan(TableName=settings.runs_table).get("Items") or []
            if not item["schedule_id"]["S"].startswith("~")  # transcripts, jobs
        ]
    statuses = sorted({str(run_from_item(item).status.value) for item in items})
    if len(items) != runs or statuses != ["success"]:
        raise RuntimeError(f"expected {runs} successful runs, found {len(items)} with statuses {statuses}")
    return {"busy": busy, "idle": idle, "executions": executions}


# --------------------------------------------------------------------------- the model


def _diff(busy: PhaseStats, idle: PhaseStats) -> PhaseStats:
    """busy - idle, operation by operation (what the claimed runs added to a claim invocation)."""
    out = PhaseStats()
    out.add(busy)
    for name in out.__dataclass_fields__:
        counter = getattr(out, name)
        counter.subtract(getattr(idle, name))
    return out


def per_run_lines(marginal: dict[str, float], *, architecture: str) -> list[prices.Line]:
    """Priced lines of one run from per-run quantities (see ``_model`` for the keys)."""
    gb_second = prices.lambda_gb_second(architecture)
    return [
        prices.Line(
            "DynamoDB write request units",
            marginal["dynamodb_wru"],
            prices.DYNAMODB_WRITE_REQUEST_UNIT,
            "WRU",
        ),
        prices.Line(
            "DynamoDB read request units", marginal["dynamodb_rru"], prices.DYNAMODB_READ_REQUEST_UNIT, "RRU"
        ),
        prices.Line(
            "SQS FIFO requests (send, receive, delete)",
            marginal["sqs_requests"],
            prices.SQS_FIFO_REQUEST,
            "requests",
        ),
        prices.Line("S3 PUT requests (session saves)", marginal["s3_put"], prices.S3_PUT_REQUEST, "requests"),
        prices.Line("S3 GET requests (session loads)", marginal["s3_get"], prices.S3_GET_REQUEST, "requests"),
        prices.Line(
            "EventBridge events (run finished)", marginal["events"], prices.EVENTBRIDGE_CUSTOM_EVENT, "events"
        ),
        prices.Line("Lambda requests", marginal["lambda_requests"], prices.LAMBDA_REQUEST, "invocations"),
        prices.Line("Lambda duration", marginal["lambda_gb_seconds"], gb_second, "GB-s"),
        prices.Line(
            "CloudWatch Logs ingestion",
            marginal["log_bytes"],
            prices.CLOUDWATCH_LOGS_INGESTED_GB / 2**30,
            "bytes",
        ),
    ]


def _quantities(stats: PhaseStats, runs: float) -> dict[str, float]:
    totals = stats.totals()
    return {
        "dynamodb_wru": totals["dynamodb_write_units"] / runs,
        "dynamodb_rru": totals["dynamodb_read_units"] / runs,
        "sqs_requests": totals["sqs_billed_requests"] / runs,
        "s3_put": totals["s3_put_requests"] / runs,
        "s3_get": totals["s3_get_requests"] / runs,
        "events": totals["eventbridge_billed_events"] / runs,
    }


def _model(
    meter: ApiMeter, runs: int, *, busy: Invocation, idle: Invocation, executions: list[Invocation]
) -> dict[str, Any]:
    claim_fn, executor_fn = function_config("ClaimFunction"), function_config("ExecutorFunction")
    if claim_fn.architecture != executor_fn.architecture:
        raise ValueError("the cost model assumes one architecture for both functions")
    phases = meter.phases
    cancelled = sum(
        n for stats in phases.values() for k, n in stats.errors.items() if "TransactionCanceled" in k
    )
    claim_marginal = _diff(phases["claim_busy"], phases["claim_idle"])
    execute = phases["execute"]
    per_run = PhaseStats()
    per_run.add(claim_marginal)
    per_run.add(execute)
    q = _quantities(per_run, runs)
    execute_seconds = sum(e.seconds for e in executions)
    invocations = len(executions)
    claim_extra_seconds = max(0.0, busy.seconds - idle.seconds)
    gb_seconds = (execute_seconds * executor_fn.memory_gb + claim_extra_seconds * claim_fn.memory_gb) / runs
    log_bytes = (max(0, busy.log_bytes - idle.log_bytes) + sum(e.log_bytes for e in executions)) / runs
    burst = dict(q, lambda_requests=invocations / runs, lambda_gb_seconds=gb_seconds, log_bytes=log_bytes)
    # One run per executor invocation (runs due at different times): one receive and one delete per run.
    claim_sqs = claim_marginal.totals()["sqs_billed_requests"] / runs
    sparse = dict(burst, lambda_requests=1.0, sqs_requests=claim_sqs + 2.0)
    burst_lines = per_run_lines(burst, architecture=executor_fn.architecture)
    sparse_lines = per_run_lines(sparse, architecture=executor_fn.architecture)

    idle_stats = phases["claim_idle"].totals()
    gb_second = prices.lambda_gb_second(claim_fn.architecture)
    fixed_lines = [
        prices.Line(
            "EventBridge Scheduler invocations (claim, rate 1 minute)",
            1,
            prices.EVENTBRIDGE_SCHEDULER_INVOCATION,
            "invocations",
        ),
        prices.Line("Lambda requests (claim)", 1, prices.LAMBDA_REQUEST, "invocations"),
        prices.Line("Lambda duration (claim)", idle.seconds * claim_fn.memory_gb, gb_second, "GB-s"),
        prices.Line(
            "DynamoDB read request units (idle sweeps)",
            idle_stats["dynamodb_read_units"],
            prices.DYNAMODB_READ_REQUEST_UNIT,
            "RRU",
        ),
        prices.Line(
            "DynamoDB write request units (idle sweeps)",
            idle_stats["dynamodb_write_units"],
            prices.DYNAMODB_WRITE_REQUEST_UNIT,
            "WRU",
        ),
        prices.Line(
            "CloudWatch Logs ingestion (claim)",
            idle.log_bytes,
            prices.CLOUDWATCH_LOGS_INGESTED_GB / 2**30,
            "bytes",
        ),
    ]
    per_minute = sum(line.usd for line in fixed_lines)
    monthly_fixed = per_minute * prices.MINUTES_PER_MONTH
    burst_million = sum(line.usd for line in burst_lines) * 1e6
    sparse_million = sum(line.usd for line in sparse_lines) * 1e6
    scheduling_lines = [line for line in sparse_lines if line.item.startswith("SQS")] + [
        prices.Line(
            "DynamoDB write request units (claim)",
            claim_marginal.totals()["dynamodb_write_units"] / runs,
            prices.DYNAMODB_WRITE_REQUEST_UNIT,
            "WRU",
        ),
        prices.Line(
            "DynamoDB read request units (claim)",
            claim_marginal.totals()["dynamodb_read_units"] / runs,
            prices.DYNAMODB_READ_REQUEST_UNIT,
            "RRU",
        ),
    ]
    scheduling_million = sum(line.usd for line in scheduling_lines) * 1e6
    figures = {
        "runs_measured": runs,
        "transactions_cancelled": cancelled,
        "functions": {
            fn.logical_id: {"memory_mb": fn.memory_mb, "architecture": fn.architecture}
            for fn in (claim_fn, executor_fn)
        },
        "per_run": {
            "dynamodb_write_request_units": round(q["dynamodb_wru"], 3),
            "dynamodb_read_request_units": round(q["dynamodb_rru"], 3),
            # Every AWS request a run causes (claim + execute: DynamoDB, SQS send/receive/delete, S3,
            # EventBridge), the executor's SQS event source counted as requests made for it.
            "aws_requests": round(sum(per_run.calls.values()) / runs, 2),
            "aws_requests_by_operation": {k: round(v / runs, 2) for k, v in sorted(per_run.calls.items()) if v},
            "dynamodb_calls": round(per_run.totals()["dynamodb_calls"] / runs, 2),
            "dynamodb_calls_by_operation": {
                k: round(v / runs, 2)
                for k, v in sorted(per_run.calls.items())
                if k.startswith("dynamodb.") and v
            },
            "dynamodb_index_write_units": {
                k: round(v / runs, 3) for k, v in sorted(per_run.index_write_units.items()) if v
            },
            "sqs_billed_requests_batched": round(q["sqs_requests"], 3),
            "sqs_billed_requests_one_per_invocation": round(sparse["sqs_requests"], 3),
            "s3_put_requests": round(q["s3_put"], 3),
            "s3_get_requests": round(q["s3_get"], 3),
            "eventbridge_events": round(q["events"], 3),
            "executor_invocations_batched": round(invocations / runs, 3),
            "executor_ms_per_run": round(execute_seconds / runs * 1000, 1),
            "lambda_gb_seconds": round(gb_seconds, 5),
            "log_bytes": round(log_bytes),
            "by_phase": {
                "claim": claim_marginal.as_dict(),
                "execute": execute.as_dict(),
            },
        },
        "claim_invocation": {
            "sweeps_per_invocation_seconds": round(idle.seconds, 2),
            "busy_invocation_seconds": round(busy.seconds, 2),
            "idle": phases["claim_idle"].as_dict(),
            "log_bytes": idle.log_bytes,
        },
        "usd_per_million_runs": {
            "batched_10_per_invocation": round(burst_million, 2),
            "one_run_per_invocation": round(sparse_million, 2),
            "scheduling_part_only": round(scheduling_million, 2),
            "eventbridge_scheduler_invocations": round(prices.EVENTBRIDGE_SCHEDULER_INVOCATION * 1e6, 2),
        },
        "usd_fixed_per_month": round(monthly_fixed, 2),
        "usd_at_one_million_runs_per_month": round(monthly_fixed + sparse_million, 2),
        "lines_per_million_runs_batched": [line.as_dict(1e6) for line in burst_lines],
        "lines_per_million_runs_one_per_invocation": [line.as_dict(1e6) for line in sparse_lines],
        "lines_fixed_per_month": [line.as_dict(prices.MINUTES_PER_MONTH) for line in fixed_lines],
        "prices": prices.price_table(),
    }
    result = {
        "name": NAME,
        "config": {
            "runs": runs,
            "sqs_batch": SQS_BATCH,
            "log_level": os.environ.get("LOG_LEVEL"),
            "sweep_seconds": int(template_parameter("SweepSeconds", 5)),
        },
        "figures": figures,
        "notes": [
            "Counts and request units come from botocore hooks on every client of the handlers and of the "
            "loop standing in for the SQS event source; item sizes from moto's backend, priced with the "
            "published rules (bench/units.py): transactional writes double, index entries rewritten when an "
            "indexed item changes.",
            "Per run = (busy claim invocation - idle claim invocation + executor invocations) / runs.",
            "Lambda durations are this machine's with moto in-process: DynamoDB and S3 answer in "
            "milliseconds, so deployed durations are longer (I/O wait), and Lambda bills each invocation "
            "rounded up to 1 ms.",
            "Not included: the model call, storage (DynamoDB, S3), X-Ray traces, CloudWatch metrics and "
            "alarms, the event source mapping's idle long polls of the queue, data transfer, free tiers.",
            "EventBridge Scheduler's price covers only starting a target; 'scheduling_part_only' is "
            "agentcron's equivalent (claim writes and reads, queue send, receive and delete) without the "
            "fixed claim loop.",
            NOISY_MACHINE,
        ],
    }
    result["markdown"] = markdown(result)
    return result


def _usd(value: float) -> str:
    return f"${value:,.2f}" if value >= 0.01 or value == 0 else f"${value:.4f}"


def markdown(result: dict[str, Any]) -> str:
    """The cost tables for the README (from the figures, nothing else)."""
    f = result["figures"]
    fn = f["functions"]["ExecutorFunction"]
    rows = [
        "| per run (claim + execute, model call excluded) | quantity per run | price | USD per million runs "
        "|",
        "|---|---:|---|---:|",
    ]
    for batched, single in zip(
        f["lines_per_million_runs_batched"], f["lines_per_million_runs_one_per_invocation"], strict=True
    ):
        quantity = f"{batched['quantity']:.3g}"
        if batched["quantity"] != single["quantity"]:
            quantity += f" ({single['quantity']:.3g})"
        usd = _usd(batched["usd"]) + ("" if batched["usd"] == single["usd"] else f" ({_usd(single['usd'])})")
        rows.append(f"| {batched['item']} | {quantity} {batched['unit']} | {_price(batched)} | {usd} |")
    per = f["usd_per_million_runs"]
    rows.append(
        f"| **total** | | | **{_usd(per['batched_10_per_invocation'])}** "
        f"(**{_usd(per['one_run_per_invocation'])}**) |"
    )
    fixed = ["", "| fixed, whatever runs (claim loop, once a minute) | per month |", "|---|---:|"]
    for line in f["lines_fixed_per_month"]:
        fixed.append(f"| {line['item']} | {_usd(line['usd'])} |")
    fixed.append(f"| **total** | **{_usd(f['usd_fixed_per_month'])}** |")
    compare = [
        "",
        "| per million scheduled runs | USD |",
        "|---|---:|",
        f"| agentcron, whole run (claim + execute), one run per executor invocation | "
        f"{_usd(per['one_run_per_invocation'])} |",
        f"| agentcron, scheduling part only (claim + queue) | {_usd(per['scheduling_part_only'])} |",
        f"| EventBridge Scheduler, invocations only | {_usd(per['eventbridge_scheduler_invocations'])} |",
        f"| agentcron at 1 million runs a month, fixed claim loop included | "
        f"{_usd(f['usd_at_one_million_runs_per_month'])} |",
    ]
    head = (
        f"Measured by `make bench` ({result.get('measured_at', 'this run')}); {fn['architecture']} "
        f"{fn['memory_mb']} MB functions; us-east-1 on-demand list prices checked "
        f"{f['prices']['checked']}, free tiers excluded. Quantities in parentheses: one run per executor "
        "invocation (runs due at different times) instead of batches of 10."
    )
    return "\n".join([head, "", *rows, *fixed, *compare]) + "\n"


def _price(line: dict[str, Any]) -> str:
    unit_price = float(line["unit_price_usd"])
    if line["unit"] == "bytes":
        return f"${unit_price * 2**30:g} per GB"
    if unit_price < 1e-4:
        return f"${unit_price * 1e6:g} per million {line['unit']}"
    return f"${unit_price:g} per {line['unit']}"
