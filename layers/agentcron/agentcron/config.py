"""Deployment settings, read once from the environment the template (or the local stack) sets.

Every name here is an environment variable of the Lambda functions in template.yaml; the local stack sets
the same names. Numbers have the defaults the template's parameters have.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw.strip() else default
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer, got {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    schedules_table: str = ""
    runs_table: str = ""
    run_queue_url: str = ""
    sessions_bucket: str = ""
    idempotency_table: str = ""  # Powertools idempotency records of the API (Idempotency-Key header)
    due_shards: int = 8  # partitions of the sparse due index; a sweep queries each in parallel
    sweep_seconds: int = 5  # claim loop period inside one invocation; 0 = one sweep per invocation
    run_history_days: int = 30  # TTL of terminal run records
    lease_seconds: int = 960  # how long a started run is owned by its executor before the reaper steps in
    redelivery_seconds: int = 120  # a queued run not started after this is re-sent (outbox)
    default_model: str = "echo"
    default_system_prompt: str = "You are a helpful assistant running a scheduled task."
    default_workspace_path: str = ""
    model_timeout_seconds: int = 120  # one model call attempt (Bedrock read timeout, OpenAI-compatible request)
    continue_margin_seconds: int = 180  # below this much invocation time left, a run continues in a new one
    event_bus_name: str = "default"  # EventBridge bus of the Run Finished events
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            schedules_table=env.get("SCHEDULES_TABLE", ""),
            runs_table=env.get("RUNS_TABLE", ""),
            run_queue_url=env.get("RUN_QUEUE_URL", ""),
            sessions_bucket=env.get("SESSIONS_BUCKET", ""),
            idempotency_table=env.get("IDEMPOTENCY_TABLE", ""),
            due_shards=_int("DUE_SHARDS", 8),
            sweep_seconds=_int("SWEEP_SECONDS", 5),
            run_history_days=_int("RUN_HISTORY_DAYS", 30),
            lease_seconds=_int("LEASE_SECONDS", 960),
            redelivery_seconds=_int("REDELIVERY_SECONDS", 120),
            default_model=env.get("DEFAULT_MODEL", "echo"),
            default_system_prompt=env.get("DEFAULT_SYSTEM_PROMPT", cls.default_system_prompt),
            default_workspace_path=env.get("DEFAULT_WORKSPACE_PATH", ""),
            model_timeout_seconds=_int("MODEL_TIMEOUT_SECONDS", 120),
            continue_margin_seconds=_int("CONTINUE_MARGIN_SECONDS", 180),
            event_bus_name=env.get("EVENT_BUS_NAME", "") or "default",
        )
