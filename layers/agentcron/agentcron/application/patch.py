"""PATCH semantics for schedules (the API, the CLI and the scheduler tool share them): merge a partial JSON body into the current spec. Pure, no I/O.

Top-level fields in the body replace the current ones (``null`` clears an optional field); nested objects are
replaced as a whole (a new trigger is a whole trigger; ``trigger`` or ``triggers`` replaces the set of
triggers) except ``run_config``, whose keys are merged into the current run config. The schedule's identity
and history (``id``, ``created_at``, ``created_by``) and what the server owns (``updated_at``,
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

    Unknown keys are kept (ScheduleSpec ignores them), so a PATCH accepts what a POST accepts.
    """
    merged = current.model_dump(mode="json")
    # ``trigger`` and ``triggers`` say one thing (the first trigger, all of them): a body setting one of
    # them replaces the whole set, so the other's current value must not survive the merge.
    if "triggers" in body and "trigger" not in body:
        merged.pop("trigger", None)
    if "trigger" in body and "triggers" not in body:
        merged.pop("triggers", None)
    for key, value in body.items():
        if key in SERVER_FIELDS:
            continue
        if key in MERGED_FIELDS and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged
