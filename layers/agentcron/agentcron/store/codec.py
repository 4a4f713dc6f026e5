"""How schedules and runs are laid out as DynamoDB items, and the expression builder the store writes with.

Schedules item: ``schedule_id``, ``project_id`` (a copy of the spec's, the key of the ``project`` index; items
written before projects lack it until their next write), ``version`` (optimistic concurrency), ``spec``
(ScheduleSpec JSON), ``enabled`` (copy of spec.enabled), every ScheduleState field as a top-level attribute
(ISO-8601 UTC strings, numbers) so run transitions can ADD counters without touching ``version``
(``open_run_ids`` as the string set ``open_runs``: the runs whose ends are not counted yet);
``next_fire_at`` (epoch ms) and ``due_shard`` exist only while the schedule is enabled and has a next fire (sparse ``due`` index).

Runs item: every Run field top-level (usage as ``input_tokens``/``output_tokens``); ``open_shard`` and
``open_until`` (epoch ms) only while queued or running (sparse, keys-only ``open`` index: when the outbox or
the reaper looks next); ``lease_until`` (epoch ms) while running; ``purge_at`` (epoch seconds, the TTL
attribute) once terminal; ``send_count`` for the outbox backoff; ``tally`` when its end is counted through the
schedule's ``open_runs`` (runs recorded before that end in one transaction with the schedule).
"""

from __future__ import annotations

import base64
import json
import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from agentcron.domain.schedule import STORED
from agentcron.domain.values import iso  # the one text form of an instant, stored as is
from agentcron.models import Run, Schedule, ScheduleSpec, ScheduleState, slot_run_id, to_utc

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()

STATE_TIMES = (
    "last_scheduled_at",
    "last_started_at",
    "last_finished_at",
    "last_success_at",
    "last_failure_at",
)
STATE_COUNTS = (
    "active_run_count",
    "consecutive_failures",
    "total_run_count",
    "total_success_count",
    "total_failure_count",
    "total_missed_count",
    "total_skipped_count",
    "input_tokens",
    "output_tokens",
)
OPEN_RUNS = "open_runs"  # string set: ScheduleState.open_run_ids (domain/tally.py)
TALLY = "tally"  # on a run: its end is counted through the schedule's open_runs set (runs before it: not)
SPEC_TOP_LEVEL = ("project_id", "enabled")  # spec fields kept as item attributes (with ``schedule_id``)
# Counters of items written before a start stopped writing the schedule: read as part of active_run_count.
LEGACY_ACTIVE_COUNTS = ("queued_run_count", "running_run_count")
RUN_TIMES = ("scheduled_for", "claimed_at", "started_at", "completed_at")
RUN_FIELDS = (
    "run_id",
    "schedule_id",
    "project_id",
    "status",
    "outcome_reason",
    "session_id",
    "dispatch_lag_ms",
    "execution_duration_ms",
    "was_catch_up",
    "trigger",
    "attempt",
    "task_message",
    "cancel_requested",
    "final_answer",
    "created_by",
    "cancelled_by",
    "started_by_chain",
)


# --------------------------------------------------------------------------- scalars


def epoch_ms(at: datetime) -> int:
    return (to_utc(at) - EPOCH) // timedelta(milliseconds=1)


def from_epoch_ms(value: int | Decimal) -> datetime:
    return EPOCH + timedelta(milliseconds=int(value))


def epoch_seconds(at: datetime) -> int:
    return (to_utc(at) - EPOCH) // timedelta(seconds=1)




def parse_iso(value: str) -> datetime:
    return to_utc(datetime.fromisoformat(value))


def shard_of(key: str, shards: int) -> int:
    """A stable shard (same in every process and Python version, unlike ``hash``)."""
    return zlib.crc32(key.encode("utf-8")) % max(1, shards)


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _SERIALIZER.serialize(v) for k, v in item.items() if v is not None}


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(_DESERIALIZER.deserialize(v)) for k, v in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    """An opaque page cursor from DynamoDB's LastEvaluatedKey (None at the end)."""
    if not last_key:
        return None
    raw = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        if raw.count(b"{") + raw.count(b"[") > 8:  # a key is one flat level of {"S": ...}: no deep nesting
            raise ValueError("cursor is not valid")
        key = json.loads(raw)
    except (ValueError, RecursionError):
        raise ValueError("cursor is not valid") from None
    if not isinstance(key, dict) or not all(isinstance(v, dict) for v in key.values()):
        raise ValueError("cursor is not valid")
    return key


# --------------------------------------------------------------------------- schedules


def schedule_item(schedule: Schedule, version: int, due_shards: int) -> dict[str, Any]:
    """The full item of a schedule (plain values; ``serialize`` makes it DynamoDB JSON)."""
    state = schedule.state
    item: dict[str, Any] = {
        "schedule_id": schedule.id,
        "project_id": schedule.project_id,  # the key of the sparse ``project`` index
        "version": version,
        "spec": spec_json(schedule.spec),
        "enabled": schedule.enabled,
    }
    for name in STATE_TIMES:
        value = getattr(state, name)
        item[name] = iso(value) if value is not None else None
    for name in STATE_COUNTS:
        item[name] = getattr(state, name) or None  # a zero is left out: ADD starts from nothing, reads give 0
    item["last_queued_run_id"] = state.last_queued_run_id
    item.update(due_attributes(schedule.id, state.next_fire_at if schedule.enabled else None, due_shards))
    return item


def due_attributes(schedule_id: str, next_fire_at: datetime | None, due_shards: int) -> dict[str, Any]:
    """``next_fire_at``/``due_shard`` for the sparse due index (None values: the attributes are removed)."""
    if next_fire_at is None:
        return {"next_fire_at": None, "due_shard": None}
    return {"next_fire_at": epoch_ms(next_fire_at), "due_shard": shard_of(schedule_id, due_shards)}


def schedule_from_item(item: dict[str, Any]) -> tuple[Schedule, int]:
    """(Schedule, version) from a raw DynamoDB item."""
    data = deserialize(item)
    spec = json.loads(data["spec"])
    spec["id"] = data["schedule_id"]  # top-level attributes, not repeated in the spec's JSON
    for name in SPEC_TOP_LEVEL:
        if data.get(name) is not None:
            spec[name] = data[name]
    state: dict[str, Any] = {name: data[name] for name in STATE_COUNTS if name in data}
    state["active_run_count"] = sum(int(data.get(name, 0)) for name in ("active_run_count", *LEGACY_ACTIVE_COUNTS))
    for name in STATE_TIMES:
        if data.get(name):
            state[name] = parse_iso(data[name])
    # Stored by run-now, backfill and retry; a claim leaves it out: its run is the last scheduled slot's.
    state["last_queued_run_id"] = data.get("last_queued_run_id") or (
        slot_run_id(data["schedule_id"], state["last_scheduled_at"]) if "last_scheduled_at" in state else None
    )
    if data.get("next_fire_at") is not None:
        state["next_fire_at"] = from_epoch_ms(data["next_fire_at"])
    state["open_run_ids"] = frozenset(data.get(OPEN_RUNS) or ())
    schedule = Schedule.model_validate({**spec, "state": ScheduleState.model_validate(state)}, context=STORED)
    return schedule, int(data.get("version", 0))


def spec_json(spec: ScheduleSpec) -> str:
    """The stored spec: unset (null) fields left out, and ``id``, ``project_id`` and ``enabled`` too (the
    item holds them as attributes of their own), so a typical schedule item stays within one 1 KB write unit
    (every claim and run end writes it). Reading fills them back in. Validated leniently: a cron stored under
    an older dialect is written back as it was (see ``STORED``)."""
    stored = ScheduleSpec.model_validate(spec.model_dump(), context=STORED)
    return stored.model_dump_json(exclude_none=True, exclude={"id", *SPEC_TOP_LEVEL})


# --------------------------------------------------------------------------- runs


def run_item(run: Run) -> dict[str, Any]:
    """The Run fields as plain top-level values (None values are left out by ``serialize``)."""
    item: dict[str, Any] = {name: getattr(run, name) for name in RUN_FIELDS}
    item["status"] = run.status.value
    item["trigger"] = run.trigger.value
    for name in RUN_TIMES:
        value = getattr(run, name)
        item[name] = iso(value) if value is not None else None
    item["input_tokens"] = run.usage.input_tokens
    item["output_tokens"] = run.usage.output_tokens
    item["lease_until"] = epoch_ms(run.lease_until) if run.lease_until is not None else None
    return item


def run_from_item(item: dict[str, Any]) -> Run:
    data = deserialize(item)
    fields: dict[str, Any] = {name: data[name] for name in RUN_FIELDS if data.get(name) is not None}
    for name in RUN_TIMES:
        if data.get(name):
            fields[name] = parse_iso(data[name])
    fields["usage"] = {
        "input_tokens": data.get("input_tokens", 0),
        "output_tokens": data.get("output_tokens", 0),
    }
    lease = data.get("lease_until", data.get("open_until") if data.get("status") == "running" else None)
    if lease is not None:
        fields["lease_until"] = from_epoch_ms(lease)  # a run started before leases had their own attribute
    return Run.model_validate(fields)


# --------------------------------------------------------------------------- expressions


class Update:
    """Builds an UpdateExpression (SET / REMOVE / ADD) plus a condition with generated placeholders.

    Attribute names are always aliased (``status`` and friends are reserved words).
    """

    def __init__(self) -> None:
        self._set: list[str] = []
        self._remove: list[str] = []
        self._add: list[str] = []
        self._delete: list[str] = []
        self._conditions: list[str] = []
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def n(self, attribute: str) -> str:
        alias = f"#{attribute}"
        self.names[alias] = attribute
        return alias

    def v(self, value: Any) -> str:
        alias = f":v{len(self.values)}"
        self.values[alias] = _SERIALIZER.serialize(value)
        return alias

    def set(self, attribute: str, value: Any) -> Update:
        """SET to a value; None removes the attribute instead (items never hold nulls)."""
        if value is None:
            return self.remove(attribute)
        self._set.append(f"{self.n(attribute)} = {self.v(value)}")
        return self

    def set_if_absent(self, attribute: str, value: Any) -> Update:
        """SET only where the item has no value yet (``if_not_exists``)."""
        name = self.n(attribute)
        self._set.append(f"{name} = if_not_exists({name}, {self.v(value)})")
        return self

    def remove(self, attribute: str) -> Update:
        self._remove.append(self.n(attribute))
        return self

    def add(self, attribute: str, amount: int | set[str]) -> Update:
        """ADD a number, or string-set members (either creates the attribute when it is missing)."""
        if amount:
            self._add.append(f"{self.n(attribute)} {self.v(amount)}")
        return self

    def delete(self, attribute: str, members: set[str]) -> Update:
        """DELETE string-set members (the attribute goes when the set is left empty)."""
        if members:
            self._delete.append(f"{self.n(attribute)} {self.v(members)}")
        return self

    def when(self, condition: str) -> Update:
        """AND a condition written with ``self.n``/``self.v`` placeholders."""
        self._conditions.append(f"({condition})")
        return self

    def when_equal(self, attribute: str, value: Any) -> Update:
        """AND ``attribute`` holds ``value``; with None, AND the item has no such attribute (items hold no
        nulls)."""
        name = self.n(attribute)
        if value is None:
            return self.when(f"attribute_not_exists({name})")
        return self.when(f"{name} = {self.v(value)}")

    def request(self, table: str, key: dict[str, Any]) -> dict[str, Any]:
        """UpdateItem parameters (also the body of a TransactWriteItems ``Update``)."""
        clauses = []
        if self._set:
            clauses.append("SET " + ", ".join(self._set))
        if self._remove:
            clauses.append("REMOVE " + ", ".join(self._remove))
        if self._add:
            clauses.append("ADD " + ", ".join(self._add))
        if self._delete:
            clauses.append("DELETE " + ", ".join(self._delete))
        out: dict[str, Any] = {
            "TableName": table,
            "Key": serialize(key),
            "UpdateExpression": " ".join(clauses),
            "ExpressionAttributeNames": dict(self.names),
        }
        if self.values:
            out["ExpressionAttributeValues"] = dict(self.values)
        if self._conditions:
            out["ConditionExpression"] = " AND ".join(self._conditions)
        return out
