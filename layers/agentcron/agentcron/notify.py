"""Sends a run's end notification to one target: an SNS topic, or an HTTPS webhook.

What is sent, when, and to whom is decided in :mod:`agentcron.application.notify`; this adapter only
delivers. A webhook goes through ``http_fetch``'s network guard (public addresses only, checked after DNS
and connected to as checked), carries ``X-Agentcron-Signature`` (HMAC-SHA256 under the secret read from its
SSM SecureString parameter, cached per container for ``SECRET_TTL_SECONDS``) and ``X-Agentcron-Delivery``
(the run id). Each target is tried ``attempts`` times with exponential backoff (1 s, 2 s, ...) on a
connection error, a 429 or a 5xx; any other status, or a refused address, is final. Nothing here raises
to the caller: :meth:`Notifier.send` returns whether the target took it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from agentcron.agent.tools.http_fetch import Fetcher
from agentcron.agent.tools.netguard import AddressRefused
from agentcron.domain.notify import DELIVERY_HEADER, SIGNATURE_HEADER, SnsTarget, WebhookTarget, signature
from agentcron.exceptions import AgentcronError

log = logging.getLogger(__name__)

SECRET_TTL_SECONDS = 300
RETRY_STATUSES = frozenset({408, 425, 429})


class _Retry(Exception):
    """A failure worth another attempt."""


class Notifier:
    """Delivers notifications; the AWS clients, the HTTP poster and the sleep are injectable."""

    def __init__(
        self,
        sns: Any,
        ssm: Any,
        *,
        fetcher: Fetcher | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        attempts: int = 3,
        backoff_seconds: float = 1.0,
    ) -> None:
        self.sns, self.ssm = sns, ssm
        self.fetcher = fetcher or Fetcher(timeout_seconds=5.0)
        self.sleep, self.monotonic = sleep, monotonic
        self.attempts, self.backoff_seconds = attempts, backoff_seconds
        self._secrets: dict[str, tuple[str, float]] = {}

    def send(self, target: SnsTarget | WebhookTarget, body: bytes, *, delivery_id: str, at: datetime) -> bool:
        """Deliver ``body`` to ``target``; True when it was taken, False (logged) when it was not."""
        if isinstance(target, SnsTarget):
            return self._with_retries(lambda: self._publish(target, body), target.topic_arn)
        try:
            secret = self._secret(target.secret_parameter)
        except Exception as exc:  # noqa: BLE001 - no secret, no signed delivery
            log.warning(
                "notification to %s not sent: secret %s unreadable: %s",
                target.url,
                target.secret_parameter,
                exc,
            )
            return False
        return self._with_retries(lambda: self._post(target, body, secret, delivery_id, at), target.url)

    def _with_retries(self, attempt: Callable[[], None], where: str) -> bool:
        for number in range(1, self.attempts + 1):
            try:
                attempt()
                return True
            except _Retry as exc:
                if number == self.attempts:
                    log.warning("notification to %s failed after %d attempts: %s", where, number, exc)
                    return False
                self.sleep(self.backoff_seconds * 2 ** (number - 1))
            except (AddressRefused, ValueError) as exc:
                log.warning("notification to %s refused: %s", where, exc)
                return False
        return False

    def _publish(self, target: SnsTarget, body: bytes) -> None:
        try:
            self.sns.publish(
                TopicArn=target.topic_arn, Subject="agentcron run finished", Message=body.decode()
            )
        except Exception as exc:  # noqa: BLE001 - botocore's errors: throttling, network, permissions
            raise _Retry(str(exc)) from None

    def _post(self, target: WebhookTarget, body: bytes, secret: str, delivery_id: str, at: datetime) -> None:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "agentcron-notify/1",
            SIGNATURE_HEADER: signature(secret, body, at),
            DELIVERY_HEADER: delivery_id,
        }
        try:
            status = self.fetcher.post(target.url, body, headers)
        except AddressRefused:
            raise
        except AgentcronError as exc:
            raise _Retry(str(exc)) from None
        if status in RETRY_STATUSES or status >= 500:
            raise _Retry(f"HTTP {status}")
        if status >= 300:
            raise ValueError(f"HTTP {status}")

    def _secret(self, name: str) -> str:
        cached = self._secrets.get(name)
        if cached is not None and self.monotonic() < cached[1]:
            return cached[0]
        value = self.ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
        self._secrets[name] = (value, self.monotonic() + SECRET_TTL_SECONDS)
        return value
