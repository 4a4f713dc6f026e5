"""The local stack's SQS event source (ExecutorLoop): no message leaves the run queue but to be deleted after
success or to reach the dead-letter queue."""

from __future__ import annotations

import json
import threading
from typing import Any

from agentcron.local.loops import ExecutorLoop


def _loop(stack, errors: list[str]) -> ExecutorLoop:
    url = stack.settings.run_queue_url
    arn = stack.resources.queue_arns["RunQueue"]
    return ExecutorLoop(stack.sqs, url, arn, "us-east-1", threading.Event(), errors.append, retry_seconds=0)


def _send(stack, body: str, dedup_id: str) -> None:
    stack.sqs.send_message(
        QueueUrl=stack.settings.run_queue_url,
        MessageBody=body,
        MessageGroupId="g",
        MessageDeduplicationId=dedup_id,
    )


def _failing(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}


def _counts(stack, queue: str) -> tuple[int, int]:
    attributes = stack.sqs.get_queue_attributes(
        QueueUrl=stack.resources.queue_urls[queue],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def _poll_until_empty(stack, loop: ExecutorLoop, handler: Any, polls: int = 20) -> None:
    for _ in range(polls):
        loop._poll_once(handler)
        if _counts(stack, "RunQueue") == (0, 0):
            return
    raise AssertionError(f"run queue not empty: {_counts(stack, 'RunQueue')}")


def test_two_failing_messages_with_one_dedup_id_both_reach_the_dead_letter_queue(stack) -> None:
    # GIVEN a message that fails every receive, sent with a fixed de-duplication id
    errors: list[str] = []
    loop = _loop(stack, errors)
    _send(stack, json.dumps({"type": "run_now", "schedule_id": "ghost"}), "fixed")
    _poll_until_empty(stack, loop, _failing)
    # WHEN the same command is sent again (moto takes it: the first left the run queue) and fails too
    _send(stack, json.dumps({"type": "run_now", "schedule_id": "ghost", "task_message": "again"}), "fixed")
    _poll_until_empty(stack, loop, _failing)
    # THEN both are on the dead-letter queue: moto's own redrive would have dropped the second
    bodies = [d["body"] for d in stack.drain("RunDeadLetterQueue")]
    assert bodies == [
        {"type": "run_now", "schedule_id": "ghost"},
        {"type": "run_now", "schedule_id": "ghost", "task_message": "again"},
    ]


def test_a_handler_that_raises_fails_the_whole_batch_and_its_messages_come_back(stack) -> None:
    errors: list[str] = []
    loop = _loop(stack, errors)
    _send(stack, '{"type": "run", "schedule_id": "s1", "run_id": "r1"}', "d1")

    def crash(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("boom")

    loop._poll_once(crash)
    assert errors == ["executor invocation failed: RuntimeError: boom"]
    # visible again at once (retry_seconds=0), not in flight for the queue's visibility timeout
    assert _counts(stack, "RunQueue") == (1, 0)
    seen: list[str] = []

    def ok(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.extend(r["body"] for r in event["Records"])
        return {"batchItemFailures": []}

    loop._poll_once(ok)
    assert seen == ['{"type": "run", "schedule_id": "s1", "run_id": "r1"}']
    assert _counts(stack, "RunQueue") == (0, 0)
    assert _counts(stack, "RunDeadLetterQueue") == (0, 0)
