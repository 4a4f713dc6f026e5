"""The run queue adapter (SQS FIFO): sending run messages in batches and parsing what arrives.

What a message holds is :mod:`agentcron.domain.messages`, loaded by the first send or parse: an API container
that only lists schedules never loads it.

Ordering and de-duplication: the message group is the schedule id, so one schedule's runs start in order;
a schedule whose overlap policy is ``allow`` uses the run id as group so its runs can run in parallel. The
de-duplication id is the run id. SQS de-duplication only saves work: exactly-once per slot is guaranteed by
the conditional run transitions of the store, so a duplicate message is harmless.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import TypeAdapter, ValidationError

from agentcron.domain.policies import OverlapPolicy
from agentcron.domain.schedule import STORED
from agentcron.exceptions import MalformedMessage, QueueSendFailed

if TYPE_CHECKING:
    from agentcron.models import QueueMessage, Run, Schedule

SQS_BATCH = 10  # SendMessageBatch takes at most 10 entries
MAX_REASON = 1024  # characters of a dead-lettered message's reason attribute
_TYPES = ("run", "run_now", "continue")


@functools.cache
def message_reader() -> TypeAdapter:
    """The validator of every message type: built by the first parse (the executor's module builds it at
    import, as every invocation of it parses; a sender never needs it)."""
    from agentcron.domain.messages import QueueMessage

    return TypeAdapter(QueueMessage)


def parse_message(body: str) -> QueueMessage:
    """The queue message in ``body``; ``MalformedMessage`` with the reason for anything else."""
    try:
        data: Any = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise MalformedMessage(f"message body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MalformedMessage("message body must be a JSON object")
    try:
        # JSON may escape a lone surrogate (a \ud800 escape): no store or transcript can hold it as text.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedMessage("message body holds a lone surrogate (not valid Unicode text)") from None
    kind = data.get("type")
    if kind is None:
        raise MalformedMessage(f"type is required (one of {', '.join(_TYPES)})")
    if kind not in _TYPES:
        raise MalformedMessage(f"type must be one of {', '.join(_TYPES)}, got {kind!r}")
    try:
        # A message's schedule spec was written by a claim from stored data: read it as stored (leniently).
        return message_reader().validate_python(data, context=STORED)
    except ValidationError as exc:
        raise MalformedMessage(_reason(exc)) from None


def _reason(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors(include_url=False):
        path = ".".join(str(p) for p in err["loc"] if p not in _TYPES) or "body"
        if err["type"] == "missing":
            problems.append(f"{path} is required")
        else:
            problems.append(f"{path}: {err['msg']}")
    return "; ".join(problems)


def message_group_id(schedule: Schedule, run_id: str) -> str:
    """The schedule id (its runs start one after another); the run id when overlap is ``allow``."""
    return run_id if schedule.overlap_policy == OverlapPolicy.allow else schedule.id


class RunQueue:
    """Sends to the run queue (and, for a message that can never succeed, to its dead-letter queue).

    ``client`` is a boto3 SQS client."""

    def __init__(self, client: Any, queue_url: str, *, dead_letter_url: str = "") -> None:
        self.client = client
        self.queue_url = queue_url
        self.dead_letter_url = dead_letter_url

    def dead_letter(self, body: str, *, message_id: str, group_id: str | None, reason: str) -> None:
        """Put a received message that can never succeed on the dead-letter queue, with ``reason``.

        The de-duplication id is the SQS message id, unique per message: the message's own id could be
        remembered by the FIFO dead-letter queue (an earlier poison message with the same id in the last five
        minutes), and SQS would drop this one silently. ``QueueSendFailed`` when no dead-letter queue is
        configured or the send fails: the caller then leaves the message to SQS's redrive.
        """
        if not self.dead_letter_url:
            raise QueueSendFailed({message_id: "no dead-letter queue configured"})
        try:
            self.client.send_message(
                QueueUrl=self.dead_letter_url,
                MessageBody=body,
                MessageGroupId=group_id or "dead-letters",
                MessageDeduplicationId=message_id,
                MessageAttributes={
                    "reason": {"DataType": "String", "StringValue": reason[:MAX_REASON] or "unknown"},
                    "source_message_id": {"DataType": "String", "StringValue": message_id},
                },
            )
        except (BotoCoreError, ClientError) as exc:
            raise QueueSendFailed({message_id: repr(exc)}) from exc

    def retry_later(self, receipt_handle: str, seconds: int) -> None:
        """Make a received message visible again after ``seconds`` (a transient error's back-off)."""
        self.client.change_message_visibility(
            QueueUrl=self.queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )

    def send_runs(self, schedule: Schedule, runs: list[Run]) -> None:
        """One ``RunMessage`` per run of one schedule (see :meth:`send_many`)."""
        self.send_many([(schedule, run) for run in runs])

    def send_many(self, runs: list[tuple[Schedule, Run]]) -> None:
        """One ``RunMessage`` per run (with the run and its schedule's spec), batches of 10 whatever the
        schedule, de-duplication id = run id.

        Every batch is attempted; ``QueueSendFailed`` names the runs SQS refused or that a failed call
        (network, throttling) left unsent; the others were sent.
        """
        from agentcron.domain.messages import run_message

        failed: dict[str, str] = {}
        for start in range(0, len(runs), SQS_BATCH):
            pairs = runs[start : start + SQS_BATCH]
            batch = [run for _, run in pairs]
            entries = [
                {
                    "Id": str(i),
                    "MessageBody": run_message(schedule, run).model_dump_json(exclude_none=True),
                    "MessageGroupId": message_group_id(schedule, run.run_id),
                    "MessageDeduplicationId": run.run_id,
                }
                for i, (schedule, run) in enumerate(pairs)
            ]
            try:
                response = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except (BotoCoreError, ClientError) as exc:
                failed.update({run.run_id: repr(exc) for run in batch})
                continue
            for failure in response.get("Failed") or []:
                run = batch[int(failure["Id"])]
                failed[run.run_id] = failure.get("Message") or failure.get("Code") or "unknown error"
        if failed:
            raise QueueSendFailed(failed)

    def send(self, message: QueueMessage, *, group_id: str, dedup_id: str) -> None:
        """One message; the caller chooses the group and de-duplication ids. ``QueueSendFailed`` on error."""
        try:
            self.client.send_message(
                QueueUrl=self.queue_url,
                MessageBody=message.model_dump_json(exclude_none=True),
                MessageGroupId=group_id,
                MessageDeduplicationId=dedup_id,
            )
        except (BotoCoreError, ClientError) as exc:
            raise QueueSendFailed({dedup_id: repr(exc)}) from exc
