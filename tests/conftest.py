"""Shared fixtures: an AWS stack created from template.yaml on moto, in-process or behind a local server.

No test talks to real AWS: fixed dummy credentials and region are set before any client exists, and every
client is created inside ``mock_aws`` or pointed at the local moto server.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

from agentcron.application import Services
from agentcron.application.schedules import create_schedule, edit_schedule
from agentcron.domain.access import SYSTEM
from agentcron.config import Settings
from agentcron.local.atomic import serialize_moto_dynamodb
from agentcron.local.resources import LocalResources, create_resources, load_template
from agentcron.models import ScheduleSpec
from agentcron.queue import RunQueue
from agentcron.sessions import SessionStore
from agentcron.store import Store

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"

_FAKE_AWS_ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "agentcron",
}
# Set at import time, before any fixture or test creates a client: real credentials can never be picked up.
os.environ.update(_FAKE_AWS_ENV)
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)

_TEMPLATE = load_template(ROOT / "template.yaml")
# One botocore session for every test client: service models are loaded once, not once per client.
_SESSION_LOCK = threading.Lock()
_SESSION = boto3.session.Session(
    region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
)


@dataclass
class Stack:
    """The data resources of template.yaml plus clients and adapters bound to them."""

    resources: LocalResources
    settings: Settings
    dynamodb: Any
    sqs: Any
    s3: Any
    store: Store
    queue: RunQueue
    endpoint_url: str | None = None
    on_run_finished: Any = None  # given to every ``services()``: what follows a run's end

    def client(self, service: str) -> Any:
        """Another boto3 client on the same endpoint (e.g. one per thread in a race test)."""
        return _client(service, self.endpoint_url)

    def new_store(self) -> Store:
        return Store.from_settings(self.settings, self.client("dynamodb"))

    def new_queue(self) -> RunQueue:
        return RunQueue(self.client("sqs"), self.settings.run_queue_url)

    @property
    def sessions(self) -> SessionStore:
        return SessionStore(
            self.s3,
            self.settings.sessions_bucket,
            self.dynamodb,
            self.settings.runs_table,
            retention_days=self.settings.run_history_days,
        )

    def services(self, now: Any = None, **fields: Any) -> Services:
        """The use cases' Services on this stack; ``now``: a datetime (frozen clock) or a clock function."""
        if now is not None:
            fields["clock"] = now if callable(now) else (lambda: now)
        fields.setdefault("settings", self.settings)
        fields.setdefault("on_run_finished", self.on_run_finished)
        return Services(store=self.store, queue=self.queue, sessions=self.sessions, **fields)

    def update_schedule(self, schedule_id: str, spec: Any, now: Any, expected_version: int | None = None) -> Any:
        """Replace the schedule's spec through the application layer at ``now``; the stored schedule."""
        changes = spec.model_dump(mode="json", exclude={"id", "created_at", "updated_at"})
        return edit_schedule(
            self.services(now), SYSTEM, schedule_id, changes, expected_version=expected_version
        )[0]

    def create_schedule(self, spec: Any, now: Any) -> Any:
        """Create through the application layer at ``now`` (as the API does); the stored schedule."""
        return create_schedule(self.services(now), SYSTEM, spec).schedule

    def create_every(self, schedule_id: str, seconds: int, now: Any, **fields: Any) -> Any:
        """Create an interval schedule named after its id, firing every ``seconds`` from ``now`` (``fields``
        override the spec's); the stored schedule."""
        data = {"id": schedule_id, "name": schedule_id, "created_at": now, **fields}
        data.setdefault("trigger", {"type": "interval", "every_seconds": seconds})
        return self.create_schedule(ScheduleSpec.model_validate(data), now)

    def environment(self, **overrides: Any) -> dict[str, str]:
        """Lambda environment variables for these resources (what ``Settings.from_env`` reads)."""
        env = self.resources.environment(**overrides)
        if self.endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.endpoint_url
        return env

    def drain(self, queue: str = "RunQueue", *, max_messages: int = 1000) -> list[dict[str, Any]]:
        """Receive and delete every visible message: ``{"body": parsed JSON, "group_id", "dedup_id"}``."""
        url = self.resources.queue_urls[queue]
        out: list[dict[str, Any]] = []
        while len(out) < max_messages:
            response = self.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                MessageSystemAttributeNames=["All"],
                WaitTimeSeconds=0,
            )
            messages = response.get("Messages") or []
            if not messages:
                break
            for message in messages:
                attributes = message.get("Attributes") or {}
                out.append(
                    {
                        "body": json.loads(message["Body"]),
                        "group_id": attributes.get("MessageGroupId"),
                        "dedup_id": attributes.get("MessageDeduplicationId"),
                        "receipt_handle": message["ReceiptHandle"],
                    }
                )
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return out


def _client(service: str, endpoint_url: str | None) -> Any:
    with _SESSION_LOCK:  # a boto3 session is not thread-safe; the clients it makes are
        return _SESSION.client(service, region_name=REGION, endpoint_url=endpoint_url)


def _build_stack(prefix: str, endpoint_url: str | None = None, **setting_overrides: Any) -> Stack:
    dynamodb, sqs, s3 = (_client(name, endpoint_url) for name in ("dynamodb", "sqs", "s3"))
    resources = create_resources(dynamodb=dynamodb, sqs=sqs, s3=s3, prefix=prefix, template=_TEMPLATE)
    settings = resources.settings(**setting_overrides)
    return Stack(
        resources=resources,
        settings=settings,
        dynamodb=dynamodb,
        sqs=sqs,
        s3=s3,
        store=Store.from_settings(settings, dynamodb),
        queue=RunQueue(sqs, settings.run_queue_url),
        endpoint_url=endpoint_url,
    )


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Dummy credentials and the test region (already set at import; re-asserted for this test)."""
    for key, value in _FAKE_AWS_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    return dict(_FAKE_AWS_ENV)


@pytest.fixture
def stack(aws_env: dict[str, str]) -> Any:
    """Tables, indexes, bucket and queues from template.yaml inside moto's in-process ``mock_aws``."""
    with mock_aws():
        yield _build_stack("test")


@pytest.fixture(scope="session", autouse=True)
def atomic_dynamodb() -> Any:
    """Serialise moto's DynamoDB operations, as the real service does (see ``agentcron.local.atomic``).

    Without it, concurrent requests (racing claimers on the moto server, the parallel shard sweeps) could
    both pass a condition that real DynamoDB lets only one of them pass.
    """
    undo = serialize_moto_dynamodb()
    try:
        yield
    finally:
        undo()


@pytest.fixture(scope="session")
def moto_server() -> Any:
    """A moto server on 127.0.0.1 (a free port), for tests whose threads or processes share AWS state.

    Yields the endpoint url.
    """
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per AWS call otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def server_stack(aws_env: dict[str, str], moto_server: str) -> Stack:
    """Like ``stack`` but on the shared moto server, with resource names unique to this test."""
    return _build_stack(uuid.uuid4().hex[:10], moto_server)


@pytest.fixture
def load_handler(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``load_handler("claim")`` imports functions/claim/app.py afresh (functions/ is not a package).

    Each call loads a new module object, so module-level clients and settings never leak between tests.
    The module is registered in ``sys.modules`` for the duration of the test only.
    """

    def load(name: str) -> Any:
        path = ROOT / "functions" / name / "app.py"
        module_name = f"agentcron_handler_{name}_{uuid.uuid4().hex[:8]}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None, f"no handler at {path}"
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, module_name, module)
        spec.loader.exec_module(module)
        return module

    return load
