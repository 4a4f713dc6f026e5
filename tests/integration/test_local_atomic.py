"""The local stack's moto DynamoDB (``agentcron.local.atomic`` and ``indexes``): still atomic and isolated,
and a transaction or a query costs what it touches, not the table (counted, never timed).

The session fixture ``atomic_dynamodb`` (tests/conftest.py) has installed the patches for every test.
"""

from __future__ import annotations

import copy
import random
import threading
from collections import Counter
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from agentcron.local import atomic, indexes

TABLE = "things"


@pytest.fixture
def dynamodb(aws_env: dict[str, str]) -> Any:
    """In-process moto, one table: HASH pk, RANGE sk, a sparse index ``open`` (open_shard, open_until)."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
                {"AttributeName": "open_shard", "AttributeType": "N"},
                {"AttributeName": "open_until", "AttributeType": "N"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "open",
                    "KeySchema": [
                        {"AttributeName": "open_shard", "KeyType": "HASH"},
                        {"AttributeName": "open_until", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def put(client: Any, pk: str, sk: str, **attrs: Any) -> None:
    item = key(pk, sk) | {
        name: ({"N": str(v)} if isinstance(v, int) else {"S": v}) for name, v in attrs.items()
    }
    client.put_item(TableName=TABLE, Item=item)


def get(client: Any, pk: str, sk: str) -> dict[str, Any] | None:
    return client.get_item(TableName=TABLE, Key=key(pk, sk), ConsistentRead=True).get("Item")


def fill(client: Any, count: int, pk: str = "bulk") -> None:
    for start in range(0, count, 25):
        client.batch_write_item(
            RequestItems={
                TABLE: [
                    {"PutRequest": {"Item": key(pk, f"{i:06d}") | {"n": {"N": str(i)}}}}
                    for i in range(start, min(count, start + 25))
                ]
            }
        )


def cancellation_codes(exc: ClientError) -> list[str]:
    return [reason.get("Code", "None") for reason in exc.response.get("CancellationReasons", [])]


# --------------------------------------------------------------------------- atomic and isolated


def test_a_cancelled_transaction_leaves_no_partial_write_and_reports_each_action(dynamodb: Any) -> None:
    put(dynamodb, "s", "updated", n=1, label="before")
    put(dynamodb, "s", "deleted", n=7)
    put(dynamodb, "s", "replaced", n=3, label="old")
    put(dynamodb, "s", "guard", n=1)
    before = {sk: get(dynamodb, "s", sk) for sk in ("updated", "deleted", "replaced", "guard")}

    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": key("s", "new") | {"n": {"N": "1"}}}},
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": key("s", "updated"),
                        "UpdateExpression": "ADD n :one SET label = :after, open_shard = :shard, #u = :until",
                        "ExpressionAttributeNames": {"#u": "open_until"},
                        "ExpressionAttributeValues": {
                            ":one": {"N": "1"},
                            ":after": {"S": "after"},
                            ":shard": {"N": "3"},
                            ":until": {"N": "100"},
                        },
                    }
                },
                {"Delete": {"TableName": TABLE, "Key": key("s", "deleted")}},
                {"Put": {"TableName": TABLE, "Item": key("s", "replaced") | {"n": {"N": "4"}}}},
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": key("s", "guard"),
                        "ConditionExpression": "n = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
            ]
        )

    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert cancellation_codes(cancelled.value) == ["None", "None", "None", "None", "ConditionalCheckFailed"]
    assert get(dynamodb, "s", "new") is None
    assert {sk: get(dynamodb, "s", sk) for sk in before} == before
    # the rolled-back update's index entry is gone too
    shard_3 = dynamodb.query(
        TableName=TABLE,
        IndexName="open",
        KeyConditionExpression="open_shard = :s",
        ExpressionAttributeValues={":s": {"N": "3"}},
    )
    assert shard_3["Items"] == []


def test_a_rejected_transaction_rolls_back_what_it_had_applied(dynamodb: Any) -> None:
    put(dynamodb, "s", "a", n=1)
    with pytest.raises(ClientError):  # the same item twice: moto applies the first action, then refuses
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": key("s", "a") | {"n": {"N": "2"}}}},
                {"Delete": {"TableName": TABLE, "Key": key("s", "a")}},
            ]
        )
    assert get(dynamodb, "s", "a")["n"] == {"N": "1"}


def test_concurrent_conditional_transactions_exactly_one_wins_per_item(dynamodb: Any) -> None:
    put(dynamodb, "counter", "claims", n=0)
    threads, slots = 8, 12
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def claimer(worker: int) -> None:
        client = boto3.client("dynamodb", region_name="us-east-1")
        start.wait()
        for slot in range(slots):
            try:
                client.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": TABLE,
                                "Item": key("run", f"slot-{slot:02d}") | {"by": {"N": str(worker)}},
                                "ConditionExpression": "attribute_not_exists(pk)",
                            }
                        },
                        {
                            "Update": {
                                "TableName": TABLE,
                                "Key": key("counter", "claims"),
                                "UpdateExpression": "ADD n :one",
                                "ExpressionAttributeValues": {":one": {"N": "1"}},
                            }
                        },
                    ]
                )
                result = "won"
            except ClientError as exc:
                assert cancellation_codes(exc) == ["ConditionalCheckFailed", "None"]
                result = "lost"
            with lock:
                outcomes[result] += 1

    workers = [threading.Thread(target=claimer, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()

    assert outcomes == {"won": slots, "lost": slots * (threads - 1)}
    # the losers' counter updates were all rolled back: one increment per slot
    assert get(dynamodb, "counter", "claims")["n"] == {"N": str(slots)}


def test_transactions_are_isolated_from_readers_and_cancelled_ones_are_never_seen(dynamodb: Any) -> None:
    put(dynamodb, "pair", "a", n=0)
    put(dynamodb, "pair", "b", n=0)
    put(dynamodb, "pair", "guard", n=0)
    stop = threading.Event()
    torn: list[tuple[str, str]] = []

    def both(committed: bool) -> list[dict[str, Any]]:
        items = [
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": key("pair", side),
                    "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            }
            for side in ("a", "b")
        ]
        if not committed:  # fails after both updates were applied: must be undone before anyone reads
            items.append(
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": key("pair", "guard"),
                        "ConditionExpression": "n = :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                }
            )
        return items

    def writer() -> None:
        client = boto3.client("dynamodb", region_name="us-east-1")
        for i in range(40):
            committed = i % 2 == 0
            try:
                client.transact_write_items(TransactItems=both(committed))
            except ClientError:
                assert not committed

    def reader() -> None:
        client = boto3.client("dynamodb", region_name="us-east-1")
        while not stop.is_set():
            got = client.transact_get_items(
                TransactItems=[{"Get": {"TableName": TABLE, "Key": key("pair", side)}} for side in ("a", "b")]
            )["Responses"]
            a, b = (r["Item"]["n"]["N"] for r in got)
            if a != b:
                torn.append((a, b))

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for r in readers:
        r.start()
    writer()
    stop.set()
    for r in readers:
        r.join()

    assert torn == []
    assert get(dynamodb, "pair", "a")["n"] == get(dynamodb, "pair", "b")["n"] == {"N": "20"}


# --------------------------------------------------------------------------- cost: what is touched, not more


class DeepCopies:
    """Counts top-level ``copy.deepcopy`` calls by the type copied (nested calls carry a memo)."""

    def __init__(self) -> None:
        self.by_type: Counter[str] = Counter()
        self._deepcopy = copy.deepcopy

    def __call__(self, value: Any, memo: Any = None, *args: Any) -> Any:
        if memo is None:
            self.by_type[type(value).__name__] += 1
        return self._deepcopy(value, memo, *args)


def a_claim_like_transaction(client: Any, slot: int) -> None:
    client.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": key("schedule", "s1"),
                    "UpdateExpression": "ADD version :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
            {
                "Put": {
                    "TableName": TABLE,
                    "Item": key("run", f"slot-{slot}")
                    | {"open_shard": {"N": "1"}, "open_until": {"N": str(slot)}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
    )


@pytest.mark.parametrize("stored", [10, 2_000])
def test_a_transaction_copies_the_items_it_updates_never_a_table(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch, stored: int
) -> None:
    fill(dynamodb, stored)
    put(dynamodb, "schedule", "s1", version=1)
    copies = DeepCopies()
    monkeypatch.setattr(copy, "deepcopy", copies)
    stats = Counter(atomic.STATS)

    a_claim_like_transaction(dynamodb, 1)
    with pytest.raises(ClientError):
        a_claim_like_transaction(dynamodb, 1)  # the run exists: cancelled, the schedule update undone

    monkeypatch.undo()
    assert "Table" not in copies.by_type
    # per transaction: the updated item, once for the undo log and once by moto's update (its stream image)
    assert copies.by_type["Item"] <= 4, copies.by_type
    assert sum(copies.by_type.values()) <= 4 + 2, copies.by_type
    done = Counter(atomic.STATS) - stats
    assert done["transactions"] == 2 and done["rollbacks"] == 1
    assert done["items_logged"] == 4 and done["items_copied"] == 2
    assert done["table_snapshots_skipped"] == 4  # moto asks for a whole-table copy per action: gets the table
    assert get(dynamodb, "schedule", "s1")["version"] == {"N": "2"}


def test_a_read_copies_nothing_inside_a_request(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fill(dynamodb, 300)
    copies = DeepCopies()
    monkeypatch.setattr(copy, "deepcopy", copies)
    dynamodb.get_item(TableName=TABLE, Key=key("bulk", "000007"), ConsistentRead=True)
    monkeypatch.undo()
    assert copies.by_type == Counter()


@pytest.mark.parametrize("stored", [10, 2_000])
def test_a_query_looks_at_its_partition_or_index_entry_only(dynamodb: Any, stored: int) -> None:
    fill(dynamodb, stored)
    for i in range(30):
        put(
            dynamodb,
            "schedule-7",
            f"run-{i:03d}",
            n=i,
            **({"open_shard": 2, "open_until": i} if i % 3 == 0 else {}),
        )
    before = Counter(indexes.STATS)

    newest = dynamodb.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "schedule-7"}},
        ScanIndexForward=False,
        Limit=5,
    )
    shard = dynamodb.query(
        TableName=TABLE,
        IndexName="open",
        KeyConditionExpression="open_shard = :s AND #u <= :t",
        ExpressionAttributeNames={"#u": "open_until"},
        ExpressionAttributeValues={":s": {"N": "2"}, ":t": {"N": "20"}},
    )

    assert [i["sk"]["S"] for i in newest["Items"]] == [f"run-{i:03d}" for i in (29, 28, 27, 26, 25)]
    assert newest["LastEvaluatedKey"] == key("schedule-7", "run-025")
    assert [i["sk"]["S"] for i in shard["Items"]] == [f"run-{i:03d}" for i in range(0, 21, 3)]
    looked_at = Counter(indexes.STATS) - before
    assert looked_at["queries_narrowed"] == 2 and looked_at["queries_full"] == 0
    assert (
        looked_at["candidates"] == (5 + 1) + 10
    )  # Limit + 1 newest of the partition; the shard's 10 entries


def test_partition_and_index_queries_answer_as_moto_does_through_writes_and_rollbacks(dynamodb: Any) -> None:
    """Random writes (puts, updates that move or drop index keys, deletes, transactions, cancelled ones);
    after each batch every query shape is compared with the answer from a full Scan."""
    rng = random.Random(7)
    partitions, sorts = ["p0", "p1", "p2"], [f"{i:02d}" for i in range(12)]

    def random_write() -> None:
        pk, sk = rng.choice(partitions), rng.choice(sorts)
        kind = rng.random()
        if kind < 0.35:
            index = {"open_shard": rng.randrange(3), "open_until": rng.randrange(50)}
            attrs = {"n": rng.randrange(100)} | (index if rng.random() < 0.6 else {})
            put(dynamodb, pk, sk, **attrs)
        elif kind < 0.6:
            _update(dynamodb, pk, sk, rng)
        elif kind < 0.75:
            dynamodb.delete_item(TableName=TABLE, Key=key(pk, sk))
        else:
            other = rng.choice(sorts)
            actions: list[dict[str, Any]] = [
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": key(pk, sk) | {"open_shard": {"N": "1"}, "open_until": {"N": "9"}},
                    }
                },
            ]
            if other != sk:
                actions.append({"Delete": {"TableName": TABLE, "Key": key(pk, other)}})
            if rng.random() < 0.5:
                actions.append(
                    {
                        "ConditionCheck": {
                            "TableName": TABLE,
                            "Key": key("nobody", "00"),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    }
                )
            try:
                dynamodb.transact_write_items(TransactItems=actions)
            except ClientError:
                pass

    for _ in range(12):
        for _ in range(25):
            random_write()
        everything = dynamodb.scan(TableName=TABLE)["Items"]
        for pk in partitions:
            expected = sorted((i for i in everything if i["pk"]["S"] == pk), key=lambda i: i["sk"]["S"])
            for forward in (True, False):
                want = [i["sk"]["S"] for i in (expected if forward else expected[::-1])]
                assert _pages(dynamodb, pk, forward, limit=4) == want
                assert _pages(dynamodb, pk, forward, limit=None) == want
        for shard in range(3):
            expected = sorted(
                (i for i in everything if i.get("open_shard") == {"N": str(shard)} and "open_until" in i),
                key=lambda i: (int(i["open_until"]["N"]), i["pk"]["S"], i["sk"]["S"]),
            )
            got = dynamodb.query(
                TableName=TABLE,
                IndexName="open",
                KeyConditionExpression="open_shard = :s",
                ExpressionAttributeValues={":s": {"N": str(shard)}},
            )["Items"]
            assert [(i["pk"]["S"], i["sk"]["S"]) for i in got] == [
                (i["pk"]["S"], i["sk"]["S"]) for i in expected
            ]


def _update(client: Any, pk: str, sk: str, rng: random.Random) -> None:
    if rng.random() < 0.5:
        client.update_item(
            TableName=TABLE,
            Key=key(pk, sk),
            UpdateExpression="SET open_shard = :s, #u = :t",
            ExpressionAttributeNames={"#u": "open_until"},
            ExpressionAttributeValues={
                ":s": {"N": str(rng.randrange(3))},
                ":t": {"N": str(rng.randrange(50))},
            },
        )
    else:
        client.update_item(
            TableName=TABLE,
            Key=key(pk, sk),
            UpdateExpression="REMOVE open_shard, #u",
            ExpressionAttributeNames={"#u": "open_until"},
        )


def _pages(client: Any, pk: str, forward: bool, limit: int | None) -> list[str]:
    request: dict[str, Any] = {
        "TableName": TABLE,
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": pk}},
        "ScanIndexForward": forward,
    }
    if limit:
        request["Limit"] = limit
    out: list[str] = []
    while True:
        page = client.query(**request)
        out += [i["sk"]["S"] for i in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return out
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# --------------------------------------------------------------------------- a moto upgrade fails loudly


def test_the_patches_refuse_a_moto_whose_code_changed() -> None:
    from moto.dynamodb import models as moto_models
    from moto.dynamodb.responses import DynamoHandler

    class ChangedBackend:
        def transact_write_items(self, transact_items: list[dict[str, Any]]) -> None:
            """A moto that no longer snapshots tables the way the patch expects."""

    with pytest.raises(atomic.MotoChanged, match="transact_write_items"):
        atomic._check_moto(moto_models, ChangedBackend, DynamoHandler)


def test_an_update_too_large_for_its_item_changes_nothing(dynamodb: Any) -> None:
    # moto applies an update expression in place and fails half way when the item passes 400 KB; DynamoDB
    # applies all of an update or none of it.
    put(dynamodb, "run", "r1", status="running")
    dynamodb.update_item(TableName=TABLE, Key=key("run", "r1"), UpdateExpression="SET task = :t",
                         ExpressionAttributeValues={":t": {"S": "t" * 350_000}})  # fmt: skip
    with pytest.raises(ClientError, match="size"):
        dynamodb.update_item(
            TableName=TABLE,
            Key=key("run", "r1"),
            UpdateExpression="SET #status = :s, answer = :a",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":s": {"S": "success"}, ":a": {"S": "a" * 64_000}},
        )
    item = get(dynamodb, "run", "r1")
    assert item is not None and item["status"] == {"S": "running"} and "answer" not in item
