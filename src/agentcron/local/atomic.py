"""Make moto's DynamoDB atomic, as the real service is, at a cost that does not grow with the tables.

DynamoDB checks a condition and applies the write atomically, and a transaction is isolated from every
other write. moto's backend has no lock: two concurrent requests (threads on a moto server, or parallel
shard sweeps against the in-process mock) can both pass a condition before either writes. The store's
guarantees (one run per slot, terminal means terminal) rest on that atomicity, so anything running
agentcron concurrently on moto calls :func:`serialize_moto_dynamodb` first, in the process that holds
moto's state (the moto server's process, or the tests' process for the in-process mock).

What it installs, at run time, on moto's classes (moto is a dev dependency; nothing of it is copied here):

1. **One lock around every DynamoDB request**, response serialisation included (``DynamoHandler.call_action``,
   re-entrant, also around the backend's operations for callers that use the backend directly). A
   condition and its write, a whole transaction, a whole ``BatchGetItem`` or ``TransactGetItems`` happen
   with no other request in between. Because the response is built inside the lock, reads hand back
   moto's own objects without copying them; only a direct backend caller, outside any request, gets a copy.
2. **Transactions that copy only what they touch.** moto makes a transaction atomic by deep-copying every
   table it touches before it starts and putting the copies back if it is cancelled: a cost proportional to
   the table, paid by every claim and every run transition. Here the transaction runs moto's own code (the
   conditions, the writes, the per-item ``CancellationReasons``) with that whole-table copy turned into a
   no-op, and an undo log of the items it names (the item a Put replaces or a Delete removes is kept as is,
   the item an Update mutates in place is copied first) is replayed if it is cancelled or rejected, so a
   cancelled transaction leaves no partial write. (A table with a stream keeps moto's own snapshot: its
   stream records could not be taken back.)
3. **Queries that look at their own partition** (:mod:`agentcron.local.indexes`): moto answers every Query
   by sorting and walking the whole table.

The patches check moto's version and the shape of the code they wrap, and refuse to install (raising
``MotoChanged``) if moto no longer looks like what they were written for: a moto upgrade fails loudly
instead of silently losing atomicity. ``STATS`` counts what the transaction path did, for tests.
"""

from __future__ import annotations

import copy
import functools
import inspect
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

# The moto versions these patches were written against and checked on; another version is accepted only if
# the code they wrap still has the expected shape (see ``_check_moto``).
TESTED_MOTO_VERSIONS = ("5.2.5",)
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
WRITE_ACTIONS = frozenset({"Put", "Update", "Delete"})

_LOCK = threading.RLock()
_local = threading.local()  # .in_request: inside a locked request; .snapshots_off: in our transaction
_undo: list[Callable[[], None]] = []
STATS: Counter[str] = Counter()


class MotoChanged(RuntimeError):
    """moto's DynamoDB no longer has the shape these patches wrap: update ``agentcron.local.atomic``."""


def serialize_moto_dynamodb() -> Callable[[], None]:
    """Install the lock, the per-item transactions and the partition queries; returns the undo function.

    Idempotent: a second call while installed changes nothing (and its undo does nothing).
    """
    from moto.dynamodb import models as moto_models  # dev dependency: imported on use only
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    from agentcron.local import indexes

    if _undo:
        return lambda: None
    _check_moto(moto_models, DynamoDBBackend, DynamoHandler)

    def patch(owner: Any, name: str, value: Any) -> None:
        original = getattr(owner, name)
        setattr(owner, name, value)
        _undo.append(lambda: setattr(owner, name, original))

    # 3. (first, so the locks below enclose them) partition queries and their bookkeeping after writes
    for owner, name, value in indexes.patches(Table, DynamoDBBackend):
        patch(owner, name, value)
    # 1. one lock per request, response included; a direct backend read outside a request gets a copy
    patch(DynamoHandler, "call_action", _locked_request(DynamoHandler.call_action))
    for name in OPERATIONS:
        patch(DynamoDBBackend, name, _locked_operation(getattr(DynamoDBBackend, name), name in READS))
    # 2. transactions: moto's code with its whole-table snapshot made a no-op, and an undo log of items
    transact = DynamoDBBackend.transact_write_items  # the locked one
    patch(DynamoDBBackend, "transact_write_items", _per_item_transaction(transact, Table))
    patch(DynamoDBBackend, "update_item", _all_or_nothing_update(DynamoDBBackend.update_item))
    patch(moto_models, "copy", _SnapshotSwitch(moto_models.copy, Table))

    def undo() -> None:
        while _undo:
            _undo.pop()()

    return undo


def _check_moto(moto_models: Any, backend: type, handler: type) -> None:
    """Refuse to patch a moto whose code no longer has the shape the patches rely on."""
    import moto

    problems = []
    transact = inspect.getsource(backend.transact_write_items)
    for marker in (
        "copy.deepcopy(",
        "original_table_state",
        "self.tables[table_name] = original_table_state",
    ):
        if marker not in transact:
            problems.append(f"DynamoDBBackend.transact_write_items no longer contains {marker!r}")
    if moto_models.copy is not copy:
        problems.append("moto.dynamodb.models.copy is not the copy module (patched twice?)")
    if list(inspect.signature(backend.transact_write_items).parameters) != ["self", "transact_items"]:
        problems.append("DynamoDBBackend.transact_write_items(self, transact_items) changed signature")
    if "call_action" not in vars(handler):
        problems.append("DynamoHandler.call_action is gone")
    from agentcron.local import indexes

    problems += indexes.check_moto()
    if problems:
        raise MotoChanged(
            f"moto {moto.__version__} (tested: {', '.join(TESTED_MOTO_VERSIONS)}) does not look like what "
            "agentcron.local.atomic patches: " + "; ".join(problems)
        )


def _locked_request(call_action: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(call_action)
    def call(self: Any) -> Any:
        with _LOCK:
            outer = getattr(_local, "in_request", False)
            _local.in_request = True
            try:
                return call_action(self)
            finally:
                _local.in_request = outer

    return call


def _locked_operation(operation: Callable[..., Any], read: bool) -> Callable[..., Any]:
    @functools.wraps(operation)
    def call(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            result = operation(*args, **kwargs)
            if read and not getattr(_local, "in_request", False):
                # A caller outside any request serialises moto's live objects after we return: a copy,
                # or a concurrent write could tear what it reads. Requests serialise inside the lock.
                return copy.deepcopy(result)
            return result

    return call


class _SnapshotSwitch:
    """Stands in for the ``copy`` module inside ``moto.dynamodb.models``.

    Inside one of our transactions, deep-copying a ``Table`` (moto's rollback snapshot) returns the table
    itself, so moto's "restore the snapshot" puts back the same object; everything else is the real copy.
    """

    def __init__(self, module: Any, table_class: type) -> None:
        self._module, self._table_class = module, table_class

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        if isinstance(value, self._table_class) and getattr(_local, "snapshots_off", False):
            STATS["table_snapshots_skipped"] += 1
            return value
        return self._module.deepcopy(value, memo)


def _per_item_transaction(transact: Callable[..., Any], table_class: type) -> Callable[..., Any]:
    from agentcron.local import indexes

    @functools.wraps(transact)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with _LOCK:
            undo_log = _undo_log(self, transact_items)
            if undo_log is None:  # a table with a stream: moto's own whole-table snapshot
                STATS["whole_table_transactions"] += 1
                return transact(self, transact_items)
            STATS["transactions"] += 1
            _local.snapshots_off = True
            try:
                return transact(self, transact_items)
            except BaseException:
                STATS["rollbacks"] += 1
                for table, hash_key, range_key, item in reversed(undo_log):
                    _put_back(table, hash_key, range_key, item)
                    indexes.touched(table, hash_key, range_key)
                raise
            finally:
                _local.snapshots_off = False

    return transact_write_items


def _all_or_nothing_update(update_item: Callable[..., Any]) -> Callable[..., Any]:
    """moto applies an update expression to the stored item in place and can fail half way (the item grew
    past 400 KB: ``ItemSizeToUpdateTooLarge``), leaving half an update; DynamoDB applies all or nothing. The
    item is put back as it was when moto raises."""
    from agentcron.local import indexes

    @functools.wraps(update_item)
    def call(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if getattr(_local, "snapshots_off", False):  # inside a transaction: its undo log covers the item
            return update_item(self, table_name, key, *args, **kwargs)
        with _LOCK:
            undo_log = _undo_log(self, [{"Update": {"TableName": table_name, "Key": key}}]) or []
            try:
                return update_item(self, table_name, key, *args, **kwargs)
            except BaseException:
                for table, hash_key, range_key, item in undo_log:
                    _put_back(table, hash_key, range_key, item)
                    indexes.touched(table, hash_key, range_key)
                raise

    return call


def _undo_log(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]] | None:
    """(table, hash key, range key, the item as it is now or None) for every item the transaction may write.

    An action moto will reject anyway (unknown table, malformed key) is left out: it writes nothing. None
    when a touched table has a stream (its records could not be taken back).
    """
    from moto.dynamodb.models.dynamo_type import DynamoType

    log = []
    for action in transact_items:
        if not isinstance(action, dict) or len(action) != 1:
            continue
        kind, op = next(iter(action.items()))
        if kind not in WRITE_ACTIONS or not isinstance(op, dict):
            continue
        table = backend.tables.get(op.get("TableName"))
        if table is None:
            try:
                table = backend.get_table(op.get("TableName"))  # by ARN
            except Exception:  # noqa: BLE001 - moto reports the unknown table itself
                continue
        if table.stream_shard is not None:
            return None
        attrs = op.get("Item") if kind == "Put" else op.get("Key")
        try:
            hash_key = DynamoType(attrs[table.hash_key_attr])
            range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
        except Exception:  # noqa: BLE001 - a malformed key: moto rejects the action, nothing is written
            continue
        item = lookup(table, hash_key, range_key)
        if item is not None and kind == "Update":  # moto updates the item object in place: keep a copy
            item = copy.deepcopy(item)
            STATS["items_copied"] += 1
        STATS["items_logged"] += 1
        log.append((table, hash_key, range_key, item))
    return log


def lookup(table: Any, hash_key: Any, range_key: Any) -> Any:
    """The item stored under the key, or None (without creating an empty partition, as ``Table.get_item``
    does on its ``defaultdict``)."""
    partition = table.items.get(hash_key)
    if partition is None:
        return None
    if table.range_key_attr:
        return partition.get(range_key)
    return partition


def _put_back(table: Any, hash_key: Any, range_key: Any, item: Any) -> None:
    if table.range_key_attr:
        partition = table.items.get(hash_key)
        if item is None:
            if partition is not None:
                partition.pop(range_key, None)
        else:
            table.items[hash_key][range_key] = item
    elif item is None:
        table.items.pop(hash_key, None)
    else:
        table.items[hash_key] = item
