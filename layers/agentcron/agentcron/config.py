"""Deployment settings, read once from the environment the template (or the local stack) sets.

Every field is an environment variable of the Lambda functions in template.yaml (its name upper-cased);
the local stack sets the same names. Each default is written once, here, and equals the template
parameter's default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Settings:
    """The deployment's settings (see the module docstring)."""

    schedules_table: str = ""
    runs_table: str = ""
    run_queue_url: str = ""
    run_dead_letter_queue_url: str = ""  # where the executor puts a permanently bad message at once
    sessions_bucket: str = ""
    idempotency_table: str = ""  # Powertools idempotency records of the API (Idempotency-Key header)
    due_shards: int = 8  # partitions of the sparse due index; a sweep queries each in parallel
    sweep_seconds: int = 5  # longest sleep of the claim clock between sweeps; 0 = one sweep per invocation
    run_history_days: int = 30  # TTL of terminal run records
    lease_seconds: int = 960  # how long a started run is owned by its executor before the reaper steps in
    redelivery_seconds: int = 120  # a queued run not started after this is re-sent (outbox)
    default_model: str = "echo"
    # The provider of a model named without one (``gpt-4o``), as the original system stored model names:
    # an import stores it as "<provider>:<model>" (DefaultModelProvider; empty: such a name is refused).
    default_model_provider: str = "openai"
    default_system_prompt: str = "You are a helpful assistant running a scheduled task."
    default_workspace_path: str = ""
    model_timeout_seconds: int = 120  # one model call attempt (Bedrock read timeout, OpenAI-compatible request)
    continue_margin_seconds: int = 180  # below this much invocation time left, a run continues in a new one
    event_bus_name: str = "default"  # EventBridge bus of the Run Finished events
    claim_function_name: str = ""  # the claim function, woken for fires due soon (none: no wakes)
    openai_base_url: str = "https://api.openai.com/v1"  # the OpenAI-compatible endpoint
    openai_api_key_parameter: str = ""  # SSM SecureString holding its API key (deployed stacks)
    openai_api_key: str = ""  # the key itself: local use only, never set by the template
    notify_topic_arns: str = ""  # comma-separated SNS topic ARNs schedules may notify (NotifyTopicArns)
    notify_secret_path: str = ""  # SSM path under which webhook signing secrets live (NotifySecretPath)
    api_auth: str = "IAM"  # IAM: callers administer every project; JWT: claims and scopes say (api/auth.py)
    # The scheduler tool's limits (see agentcron.agent.tools.scheduler).
    scheduler_min_interval_seconds: int = 300
    scheduler_max_creates_per_run: int = 5
    scheduler_max_project_schedules: int = 100
    scheduler_max_chain: int = 3

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Settings from ``env`` (default: ``os.environ``); unset or blank variables keep the default."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for field in fields(cls):
            raw = env.get(field.name.upper(), "").strip()
            if not raw:
                continue
            if field.type == "int":
                try:
                    values[field.name] = int(raw)
                except ValueError:
                    raise ValueError(
                        f"environment variable {field.name.upper()} must be an integer, got {raw!r}"
                    ) from None
            else:
                values[field.name] = raw
        return cls(**values)  # type: ignore[arg-type]
