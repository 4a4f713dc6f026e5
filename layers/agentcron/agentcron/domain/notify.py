"""Notifications on a run's end: where to send them (an SNS topic, an HTTPS webhook), for which statuses,
what they say and how a webhook body is signed. Pure values and functions; the ``notify`` adapter sends.

A webhook request carries ``X-Agentcron-Signature: t=<unix seconds>,v1=<hex>``, where ``<hex>`` is
HMAC-SHA256 under the secret of ``<unix seconds>.<body>``: a receiver recomputes it, compares in constant
time and refuses old timestamps (replays). ``X-Agentcron-Delivery`` is the run id: one run, one delivery id,
so a receiver drops a retried delivery it has already taken.
"""

import hashlib
import hmac
import ipaddress
import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from agentcron.domain.runs import Run, RunStatus
from agentcron.domain.values import DomainModel, iso

NOTIFY_STATUSES = (RunStatus.success, RunStatus.failed, RunStatus.timed_out, RunStatus.cancelled)
"""The statuses a notification can be asked for (the ends of a run that ran or was meant to)."""
MAX_TARGETS = 5
SIGNATURE_HEADER = "X-Agentcron-Signature"
DELIVERY_HEADER = "X-Agentcron-Delivery"
TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")
WEBHOOK_URL = re.compile(
    r"^https://(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?([/?#]\S*)?$", re.IGNORECASE
)
PARAMETER_NAME = re.compile(r"^/[A-Za-z0-9_.\-/]{1,1010}$")


class SnsTarget(DomainModel):
    """Publish to an SNS topic the deployment allows (template parameter ``NotifyTopicArns``)."""

    type: Literal["sns"] = "sns"
    topic_arn: str

    @field_validator("topic_arn")
    @classmethod
    def _arn(cls, v: str) -> str:
        v = v.strip()
        if not TOPIC_ARN.match(v):
            raise ValueError("notify topic_arn must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)")
        return v


class WebhookTarget(DomainModel):
    """POST to a public HTTPS URL, signed with the secret in an SSM parameter under the deployment's
    ``NotifySecretPath``."""

    type: Literal["webhook"] = "webhook"
    url: str = Field(max_length=2000)
    secret_parameter: str

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        v = v.strip()
        found = WEBHOOK_URL.match(v)
        if found is None:
            if v.lower().startswith("https://") and "@" in v.split("/", 3)[2]:
                raise ValueError("notify webhook url must not carry credentials")
            raise ValueError("notify webhook url must be an https:// URL with a host")
        try:
            literal = ipaddress.ip_address(found.group("host").strip("[]"))
        except ValueError:
            literal = None
        if literal is not None and not literal.is_global:
            raise ValueError("notify webhook url must name a public host")
        return v

    @field_validator("secret_parameter")
    @classmethod
    def _parameter(cls, v: str) -> str:
        v = v.strip()
        if not PARAMETER_NAME.match(v):
            raise ValueError("notify secret_parameter must be an SSM parameter name starting with /")
        return v


NotifyTarget = Annotated[SnsTarget | WebhookTarget, Field(discriminator="type")]


class NotifyConfig(DomainModel):
    """``notify`` of a schedule: its targets, and the run statuses that are sent (default: all four)."""

    targets: list[NotifyTarget]
    statuses: list[RunStatus] = Field(default_factory=lambda: list(NOTIFY_STATUSES))

    @field_validator("targets")
    @classmethod
    def _targets(cls, v: list[Any]) -> list[Any]:
        if not v:
            raise ValueError("notify.targets must not be empty (omit notify to send nothing)")
        if len(v) > MAX_TARGETS:
            raise ValueError(f"notify.targets holds at most {MAX_TARGETS} targets")
        return v

    @field_validator("statuses")
    @classmethod
    def _statuses(cls, v: list[RunStatus]) -> list[RunStatus]:
        bad = [s.value for s in v if s not in NOTIFY_STATUSES]
        if bad:
            allowed = ", ".join(s.value for s in NOTIFY_STATUSES)
            raise ValueError(f"notify.statuses must be among {allowed}, got {bad[0]!r}")
        if not v:
            raise ValueError("notify.statuses must not be empty (omit it for every status)")
        return sorted(set(v), key=NOTIFY_STATUSES.index)

    def wants(self, status: RunStatus) -> bool:
        return status in self.statuses


def deployment_problem(
    config: NotifyConfig, allowed_topics: frozenset[str], secret_path: str
) -> tuple[str, str] | None:
    """``(field, message)`` when a target needs a grant the deployment does not have, else None.

    The template grants ``sns:Publish`` on the listed topics and ``ssm:GetParameter`` under one path only,
    so a schedule naming anything else could never deliver: it is refused when written.
    """
    prefix = secret_path.rstrip("/") + "/" if secret_path else ""
    for index, target in enumerate(config.targets):
        where = f"notify.targets[{index}]"
        if isinstance(target, SnsTarget) and target.topic_arn not in allowed_topics:
            return f"{where}.topic_arn", (
                f"{where}.topic_arn is not among the topics this deployment may publish to "
                "(template parameter NotifyTopicArns)"
            )
        if isinstance(target, WebhookTarget) and (
            not prefix or not target.secret_parameter.startswith(prefix)
        ):
            shown = prefix or "(none configured)"
            return f"{where}.secret_parameter", (
                f"{where}.secret_parameter must be under {shown} (template parameter NotifySecretPath)"
            )
    return None


def run_finished_body(run: Run, schedule_name: str) -> bytes:
    """The notification's JSON body (the same for every target): what ended, how and when."""
    payload = {
        "event": "run.finished",
        "schedule_id": run.schedule_id,
        "schedule_name": schedule_name,
        "run_id": run.run_id,
        "status": run.status.value,
        "trigger": run.trigger.value,
        "scheduled_for": iso(run.scheduled_for),
        "completed_at": iso(run.completed_at) if run.completed_at else None,
        "outcome_reason": run.outcome_reason,
    }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, body: bytes, at: datetime) -> str:
    """The ``X-Agentcron-Signature`` value of ``body`` sent at ``at``."""
    stamp = int(at.timestamp())
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"
