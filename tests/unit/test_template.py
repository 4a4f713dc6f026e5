"""The SAM template keeps the promises the code relies on.

The functions, the settings they read, the queue/table shapes behind the guarantees (FIFO + redrive, partial
batch responses, sparse due/open indexes), least-privilege IAM and a lint-clean template are checked here
statically, so a template edit that breaks one of them fails `make test` before anything is deployed.
"""

from __future__ import annotations

import ast
import json
import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

# The local stack's loader: short tags (!Ref, !GetAtt, !Sub, ...) become their long (JSON) form.
from agentcron.local.resources import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


def _resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res["Type"] == resource_type}


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return _resources(template, "AWS::Serverless::Function")


def _global_function(template: dict[str, Any]) -> dict[str, Any]:
    return template.get("Globals", {}).get("Function", {})


def _ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def _get_att(name: str, attribute: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [name, attribute]}


# ----------------------------------------------------------------------------------------------- functions


def test_template_has_the_two_functions_and_the_layer(template: dict[str, Any]) -> None:
    assert set(_functions(template)) >= {"ClaimFunction", "ExecutorFunction"}
    layer = template["Resources"]["AgentcronLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "layers/agentcron"
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}
    assert (ROOT / "layers/agentcron/requirements.txt").is_file()
    assert (ROOT / "layers/agentcron/agentcron/__init__.py").is_file()


def _defines(module: ast.Module, name: str) -> bool:
    for node in module.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return True
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            return True
        if isinstance(node, ast.ImportFrom) and any(
            (alias.asname or alias.name) == name for alias in node.names
        ):
            return True
    return False


@pytest.mark.parametrize("function_name", sorted(_functions(load_template(TEMPLATE))))
def test_function_code_uri_has_its_handler(template: dict[str, Any], function_name: str) -> None:
    """Parsed, not imported: importing a handler module would need AWS settings at import time."""
    properties = template["Resources"][function_name]["Properties"]
    handler = properties.get("Handler", _global_function(template).get("Handler"))
    assert handler == "app.lambda_handler"
    module_name, attribute = handler.rsplit(".", 1)
    source = ROOT / properties["CodeUri"] / f"{module_name}.py"
    assert source.is_file(), f"{function_name}: {source.relative_to(ROOT)} is missing"
    module = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    assert _defines(module, attribute), f"{source.relative_to(ROOT)} does not define {attribute}"


def test_globals_pin_runtime_architecture_tracing_and_layer(template: dict[str, Any]) -> None:
    function = _global_function(template)
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    # X-Ray only when the Tracing parameter says so; the handlers then import the SDK (agentcron.tracing).
    assert function["Tracing"] == {"Fn::If": ["TracingOn", "Active", "PassThrough"]}
    assert template["Parameters"]["Tracing"]["Default"] == "off"
    assert function["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == {
        "Fn::If": ["TracingOn", "false", "true"]
    }
    assert function["Layers"] == [_ref("AgentcronLayer")]
    layer = template["Resources"]["AgentcronLayer"]["Properties"]
    assert function["Runtime"] in layer["CompatibleRuntimes"]
    assert set(function["Architectures"]) <= set(layer["CompatibleArchitectures"])
    for name, resource in _functions(template).items():
        for key in ("Runtime", "Architectures", "Layers"):
            assert key not in resource["Properties"], f"{name} overrides the global {key}"


class _RecordingEnviron(dict):
    """An os.environ stand-in that remembers every name looked up."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)


def _names_read_by_settings(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    from agentcron import config

    environ = _RecordingEnviron()
    monkeypatch.setattr(os, "environ", environ)
    config.Settings.from_env()
    return environ.read


def test_globals_set_every_setting_the_code_reads(
    template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    read = _names_read_by_settings(monkeypatch)
    assert {"SCHEDULES_TABLE", "RUNS_TABLE", "RUN_QUEUE_URL", "SESSIONS_BUCKET"} <= read  # the recorder works
    variables = _global_function(template)["Environment"]["Variables"]
    # The executor alone talks to the OpenAI-compatible endpoint; the key itself is a local-only setting
    # (a deployed stack reads it from SSM), so the template never sets it.
    executor = template["Resources"]["ExecutorFunction"]["Properties"]["Environment"]["Variables"]
    executor_only = {"OPENAI_BASE_URL", "OPENAI_API_KEY_PARAMETER"}
    assert executor_only <= set(executor)
    read -= executor_only | {"OPENAI_API_KEY"}
    # The API and the executor (its scheduler tool) wake the claim for a create or edit due before the next
    # minute's invocation; the claim itself never needs to.
    api = template["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert api == {"CLAIM_FUNCTION_NAME": _ref("ClaimFunction")}
    assert executor["CLAIM_FUNCTION_NAME"] == _ref("ClaimFunction")
    read -= set(api)
    missing = read - set(variables)
    assert not missing, f"Settings.from_env reads {sorted(missing)} but Globals does not set them"
    # The other direction: no stale name the code no longer reads (Powertools reads its own).
    powertools = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL", "POWERTOOLS_TRACE_DISABLED"}
    libraries = {"PYDANTIC_DISABLE_PLUGINS"}  # read by pydantic
    stale = set(variables) - read - powertools - libraries
    assert not stale, f"Globals sets {sorted(stale)} which nothing reads"
    assert variables["POWERTOOLS_SERVICE_NAME"] == "agentcron"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "agentcron"


def test_globals_point_at_the_stack_resources(template: dict[str, Any]) -> None:
    variables = _global_function(template)["Environment"]["Variables"]
    assert variables["SCHEDULES_TABLE"] == _ref("SchedulesTable")
    assert variables["RUNS_TABLE"] == _ref("RunsTable")
    assert variables["RUN_QUEUE_URL"] == _ref("RunQueue")  # Ref of a queue is its URL
    assert variables["SESSIONS_BUCKET"] == _ref("SessionsBucket")
    for variable, parameter in {
        "DUE_SHARDS": "DueShards",
        "SWEEP_SECONDS": "SweepSeconds",
        "RUN_HISTORY_DAYS": "RunHistoryDays",
        "LEASE_SECONDS": "LeaseSeconds",
        "REDELIVERY_SECONDS": "RedeliverySeconds",
        "DEFAULT_MODEL": "DefaultModel",
        "DEFAULT_MODEL_PROVIDER": "DefaultModelProvider",
        "DEFAULT_SYSTEM_PROMPT": "DefaultSystemPrompt",
    }.items():
        assert variables[variable] == _ref(parameter)


def test_parameter_defaults_match_the_settings_defaults(template: dict[str, Any]) -> None:
    """A stack deployed with defaults behaves like the local stack, which runs on Settings' defaults."""
    from agentcron.config import Settings

    parameters = template["Parameters"]
    defaults = Settings()
    assert parameters["DueShards"]["Default"] == defaults.due_shards
    assert parameters["SweepSeconds"]["Default"] == defaults.sweep_seconds
    assert parameters["RunHistoryDays"]["Default"] == defaults.run_history_days
    assert parameters["LeaseSeconds"]["Default"] == defaults.lease_seconds
    assert parameters["RedeliverySeconds"]["Default"] == defaults.redelivery_seconds
    assert parameters["DefaultSystemPrompt"]["Default"] == defaults.default_system_prompt
    assert parameters["DefaultModelProvider"]["Default"] == defaults.default_model_provider
    # On AWS the default model is a real one; "echo" (offline) stays the package default.
    assert parameters["DefaultModel"]["Default"] == "bedrock:amazon.nova-lite-v1:0"


def test_log_groups_keep_logs_for_log_retention_days(template: dict[str, Any]) -> None:
    for name, resource in _functions(template).items():
        group = resource["Properties"]["LoggingConfig"]["LogGroup"]
        assert set(group) == {"Ref"}, name
        log_group = template["Resources"][group["Ref"]]
        assert log_group["Type"] == "AWS::Logs::LogGroup"
        assert log_group["Properties"]["RetentionInDays"] == _ref("LogRetentionDays")


# ----------------------------------------------------------------------------------------------- claim


def test_claim_runs_once_a_minute_with_retry_and_dead_letter_queue(template: dict[str, Any]) -> None:
    claim = template["Resources"]["ClaimFunction"]["Properties"]
    # Awake 60 s to the next invocation + a 20 s handover, and 10 s kept for the last sweep.
    assert claim["Timeout"] == 90
    events = list(claim["Events"].values())
    assert len(events) == 1
    event = events[0]
    assert event["Type"] == "ScheduleV2"
    schedule = event["Properties"]
    assert schedule["ScheduleExpression"] == "rate(1 minute)"
    assert json.loads(schedule["Input"]) == {"source": "agentcron.scheduler", "action": "sweep"}
    retry = schedule["RetryPolicy"]
    assert set(retry) == {"MaximumRetryAttempts", "MaximumEventAgeInSeconds"}
    assert 0 <= retry["MaximumRetryAttempts"] <= 185
    assert 60 <= retry["MaximumEventAgeInSeconds"] <= 86400
    assert schedule["DeadLetterConfig"] == {"Arn": _get_att("ClaimScheduleDeadLetterQueue", "Arn")}
    dead_letters = template["Resources"]["ClaimScheduleDeadLetterQueue"]
    assert dead_letters["Type"] == "AWS::SQS::Queue"
    # EventBridge Scheduler cannot deliver to a FIFO dead-letter queue.
    assert not dead_letters["Properties"].get("FifoQueue", False)


def test_sweep_outlasts_neither_its_timeout_nor_the_schedule_period(template: dict[str, Any]) -> None:
    sweep = template["Parameters"]["SweepSeconds"]
    assert sweep["MinValue"] == 0
    assert sweep["MaxValue"] < template["Resources"]["ClaimFunction"]["Properties"]["Timeout"] <= 90


def test_claim_may_send_to_the_run_queue_and_query_both_indexes(template: dict[str, Any]) -> None:
    statements = _inline_statements(_policies(template, "ClaimFunction"))
    sends = [s for s in statements if "sqs:SendMessage" in _as_list(s["Action"])]
    assert [s["Resource"] for s in sends] == [_get_att("RunQueue", "Arn")]
    index_queries = [
        s for s in statements if "dynamodb:Query" in _as_list(s["Action"]) and _renders_index(s["Resource"])
    ]
    rendered = {_render(r) for s in index_queries for r in _as_list(s["Resource"])}
    assert {"${SchedulesTable.Arn}/index/due", "${RunsTable.Arn}/index/open"} <= rendered


def _renders_index(resource: Any) -> bool:
    return any("/index/" in _render(r) for r in _as_list(resource))


# ----------------------------------------------------------------------------------------------- executor


def test_executor_consumes_the_run_queue_with_partial_batch_responses(template: dict[str, Any]) -> None:
    executor = template["Resources"]["ExecutorFunction"]["Properties"]
    assert executor["Timeout"] == _ref("ExecutorTimeout")
    sources = [e["Properties"] for e in executor["Events"].values() if e["Type"] == "SQS"]
    assert len(sources) == 1
    source = sources[0]
    assert source["Queue"] == _get_att("RunQueue", "Arn")
    assert source["BatchSize"] == 10  # the FIFO maximum
    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert source["ScalingConfig"] == {"MaximumConcurrency": _ref("ExecutorMaxConcurrency")}
    low, high = (template["Parameters"]["ExecutorMaxConcurrency"][k] for k in ("MinValue", "MaxValue"))
    assert (low, high) == (2, 1000)  # the limits AWS puts on MaximumConcurrency


def test_executor_reserved_concurrency_is_optional(template: dict[str, Any]) -> None:
    reserved = template["Resources"]["ExecutorFunction"]["Properties"]["ReservedConcurrentExecutions"]
    condition, when_reserved, otherwise = reserved["Fn::If"]
    assert when_reserved == _ref("ExecutorReservedConcurrency")
    assert otherwise == _ref("AWS::NoValue")
    assert template["Conditions"][condition] == {
        "Fn::Not": [{"Fn::Equals": [_ref("ExecutorReservedConcurrency"), 0]}]
    }
    parameter = template["Parameters"]["ExecutorReservedConcurrency"]
    assert parameter["MinValue"] == 0 and parameter["Default"] == 10


def test_executor_may_use_the_sessions_bucket_and_send_continuations(template: dict[str, Any]) -> None:
    policies = _policies(template, "ExecutorFunction")
    sends = [s for s in _inline_statements(policies) if "sqs:SendMessage" in _as_list(s["Action"])]
    # continuations on the run queue; a message that can never succeed straight to its dead-letter queue
    assert [s["Resource"] for s in sends] == [_get_att("RunQueue", "Arn"), _get_att("RunDeadLetterQueue", "Arn")]
    s3 = {
        action: {_render(r) for r in _as_list(s["Resource"])}
        for s in _inline_statements(policies)
        for action in _as_list(s["Action"])
        if action.startswith("s3:")
    }
    assert s3["s3:GetObject"] == s3["s3:PutObject"] == {"${SessionsBucket.Arn}/sessions/*"}


# ----------------------------------------------------------------------------------------------- data


def test_run_queue_visibility_is_six_times_the_executor_timeout(template: dict[str, Any]) -> None:
    allowed = template["Parameters"]["ExecutorTimeout"]["AllowedValues"]
    assert max(allowed) <= 900  # the Lambda limit
    assert template["Parameters"]["ExecutorTimeout"]["Default"] in allowed
    visibility = template["Resources"]["RunQueue"]["Properties"]["VisibilityTimeout"]
    assert visibility == {"Fn::FindInMap": ["RunQueueVisibility", {"Ref": "ExecutorTimeout"}, "Seconds"]}
    mapping = template["Mappings"]["RunQueueVisibility"]
    assert {int(timeout): row["Seconds"] for timeout, row in mapping.items()} == {t: 6 * t for t in allowed}


def test_run_queue_is_fifo_and_redrives_to_a_fifo_dead_letter_queue(template: dict[str, Any]) -> None:
    queue = template["Resources"]["RunQueue"]["Properties"]
    dead_letters = template["Resources"]["RunDeadLetterQueue"]["Properties"]
    assert queue["FifoQueue"] is True and dead_letters["FifoQueue"] is True
    # The run id is the explicit deduplication id; content-based ids would merge distinct runs.
    assert queue["ContentBasedDeduplication"] is False
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": _get_att("RunDeadLetterQueue", "Arn"),
        "maxReceiveCount": _ref("MaxReceiveCount"),
    }
    assert dead_letters["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]


def _key_schema(keys: list[dict[str, str]]) -> dict[str, str]:
    return {key["KeyType"]: key["AttributeName"] for key in keys}


@pytest.mark.parametrize(
    ("table", "hash_key", "range_key", "index", "index_hash", "index_range", "projection"),
    [
        ("SchedulesTable", "schedule_id", None, "due", "due_shard", "next_fire_at", "KEYS_ONLY"),
        ("RunsTable", "schedule_id", "run_id", "open", "open_shard", "open_until", "KEYS_ONLY"),
    ],
)
def test_tables_have_their_keys_and_sparse_index(
    template: dict[str, Any],
    table: str,
    hash_key: str,
    range_key: str | None,
    index: str,
    index_hash: str,
    index_range: str,
    projection: str,
) -> None:
    properties = template["Resources"][table]["Properties"]
    expected = {"HASH": hash_key} | ({"RANGE": range_key} if range_key else {})
    assert _key_schema(properties["KeySchema"]) == expected
    indexes = {i["IndexName"]: i for i in properties["GlobalSecondaryIndexes"]}
    assert _key_schema(indexes[index]["KeySchema"]) == {"HASH": index_hash, "RANGE": index_range}
    assert indexes[index]["Projection"] == {"ProjectionType": projection}
    types = {a["AttributeName"]: a["AttributeType"] for a in properties["AttributeDefinitions"]}
    assert types[index_hash] == types[index_range] == "N"  # shard number, epoch milliseconds
    assert properties["BillingMode"] == "PAY_PER_REQUEST"


# ----------------------------------------------------------------------------------------------- IAM

def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _render(resource: Any) -> str:
    """A resource as text: Sub templates as written, Ref/GetAtt as `${Name.Attr}` (never a wildcard)."""
    if isinstance(resource, str):
        return resource
    if isinstance(resource, dict) and len(resource) == 1:
        (function, argument), = resource.items()
        if function == "Fn::Sub":
            return argument if isinstance(argument, str) else argument[0]
        if function == "Fn::GetAtt":
            return "${" + ".".join(_as_list(argument)) + "}"
        if function == "Ref":
            return "${" + argument + "}"
        if function == "Fn::Join":
            delimiter, parts = argument
            return delimiter.join(_render(part) for part in parts)
    raise AssertionError(f"cannot read IAM resource {resource!r}")


def _statements_in(value: Any) -> list[dict[str, Any]]:
    """Every statement under `value`; a SAM policy template entry has none and is skipped."""
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Statement":
                found.extend(_as_list(item))
            else:
                found.extend(_statements_in(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_statements_in(item))
    return found


def _inline_statements(policies: Any) -> list[dict[str, Any]]:
    return _statements_in(policies)


def _policies(template: dict[str, Any], function: str) -> list[Any]:
    """The inline policies of a function's own role (every function names one: no SAM-made role)."""
    role = template["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
    return template["Resources"][role]["Properties"]["Policies"]


# Every IAM statement of the deployed template is scanned in test_template_iam.py (after the SAM transform).


# ----------------------------------------------------------------------------------------------- parameters


def test_every_numeric_parameter_is_bounded_and_described(template: dict[str, Any]) -> None:
    for name, parameter in template["Parameters"].items():
        assert parameter.get("Description"), f"parameter {name} has no Description"
        if parameter["Type"] == "Number":
            assert "MinValue" in parameter and "MaxValue" in parameter, f"parameter {name} is unbounded"
            assert parameter["MinValue"] <= parameter["Default"] <= parameter["MaxValue"], name


def test_the_lease_outlives_the_longest_executor_invocation(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    assert parameters["LeaseSeconds"]["Default"] > parameters["ExecutorTimeout"]["MaxValue"]


def test_every_output_is_described(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert set(outputs) >= {
        "SchedulesTableName",
        "RunsTableName",
        "RunQueueUrl",
        "RunQueueArn",
        "DeadLetterQueueUrl",
        "SessionsBucketName",
        "ClaimFunctionName",
        "ExecutorFunctionName",
        "LayerArn",
    }
    for name, output in outputs.items():
        assert output.get("Description"), f"output {name} has no Description"
        assert "Value" in output


def test_sections_are_in_order(template: dict[str, Any]) -> None:
    sections = [s for s in template if s in ("Globals", "Parameters", "Conditions", "Resources", "Outputs")]
    assert sections == ["Globals", "Parameters", "Conditions", "Resources", "Outputs"]


# ----------------------------------------------------------------------------------------------- tooling


def test_cfn_lint_reports_no_error_and_no_warning() -> None:
    from cfnlint.api import lint_file

    matches = lint_file(TEMPLATE)
    findings = [m for m in matches if m.rule.id[0] in "EW"]
    assert not findings, "\n".join(f"{m.rule.id} line {m.linenumber}: {m.message}" for m in findings)


def test_samconfig_deploys_the_agentcron_stack() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    assert config["version"] == 0.1
    defaults = config["default"]
    assert defaults["build"]["parameters"] == {"cached": True, "parallel": True}
    deploy = defaults["deploy"]["parameters"]
    assert deploy["stack_name"] == "agentcron"
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["resolve_s3"] is True and deploy["confirm_changeset"] is True
    assert defaults["validate"]["parameters"]["lint"] is True


def test_transcripts_expire_with_the_run_history(template: dict[str, Any]) -> None:
    rules = template["Resources"]["SessionsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    expiring = [rule for rule in rules if rule.get("ExpirationInDays") == _ref("RunHistoryDays")]
    assert [rule.get("Prefix") for rule in expiring] == ["sessions/"]


def test_the_claim_and_the_api_may_delete_transcripts_and_nothing_else_of_the_bucket(
    template: dict[str, Any],
) -> None:
    for name in ("ClaimFunction", "ApiFunction"):
        statements = _inline_statements([p for p in _policies(template, name) if "Fn::If" not in p])
        deleting = [s for s in statements if "s3:DeleteObject" in s["Action"]]
        assert [s["Resource"] for s in deleting] == [{"Fn::Sub": "${SessionsBucket.Arn}/sessions/*"}], name


def test_notification_grants_exist_only_for_configured_targets(template: dict[str, Any]) -> None:
    """sns:Publish on exactly NotifyTopicArns and ssm:GetParameter under NotifySecretPath, each behind the
    condition that the parameter is set, for every function that ends runs (claim, executor, API)."""
    conditions = template["Conditions"]
    assert conditions["HasNotifyTopics"] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "NotifyTopicArns"}]}, ""]}]
    }
    secret_path_set = {"Fn::Not": [{"Fn::Equals": [{"Ref": "NotifySecretPath"}, ""]}]}
    assert conditions["HasNotifySecretPath"] == secret_path_set
    for name in ("ClaimFunction", "ExecutorFunction", "ApiFunction"):
        policies = _policies(template, name)
        guarded = {p["Fn::If"][0]: p["Fn::If"] for p in policies if isinstance(p, dict) and "Fn::If" in p}
        assert set(guarded) == {"TracingOn", "HasNotifyTopics", "HasNotifySecretPath"}, name
        (publish,) = guarded["HasNotifyTopics"][1]["PolicyDocument"]["Statement"]
        assert (publish["Action"], publish["Resource"]) == (["sns:Publish"], {"Ref": "NotifyTopicArns"})
        (read,) = guarded["HasNotifySecretPath"][1]["PolicyDocument"]["Statement"]
        assert read["Action"] == ["ssm:GetParameter"]
        assert read["Resource"]["Fn::Sub"].endswith(":parameter${NotifySecretPath}/*")
        assert guarded["HasNotifyTopics"][2] == guarded["HasNotifySecretPath"][2] == {"Ref": "AWS::NoValue"}
        unguarded = _statements_in([p for p in policies if "Fn::If" not in p])
        assert not any("sns:Publish" in _as_list(s.get("Action")) for s in unguarded), name
