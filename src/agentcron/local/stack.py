"""The embedded AWS stand-in behind ``make run``: a moto server on 127.0.0.1 with the template's resources.

Nothing here fakes DynamoDB or SQS in the product: the handlers and the CLI talk to the moto server through
plain boto3, pointed at it by ``AWS_ENDPOINT_URL`` (read by every boto3 client), exactly as they would talk
to AWS.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import boto3

from agentcron.config import Settings
from agentcron.local.resources import LocalResources, create_resources

REGION = "us-east-1"


@dataclass
class LocalStack:
    endpoint_url: str
    resources: LocalResources
    settings: Settings
    server: Any

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint_url)

    def stop(self) -> None:
        self.server.stop()


def start_local_stack(*, port: int = 0, prefix: str = "local", **setting_overrides: Any) -> LocalStack:
    """Start moto on 127.0.0.1:``port`` (0 = any free port), create the resources, export the environment."""
    from moto.server import ThreadedMotoServer  # dev dependency: only the local stack needs it

    from agentcron.local.atomic import serialize_moto_dynamodb

    serialize_moto_dynamodb()  # the claim loop and executors write concurrently; DynamoDB is atomic, moto is not

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per AWS call drowns the runs
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound_port = server.get_host_and_port()
    endpoint = f"http://{host}:{bound_port}"
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
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
        return boto3.client(service, region_name=REGION, endpoint_url=endpoint)

    resources = create_resources(
        dynamodb=client("dynamodb"), sqs=client("sqs"), s3=client("s3"), prefix=prefix
    )
    os.environ.update(resources.environment(**setting_overrides))
    return LocalStack(endpoint, resources, Settings.from_env(), server)
