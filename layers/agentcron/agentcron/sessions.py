"""The transcripts adapter: a run's session is stored in S3 as JSON (``sessions/{session_id}.json``).

Not in DynamoDB: transcripts grow past the 400 KB item limit. The run record only carries the session id
(``Store.bind_session``). What a session starts with is the application's business
(:mod:`agentcron.application.sessions`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from agentcron.models import Session

if TYPE_CHECKING:
    pass

SESSION_PREFIX = "sessions/"
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


class SessionStore:
    """Sessions as JSON objects in the sessions bucket; ``s3_client`` is a boto3 S3 client."""

    def __init__(self, s3_client: Any, bucket: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket

    @staticmethod
    def key(session_id: str) -> str:
        return f"{SESSION_PREFIX}{session_id}.json"

    def save(self, session: Session) -> None:
        """Write the whole session (last writer wins; one run owns its session while its lease lives)."""
        self._s3.put_object(
            Bucket=self._bucket,
            Key=self.key(session.id),
            Body=session.model_dump_json().encode("utf-8"),
            ContentType="application/json",
        )

    def size(self, session_id: str) -> int | None:
        """The stored transcript's size in bytes (None when there is none)."""
        try:
            response = self._s3.head_object(Bucket=self._bucket, Key=self.key(session_id))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING_CODES:
                return None
            raise
        return int(response["ContentLength"])

    def url(self, session_id: str, *, expires_in: int) -> str:
        """A pre-signed GET URL of the transcript, valid ``expires_in`` seconds (no request is made)."""
        return self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": self.key(session_id)}, ExpiresIn=expires_in
        )

    def delete_many(self, session_ids: list[str]) -> None:
        """Delete these sessions' transcripts (absent ones are fine), 1000 a request; S3 errors propagate."""
        keys = sorted({self.key(session_id) for session_id in session_ids})
        for start in range(0, len(keys), 1000):
            objects = [{"Key": key} for key in keys[start : start + 1000]]
            request = {"Objects": objects, "Quiet": True}
            response = self._s3.delete_objects(Bucket=self._bucket, Delete=request)
            errors = response.get("Errors") or []
            if errors:
                raise RuntimeError(f"{len(errors)} transcript(s) not deleted, e.g. {errors[0]}")

    def load(self, session_id: str) -> Session | None:
        """The stored session, or None when there is none; other S3 errors propagate."""
        try:
            response = self._s3.get_object(Bucket=self._bucket, Key=self.key(session_id))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING_CODES:
                return None
            raise
        return Session.model_validate_json(response["Body"].read())
