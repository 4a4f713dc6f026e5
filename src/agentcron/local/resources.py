"""Create the data resources of template.yaml (tables, buckets, queues) on any boto3 endpoint.

The template is the single source of truth: key schemas, indexes, TTL, queue attributes and redrive
policies are read from it, never restated here, so a change to a key in template.yaml is a change to the
tests and to the local stack too. Resource names are ``agentcron-<prefix>-<LogicalId>`` (``.fifo`` appended
to FIFO queues, bucket names lower-cased) so several stacks can share one endpoint.

Only what a local endpoint needs is applied: tables (attributes, keys, indexes, billing, TTL, SSE, PITR),
buckets (encryption, public access block, ownership, versioning) and queues (every attribute, with the dead
letter queue's ``!GetAtt ...Arn`` resolved). Functions, policies and alarms are left to CloudFormation.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from agentcron.config import Settings

from agentcron.local.template import (
    Resolver,
    Unresolved,
    default_template_path,
    load_template,
    parameter_defaults,
    resources_of_type,
)

# The template's logical ids of the resources the code uses, and the settings they feed.
SCHEDULES_TABLE = "SchedulesTable"
RUNS_TABLE = "RunsTable"
RUN_QUEUE = "RunQueue"
DEAD_LETTER_QUEUE = "RunDeadLetterQueue"
SESSIONS_BUCKET = "SessionsBucket"
IDEMPOTENCY_TABLE = "IdempotencyTable"

# Template parameters that become settings when the template declares them (name -> Settings field).
_PARAMETER_SETTINGS = {
    "DueShards": "due_shards",
    "RunHistoryDays": "run_history_days",
    "SweepSeconds": "sweep_seconds",
    "LeaseSeconds": "lease_seconds",
    "RedeliverySeconds": "redelivery_seconds",
}

_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "SqsManagedSseEnabled",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
)


# --------------------------------------------------------------------------- the created stack


@dataclass(frozen=True)
class LocalResources:
    """Names of what :func:`create_resources` made, keyed by the template's logical ids.

    ``variables`` are the functions' environment variables (template ``Globals``) that name a created
    resource or a numeric parameter, resolved: e.g. ``{"RUNS_TABLE": "agentcron-x-RunsTable"}``.
    """

    prefix: str
    region: str
    tables: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)
    queue_urls: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)

    def settings(self, **overrides: Any) -> Settings:
        """Settings naming the created resources; numbers default to the template's parameter defaults.

        An environment variable ``NAME`` of the template sets the Settings field ``name`` (the convention
        ``Settings.from_env`` follows), so a resource the template adds to ``Globals`` reaches the settings
        without a change here. Other values (model, prompts, workspace) keep the local defaults.
        """
        values: dict[str, Any] = {
            "schedules_table": self.tables.get(SCHEDULES_TABLE, ""),
            "runs_table": self.tables.get(RUNS_TABLE, ""),
            "run_queue_url": self.queue_urls.get(RUN_QUEUE, ""),
            "sessions_bucket": self.buckets.get(SESSIONS_BUCKET, ""),
            "idempotency_table": self.tables.get(IDEMPOTENCY_TABLE, ""),
        }
        values.update(
            {
                setting: int(self.parameters[param])
                for param, setting in _PARAMETER_SETTINGS.items()
                if self.parameters.get(param) is not None
            }
        )
        defaults = Settings()
        for name, value in self.variables.items():
            setting = name.lower()
            if setting in _SETTING_FIELDS:
                values[setting] = int(value) if isinstance(getattr(defaults, setting), int) else value
        return replace(Settings(**values), **overrides)

    def environment(self, **overrides: Any) -> dict[str, str]:
        """The Lambda environment variables (as ``Settings.from_env`` reads them) for these resources."""
        s = self.settings(**overrides)
        return {name.upper(): str(getattr(s, name)) for name in _SETTING_FIELDS}


_SETTING_FIELDS = tuple(f.name for f in fields(Settings) if f.name != "extra")


def resource_name(prefix: str, logical_id: str) -> str:
    return f"agentcron-{prefix}-{logical_id}" if prefix else f"agentcron-{logical_id}"


def bucket_name(prefix: str, logical_id: str) -> str:
    """S3 names are lower case, 3-63 characters of letters, digits, '-' and '.'."""
    name = re.sub(r"[^a-z0-9.-]", "-", resource_name(prefix, logical_id).lower())
    return name[:63].rstrip("-.")


def queue_name(prefix: str, logical_id: str, fifo: bool) -> str:
    name = resource_name(prefix, logical_id)[: 80 - (5 if fifo else 0)]
    return f"{name}.fifo" if fifo else name


# --------------------------------------------------------------------------- creation


def create_resources(
    *,
    dynamodb: Any,
    sqs: Any,
    s3: Any,
    prefix: str,
    template: dict[str, Any] | None = None,
    template_path: str | Path | None = None,
) -> LocalResources:
    """Create every table, bucket and queue of the template with boto3 clients (one region) and name them.

    The clients decide the endpoint: in-process moto, a moto server, or anything speaking the AWS APIs.
    Raises ``ValueError`` when a queue's references can never be resolved (e.g. a cycle of redrive policies).
    """
    template = template if template is not None else load_template(template_path)
    region = dynamodb.meta.region_name
    resolver = Resolver(template, region)
    tables: dict[str, str] = {}
    buckets: dict[str, str] = {}
    queue_urls: dict[str, str] = {}
    queue_arns: dict[str, str] = {}

    for logical_id, resource in resources_of_type(template, "AWS::DynamoDB::Table").items():
        props = resolver.resolve(resource.get("Properties") or {})
        name = resource_name(prefix, logical_id)  # a TableName in the template would clash between stacks
        _create_table(dynamodb, name, props)
        tables[logical_id] = name
        resolver.refs[logical_id] = name
        resolver.attrs[(logical_id, "Arn")] = f"arn:aws:dynamodb:{region}:{resolver.account}:table/{name}"

    for logical_id, resource in resources_of_type(template, "AWS::S3::Bucket").items():
        props = resolver.resolve(resource.get("Properties") or {})
        name = bucket_name(prefix, logical_id)
        _create_bucket(s3, name, props, region)
        buckets[logical_id] = name
        resolver.refs[logical_id] = name
        resolver.attrs[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"
        resolver.attrs[(logical_id, "DomainName")] = f"{name}.s3.amazonaws.com"

    # Queues may reference each other (a redrive policy names its dead letter queue): create in passes.
    pending = dict(resources_of_type(template, "AWS::SQS::Queue"))
    while pending:
        progressed = False
        for logical_id, resource in list(pending.items()):
            try:
                props = resolver.resolve(resource.get("Properties") or {})
            except Unresolved:
                continue
            fifo = str(props.get("FifoQueue", "false")).lower() == "true"
            name = queue_name(prefix, logical_id, fifo)
            url = _create_queue(sqs, name, props, fifo)
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            queue_urls[logical_id] = url
            queue_arns[logical_id] = arn
            resolver.refs[logical_id] = url
            resolver.attrs[(logical_id, "Arn")] = arn
            resolver.attrs[(logical_id, "QueueName")] = name
            resolver.attrs[(logical_id, "QueueUrl")] = url
            del pending[logical_id]
            progressed = True
        if not progressed:
            raise ValueError(f"unresolvable references in queues: {', '.join(sorted(pending))}")

    return LocalResources(
        variables=_resource_variables(template, resolver),
        prefix=prefix,
        region=region,
        tables=tables,
        buckets=buckets,
        queue_urls=queue_urls,
        queue_arns=queue_arns,
        parameters=resolver.parameters,
    )


def _resource_variables(template: dict[str, Any], resolver: Resolver) -> dict[str, str]:
    """Globals' function variables that ``!Ref`` a created resource or a number parameter, resolved."""
    function = (template.get("Globals") or {}).get("Function") or {}
    variables = ((function.get("Environment") or {}).get("Variables")) or {}
    parameters = template.get("Parameters") or {}
    out: dict[str, str] = {}
    for name, value in variables.items():
        if not (isinstance(value, dict) and set(value) == {"Ref"}):
            continue
        target = value["Ref"]
        if target in resolver.refs:
            out[name] = resolver.refs[target]
        elif (parameters.get(target) or {}).get("Type") == "Number" and target in resolver.parameters:
            out[name] = str(resolver.parameters[target])
    return out


def _create_table(client: Any, name: str, props: dict[str, Any]) -> None:
    billing = props.get("BillingMode", "PROVISIONED")
    request: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": billing,
    }
    if billing == "PROVISIONED":
        request["ProvisionedThroughput"] = props.get(
            "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        )
    indexes = []
    for index in props.get("GlobalSecondaryIndexes") or []:
        entry = {k: index[k] for k in ("IndexName", "KeySchema", "Projection")}
        if billing == "PROVISIONED":
            entry["ProvisionedThroughput"] = index.get(
                "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
            )
        indexes.append(entry)
    if indexes:
        request["GlobalSecondaryIndexes"] = indexes
    local_indexes = [
        {k: index[k] for k in ("IndexName", "KeySchema", "Projection")}
        for index in props.get("LocalSecondaryIndexes") or []
    ]
    if local_indexes:
        request["LocalSecondaryIndexes"] = local_indexes
    sse = props.get("SSESpecification")
    if sse and _true(sse.get("SSEEnabled")):
        request["SSESpecification"] = {"Enabled": True}
    client.create_table(**request)
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 200})
    ttl = props.get("TimeToLiveSpecification")
    if ttl and _true(ttl.get("Enabled")):
        client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )
    pitr = props.get("PointInTimeRecoverySpecification")
    if pitr and _true(pitr.get("PointInTimeRecoveryEnabled")):
        client.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )


def _create_bucket(client: Any, name: str, props: dict[str, Any], region: str) -> None:
    if region == "us-east-1":
        client.create_bucket(Bucket=name)
    else:
        client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    encryption = props.get("BucketEncryption")
    if encryption:
        client.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
                    for rule in encryption["ServerSideEncryptionConfiguration"]
                ]
            },
        )
    block = props.get("PublicAccessBlockConfiguration")
    if block:
        client.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={k: _true(v) for k, v in block.items()},
        )
    ownership = props.get("OwnershipControls")
    if ownership:
        client.put_bucket_ownership_controls(Bucket=name, OwnershipControls=ownership)
    versioning = props.get("VersioningConfiguration")
    if versioning:
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning["Status"]})


def _create_queue(client: Any, name: str, props: dict[str, Any], fifo: bool) -> str:
    attributes = {key: _attribute(props[key]) for key in _QUEUE_ATTRIBUTES if key in props}
    if fifo:
        attributes["FifoQueue"] = "true"
    for key in ("RedrivePolicy", "RedriveAllowPolicy"):
        if key in props:
            attributes[key] = json.dumps(props[key]) if isinstance(props[key], dict) else str(props[key])
    return client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]


def _attribute(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


__all__ = [
    "LocalResources",
    "create_resources",
    "default_template_path",
    "load_template",
    "parameter_defaults",
    "resources_of_type",
]
