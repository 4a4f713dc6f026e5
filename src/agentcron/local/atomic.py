"""Make moto's DynamoDB serialise its operations, as the real service does (local stack and tests only).

DynamoDB checks a condition and applies the write atomically, and a transaction is isolated from every
other write. moto's backend has no lock: two concurrent requests (threads on a moto server, or parallel
shard sweeps against the in-process mock) can both pass a condition before either writes, and a cancelled
transaction rolls back by restoring a snapshot of whole tables, erasing writes that landed meanwhile. The
store's guarantees (one run per slot, terminal means terminal) rest on that atomicity, so anything running
agentcron concurrently on moto serialises the backend's operations first.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable
from typing import Any

READS = frozenset({"get_item", "transact_get_items", "batch_get_item", "query", "scan"})
OPERATIONS = (
    "get_item",
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "transact_get_items",
    "batch_write_item",
    "batch_get_item",
    "query",
    "scan",
)
_LOCK = threading.RLock()
_installed: dict[str, Any] = {}


def serialize_moto_dynamodb() -> Callable[[], None]:
    """Wrap moto's DynamoDB backend operations in one process-wide lock; returns the function that undoes it.

    Idempotent: a second call while installed changes nothing (and its undo does nothing).
    """
    from moto.dynamodb.models import DynamoDBBackend  # moto is a dev dependency: imported on use only

    if _installed:
        return lambda: None

    def locked(operation: Any) -> Any:
        @functools.wraps(operation)
        def call(*args: Any, **kwargs: Any) -> Any:
            with _LOCK:
                result = operation(*args, **kwargs)
                # moto hands back its live item objects and serialises them after we return: copy reads
                # inside the lock, or a concurrent write could tear a response (new version, old spec).
                return copy.deepcopy(result) if operation.__name__ in READS else result

        return call

    for name in OPERATIONS:
        _installed[name] = getattr(DynamoDBBackend, name)
        setattr(DynamoDBBackend, name, locked(_installed[name]))

    def undo() -> None:
        for name, operation in _installed.items():
            setattr(DynamoDBBackend, name, operation)
        _installed.clear()

    return undo
