"""The transcripts adapter: a run's session, as JSON, in DynamoDB when small and in S3 when large.

A session is saved once per run (and at checkpoints of long runs), so where it goes is a cost decision:
an S3 PUT costs what 8 DynamoDB write units cost, so a transcript whose zlib-compressed JSON fits in
``INLINE_BYTES`` (8 KB) is one item of the runs table, under a partition of its own
(``schedule_id = "~session:{id}"``, ``run_id = "~"``; schedule ids never hold ``~``), and a larger one is the
S3 object ``sessions/{id}.json`` with the same item pointing to it (``in_s3``). The item always exists and
always holds the transcript's size, so a read is one ``GetItem`` (plus the S3 read for a large one). Items
expire with the run history (``purge_at``, the runs table's TTL); S3 objects by the bucket's lifecycle.
A session saved before transcripts had items (no item) is read from S3.

The run record only carries the session id. What a session starts with is the application's business
(:mod:`agentcron.application.sessions`).
"""

from __future__ import annotations

import zlib
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from agentcron.store.base import batch_delete

if TYPE_CHECKING:
    from agentcron.domain.sessions import Session

SESSION_PREFIX = "sessions/"
PARTITION_PREFIX = "~session:"
INLINE_BYTES = 8 * 1024  # compressed; past this an S3 PUT costs less than the write units
INLINE_MAX_JSON_BYTES = 512 * 1024  # and never a transcript large enough to be served as a link
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


class SessionStore:
    """Sessions in the runs table (small) and the sessions bucket (large); boto3 clients.

    Without ``dynamodb`` (and ``table``) every session goes to S3, as it did before items existed.
    """

    def __init__(
        self,
        s3_client: Any,
        bucket: str,
        dynamodb: Any = None,
        table: str | None = None,
        *,
        retention_days: int = 30,
    ) -> None:
        self._s3 = s3_client
        self._bucket = bucket
        self._dynamodb = dynamodb if table else None
        self._table = table
        self._retention = timedelta(days=retention_days)

    @staticmethod
    def key(session_id: str) -> str:
        return f"{SESSION_PREFIX}{session_id}.json"

    @staticmethod
    def item_key(session_id: str) -> dict[str, Any]:
        return {"schedule_id": {"S": f"{PARTITION_PREFIX}{session_id}"}, "run_id": {"S": "~"}}

    def save(self, session: Session) -> None:
        """Write the whole session (last writer wins; one run owns its session while its lease lives)."""
        body = session.model_dump_json().encode("utf-8")
        packed = zlib.compress(body, 6)
        inline = self._dynamodb is not None and len(packed) <= INLINE_BYTES and len(body) <= INLINE_MAX_JSON_BYTES
        if not inline:
            self._s3.put_object(
                Bucket=self._bucket, Key=self.key(session.id), Body=body, ContentType="application/json"
            )
        if self._dynamodb is None:
            return
        item = {
            **self.item_key(session.id),
            "size": {"N": str(len(body))},
            "purge_at": {"N": str(int((session.updated_at + self._retention).timestamp()))},
        }
        item.update({"body": {"B": packed}} if inline else {"in_s3": {"BOOL": True}})
        self._dynamodb.put_item(TableName=self._table, Item=item)

    def _item(self, session_id: str) -> dict[str, Any] | None:
        if self._dynamodb is None:
            return None
        return self._dynamodb.get_item(
            TableName=self._table, Key=self.item_key(session_id), ConsistentRead=True
        ).get("Item")

    def size(self, session_id: str) -> int | None:
        """The stored transcript's size in bytes of JSON (None when there is none)."""
        item = self._item(session_id)
        if item is not None:
            return int(item["size"]["N"])
        try:
            response = self._s3.head_object(Bucket=self._bucket, Key=self.key(session_id))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING_CODES:
                return None
            raise
        return int(response["ContentLength"])

    def url(self, session_id: str, *, expires_in: int) -> str:
        """A pre-signed GET URL of a large transcript, valid ``expires_in`` seconds (no request is made)."""
        return self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": self.key(session_id)}, ExpiresIn=expires_in
        )

    def delete_many(self, session_ids: list[str]) -> None:
        """Delete these sessions' transcripts (absent ones are fine): their items, 25 a request, and their S3
        objects, 1000 a request; errors propagate."""
        ids = sorted(set(session_ids))
        if self._dynamodb is not None:
            batch_delete(self._dynamodb, self._table, [self.item_key(session_id) for session_id in ids])
        keys = [self.key(session_id) for session_id in ids]
        for start in range(0, len(keys), 1000):
            objects = [{"Key": key} for key in keys[start : start + 1000]]
            request = {"Objects": objects, "Quiet": True}
            response = self._s3.delete_objects(Bucket=self._bucket, Delete=request)
            errors = response.get("Errors") or []
            if errors:
                raise RuntimeError(f"{len(errors)} transcript(s) not deleted, e.g. {errors[0]}")

    def load(self, session_id: str) -> Session | None:
        """The stored session, or None when there is none; other errors propagate."""
        # Imported here: only the executor reads transcripts; the claim and the API never build the model.
        from agentcron.domain.sessions import Session

        item = self._item(session_id)
        if item is not None and "body" in item:
            return Session.model_validate_json(zlib.decompress(item["body"]["B"]))
        try:
            response = self._s3.get_object(Bucket=self._bucket, Key=self.key(session_id))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING_CODES:
                return None
            raise
        return Session.model_validate_json(response["Body"].read())
