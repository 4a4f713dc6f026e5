"""The FIFO partial batch response: a failure holds back the rest of its group only (what Powertools'
SqsFifoPartialProcessor with skip_group_on_error does), checked against that processor on the same batches."""

from __future__ import annotations

import random

import pytest
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response

from agentcron.fifo_batch import partial_response


def record(message_id: str, group: str) -> dict:
    return {
        "messageId": message_id,
        "receiptHandle": f"h-{message_id}",
        "body": message_id,
        "attributes": {"MessageGroupId": group, "ApproximateReceiveCount": "1", "SentTimestamp": "0"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:runs.fifo",
        "awsRegion": "us-east-1",
    }


def failing(bad: set[str], seen: list[str]):
    def handle(message_id: str) -> None:
        seen.append(message_id)
        if message_id in bad:
            raise RuntimeError(message_id)

    return handle


def test_a_failure_skips_the_rest_of_its_group_and_no_other():
    records = [record("a1", "a"), record("b1", "b"), record("a2", "a"), record("b2", "b"), record("a3", "a")]
    seen: list[str] = []
    response = partial_response(records, lambda r: failing({"a1"}, seen)(r["messageId"]))
    assert response == {"batchItemFailures": [{"itemIdentifier": i} for i in ("a1", "a2", "a3")]}
    assert seen == ["a1", "b1", "b2"]  # a2 and a3 never handled: FIFO order within group a holds


def test_an_all_bad_batch_reports_every_record():
    records = [record("a1", "a"), record("b1", "b")]
    response = partial_response(records, lambda r: failing({"a1", "b1"}, [])(r["messageId"]))
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == ["a1", "b1"]


@pytest.mark.parametrize("seed", range(30))
def test_same_answer_as_the_powertools_processor(seed):
    rng = random.Random(seed)
    records = [record(f"m{i}", rng.choice("abc")) for i in range(rng.randint(1, 10))]
    bad = {r["messageId"] for r in records if rng.random() < 0.3}
    ours_seen: list[str] = []
    ours = partial_response(records, lambda r: failing(bad, ours_seen)(r["messageId"]))
    theirs_seen: list[str] = []
    processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    processor.raise_on_entire_batch_failure = False
    theirs = process_partial_response(
        event={"Records": records},
        record_handler=lambda record: failing(bad, theirs_seen)(record.message_id),
        processor=processor,
    )
    assert ours == theirs and ours_seen == theirs_seen
