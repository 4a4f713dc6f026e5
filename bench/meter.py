"""Count what a piece of code asks of AWS: calls per operation, DynamoDB items read and request units.

An :class:`ApiMeter` hooks botocore's event system (``before-parameter-build`` and ``after-call``) of a client
or of a boto3 session (clients made from the session afterwards inherit the hooks, so the handlers' own
clients are counted too). For DynamoDB it sizes every item a call reads or writes, before and after the
call, by looking the item up in moto's in-process backend (``peek``): the request units then follow the
published rules in :mod:`bench.units` (a GetItem with a projection still reads the whole item; an update is
billed on the larger of the old and new item; indexes are written when an indexed item changes).

Counting is thread-safe; ``phase(name)`` attributes everything counted inside it to that phase.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench import units

Item = dict[str, Any]
Peek = Callable[[str, Item], Item | None]  # (table name, key) -> the stored item in DynamoDB JSON, or None
# table name -> {index name: (key attributes, projected attributes or None for an ALL projection)}
IndexKeys = Callable[[str], dict[str, tuple[tuple[str, ...], tuple[str, ...] | None]]]


@dataclass
class PhaseStats:
    """What one phase asked of AWS. Units are billing units (DynamoDB request units, SQS 64 KB requests)."""

    calls: Counter[str] = field(default_factory=Counter)  # "dynamodb.Query" -> calls
    items_returned: Counter[str] = field(default_factory=Counter)  # DynamoDB operation -> items returned
    items_evaluated: Counter[str] = field(default_factory=Counter)  # ScannedCount (Query/Scan), items read
    read_units: Counter[str] = field(default_factory=Counter)  # DynamoDB operation -> RRU
    write_units: Counter[str] = field(default_factory=Counter)  # DynamoDB operation -> WRU (base table)
    index_write_units: Counter[str] = field(default_factory=Counter)  # index name -> WRU
    sqs_requests: Counter[str] = field(default_factory=Counter)  # SQS operation -> billed requests
    events: Counter[str] = field(default_factory=Counter)  # EventBridge operation -> billed events (64 KB)
    errors: Counter[str] = field(default_factory=Counter)  # "dynamodb.TransactWriteItems:Code" -> count

    def add(self, other: PhaseStats) -> None:
        for name in self.__dataclass_fields__:
            getattr(self, name).update(getattr(other, name))

    def as_dict(self) -> dict[str, Any]:
        def rounded(counter: Counter[str]) -> dict[str, float]:
            return {k: round(v, 3) for k, v in sorted(counter.items())}

        return {
            "calls": dict(sorted(self.calls.items())),
            "dynamodb_items_returned": dict(sorted(self.items_returned.items())),
            "dynamodb_items_evaluated": dict(sorted(self.items_evaluated.items())),
            "dynamodb_read_units": rounded(self.read_units),
            "dynamodb_write_units": rounded(self.write_units),
            "dynamodb_index_write_units": rounded(self.index_write_units),
            "sqs_billed_requests": dict(sorted(self.sqs_requests.items())),
            "eventbridge_billed_events": dict(sorted(self.events.items())),
            "errors": dict(sorted(self.errors.items())),
            "totals": self.totals(),
        }

    def totals(self) -> dict[str, float]:
        s3 = {op: n for key, n in self.calls.items() for svc, op in [key.split(".", 1)] if svc == "s3"}
        return {
            "api_calls": sum(self.calls.values()),
            "dynamodb_calls": sum(n for k, n in self.calls.items() if k.startswith("dynamodb.")),
            "dynamodb_items_read": sum(self.items_evaluated.values()),
            "dynamodb_read_units": round(sum(self.read_units.values()), 3),
            "dynamodb_write_units": round(
                sum(self.write_units.values()) + sum(self.index_write_units.values()), 3
            ),
            "sqs_billed_requests": sum(self.sqs_requests.values()),
            "eventbridge_billed_events": sum(self.events.values()),
            "s3_put_requests": sum(n for op, n in s3.items() if op in _S3_PUT_CLASS),
            "s3_get_requests": sum(n for op, n in s3.items() if op not in _S3_PUT_CLASS),
        }


# S3 request classes: PUT, COPY, POST, LIST are priced as "PUT"; GET, HEAD and the rest as "GET".
_S3_PUT_CLASS = frozenset(
    {
        "PutObject",
        "CopyObject",
        "PostObject",
        "ListObjects",
        "ListObjectsV2",
        "CreateMultipartUpload",
        "UploadPart",
        "CompleteMultipartUpload",
    }
)


class ApiMeter:
    """Counts AWS calls made through the emitters it is attached to. ``peek``/``index_keys``: see module doc.

    Without ``peek`` DynamoDB sizes come from the request and response only (a projected read or an update
    is then under-counted); the cost benchmark always peeks.
    """

    def __init__(self, *, peek: Peek | None = None, index_keys: IndexKeys | None = None) -> None:
        self._peek = peek
        self._index_keys = index_keys or (lambda table: {})
        self._lock = threading.Lock()
        self._phase = "default"
        self.phases: dict[str, PhaseStats] = defaultdict(PhaseStats)
        self.paused = False

    # ------------------------------------------------------------------ wiring

    def attach(self, emitter: Any) -> Callable[[], None]:
        """Register on a botocore emitter (``client.meta.events``, ``boto3_session.events``); returns undo."""
        emitter.register(
            "before-parameter-build.dynamodb.*", self._before_dynamodb, unique_id="bench-meter-b"
        )
        emitter.register("before-parameter-build.sqs.*", self._before_other, unique_id="bench-meter-q")
        emitter.register(
            "before-parameter-build.eventbridge.*", self._before_other, unique_id="bench-meter-e"
        )
        emitter.register("after-call.*.*", self._after_call, unique_id="bench-meter-a")

        def detach() -> None:
            emitter.unregister("before-parameter-build.dynamodb.*", unique_id="bench-meter-b")
            emitter.unregister("before-parameter-build.sqs.*", unique_id="bench-meter-q")
            emitter.unregister("before-parameter-build.eventbridge.*", unique_id="bench-meter-e")
            emitter.unregister("after-call.*.*", unique_id="bench-meter-a")

        return detach

    @contextmanager
    def phase(self, name: str) -> Iterator[PhaseStats]:
        """Attribute what is counted inside to ``name`` (phases are process-wide, not per thread)."""
        previous, self._phase = self._phase, name
        try:
            yield self.phases[name]
        finally:
            self._phase = previous

    @contextmanager
    def pause(self) -> Iterator[None]:
        """Count nothing inside (setting up a workload is not part of what is measured)."""
        previous, self.paused = self.paused, True
        try:
            yield
        finally:
            self.paused = previous

    def total(self, *names: str) -> PhaseStats:
        out = PhaseStats()
        for name in names or tuple(self.phases):
            out.add(self.phases[name])
        return out

    # ------------------------------------------------------------------ hooks

    def _before_dynamodb(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if self.paused:
            return
        context["bench_meter_params"] = params
        peek = self._peek or (lambda table, key: None)
        context["bench_meter_before"] = [
            (table, key, action, peek(table, key)) for table, key, action in _targets(model.name, params)
        ]

    @staticmethod
    def _before_other(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bench_meter_params"] = params

    def _after_call(
        self,
        http_response: Any,
        parsed: dict[str, Any],
        model: Any,
        context: dict[str, Any],
        event_name: str,
        **_: Any,
    ) -> None:
        if self.paused:
            return
        service = event_name.split(".")[1]
        operation = model.name
        status = getattr(http_response, "status_code", 200)
        stats = PhaseStats()
        stats.calls[f"{service}.{operation}"] += 1
        if status >= 300:
            code = (parsed.get("Error") or {}).get("Code", str(status))
            stats.errors[f"{service}.{operation}:{code}"] += 1
        if service == "dynamodb":
            self._dynamodb(operation, parsed, context, stats)
        elif service == "sqs":
            stats.sqs_requests[operation] += units.chunks_64kb(_sqs_payload(operation, context, parsed))
        elif service == "eventbridge" and operation == "PutEvents":
            entries = (context.get("bench_meter_params") or {}).get("Entries") or []
            # Each event is billed per 64 KB chunk; failed entries are not published.
            failed = int(parsed.get("FailedEntryCount", 0) or 0)
            sizes = [units.chunks_64kb(len(str(e.get("Detail", "")).encode("utf-8"))) for e in entries]
            stats.events[operation] += max(0, sum(sizes) - failed)
        with self._lock:
            self.phases[self._phase].add(stats)

    # ------------------------------------------------------------------ DynamoDB sizing

    def _dynamodb(
        self, operation: str, parsed: dict[str, Any], context: dict[str, Any], s: PhaseStats
    ) -> None:
        params = context.get("bench_meter_params") or {}
        before = context.get("bench_meter_before") or []
        if operation in ("Query", "Scan"):
            items = parsed.get("Items") or []
            s.items_returned[operation] += len(items)
            scanned = int(parsed.get("ScannedCount", len(items)))
            s.items_evaluated[operation] += scanned
            table = params.get("TableName", "")
            sizes = [units.item_size(self._full(table, item, params)) for item in items]
            if scanned > len(items):  # filtered out: sized like the average returned item
                average = sum(sizes) / len(sizes) if sizes else 0
                sizes.append(int(average * (scanned - len(items))))
            consistent = bool(params.get("ConsistentRead")) and "IndexName" not in params
            s.read_units[operation] += units.read_units(sum(sizes), consistent=consistent)
            return
        if operation == "GetItem":
            found = 1 if parsed.get("Item") else 0
            s.items_returned[operation] += found
            s.items_evaluated[operation] += found
            size = units.item_size(before[0][3] if before else None) or units.item_size(parsed.get("Item"))
            s.read_units[operation] += units.read_units(size, consistent=bool(params.get("ConsistentRead")))
            return
        if operation == "BatchGetItem":
            for table, items in (parsed.get("Responses") or {}).items():
                for item in items:
                    s.items_returned[operation] += 1
                    s.items_evaluated[operation] += 1
                    consistent = bool(params.get("RequestItems", {}).get(table, {}).get("ConsistentRead"))
                    size = units.item_size(self._full(table, item, {}))
                    s.read_units[operation] += units.read_units(size, consistent=consistent)
            return
        if operation == "TransactGetItems":
            for _, _, _, old in before:
                s.read_units[operation] += units.read_units(
                    units.item_size(old), consistent=True, transactional=True
                )
            return
        transactional = operation == "TransactWriteItems"
        for table, key, action, old in before:
            if action == "ConditionCheck":  # priced as a transactional write of the item it checks
                s.write_units[operation] += units.write_units(units.item_size(old), transactional=True)
                continue
            new = (
                self._peek(table, key)
                if self._peek
                else (key if action in ("Put", "PutItem", "PutRequest") else None)
            )
            size = max(units.item_size(old), units.item_size(new))
            s.write_units[operation] += units.write_units(size, transactional=transactional)
            for index, (attributes, projected) in self._index_keys(table).items():
                for entry in units.index_writes(old, new, attributes, projected):
                    s.index_write_units[index] += units.write_units(entry)

    def _full(self, table: str, item: Item, params: dict[str, Any]) -> Item:
        """The whole stored item behind a returned one (a projection does not reduce what is read)."""
        if self._peek is None or not item:
            return item
        stored = self._peek(table, item)
        return stored if stored is not None else item


def _targets(operation: str, params: dict[str, Any]) -> list[tuple[str, Item, str]]:
    """(table, key, action) of every item a DynamoDB write or point read names."""
    if operation in ("GetItem", "PutItem", "UpdateItem", "DeleteItem"):
        key = params.get("Key") or params.get("Item") or {}
        return [(params["TableName"], key, operation)]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        out = []
        for entry in params.get("TransactItems") or []:
            ((action, body),) = entry.items()
            out.append((body["TableName"], body.get("Key") or body.get("Item") or {}, action))
        return out
    if operation == "BatchWriteItem":
        out = []
        for table, requests in (params.get("RequestItems") or {}).items():
            for request in requests:
                ((action, body),) = request.items()
                out.append((table, body.get("Key") or body.get("Item") or {}, action))
        return out
    return []


def _sqs_payload(operation: str, context: dict[str, Any], parsed: dict[str, Any]) -> int:
    """Bytes of the message bodies a call carries (what SQS bills in 64 KB chunks)."""
    if operation == "ReceiveMessage":
        return sum(len(m.get("Body", "").encode("utf-8")) for m in parsed.get("Messages") or [])
    params = context.get("bench_meter_params") or {}
    if operation == "SendMessage":
        return len(str(params.get("MessageBody", "")).encode("utf-8"))
    if operation == "SendMessageBatch":
        return sum(len(str(e.get("MessageBody", "")).encode("utf-8")) for e in params.get("Entries") or [])
    return 0
