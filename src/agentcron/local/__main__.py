"""``make run``: the whole system on this machine, no AWS account, no Docker.

Starts the moto servers (``agentcron.local.stack``), creates the template's tables, indexes, bucket and
queues, loads the schedules in ``examples/``, prints their upcoming fire times, then runs the claim loop and
executor workers (in worker processes, ``agentcron.local.workers``) around the real handlers and prints every
run as it moves through its states, until Ctrl-C (or ``--for``).
The management API (the same handler as the API Lambda) is served on http://127.0.0.1:8787 (``--api-port``),
with the web console at http://127.0.0.1:8787/console.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from agentcron.clock import utcnow
from agentcron.models import ScheduleSpec

from agentcron.cli.client import DEFAULT_API_URL
from agentcron.local.errors import ErrorReporter, describe, log_path
from agentcron.local.handlers import load_handler
from agentcron.local.lambda_endpoint import CLAIM_FUNCTION, LambdaEndpoint
from agentcron.local.loops import ClaimLoop, ExecutorLoop, RunWatcher, id_width, load_examples
from agentcron.local.resources import DEAD_LETTER_QUEUE, RUN_QUEUE, default_template_path
from agentcron.local.stack import REGION, start_local_stack
from agentcron.local.workers import ExecutorProcesses

# Executor workers in processes of their own (their botocore work then uses a second core) where there is one.
DEFAULT_EXECUTOR_PROCESSES = 2 if (os.cpu_count() or 1) > 1 else 0


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m agentcron.local", description=__doc__.splitlines()[0])
    parser.add_argument("--for", dest="duration", type=float, default=None, metavar="SECONDS",
                        help="stop by itself after SECONDS (default: run until Ctrl-C)")
    parser.add_argument("--examples", type=Path, default=default_template_path().parent / "examples",
                        help="folder of schedule specs (*.json) to load at start")
    parser.add_argument("--sweep-seconds", type=int, default=1,
                        help="claim sweep period inside each claim invocation (the template default is 5)")
    parser.add_argument("--executors", type=int, default=4, help="parallel executor workers, in all")
    parser.add_argument(
        "--executor-processes", type=int, default=DEFAULT_EXECUTOR_PROCESSES, metavar="N",
        help="run the executor workers in N processes of their own (0: threads of this process; default "
        f"{DEFAULT_EXECUTOR_PROCESSES} on this machine)",
    )
    parser.add_argument("--moto-port", type=int, default=0, help="port of moto's DynamoDB server (0: any)")
    parser.add_argument("--api-port", type=int, default=8787,
                        help="port of the management API on 127.0.0.1 (0: any; default 8787)")
    parser.add_argument("--upcoming", type=int, default=3, help="upcoming fire times to print per schedule")
    parser.add_argument(
        "--auth", choices=("none", "jwt"), default="none",
        help="jwt: the API requires 'Authorization: Bearer <JWT>' and passes its claims and scopes on as API "
        "Gateway's JWT authorizer does (NOTHING is verified locally); none (default): every request is an "
        "administrator",
    )
    return parser.parse_args(argv)


def banner(api_url: str, local: dict[str, str], schedule_ids: list[str], auth: str) -> list[str]:
    """What a user needs next: where the API is (and whether the CLI finds it without --api-url), the
    queues and bucket, a run-now command to paste, and where tracebacks go."""
    if api_url == DEFAULT_API_URL:
        cli = f"the agentcron CLI's default, {DEFAULT_API_URL}: no --api-url needed"
    else:
        cli = f"not the CLI's default {DEFAULT_API_URL}: export AGENTCRON_API_URL={api_url}"
    lines = [
        f"API on {api_url} ({cli})",
        f"console on {api_url}/console",
        f"run queue       {local['run_queue_url']}",
        f"dead letters    {local['dead_letter_queue_url']}  (agentcron dlq list)",
        f"sessions bucket {local['sessions_bucket']}  (S3 on {local['s3_endpoint']})",
    ]
    if schedule_ids:
        bearer = " -H \"Authorization: Bearer $JWT\"" if auth == "jwt" else ""
        lines.append(f"run one now:    curl -s -X POST{bearer} {api_url}/schedules/{schedule_ids[0]}/run")
    if auth == "jwt":
        lines.append(
            "API auth: JWT - requests need 'Authorization: Bearer <JWT>' (401 without); its claims and "
            "scopes are passed on UNVERIFIED (no signature, issuer, audience or expiry check locally)"
        )
    else:
        lines.append(
            "API auth: none - every request is an administrator of every project (--auth jwt to try JWT)"
        )
    lines.append(f"errors print as one line here; their tracebacks go to {log_path()}")
    lines.append("state lives in memory: `agentcron schedules export -d DIR` keeps schedules, `apply -f DIR` "
                 "brings them back")
    return lines


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _emit(line: str) -> None:
    print(f"{datetime.now().strftime('%H:%M:%S.%f')[:-3]}  {line}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    report = ErrorReporter(_emit, log_path())
    # A TERM (kill, a supervisor, an IDE's stop button) stops in order like Ctrl-C: the moto servers and the
    # executor processes are stopped too, not left behind.
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        return _run(args, report)
    except Exception as exc:  # one clear line; the traceback goes to the log file
        report(f"the local stack stopped: {describe(exc)}")
        return 1


def _run(args: argparse.Namespace, report: ErrorReporter) -> int:
    from agentcron.application import Services
    from agentcron.application.schedules import create_schedule
    from agentcron.domain.access import SYSTEM
    from agentcron.domain.schedule import imported
    from agentcron.planner import timing_of

    # API_AUTH, as the template's ApiAuth sets it, tells the API handler which authorizer context to read.
    auth = {"api_auth": "JWT"} if args.auth == "jwt" else {}
    stack = start_local_stack(port=args.moto_port, sweep_seconds=args.sweep_seconds, **auth)
    _emit(
        f"moto servers on {stack.endpoint_url} (DynamoDB) and {stack.endpoint('sqs')} "
        "(S3, SQS, EventBridge); resources created from template.yaml"
    )
    from agentcron.store import Store

    store = Store.from_settings(stack.settings, client=stack.client("dynamodb"))
    services = Services.from_settings(
        stack.settings, dynamodb=stack.client("dynamodb"), sqs=stack.client("sqs"), s3=stack.client("s3")
    )
    schedule_ids: list[str] = []
    now = utcnow()
    examples = load_examples(args.examples)
    width = id_width([str(raw.get("id", "")) for raw in examples])
    for raw in examples:
        spec = ScheduleSpec.model_validate(imported(raw))  # the import path: the original shorthands
        schedule = create_schedule(services, SYSTEM, spec).schedule
        schedule_ids.append(schedule.id)
        times = timing_of(schedule, expiring=False).upcoming(now, args.upcoming)
        shown = ", ".join(t.strftime("%Y-%m-%d %H:%M:%SZ") for t in times) or "none"
        _emit(f"schedule {schedule.id:<{width}} {schedule.trigger.type:<8} next: {shown}")

    stop = threading.Event()
    sqs = stack.client("sqs")
    queue_url = stack.resources.queue_urls[RUN_QUEUE]
    queue_arn = stack.resources.queue_arns[RUN_QUEUE]
    def watched() -> list[str]:  # the examples and whatever the API or the CLI created since
        return list(dict.fromkeys(schedule_ids + [s.id for s in store.list_schedules(limit=200)[0]]))

    watcher = RunWatcher(store, watched, stop, _emit, on_error=report)
    executors = max(1, args.executors)
    processes = min(max(0, args.executor_processes), executors)
    claim = ClaimLoop(stop, report)
    workers = [claim, watcher]
    # The API wakes the claim for fires due soon through Lambda's Invoke API, served here.
    lambda_endpoint = LambdaEndpoint(claim.invoke).start()
    os.environ.update({"AWS_ENDPOINT_URL_LAMBDA": lambda_endpoint.url, "CLAIM_FUNCTION_NAME": CLAIM_FUNCTION})
    if processes == 0:
        workers += [
            ExecutorLoop(sqs, queue_url, queue_arn, REGION, stop, report, name=f"executor-{i}")
            for i in range(executors)
        ]
    for name in ("claim", "executor", "api"):  # import once, here: concurrent first imports race
        load_handler(name)
    executor_processes = None
    if processes:
        per_process = -(-executors // processes)
        executor_processes = ExecutorProcesses(processes, per_process, queue_url, queue_arn, REGION).start()
    for worker in workers:
        worker.start()
    from agentcron.local.http import serve_api

    local_info = {
        "region": REGION,
        "sqs_endpoint": stack.endpoint("sqs"),
        "dynamodb_endpoint": stack.endpoint("dynamodb"),
        "s3_endpoint": stack.endpoint("s3"),
        "run_queue_url": queue_url,
        "dead_letter_queue_url": stack.resources.queue_urls[DEAD_LETTER_QUEUE],
        "sessions_bucket": stack.settings.sessions_bucket,
    }
    try:
        api = serve_api(port=args.api_port, on_error=report, auth=args.auth, local_info=local_info)
    except OSError as exc:
        stop.set()
        if executor_processes is not None:
            executor_processes.stop()
        stack.stop()
        _emit(f"cannot serve the API on 127.0.0.1:{args.api_port}: {exc} (choose another with --api-port)")
        return 1
    for line in banner(api.url, local_info, schedule_ids, args.auth):
        _emit(line)
    until = f" for {args.duration:g} s" if args.duration else "; Ctrl-C stops"
    _emit(f"claim loop and executors running{until}")
    try:
        if args.duration is None:
            while True:
                time.sleep(3600)
        else:
            time.sleep(args.duration)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        for worker in workers:  # let in-flight invocations end before their endpoint goes away
            worker.join(timeout=10)
        if executor_processes is not None:
            executor_processes.stop()
        watcher.tick()
        summary = ", ".join(f"{status} {count}" for status, count in sorted(watcher.counts.items()))
        _emit(f"stopping; run transitions seen: {summary or 'none'}")
        stack.stop()
        api.stop()
        lambda_endpoint.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
