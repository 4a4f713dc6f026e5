"""Queries on moto's DynamoDB that read their own partition, not the whole table (installed by ``atomic``).

moto answers every Query by sorting every item of the table and walking them all: a query of one
schedule's runs, or of one shard of the sparse ``open`` index, costs in proportion to every run ever kept.
DynamoDB reads the partition. This module hands moto's own ``Table.query`` a narrower list of candidates and
lets it do the rest unchanged (key conditions, sort order, ``ExclusiveStartKey``, ``Limit``, the 1 MB page,
filters, projections):

- a table query: the items of its partition (``Table.items[hash key]``); with no range condition and a
  ``Limit``, only the ``Limit + 1`` items past the start key in the query's direction (so moto still sees
  whether there is a next page), from a sorted key list kept per partition;
- a global secondary index query (one HASH attribute): the items whose index hash attribute equals the
  queried value, from postings kept per index and updated after every write of an item.

The bookkeeping lives on the table object and is updated after each of moto's writes of an item
(``Table.put_item``, ``Table.delete_item``, ``DynamoDBBackend.update_item``, which changes the item in place,
and the transaction undo of :mod:`agentcron.local.atomic`). Anything it does not recognise (a multi-attribute
index key, a query shape it cannot narrow) goes to moto's full walk, so a result is never wrong, at worst
slow. Everything here runs inside the DynamoDB lock of :mod:`agentcron.local.atomic`.
"""

from __future__ import annotations

import bisect
import functools
import inspect
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

STATE = "_agentcron_partition_state"
_local = threading.local()
STATS: Counter[str] = Counter()

_QUERY_PARAMETERS = (
    "self",
    "hash_key",
    "range_comparison",
    "range_objs",
    "limit",
    "exclusive_start_key",
    "scan_index_forward",
    "projection_expressions",
    "index_name",
    "consistent_read",
    "filter_expression",
    "hash_key_conditions",
    "range_key_conditions",
    "filter_kwargs",
)


class _State:
    """What is kept per table: sorted range keys per partition, and postings per global secondary index."""

    def __init__(self) -> None:
        self.sorted: dict[Any, tuple[list[Any], set[Any]]] = {}
        self.signature: tuple[tuple[str, str], ...] | None = None  # ((index name, hash attribute), ...)
        self.postings: dict[str, dict[Any, dict[tuple[Any, Any], None]]] = {}
        self.entries: dict[tuple[Any, Any], dict[str, Any]] = {}  # item key -> {index name: hash value}


def check_moto() -> list[str]:
    """What no longer matches the moto code these patches wrap (empty: all good)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    problems = []
    parameters = tuple(inspect.signature(Table.query).parameters)
    if parameters != _QUERY_PARAMETERS:
        problems.append(f"Table.query parameters changed: {parameters}")
    if inspect.getsource(Table.query).count("self.all_items()") != 2:
        problems.append("Table.query no longer takes its candidates from two self.all_items() calls")
    if tuple(inspect.signature(Table.delete_item).parameters) != ("self", "hash_key", "range_key"):
        problems.append("Table.delete_item(self, hash_key, range_key) changed")
    if tuple(inspect.signature(DynamoDBBackend.update_item).parameters)[:3] != ("self", "table_name", "key"):
        problems.append("DynamoDBBackend.update_item(self, table_name, key, ...) changed")
    if "self.items[hash_value][range_value] = item" not in inspect.getsource(Table.put_item):
        problems.append("Table.put_item no longer stores items in self.items[hash][range]")
    return problems


def patches(table_class: type, backend_class: type) -> Iterator[tuple[Any, str, Any]]:
    """(owner, attribute, replacement) for every patch; ``atomic.serialize_moto_dynamodb`` applies them."""
    yield table_class, "query", _query(table_class.query)
    yield table_class, "all_items", _all_items(table_class.all_items)
    yield table_class, "put_item", _after_put(table_class.put_item)
    yield table_class, "delete_item", _after_delete(table_class.delete_item)
    yield backend_class, "update_item", _after_update(backend_class.update_item)


# --------------------------------------------------------------------------- bookkeeping


def _state(table: Any, create: bool = True) -> _State | None:
    state = table.__dict__.get(STATE)
    if state is None and create:
        state = table.__dict__[STATE] = _State()
    return state


def _lookup(table: Any, hash_key: Any, range_key: Any) -> Any:
    partition = table.items.get(hash_key)
    if partition is None:
        return None
    return partition.get(range_key) if table.range_key_attr else partition


def touched(table: Any, hash_key: Any, range_key: Any) -> None:
    """The item under this key may have appeared, changed or gone: bring the bookkeeping up to date."""
    state = _state(table, create=False)
    if state is None:
        return
    item = _lookup(table, hash_key, range_key)
    cached = state.sorted.get(hash_key)
    if cached is not None and (item is not None) != (range_key in cached[1]):
        del state.sorted[hash_key]  # an item came or went: sort this partition again when next queried
    if state.signature is not None:
        _index(state, (hash_key, range_key), item)


def _index(state: _State, key: tuple[Any, Any], item: Any) -> None:
    assert state.signature is not None
    new: dict[str, Any] = {}
    if item is not None:
        for name, attribute in state.signature:
            value = item.attrs.get(attribute)
            if value is not None:
                new[name] = value
    old = state.entries.pop(key, {})
    for name, value in old.items():
        replacement = new.get(name)
        if replacement is None or replacement != value:  # (DynamoType cannot be compared with None)
            bucket = state.postings[name].get(value)
            if bucket is not None:
                bucket.pop(key, None)
                if not bucket:
                    del state.postings[name][value]
    for name, value in new.items():
        try:
            state.postings[name].setdefault(value, {})[key] = None
        except TypeError:  # not a key type (moto would not index it either): leave it out
            new = {n: v for n, v in new.items() if n != name}
    if new:
        state.entries[key] = new


def _signature(table: Any) -> tuple[tuple[str, str], ...]:
    out = []
    for index in table.global_indexes or []:
        hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
        if len(hashes) == 1:
            out.append((index.name, hashes[0]))
    return tuple(out)


def _postings(table: Any, state: _State) -> dict[str, dict[Any, dict[tuple[Any, Any], None]]]:
    signature = _signature(table)
    if state.signature != signature:  # first index query on this table, or its indexes changed
        STATS["postings_built"] += 1
        state.signature, state.entries = signature, {}
        state.postings = {name: {} for name, _ in signature}
        for hash_key, partition in list(table.items.items()):
            if table.range_key_attr:
                for range_key, item in list(partition.items()):
                    _index(state, (hash_key, range_key), item)
            elif partition is not None:
                _index(state, (hash_key, None), partition)
    return state.postings


def _sorted_keys(state: _State, hash_key: Any, partition: dict[Any, Any]) -> list[Any]:
    cached = state.sorted.get(hash_key)
    if cached is None:
        keys = sorted(partition)
        cached = state.sorted[hash_key] = (keys, set(keys))
    return cached[0]


# --------------------------------------------------------------------------- the query


def _candidates(table: Any, a: dict[str, Any]) -> list[Any] | None:
    """The items moto's query needs to look at, or None for moto's full walk."""
    state = _state(table)
    assert state is not None
    index_name = a.get("index_name")
    if index_name:
        gsi = next((i for i in table.global_indexes or [] if i.name == index_name), None)
        if gsi is None:
            lsi = next((i for i in table.indexes or [] if i.name == index_name), None)
            if lsi is None or a.get("hash_key") is None:
                return None
            partition = table.items.get(a["hash_key"])  # a local index shares the table's partition
            if partition is None:
                return []
            return list(partition.values()) if table.range_key_attr else [partition]
        attribute = dict(_signature(table)).get(index_name)
        conditions = dict(a.get("hash_key_conditions") or [])
        if attribute is None or attribute not in conditions:
            return None
        keys = _postings(table, state)[index_name].get(conditions[attribute], {})
        items = [_lookup(table, h, r) for h, r in keys]
        return [item for item in items if item is not None]

    hash_key = a.get("hash_key")
    if hash_key is None:
        return None
    partition = table.items.get(hash_key)
    if partition is None:
        return []
    if not table.range_key_attr:
        return [partition]
    limit = a.get("limit")
    start = a.get("exclusive_start_key")
    if (
        a.get("range_comparison")
        or a.get("range_key_conditions")
        or a.get("filter_kwargs")
        or not isinstance(limit, int)
        or limit < 1
    ):
        return list(partition.values())
    from moto.dynamodb.models.dynamo_type import DynamoType

    keys = _sorted_keys(state, hash_key, partition)
    after = None
    if start:
        try:
            if DynamoType(start[table.hash_key_attr]) != hash_key:
                return list(partition.values())
            after = DynamoType(start[table.range_key_attr])
        except Exception:  # noqa: BLE001 - a start key moto will judge itself
            return list(partition.values())
    if a.get("scan_index_forward", True) is not False:
        first = bisect.bisect_right(keys, after) if after is not None else 0
        chosen = keys[first : first + limit + 1]
    else:
        end = bisect.bisect_left(keys, after) if after is not None else len(keys)
        chosen = keys[max(0, end - limit - 1) : end]
    return [partition[k] for k in chosen]


def _query(query: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(query)

    @functools.wraps(query)
    def narrowed(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        arguments = dict(bound.arguments)
        table = arguments["self"]
        candidates = _candidates(table, arguments)
        if candidates is None:
            STATS["queries_full"] += 1
            return query(*args, **kwargs)
        STATS["queries_narrowed"] += 1
        STATS["candidates"] += len(candidates)
        previous = getattr(_local, "candidates", None)
        _local.candidates = (table, candidates)
        try:
            return query(*args, **kwargs)
        finally:
            _local.candidates = previous

    return narrowed


def _all_items(all_items: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(all_items)
    def items(self: Any) -> list[Any]:
        current = getattr(_local, "candidates", None)
        if current is not None and current[0] is self:
            _local.candidates = None  # for the one call of the query it was set up for
            return list(current[1])
        return all_items(self)

    return items


# --------------------------------------------------------------------------- after each write


def _after_put(put_item: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(put_item)
    def put(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = put_item(self, *args, **kwargs)
        touched(self, item.hash_key, item.range_key)
        return item

    return put


def _after_delete(delete_item: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(delete_item)
    def delete(self: Any, hash_key: Any, range_key: Any) -> Any:
        try:
            return delete_item(self, hash_key, range_key)
        finally:
            touched(self, hash_key, range_key)

    return delete


def _after_update(update_item: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(update_item)
    def update(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return update_item(self, table_name, key, *args, **kwargs)
        finally:
            _touched_by_key(self, table_name, key)

    return update


def _touched_by_key(backend: Any, table_name: str, key: dict[str, Any]) -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        table = backend.get_table(table_name)  # by name or ARN
    except Exception:  # noqa: BLE001 - no such table: nothing was written
        return
    if _state(table, create=False) is None:
        return
    try:
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    except Exception:  # noqa: BLE001 - a key we cannot read: forget what we kept, rebuild on next query
        table.__dict__.pop(STATE, None)
        return
    touched(table, hash_key, range_key)
