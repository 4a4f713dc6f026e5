"""Billing units from request and item sizes: DynamoDB request units, SQS 64 KB chunks (pure functions).

The rules are the published ones for on-demand DynamoDB and SQS; every benchmark that prices a run goes
through these, so the rounding is stated once:

- item size: attribute names plus values (strings and binaries by their UTF-8 / raw bytes, numbers about one
  byte per two significant digits plus one, booleans and nulls 1 byte, lists and maps 3 bytes plus 1 byte per
  element plus their contents);
- reads: 4 KB units of the item (GetItem) or of the sum of the items evaluated (Query, Scan, one request),
  at least one unit; eventually consistent reads (every index read) cost half;
- writes: 1 KB units of the larger of the item before and after the write, at least one unit; transactional
  reads and writes cost double;
- a global secondary index entry written, updated or deleted costs standard write units of the index entry
  (an update that changes the index key is a delete plus a put; with an ``ALL`` projection any change to an
  indexed item rewrites its entry);
- SQS bills each 64 KB chunk of a request's payload as one request, EventBridge each 64 KB chunk of an event
  as one event; at least one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

READ_UNIT_BYTES = 4096
WRITE_UNIT_BYTES = 1024
SQS_CHUNK_BYTES = 64 * 1024
_COLLECTION_OVERHEAD = 3  # bytes of a list or map, whatever it holds
_ELEMENT_OVERHEAD = 1  # bytes per element of a list or map


def number_size(text: str) -> int:
    """Bytes of a DynamoDB number: about one byte per two significant digits, plus one."""
    digits = Decimal(text).normalize().as_tuple().digits
    significant = len(digits) if any(digits) else 1
    return (significant + 1) // 2 + 1


def value_size(value: Mapping[str, Any]) -> int:
    """Bytes of one attribute value in DynamoDB JSON (``{"S": "x"}``, ``{"N": "1"}``, ...)."""
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(str(raw).encode("utf-8"))
    if kind == "N":
        return number_size(str(raw))
    if kind == "B":
        return len(raw) if isinstance(raw, bytes | bytearray) else len(str(raw).encode("utf-8"))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(v).encode("utf-8")) for v in raw)
    if kind == "NS":
        return sum(number_size(str(v)) for v in raw)
    if kind == "BS":
        return sum(len(v) for v in raw)
    if kind == "L":
        return _COLLECTION_OVERHEAD + sum(_ELEMENT_OVERHEAD + value_size(v) for v in raw)
    if kind == "M":
        return _COLLECTION_OVERHEAD + sum(
            _ELEMENT_OVERHEAD + len(name.encode("utf-8")) + value_size(v) for name, v in raw.items()
        )
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def item_size(item: Mapping[str, Mapping[str, Any]] | None) -> int:
    """Bytes of an item in DynamoDB JSON (0 for no item): attribute names plus values."""
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def read_units(size_bytes: int, *, consistent: bool, transactional: bool = False) -> float:
    """Read request units of one read of ``size_bytes`` (one item, or the items one query evaluated)."""
    units = max(1, math.ceil(size_bytes / READ_UNIT_BYTES))
    if transactional:
        return 2.0 * units
    return float(units) if consistent else units / 2


def write_units(size_bytes: int, *, transactional: bool = False) -> float:
    """Write request units of one item write (``size_bytes``: the larger of the item before and after)."""
    units = max(1, math.ceil(size_bytes / WRITE_UNIT_BYTES))
    return float(2 * units if transactional else units)


def index_writes(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    key_attributes: tuple[str, ...],
    projected: tuple[str, ...] | None = None,
) -> list[int]:
    """Sizes (bytes) of the entries a write makes an index write: [] when it writes none.

    ``projected``: the attributes the index holds (table keys, index keys and any ``INCLUDE``d ones; None
    for an ``ALL`` projection). An item is in the index when it has every key attribute of the index (a
    sparse index). A new entry is one put, a removed entry one delete, a changed key a delete plus a put, and
    a change of a projected attribute of an indexed item one put; an entry is as large as what it projects.
    """
    if projected is not None:
        before = {k: v for k, v in before.items() if k in projected} if before else before
        after = {k: v for k, v in after.items() if k in projected} if after else after

    def indexed(item: Mapping[str, Any] | None) -> bool:
        return bool(item) and all(name in item for name in key_attributes)  # type: ignore[operator]

    was, now = indexed(before), indexed(after)
    if not was and not now:
        return []
    if was and not now:
        return [item_size(before)]
    if now and not was:
        return [item_size(after)]
    assert before is not None and after is not None
    if any(before[name] != after[name] for name in key_attributes):
        return [item_size(before), item_size(after)]
    return [item_size(after)] if before != after else []


def chunks_64kb(payload_bytes: int) -> int:
    """Billed units of a payload priced per 64 KB chunk (an SQS request, an EventBridge event): at least 1."""
    return max(1, math.ceil(payload_bytes / SQS_CHUNK_BYTES))
