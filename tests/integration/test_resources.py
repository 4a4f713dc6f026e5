"""The local resources follow template.yaml: keys, indexes, TTL and queue attributes come from it."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from agentcron.local.resources import (
    create_resources,
    load_template,
    parameter_defaults,
    resources_of_type,
)

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def _canonical_indexes(indexes: list[dict]) -> dict[str, tuple]:
    return {
        index["IndexName"]: (
            [(k["AttributeName"], k["KeyType"]) for k in index["KeySchema"]],
            index["Projection"]["ProjectionType"],
        )
        for index in indexes or []
    }


def test_tables_have_the_template_keys_indexes_and_ttl(stack):
    template = load_template(TEMPLATE)
    tables = resources_of_type(template, "AWS::DynamoDB::Table")
    assert set(tables) == set(stack.resources.tables) >= {"SchedulesTable", "RunsTable"}
    for logical_id, resource in tables.items():
        props = resource["Properties"]
        described = stack.dynamodb.describe_table(TableName=stack.resources.tables[logical_id])["Table"]
        assert described["KeySchema"] == props["KeySchema"]
        assert sorted(described["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
            props["AttributeDefinitions"], key=lambda a: a["AttributeName"]
        )
        assert _canonical_indexes(described.get("GlobalSecondaryIndexes")) == _canonical_indexes(
            props.get("GlobalSecondaryIndexes")
        )
        assert described["BillingModeSummary"]["BillingMode"] == props["BillingMode"]
        ttl = stack.dynamodb.describe_time_to_live(TableName=described["TableName"])["TimeToLiveDescription"]
        if "TimeToLiveSpecification" in props:
            assert ttl["AttributeName"] == props["TimeToLiveSpecification"]["AttributeName"]
            assert ttl["TimeToLiveStatus"] == "ENABLED"


def test_due_and_open_indexes_are_the_ones_the_store_queries(stack):
    schedules = stack.dynamodb.describe_table(TableName=stack.settings.schedules_table)["Table"]
    runs = stack.dynamodb.describe_table(TableName=stack.settings.runs_table)["Table"]
    assert _canonical_indexes(schedules["GlobalSecondaryIndexes"])["due"][0] == [
        ("due_shard", "HASH"),
        ("next_fire_at", "RANGE"),
    ]
    assert _canonical_indexes(runs["GlobalSecondaryIndexes"])["open"][0] == [
        ("open_shard", "HASH"),
        ("open_until", "RANGE"),
    ]


def test_queues_are_fifo_with_the_template_attributes_and_redrive(stack):
    template = load_template(TEMPLATE)
    queues = resources_of_type(template, "AWS::SQS::Queue")
    assert set(queues) == set(stack.resources.queue_urls)
    run_queue = queues["RunQueue"]["Properties"]
    url = stack.resources.queue_urls["RunQueue"]
    assert url.endswith(".fifo") and stack.settings.run_queue_url == url
    attributes = stack.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["FifoQueue"] == "true"
    assert attributes["VisibilityTimeout"] == "5400"  # 6 x the default ExecutorTimeout (900 s)
    assert attributes["ContentBasedDeduplication"] == str(run_queue["ContentBasedDeduplication"]).lower()
    redrive = json.loads(attributes["RedrivePolicy"])
    dlq_logical_id = run_queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert redrive["deadLetterTargetArn"] == stack.resources.queue_arns[dlq_logical_id]
    max_receive = run_queue["RedrivePolicy"]["maxReceiveCount"]
    if isinstance(max_receive, dict):  # a !Ref to a parameter
        max_receive = parameter_defaults(template)[max_receive["Ref"]]
    assert int(redrive["maxReceiveCount"]) == int(max_receive)


def test_bucket_is_encrypted_private_and_versioned(stack):
    name = stack.settings.sessions_bucket
    assert name == name.lower() and "sessionsbucket" in name
    encryption = stack.s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]
    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = stack.s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    assert stack.s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"


def test_settings_take_numbers_from_the_template_parameters(stack):
    defaults = parameter_defaults(load_template(TEMPLATE))
    assert stack.settings.due_shards == int(defaults["DueShards"])
    assert stack.settings.run_history_days == int(defaults["RunHistoryDays"])
    env = stack.resources.environment(sweep_seconds=0)
    assert env["SCHEDULES_TABLE"] == stack.settings.schedules_table
    assert env["RUN_QUEUE_URL"] == stack.settings.run_queue_url
    assert env["SWEEP_SECONDS"] == "0"


def test_a_key_changed_in_the_template_changes_the_created_table(tmp_path, aws_env):
    """The template is the single source of truth: edit a key there and the created table follows."""
    text = TEMPLATE.read_text().replace("AttributeName: run_id", "AttributeName: run_key")
    edited = tmp_path / "template.yaml"
    edited.write_text(text)
    with mock_aws():
        clients = {name: boto3.client(name, region_name="us-east-1") for name in ("dynamodb", "sqs", "s3")}
        created = create_resources(**clients, prefix="edited", template_path=edited)
        table = clients["dynamodb"].describe_table(TableName=created.tables["RunsTable"])["Table"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["schedule_id", "run_key"]


def test_short_tags_load_as_long_form_intrinsics(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources:\n  A:\n    Type: X\n    Properties:\n"
        "      R: !Ref B\n      G: !GetAtt B.Arn\n      S: !Sub '${B}-x'\n      I: !If [C, 1, 2]\n"
    )
    props = load_template(path)["Resources"]["A"]["Properties"]
    assert props == {
        "R": {"Ref": "B"},
        "G": {"Fn::GetAtt": ["B", "Arn"]},
        "S": {"Fn::Sub": "${B}-x"},
        "I": {"Fn::If": ["C", 1, 2]},
    }


def test_two_stacks_share_one_endpoint_under_different_prefixes(aws_env):
    with mock_aws():
        clients = {name: boto3.client(name, region_name="us-east-1") for name in ("dynamodb", "sqs", "s3")}
        first = create_resources(**clients, prefix="one", template_path=TEMPLATE)
        second = create_resources(**clients, prefix="two", template_path=TEMPLATE)
    assert set(first.tables.values()).isdisjoint(second.tables.values())
    assert set(first.queue_urls.values()).isdisjoint(second.queue_urls.values())


def test_unresolvable_queue_reference_is_reported(tmp_path, aws_env):
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n"
        "      RedrivePolicy:\n        deadLetterTargetArn: !GetAtt Missing.Arn\n        maxReceiveCount: 1\n"
    )
    with mock_aws():
        clients = {name: boto3.client(name, region_name="us-east-1") for name in ("dynamodb", "sqs", "s3")}
        with pytest.raises(ValueError, match="Q"):
            create_resources(**clients, prefix="bad", template_path=path)


def test_a_resource_the_template_adds_to_globals_reaches_the_settings(aws_env):
    template = load_template(TEMPLATE)
    template["Resources"]["IdempotencyTable"] = {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        },
    }
    template.setdefault("Globals", {}).setdefault("Function", {}).setdefault("Environment", {}).setdefault(
        "Variables", {}
    )["IDEMPOTENCY_TABLE"] = {"Ref": "IdempotencyTable"}
    with mock_aws():
        clients = {name: boto3.client(name, region_name="us-east-1") for name in ("dynamodb", "sqs", "s3")}
        created = create_resources(**clients, prefix="idem", template=template)
    assert created.settings().idempotency_table == created.tables["IdempotencyTable"]
    assert created.environment()["IDEMPOTENCY_TABLE"] == created.tables["IdempotencyTable"]
