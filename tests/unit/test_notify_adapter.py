"""The notification adapter: SNS publish, signed webhook POST through the guard, retries with backoff, the
SSM secret cache. Its collaborators are stand-ins here (no AWS, no sockets); the whole path runs against
moto in tests/integration/test_notify.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agentcron.agent.tools.http_fetch import Fetcher, FetchFailed
from agentcron.agent.tools.netguard import AddressRefused
from agentcron.domain.notify import SnsTarget, WebhookTarget, signature
from agentcron.notify import Notifier

AT = datetime(2026, 1, 1, 9, tzinfo=UTC)
BODY = b'{"status":"failed"}'
HOOK = WebhookTarget(url="https://hooks.example.com/x", secret_parameter="/agentcron/webhooks/a")
TOPIC = SnsTarget(topic_arn="arn:aws:sns:eu-west-1:123456789012:runs")


class Ssm:
    def __init__(self) -> None:
        self.reads = 0

    def get_parameter(self, Name: str, WithDecryption: bool) -> dict[str, Any]:
        assert WithDecryption
        self.reads += 1
        return {"Parameter": {"Value": f"secret-of-{Name}"}}


class Sns:
    def __init__(self, failures: int = 0) -> None:
        self.failures, self.published = failures, []

    def publish(self, **kwargs: Any) -> dict[str, str]:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("Throttling")
        self.published.append(kwargs)
        return {"MessageId": "m"}


class Poster:
    """Answers each POST with the next of ``answers`` (a status, or an exception to raise)."""

    def __init__(self, *answers: Any) -> None:
        self.answers, self.calls = list(answers), []

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        self.calls.append((url, body, headers))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def notifier(poster: Any = None, sns: Any = None, ssm: Any = None) -> tuple[Notifier, list[float]]:
    sleeps: list[float] = []
    made = Notifier(sns or Sns(), ssm or Ssm(), fetcher=poster, sleep=sleeps.append, monotonic=lambda: 0.0)
    return made, sleeps


def test_a_webhook_is_posted_signed_with_the_ssm_secret_and_the_run_id() -> None:
    poster = Poster(204)
    sender, sleeps = notifier(poster)
    assert sender.send(HOOK, BODY, delivery_id="run-1", at=AT) is True
    url, body, headers = poster.calls[0]
    assert (url, body, sleeps) == (HOOK.url, BODY, [])
    assert headers["X-Agentcron-Signature"] == signature("secret-of-/agentcron/webhooks/a", BODY, AT)
    assert headers["X-Agentcron-Delivery"] == "run-1" and headers["Content-Type"] == "application/json"


def test_5xx_429_and_connection_errors_are_retried_with_exponential_backoff() -> None:
    poster = Poster(503, FetchFailed("reset"), 429, 200)
    sender, sleeps = notifier(poster)
    sender.attempts = 4
    assert sender.send(HOOK, BODY, delivery_id="r", at=AT) is True
    assert sleeps == [1.0, 2.0, 4.0] and len(poster.calls) == 4


def test_it_gives_up_after_the_attempts_and_never_raises() -> None:
    poster = Poster(500, 502, 504)
    sender, sleeps = notifier(poster)
    assert sender.send(HOOK, BODY, delivery_id="r", at=AT) is False
    assert sleeps == [1.0, 2.0] and len(poster.calls) == 3


def test_a_4xx_or_a_refused_address_is_final() -> None:
    for answer in (404, AddressRefused("hooks.example.com resolves to 10.0.0.1, a private address")):
        poster = Poster(answer, 200)
        sender, sleeps = notifier(poster)
        assert sender.send(HOOK, BODY, delivery_id="r", at=AT) is False
        assert len(poster.calls) == 1 and sleeps == []


def test_a_webhook_to_an_internal_address_never_connects() -> None:
    # The real Fetcher with a resolver that answers the metadata address: refused before any connection.
    connected: list[str] = []

    def connector(address: str, port: int, timeout: float):  # pragma: no cover - must not be called
        connected.append(address)
        raise AssertionError("connected")

    fetcher = Fetcher(resolver=lambda host, port: ["169.254.169.254"], connector=connector)
    sender, _ = notifier(fetcher)
    assert sender.send(HOOK, BODY, delivery_id="r", at=AT) is False
    assert connected == []


def test_an_unreadable_secret_sends_nothing() -> None:
    class NoSecret:
        def get_parameter(self, **kwargs: Any) -> dict[str, Any]:
            raise RuntimeError("ParameterNotFound")

    poster = Poster(200)
    sender, _ = notifier(poster, ssm=NoSecret())
    assert sender.send(HOOK, BODY, delivery_id="r", at=AT) is False and poster.calls == []


def test_the_secret_is_read_once_per_container_while_fresh() -> None:
    ssm = Ssm()
    sender, _ = notifier(Poster(200, 200), ssm=ssm)
    sender.send(HOOK, BODY, delivery_id="a", at=AT)
    sender.send(HOOK, BODY, delivery_id="b", at=AT)
    assert ssm.reads == 1


def test_sns_is_published_and_retried() -> None:
    sns = Sns(failures=1)
    sender, sleeps = notifier(sns=sns)
    assert sender.send(TOPIC, BODY, delivery_id="r", at=AT) is True
    assert sleeps == [1.0]
    assert sns.published == [
        {"TopicArn": TOPIC.topic_arn, "Subject": "agentcron run finished", "Message": BODY.decode()}
    ]
