"""PATCH semantics for schedules (the API, the CLI and the scheduler tool share them): merge a partial JSON body into the current spec. Pure, no I/O.

Top-level fields in the body replace the current ones; nested objects are replaced as a whole (a new
trigger is a whole trigger; ``trigger`` or ``triggers`` replaces the set of triggers) except ``run_config``,
whose keys are merged into the current run config. ``null`` removes a field (JSON merge patch, RFC 7396): it
is back at its default (None for an optional field, the default policy or run config for an object), in
``run_config`` as at the top. The schedule's identity and history (``id``, ``created_at``, ``created_by``)
and what the server owns (``updated_at``,
``updated_by``, ``state``, ``version``) are never taken from the body.
"""

from __future__ import annotations

from typing import Any

from agentcron.models import ScheduleSpec

SERVER_FIELDS = frozenset(
    {"id", "created_at", "updated_at", "created_by", "updated_by", "state", "version"}
)
MERGED_FIELDS = frozenset({"run_config"})


def merge_patch(current: ScheduleSpec, body: dict[str, Any]) -> dict[str, Any]:
    """The spec data (plain JSON values) that ``body`` makes of ``current``; validate it with ScheduleSpec.

    Unknown keys are kept (ScheduleSpec ignores them; the API refuses them before this).
    """
    merged = current.model_dump(mode="json")
    # ``trigger`` and ``triggers`` say one thing (the first trigger, all of them): a body setting one of
    # them replaces the whole set, so the other's current value must not survive the merge.
    if body.get("triggers") is not None and "trigger" not in body:  # (null: back to the single trigger)
        merged.pop("trigger", None)
    if "trigger" in body and "triggers" not in body:
        merged.pop("triggers", None)
    for key, value in body.items():
        if key in SERVER_FIELDS:
            continue
        if value is None:
            merged.pop(key, None)
        elif key in MERGED_FIELDS and isinstance(value, dict) and isinstance(merged.get(key), dict):
            nested = {**merged[key], **value}
            merged[key] = {k: v for k, v in nested.items() if v is not None}
        else:
            merged[key] = value
    return merged
