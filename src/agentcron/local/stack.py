"""The embedded AWS stand-in behind ``make run``: moto servers on 127.0.0.1 with the template's resources.

Nothing here fakes DynamoDB or SQS in the product: the handlers and the CLI talk to the moto servers through
plain boto3, pointed at them by ``AWS_ENDPOINT_URL`` and the per-service ``AWS_ENDPOINT_URL_<SERVICE>``
variables (read by every boto3 client), exactly as they would talk to AWS.

Two moto servers, each in a process of its own by default (:class:`agentcron.local.server.ServerProcess`):
one for DynamoDB (and anything not listed below), one for S3, SQS and EventBridge. moto serialises its
DynamoDB requests (``agentcron.local.atomic``, installed by the server process), so S3 session saves and
queue polls served by the same interpreter would wait behind them; apart, they do not, and the handlers'
process, the DynamoDB server and the other one spread over the machine's cores.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

import boto3
from agentcron.config import Settings

from agentcron.local.resources import LocalResources, create_resources

REGION = "us-east-1"
# Services served by the second moto server, and the boto3 variable that points a client at it.
APART = {"s3": "AWS_ENDPOINT_URL_S3", "sqs": "AWS_ENDPOINT_URL_SQS", "events": "AWS_ENDPOINT_URL_EVENTBRIDGE"}


@dataclass
class LocalStack:
    endpoint_url: str  # DynamoDB's, and every service's not in ``endpoints``
    resources: LocalResources
    settings: Settings
    servers: list[Any]
    endpoints: dict[str, str] = field(default_factory=dict)

    @property
    def server(self) -> Any:
        return self.servers[0]

    def endpoint(self, service: str) -> str:
        return self.endpoints.get(service, self.endpoint_url)

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint(service))

    def server_pids(self) -> list[int]:
        return [pid for server in self.servers if (pid := getattr(server, "pid", None))]

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


def start_local_stack(
    *,
    port: int = 0,
    prefix: str = "local",
    in_process: bool = False,
    split: bool = True,
    **setting_overrides: Any,
) -> LocalStack:
    """Start moto (DynamoDB on 127.0.0.1:``port``, 0 = any free port), create the resources, export the
    environment the handlers read. ``in_process``: the servers run on threads of this process instead of
    processes of their own; ``split=False``: one server for every service."""
    from agentcron.local.server import MotoServer, ServerProcess

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per AWS call drowns the runs

    def start(server_port: int) -> tuple[Any, str]:
        if in_process:
            server = MotoServer("127.0.0.1", server_port)
            server.start()
            return server, server.endpoint_url
        process = ServerProcess(server_port)
        return process, process.start()

    servers: list[Any] = []
    try:
        main, endpoint = start(port)
        servers.append(main)
        endpoints: dict[str, str] = {}
        if split:
            other, other_endpoint = start(0)
            servers.append(other)
            endpoints = dict.fromkeys(APART, other_endpoint)
    except BaseException:
        for server in servers:
            server.stop()
        raise
    for variable in APART.values():
        os.environ.pop(variable, None)
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            **{APART[service]: url for service, url in endpoints.items()},
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "POWERTOOLS_SERVICE_NAME": "agentcron",
            "POWERTOOLS_METRICS_NAMESPACE": "agentcron",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
        }
    )

    def client(service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=endpoints.get(service, endpoint))

    resources = create_resources(
        dynamodb=client("dynamodb"), sqs=client("sqs"), s3=client("s3"), prefix=prefix
    )
    os.environ.update(resources.environment(**setting_overrides))
    return LocalStack(endpoint, resources, Settings.from_env(), servers, endpoints)
