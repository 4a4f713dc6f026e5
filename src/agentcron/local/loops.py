"""The loops that stand in for AWS's own machinery around the handlers, locally.

- the claim loop plays EventBridge Scheduler: it starts an invocation of the claim handler with the
  scheduler's event once a minute, each on its own thread with a real deadline (they overlap at the
  handover, as deployed), and one more for each wake the local Lambda endpoint receives;
- the executor loop plays the SQS event source mapping: it long-polls the FIFO queue, hands the handler a
  real SQS event, deletes what succeeded and makes the reported failures visible again (a handler that
  raises fails the whole batch, as Lambda does); a failure received ``maxReceiveCount`` times is moved to
  the dead-letter queue by the loop itself (see :class:`ExecutorLoop` for why not by moto's redrive);
- the watcher prints each run as it moves through its states.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from agentcron.store import Store

from agentcron.local.errors import describe
from agentcron.local.handlers import LambdaContext, load_handler
from agentcron.local.resources import default_template_path

FAILED_MESSAGE_RETRY_SECONDS = 2  # locally, not the queue's 90-minute visibility timeout


def scheduler_event() -> dict[str, Any]:
    path = default_template_path().parent / "events" / "eventbridge-scheduler.json"
    return json.loads(path.read_text(encoding="utf-8"))


CLAIM_TIMEOUT_SECONDS = 90  # the template's ClaimFunction Timeout


class ClaimLoop(threading.Thread):
    """EventBridge Scheduler and Lambda's asynchronous invoke for the claim function.

    Once a minute it starts an invocation of the claim handler on a thread of its own, with a context whose
    deadline is real, so invocations overlap at the minute boundary exactly as deployed (each stays awake
    past the next one's start). :meth:`invoke` starts one more at once: the local Lambda endpoint calls it
    for the API's wakes.
    """

    def __init__(self, stop: threading.Event, on_error: Callable[[str], None]) -> None:
        super().__init__(name="claim", daemon=True)
        self.stop_event, self.on_error = stop, on_error
        self.invocations = 0

    def run(self) -> None:
        while not self.stop_event.is_set():
            started = time.monotonic()
            self.invoke(scheduler_event())
            self.stop_event.wait(max(0.0, 60 - (time.monotonic() - started)))

    def invoke(self, event: dict[str, Any]) -> None:
        self.invocations += 1
        name = f"claim-{self.invocations}"
        threading.Thread(target=self._invoke, args=(event,), name=name, daemon=True).start()

    def _invoke(self, event: dict[str, Any]) -> None:
        handler = load_handler("claim").lambda_handler
        context = LambdaContext("ClaimFunction", CLAIM_TIMEOUT_SECONDS, time.monotonic, self.stop_event)
        try:
            handler(event, context)
        except Exception as exc:  # keep the local stack alive; the error is shown
            self.on_error(f"claim invocation failed: {describe(exc)}")


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping builds from received messages."""
    records = []
    for m in messages:
        attrs = m.get("Attributes", {})
        records.append(
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {
                    key: attrs[key]
                    for key in (
                        "ApproximateReceiveCount",
                        "SentTimestamp",
                        "SequenceNumber",
                        "MessageGroupId",
                        "SenderId",
                        "MessageDeduplicationId",
                        "ApproximateFirstReceiveTimestamp",
                    )
                    if key in attrs
                },
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode()).hexdigest(),  # noqa: S324
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


class ExecutorLoop(threading.Thread):
    """The SQS event source mapping of the executor, locally.

    Redrive: moto moves a message to a FIFO dead-letter queue with its de-duplication id and drops it when
    the dead-letter queue holds a message with the same id sent within five minutes (two run-now messages
    sent with one fixed de-duplication id, the first already dead-lettered): the message then left both
    queues. Real SQS keeps it. So the loop moves a message that failed its last allowed receive itself,
    with its message id as the de-duplication id, before moto's redrive would.
    """

    def __init__(self, sqs: Any, queue_url: str, queue_arn: str, region: str, stop: threading.Event,
                 on_error: Callable[[str], None], name: str = "executor",
                 retry_seconds: int = FAILED_MESSAGE_RETRY_SECONDS) -> None:
        super().__init__(name=name, daemon=True)
        self.sqs, self.queue_url, self.queue_arn, self.region = sqs, queue_url, queue_arn, region
        self.stop_event, self.on_error = stop, on_error
        self.retry_seconds = retry_seconds
        self._redrive: tuple[str, int] | None = None

    def run(self) -> None:
        handler = load_handler("executor").lambda_handler
        while not self.stop_event.is_set():
            try:
                self._poll_once(handler)
            except Exception as exc:
                self.on_error(f"executor loop: {describe(exc)}")
                self.stop_event.wait(1)

    def redrive(self) -> tuple[str, int] | None:
        """The dead-letter queue's URL and maxReceiveCount of the run queue (None: no redrive policy)."""
        if self._redrive is None:
            attributes = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["RedrivePolicy"])
            policy = json.loads(attributes.get("Attributes", {}).get("RedrivePolicy") or "{}")
            if not policy:
                return None
            name = str(policy["deadLetterTargetArn"]).rsplit(":", 1)[-1]
            url = self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
            self._redrive = (url, int(policy["maxReceiveCount"]))
        return self._redrive

    def _poll_once(self, handler: Callable[..., Any]) -> None:
        received = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return
        context = LambdaContext("ExecutorFunction", 900, time.monotonic)
        try:
            response = handler(sqs_event(received, self.queue_arn, self.region), context) or {}
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        except Exception as exc:  # a function error: the whole batch comes back, as with Lambda
            self.on_error(f"executor invocation failed: {describe(exc)}")
            failed = {m["MessageId"] for m in received}
        done = [m for m in received if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        redrive = self.redrive() if failed else None
        for m in received:
            if m["MessageId"] not in failed:
                continue
            count = int(m.get("Attributes", {}).get("ApproximateReceiveCount") or 1)
            if redrive is not None and count >= redrive[1]:
                self._dead_letter(m, redrive[0])
            else:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=self.retry_seconds
                )

    def _dead_letter(self, message: dict[str, Any], dead_letter_url: str) -> None:
        """Move a message to the dead-letter queue: sent first, then deleted (a crash between leaves a copy
        in both queues, never in neither)."""
        attributes = message.get("Attributes", {})
        self.sqs.send_message(
            QueueUrl=dead_letter_url,
            MessageBody=message["Body"],
            MessageGroupId=attributes.get("MessageGroupId") or "dead-letters",
            MessageDeduplicationId=message["MessageId"],
        )
        self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


class RunWatcher(threading.Thread):
    """Prints a line each time a run appears or changes status (one query per schedule per tick)."""

    def __init__(self, store: Store, schedule_ids: Callable[[], list[str]], stop: threading.Event,
                 emit: Callable[[str], None], interval: float = 0.5,
                 on_error: Callable[[str], None] | None = None) -> None:
        super().__init__(name="watcher", daemon=True)
        self.store, self.schedule_ids, self.stop_event, self.emit = store, schedule_ids, stop, emit
        self.on_error = on_error or emit
        self.interval = interval
        self.seen: dict[str, str] = {}
        self.counts: dict[str, int] = {}

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.tick()
            except Exception as exc:
                self.on_error(f"watcher: {describe(exc)}")
            self.stop_event.wait(self.interval)

    def tick(self) -> None:
        schedule_ids = self.schedule_ids()
        width = id_width(schedule_ids)  # every schedule it shows, so one run's line lines up with the rest
        for schedule_id in schedule_ids:
            runs, _ = self.store.list_runs(schedule_id, limit=20)
            for run in reversed(runs):
                if self.seen.get(run.run_id) == run.status:
                    continue
                self.seen[run.run_id] = run.status
                self.counts[run.status] = self.counts.get(run.status, 0) + 1
                self.emit(describe_run(run, width))


MIN_ID_WIDTH = 16


def id_width(schedule_ids: list[str]) -> int:
    """The schedule id column: as wide as the longest id shown (ids are never cut: people copy them)."""
    return max([MIN_ID_WIDTH, *(len(i) for i in schedule_ids)])


def _hms(at: datetime | None) -> str:
    return at.strftime("%H:%M:%S") if at else "--:--:--"


def describe_run(run: Any, width: int = MIN_ID_WIDTH) -> str:
    parts = [f"{run.status:<9}", f"{run.schedule_id:<{width}}", f"slot {_hms(run.scheduled_for)}Z"]
    if run.trigger != "schedule":
        parts.append(f"[{run.trigger}]")
    if run.dispatch_lag_ms is not None:
        parts.append(f"lag {run.dispatch_lag_ms} ms")
    if run.execution_duration_ms is not None:
        parts.append(f"took {run.execution_duration_ms} ms")
    if run.usage.total_tokens:
        parts.append(f"tokens {run.usage.input_tokens}/{run.usage.output_tokens}")
    if run.outcome_reason:
        reason = " ".join(str(run.outcome_reason).split())  # one line, whatever the agent wrote
        parts.append(f"- {reason[:197] + '...' if len(reason) > 200 else reason}")
    return "  ".join(parts)


def load_examples(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.json"))]
