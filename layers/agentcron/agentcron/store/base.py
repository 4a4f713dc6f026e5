"""What the schedule and run halves of the store share: tables, reads, paging and transaction outcomes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Self

from botocore.exceptions import ClientError

from agentcron.exceptions import ItemTooLarge, ServiceUnavailable
from agentcron.store.codec import decode_cursor, encode_cursor, epoch_ms, epoch_seconds, serialize, shard_of

if TYPE_CHECKING:
    from agentcron.config import Settings

TRANSACT_LIMIT = 100  # actions per TransactWriteItems
BATCH_WRITE_LIMIT = 25  # requests per BatchWriteItem
CONDITION_FAILED = "ConditionalCheckFailed"
FILTERED_PAGE = 100  # items evaluated per request of a filtered read
BATCH_DELETE_ROUNDS = 8  # BatchWriteItem calls per page of deletes before giving up loudly
BATCH_GET_LIMIT = 100  # keys per BatchGetItem


def error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def condition_failed(exc: ClientError) -> bool:
    """True when a conditional write's condition did not hold (the loser of a race, a stale version)."""
    return error_code(exc) == "ConditionalCheckFailedException"


def batch_delete(client: Any, table: str, keys: list[dict[str, Any]]) -> None:
    """Delete every key, 25 a request; unprocessed ones are retried with backoff, and any still left after
    ``BATCH_DELETE_ROUNDS`` raise ``ServiceUnavailable``: nothing is reported deleted while items remain."""
    for start in range(0, len(keys), BATCH_WRITE_LIMIT):
        requests = [{"DeleteRequest": {"Key": key}} for key in keys[start : start + BATCH_WRITE_LIMIT]]
        pending = {table: requests}
        for attempt in range(BATCH_DELETE_ROUNDS):
            if attempt:
                time.sleep(min(2.0, 0.05 * 2**attempt))  # DynamoDB asks for backoff on unprocessed items
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
        if pending:
            left = sum(len(requests) for requests in pending.values())
            raise ServiceUnavailable(f"{left} item(s) of {table} could not be deleted; retry the delete")


def too_large(exc: ClientError) -> bool:
    """True for DynamoDB's "Item size has exceeded the maximum allowed size" (on its own or as the reason
    a transaction was cancelled)."""
    reasons = [exc.response.get("Error") or {}, *(exc.response.get("CancellationReasons") or [])]
    return any(
        (r or {}).get("Code") == "ValidationException" and "size" in str((r or {}).get("Message", "")).lower()
        for r in reasons
    )


def cancellation_codes(exc: ClientError, count: int) -> list[str]:
    """Per-action reason codes of a cancelled transaction ("None" for actions that did not fail).

    When the service gives no reasons, every action is reported as a conflict so callers re-read.
    """
    reasons = exc.response.get("CancellationReasons") or []
    codes = [str((reason or {}).get("Code") or "None") for reason in reasons]
    if len(codes) != count:
        return ["TransactionConflict"] * count
    return codes


@dataclass(frozen=True)
class Page:
    """One page of items and the cursor of the next (None: the last page)."""

    items: list[dict[str, Any]]
    cursor: str | None


class StoreBase:
    """Tables and the low-level DynamoDB client; see :class:`agentcron.store.Store` for the contract."""

    def __init__(
        self,
        client: Any,
        *,
        schedules_table: str,
        runs_table: str,
        due_shards: int = 8,
        run_history_days: int = 30,
    ) -> None:
        if due_shards < 1:
            raise ValueError("due_shards must be >= 1")
        self.client = client
        self.schedules_table = schedules_table
        self.runs_table = runs_table
        self.due_shards = due_shards
        self.run_history_days = run_history_days

    @classmethod
    def from_settings(cls, settings: Settings, client: Any = None) -> Self:
        """A store on the tables ``settings`` names; a default boto3 client when none is given."""
        if client is None:
            import boto3

            client = boto3.client("dynamodb")
        return cls(
            client,
            schedules_table=settings.schedules_table,
            runs_table=settings.runs_table,
            due_shards=settings.due_shards,
            run_history_days=settings.run_history_days,
        )

    # ------------------------------------------------------------------ reads

    def _transact(self, items: list[dict[str, Any]]) -> list[str] | None:
        """Write ``items`` in one transaction: None when it landed, else each action's cancellation code."""
        try:
            self.client.transact_write_items(TransactItems=items)
            return None
        except ClientError as exc:
            if too_large(exc):
                raise ItemTooLarge(str(exc)) from exc
            if error_code(exc) != "TransactionCanceledException":
                raise
            return cancellation_codes(exc, len(items))

    def _get(self, table: str, key: dict[str, Any], projection: str | None = None) -> dict[str, Any] | None:
        request: dict[str, Any] = {"TableName": table, "Key": serialize(key), "ConsistentRead": True}
        if projection:
            names = {f"#{name}": name for name in projection.split(",")}
            request["ProjectionExpression"] = ", ".join(names)
            request["ExpressionAttributeNames"] = names
        return self.client.get_item(**request).get("Item")

    def _pages(self, operation: str, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every response page of a Query or Scan, following LastEvaluatedKey."""
        call: Callable[..., dict[str, Any]] = getattr(self.client, operation)
        request = dict(request)
        while True:
            response = call(**request)
            yield response
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            request["ExclusiveStartKey"] = last

    def _collect(
        self,
        operation: str,
        request: dict[str, Any],
        *,
        limit: int,
        cursor: str | None = None,
        key: tuple[str, ...] = (),
    ) -> Page:
        """Up to ``limit`` items (after any filter) and a cursor to continue, None when nothing is left.

        Unfiltered reads ask for exactly the number still missing, so DynamoDB's LastEvaluatedKey is the
        cursor. Filtered reads (``FilterExpression``; ``key`` names the item's key attributes) read pages of
        at least ``FILTERED_PAGE`` items, so a sparse match costs few requests; the surplus is dropped and
        the cursor rebuilt from the last item returned.
        """
        if limit < 1:
            raise ValueError("limit must be >= 1")
        filtered = "FilterExpression" in request
        if filtered and not key:
            raise ValueError("a filtered read needs the key attributes to build its cursor")
        request = dict(request)
        start = decode_cursor(cursor)
        if start:
            request["ExclusiveStartKey"] = start
        items: list[dict[str, Any]] = []
        call: Callable[..., dict[str, Any]] = getattr(self.client, operation)
        while True:
            missing = limit - len(items)
            request["Limit"] = max(missing, FILTERED_PAGE) if filtered else missing
            response = call(**request)
            items.extend(response.get("Items") or [])
            last = response.get("LastEvaluatedKey")
            if len(items) > limit:
                items = items[:limit]
                return Page(items, encode_cursor({name: items[-1][name] for name in key}))
            if not last:
                return Page(items, None)
            if len(items) == limit:
                return Page(items, encode_cursor(last))
            request["ExclusiveStartKey"] = last

    def _batch_get(
        self, table: str, keys: list[dict[str, Any]], *, consistent: bool = True
    ) -> list[dict[str, Any]]:
        """The items of ``keys`` that exist (any order); unprocessed keys are asked again with backoff, and
        any still left after ``BATCH_DELETE_ROUNDS`` raise ``ServiceUnavailable``."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            pending = {table: {"Keys": keys[start : start + BATCH_GET_LIMIT], "ConsistentRead": consistent}}
            for attempt in range(BATCH_DELETE_ROUNDS):
                if attempt:
                    time.sleep(min(2.0, 0.05 * 2**attempt))
                response = self.client.batch_get_item(RequestItems=pending)
                found += (response.get("Responses") or {}).get(table) or []
                pending = response.get("UnprocessedKeys") or {}
                if not pending:
                    break
            if pending:
                raise ServiceUnavailable(f"items of {table} could not be read; the next sweep tries again")
        return found

    def _batch_delete(self, table: str, keys: list[dict[str, Any]]) -> None:
        batch_delete(self.client, table, keys)

    # ------------------------------------------------------------------ run record attributes

    def _purge_at(self, completed_at: datetime) -> int:
        """The TTL (epoch seconds) of a run that became terminal at ``completed_at``."""
        return epoch_seconds(completed_at + timedelta(days=self.run_history_days))

    def _open_attributes(self, run_id: str, until: datetime) -> dict[str, Any]:
        """The sparse ``open`` index entry of a queued or running run, due for attention at ``until``."""
        return {"open_shard": shard_of(run_id, self.due_shards), "open_until": epoch_ms(until)}
