"""``agentcron dlq list`` / ``dlq redrive``: the run messages SQS dead-lettered after ``MaxReceiveCount``
failed deliveries, and sending them back to the run queue.

These talk to SQS directly, not through the management API: the dead-letter queue is an operator's tool
(it holds runs of every project), so it takes AWS rights on the queues, not an API caller's project rights.
With ``--stack NAME`` the queues are the stack's ``DeadLetterQueueUrl`` and ``RunQueueUrl`` outputs (your
AWS credentials, ``--region``, ``--profile``); otherwise the target must be the local stack, whose API
server says where its queues are (``GET /_local``).

``list`` receives the messages (up to ``--limit``) and makes them visible again at once, so it moves
nothing; on a FIFO queue a message group's later messages are held back while an earlier one is in
flight, so a long backlog of one schedule may show only its first messages (the count line is SQS's own
approximate total). ``redrive`` sends each message to the run queue (same message group, a new
de-duplication id ``redrive-<message id>`` so SQS's five-minute de-duplication does not drop it) and then
deletes it from the dead-letter queue; a message sent twice (a redrive interrupted between the two) is
harmless: the executor acknowledges a duplicate of a run that has moved on.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any

from agentcron.cli import render
from agentcron.cli.client import StackLookupFailed
from agentcron.cli.context import EXIT_OK, Context

VISIBILITY_SECONDS = 60  # how long a received message stays ours while it is listed or moved


@dataclass
class Queues:
    sqs: Any  # a boto3 SQS client
    dead_letter_url: str
    run_queue_url: str


def locate(ctx: Context) -> Queues:
    """The dead-letter and run queues of the target (``--stack``, or the local stack's ``/_local``)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    settings = ctx.settings
    if settings.get("stack"):
        try:
            session = boto3.session.Session(
                profile_name=settings.get("profile"), region_name=settings.get("region")
            )
            stacks = session.client("cloudformation").describe_stacks(StackName=settings["stack"])["Stacks"]
        except (BotoCoreError, ClientError) as exc:
            raise StackLookupFailed(f"cannot read stack {settings['stack']}: {exc}") from None
        outputs = (
            {o["OutputKey"]: o["OutputValue"] for o in (stacks[0].get("Outputs") or [])} if stacks else {}
        )
        if "DeadLetterQueueUrl" not in outputs or "RunQueueUrl" not in outputs:
            raise StackLookupFailed(f"stack {settings['stack']} has no DeadLetterQueueUrl/RunQueueUrl output")
        return Queues(session.client("sqs"), outputs["DeadLetterQueueUrl"], outputs["RunQueueUrl"])
    reply = ctx.client.request("GET", "/_local")
    if not reply.ok or not isinstance(reply.body, dict) or "dead_letter_queue_url" not in reply.body:
        raise StackLookupFailed(
            f"{ctx.client.base_url} is not the local stack (make run), so its queues are unknown: "
            "pass --stack NAME for a deployed stack"
        )
    local = reply.body
    sqs = boto3.client(
        "sqs",
        region_name=local["region"],
        endpoint_url=local["sqs_endpoint"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    return Queues(sqs, local["dead_letter_queue_url"], local["run_queue_url"])


def _receive(queues: Queues, limit: int) -> list[dict[str, Any]]:
    messages: dict[str, dict[str, Any]] = {}
    while len(messages) < limit:
        got = (
            queues.sqs.receive_message(
                QueueUrl=queues.dead_letter_url,
                MaxNumberOfMessages=min(10, limit - len(messages)),
                VisibilityTimeout=VISIBILITY_SECONDS,
                WaitTimeSeconds=0,
                MessageSystemAttributeNames=["All"],
            ).get("Messages")
            or []
        )
        fresh = [m for m in got if m["MessageId"] not in messages]
        if not fresh:
            break
        messages.update({m["MessageId"]: m for m in fresh})
    return list(messages.values())


def _release(queues: Queues, messages: list[dict[str, Any]]) -> None:
    for start in range(0, len(messages), 10):
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
            for i, m in enumerate(messages[start : start + 10])
        ]
        queues.sqs.change_message_visibility_batch(QueueUrl=queues.dead_letter_url, Entries=entries)


def describe(message: dict[str, Any]) -> dict[str, Any]:
    """What a dead-lettered message is about: its run, schedule, slot, type and delivery count."""
    try:
        body = json.loads(message.get("Body") or "")
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    run = body.get("run") if isinstance(body.get("run"), dict) else {}
    attributes = message.get("Attributes") or {}
    sent = attributes.get("SentTimestamp")
    return {
        "message_id": message["MessageId"],
        "type": body.get("type"),
        "schedule_id": body.get("schedule_id") or run.get("schedule_id"),
        "run_id": body.get("run_id") or run.get("run_id"),
        "scheduled_for": run.get("scheduled_for"),
        "receive_count": int(attributes.get("ApproximateReceiveCount", 0) or 0),
        "sent_at": _millis(sent) if sent else None,
        "message_group_id": attributes.get("MessageGroupId"),
        "body": message.get("Body"),
    }


def _millis(value: str) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(int(value) / 1000, UTC).isoformat().replace("+00:00", "Z")


def _count(queues: Queues) -> int:
    attributes = queues.sqs.get_queue_attributes(
        QueueUrl=queues.dead_letter_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes.get("ApproximateNumberOfMessages", 0))


def list_messages(ctx: Context, args: argparse.Namespace) -> int:
    queues = locate(ctx)
    total = _count(queues)
    messages = _receive(queues, args.limit)
    _release(queues, messages)
    items = [describe(m) for m in messages]
    if ctx.structured:
        ctx.dump({"approximate_count": total, "messages": items})
        return EXIT_OK
    ctx.say(f"dead-letter queue {queues.dead_letter_url}: about {total} message(s)")
    if items:
        rows = [
            (
                i["run_id"],
                i["schedule_id"],
                i["type"],
                render.when(i["scheduled_for"]),
                i["receive_count"],
                render.when(i["sent_at"]),
                i["message_id"],
            )
            for i in items
        ]
        headers = ("RUN ID", "SCHEDULE", "TYPE", "SLOT", "RECEIVES", "SENT", "MESSAGE ID")
        ctx.say(render.table(headers, rows, None if ctx.wide else {"MESSAGE ID": 13}))
    return EXIT_OK


def redrive(ctx: Context, args: argparse.Namespace) -> int:
    queues = locate(ctx)
    total = _count(queues)
    if total == 0:
        ctx.say("the dead-letter queue is empty: nothing to redrive")
        return EXIT_OK
    question = f"Send about {total} dead-lettered message(s) back to the run queue?"
    if not ctx.confirm(question, assume_yes=args.yes):
        ctx.warn("nothing redriven")
        return EXIT_OK
    moved: list[dict[str, Any]] = []
    while len(moved) < args.limit:
        batch = _receive(queues, min(10, args.limit - len(moved)))
        if not batch:
            break
        for message in batch:
            attributes = message.get("Attributes") or {}
            queues.sqs.send_message(
                QueueUrl=queues.run_queue_url,
                MessageBody=message["Body"],
                MessageGroupId=attributes.get("MessageGroupId") or "redrive",
                MessageDeduplicationId=f"redrive-{message['MessageId']}",
            )
            queues.sqs.delete_message(QueueUrl=queues.dead_letter_url, ReceiptHandle=message["ReceiptHandle"])
            item = describe(message)
            moved.append(item)
            if not ctx.structured:
                ctx.say(f"redriven  {item['run_id'] or item['message_id']}  ({item['schedule_id'] or '?'})")
    if ctx.structured:
        ctx.dump({"redriven": moved})
    else:
        ctx.say(f"{len(moved)} message(s) sent back to the run queue")
    return EXIT_OK


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    help_text = "the run dead-letter queue: list its messages, send them back (redrive)"
    dlq = groups.add_parser("dlq", parents=[common], help=help_text, description=__doc__.split("\n\n")[0])
    commands = dlq.add_subparsers(dest="command", metavar="COMMAND", required=True)
    sub = commands.add_parser(
        "list", aliases=["ls"], parents=[common], help="show the dead-lettered run messages (moves nothing)"
    )
    sub.add_argument("--limit", type=int, default=100, help="at most this many messages (100)")
    sub.set_defaults(run=list_messages)
    sub = commands.add_parser(
        "redrive", parents=[common], help="send the dead-lettered messages back to the run queue (asks first)"
    )
    sub.add_argument("--limit", type=int, default=1000, help="at most this many messages (1000)")
    sub.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    sub.set_defaults(run=redrive)
