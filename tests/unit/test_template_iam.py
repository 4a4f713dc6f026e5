"""Least privilege, checked on the template as deployed: after the SAM transform, as `sam build` would run it.

SAM adds policies of its own (AWS-managed ones for logs, X-Ray and SQS event sources, its policy templates
such as ``sqs:SendMessage*``), so checking template.yaml as written proves little. Here the template goes
through the SAM translator (with CodeUri/ContentUri replaced by S3 URIs, as `sam package` does) and every IAM
policy of the result is scanned: no AWS-managed policy, no wildcard action, no ``"*"`` resource except the
X-Ray write actions (AWS offers nothing narrower) behind the ``TracingOn`` condition, S3 object access under
``sessions/`` only, and Bedrock limited to the models of the ``BedrockModelIds`` allow-list.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any

import pytest

from agentcron.api.auth import READ_SCOPE, WRITE_SCOPE
from agentcron.local.resources import load_template

ROOT = Path(__file__).resolve().parents[2]
XRAY_WRITES = frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"})
FUNCTIONS = ("ClaimFunction", "ExecutorFunction", "ApiFunction")
# A wildcard may only stand for resources of one type (`...:key/*`) or below one named resource
# (`${Bucket.Arn}/sessions/*`); never in the service, region or account part, never a bare `*` (but X-Ray's).
# Matched after every `${...}` substitution is replaced by `X` (pseudo parameters contain colons).
_TYPED_WILDCARD = re.compile(r"^(arn:[^:*]+:[a-z0-9-]+:[^:*]*:[^:*]*:[A-Za-z0-9-]+/[^*]*\*|X/[^*]*\*)$")
_SUBSTITUTION = re.compile(r"\$\{[^}*]*\}")


class _NoManagedPolicies:
    """The managed-policy loader SAM asks for names it should resolve to ARNs; the template names none."""

    def load(self) -> dict[str, str]:
        return {}


def transform(parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """template.yaml through the SAM translator, code locations as `sam package` would leave them."""
    from samtranslator.translator.transform import transform as sam_transform
    from samtranslator.yaml_helper import yaml_parse

    document = yaml_parse((ROOT / "template.yaml").read_text(encoding="utf-8"))
    for name, resource in document["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            properties["CodeUri"] = f"s3://artifacts/{name}.zip"
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            properties["ContentUri"] = f"s3://artifacts/{name}.zip"
    region = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"  # the translator needs a region (it calls no service)
    try:
        return sam_transform(document, parameters or {}, _NoManagedPolicies())
    finally:
        if region is None:
            del os.environ["AWS_DEFAULT_REGION"]
        else:
            os.environ["AWS_DEFAULT_REGION"] = region


@pytest.fixture(scope="module")
def deployed() -> dict[str, Any]:
    return transform()


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _render(resource: Any) -> str:
    """A resource as text: Sub templates as written, Ref/GetAtt as `${Name.Attr}` (never a wildcard)."""
    if isinstance(resource, str):
        return resource
    if isinstance(resource, dict) and len(resource) == 1:
        ((function, argument),) = resource.items()
        if function == "Fn::Sub":
            return argument if isinstance(argument, str) else argument[0]
        if function == "Fn::GetAtt":
            return "${" + ".".join(_as_list(argument)) + "}"
        if function == "Ref":
            return "${" + argument + "}"
    raise AssertionError(f"cannot read IAM resource {resource!r}")


def policy_statements(template: dict[str, Any]) -> list[tuple[str, str | None, dict[str, Any]]]:
    """(resource, condition guarding it or None, statement) for every statement of every identity policy:
    inline role policies (both branches of an Fn::If), AWS::IAM::Policy and AWS::IAM::ManagedPolicy."""
    found: list[tuple[str, str | None, dict[str, Any]]] = []

    def documents(value: Any, condition: str | None, owner: str) -> None:
        if isinstance(value, dict) and "Fn::If" in value:
            name, *branches = value["Fn::If"]
            for branch in branches:
                documents(branch, name, owner)
        elif isinstance(value, dict) and "PolicyDocument" in value:
            for statement in _as_list(value["PolicyDocument"]["Statement"]):
                found.append((owner, condition, statement))
        elif isinstance(value, list):
            for item in value:
                documents(item, condition, owner)

    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            documents(properties.get("Policies", []), None, name)
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents(properties, resource.get("Condition"), name)
    return found


def iam_problems(statement: dict[str, Any], condition: str | None = None) -> list[str]:
    """Why an Allow statement is broader than least privilege (empty when it is fine)."""
    if statement.get("Effect") != "Allow":
        return []  # a Deny only narrows
    problems: list[str] = []
    if "NotAction" in statement or "NotResource" in statement:
        problems.append("NotAction/NotResource grants everything else")
    actions = [a for a in _as_list(statement.get("Action", [])) if isinstance(a, str)]
    for action in actions:
        if "*" in action:
            problems.append(f"action {action!r} is a wildcard (name every action)")
    for resource in (_render(r) for r in _as_list(statement.get("Resource", []))):
        if resource == "*":
            if not set(actions) <= XRAY_WRITES:
                problems.append(f"resource '*' on {sorted(set(actions) - XRAY_WRITES)}")
            elif condition != "TracingOn":
                problems.append("X-Ray writes granted while tracing is off")
        elif "*" in resource and not _TYPED_WILDCARD.match(_SUBSTITUTION.sub("X", resource)):
            problems.append(f"resource {resource!r} has a wildcard outside a resource id")
    if any(a.startswith("s3:") for a in actions):
        for resource in (_render(r) for r in _as_list(statement.get("Resource", []))):
            if (
                resource.startswith("${SessionsBucket.Arn}/")
                and resource != "${SessionsBucket.Arn}/sessions/*"
            ):
                problems.append(f"S3 object access outside sessions/: {resource!r}")
        bucket_level = [
            r for r in _as_list(statement.get("Resource", [])) if _render(r) == "${SessionsBucket.Arn}"
        ]
        if bucket_level and set(actions) != {"s3:ListBucket"}:
            problems.append(f"bucket-level S3 actions other than ListBucket: {sorted(actions)}")
    return problems


# --------------------------------------------------------------------------- the transformed template


@pytest.mark.parametrize(
    "parameters",
    [{}, {"Tracing": "on", "ApiAuth": "JWT", "ApiJwtIssuer": "https://issuer.test", "ApiJwtAudience": "app"}],
    ids=["defaults", "tracing-and-jwt"],
)
def test_no_role_carries_an_aws_managed_policy(parameters: dict[str, str]) -> None:
    deployed = transform(parameters)
    roles = {n: r for n, r in deployed["Resources"].items() if r["Type"] == "AWS::IAM::Role"}
    assert {f"{name}Role" for name in FUNCTIONS} <= set(roles)
    managed = {
        n: r["Properties"]["ManagedPolicyArns"]
        for n, r in roles.items()
        if "ManagedPolicyArns" in r["Properties"]
    }
    assert managed == {}
    assert not [n for n, r in deployed["Resources"].items() if r["Type"] == "AWS::IAM::ManagedPolicy"]


def test_every_policy_statement_of_the_deployed_template_is_least_privilege(deployed: dict[str, Any]) -> None:
    statements = policy_statements(deployed)
    assert {owner for owner, _, _ in statements} >= {f"{name}Role" for name in FUNCTIONS}
    problems = [f"{owner}: {p}" for owner, condition, s in statements for p in iam_problems(s, condition)]
    assert not problems, "\n".join(problems)


def test_each_function_runs_as_its_own_role(deployed: dict[str, Any]) -> None:
    for name in FUNCTIONS:
        function = deployed["Resources"][name]
        assert function["Type"] == "AWS::Lambda::Function"
        assert function["Properties"]["Role"] == {"Fn::GetAtt": [f"{name}Role", "Arn"]}


def _role_statements(template: dict[str, Any], role: str) -> list[tuple[str | None, dict[str, Any]]]:
    return [(condition, s) for owner, condition, s in policy_statements(template) if owner == role]


def test_each_function_writes_to_its_own_log_group_only(deployed: dict[str, Any]) -> None:
    for name in FUNCTIONS:
        group = deployed["Resources"][name]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert deployed["Resources"][group]["Type"] == "AWS::Logs::LogGroup"
        assert deployed["Resources"][group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        logs = [
            (condition, s)
            for condition, s in _role_statements(deployed, f"{name}Role")
            if any(a.startswith("logs:") for a in _as_list(s["Action"]))
        ]
        assert logs == [
            (
                None,
                {
                    "Sid": "WriteOwnLogs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": {"Fn::GetAtt": [group, "Arn"]},
                },
            )
        ], name


def test_x_ray_writes_only_when_tracing_is_on(deployed: dict[str, Any]) -> None:
    assert deployed["Parameters"]["Tracing"]["Default"] == "off"
    for name in FUNCTIONS:
        xray = [
            (condition, s)
            for condition, s in _role_statements(deployed, f"{name}Role")
            if any(a.startswith("xray:") for a in _as_list(s["Action"]))
        ]
        assert [(c, set(s["Action"]), s["Resource"]) for c, s in xray] == [("TracingOn", XRAY_WRITES, "*")], (
            name
        )
        tracing = deployed["Resources"][name]["Properties"]["TracingConfig"]["Mode"]
        assert tracing == {"Fn::If": ["TracingOn", "Active", "PassThrough"]}


def test_the_executor_consumes_and_continues_on_the_run_queue_only(deployed: dict[str, Any]) -> None:
    sqs: dict[str, list[str]] = {}
    for _, statement in _role_statements(deployed, "ExecutorFunctionRole"):
        for action in _as_list(statement["Action"]):
            if action.startswith("sqs:"):
                sqs.setdefault(action, []).extend(_render(r) for r in _as_list(statement["Resource"]))
    event_source = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
    # + the back-off of a transiently failed message, and poison messages sent to the dead-letter queue
    assert set(sqs) == event_source | {"sqs:SendMessage", "sqs:ChangeMessageVisibility"}
    dead_letters = sqs.pop("sqs:SendMessage")
    assert dead_letters == ["${RunQueue.Arn}", "${RunDeadLetterQueue.Arn}"], dead_letters
    assert all(resources == ["${RunQueue.Arn}"] for resources in sqs.values()), sqs
    for name in ("ClaimFunction", "ApiFunction"):
        sends = [s for _, s in _role_statements(deployed, f"{name}Role") if "sqs:SendMessage" in s["Action"]]
        assert [s["Resource"] for s in sends] == [{"Fn::GetAtt": ["RunQueue", "Arn"]}], name


# ------------------------------------------------------------------ Bedrock models from an allow-list


_PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012"}


def _evaluate(node: Any, parameters: dict[str, Any]) -> Any:
    """The intrinsic functions the allow-list uses (Ref, Join, Split, Select, Sub), evaluated."""
    if isinstance(node, list):
        return [_evaluate(item, parameters) for item in node]
    if not isinstance(node, dict):
        return node
    ((function, argument),) = node.items()
    if function == "Ref":
        return _PSEUDO.get(argument, parameters.get(argument))
    if function == "Fn::Join":
        return argument[0].join(_evaluate(argument[1], parameters))
    if function == "Fn::Split":
        return _evaluate(argument[1], parameters).split(argument[0])
    if function == "Fn::Select":
        return _evaluate(argument[1], parameters)[int(argument[0])]
    if function == "Fn::Sub":
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {**_PSEUDO, **{k: _evaluate(v, parameters) for k, v in variables.items()}}
        return re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], text)
    raise AssertionError(f"unexpected {function}")


def _bedrock_resources(template: dict[str, Any], model_ids: list[str]) -> set[str]:
    (statement,) = [
        s
        for _, s in _role_statements(template, "ExecutorFunctionRole")
        if any(a.startswith("bedrock:") for a in _as_list(s["Action"]))
    ]
    assert set(statement["Action"]) == {"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"}
    return {_evaluate(r, {"BedrockModelIds": model_ids}) for r in statement["Resource"]}


def _granted(resources: set[str]) -> set[str]:
    return {r.rsplit("/", 1)[1] for r in resources} - {"-"}


def test_bedrock_is_limited_to_the_allow_listed_models(deployed: dict[str, Any]) -> None:
    parameter = deployed["Parameters"]["BedrockModelIds"]
    defaults = parameter["Default"].split(",")
    assert 1 <= len(defaults) <= 5  # a short default list
    default_model = deployed["Parameters"]["DefaultModel"]["Default"]
    assert default_model.removeprefix("bedrock:") in defaults
    resources = _bedrock_resources(deployed, defaults)
    assert _granted(resources) == set(defaults)
    region = "arn:aws:bedrock:eu-west-1:"
    assert resources == {f"{region}:foundation-model/{m}" for m in [*defaults, "-"]} | {
        f"{region}123456789012:inference-profile/{m}" for m in [*defaults, "-"]
    }
    assert not any(r.endswith("*") for r in resources)


@pytest.mark.parametrize("count", [1, 2, 10])
def test_every_slot_of_the_allow_list_is_granted(deployed: dict[str, Any], count: int) -> None:
    models = [f"vendor.model-{i}-v1:0" for i in range(count)]
    assert _granted(_bedrock_resources(deployed, models)) == set(models)


def test_an_eleventh_model_is_not_granted(deployed: dict[str, Any]) -> None:
    """The template has ten slots, and says so; an eleventh id gets no grant rather than a wider one."""
    models = [f"vendor.model-{i}-v1:0" for i in range(11)]
    assert _granted(_bedrock_resources(deployed, models)) == set(models[:10])
    assert "at most 10" in deployed["Parameters"]["BedrockModelIds"]["Description"]


# --------------------------------------------------------------------------- the API's door


def test_the_jwt_authorizer_checks_issuer_audience_and_required_scopes(deployed: dict[str, Any]) -> None:
    api = deployed["Resources"]["Api"]["Properties"]["Body"]
    method = api["paths"]["/{proxy+}"]["x-amazon-apigateway-any-method"]
    condition, jwt, iam = method["security"]["Fn::If"]
    assert condition == "ApiUsesJwt" and iam == [{"AWS_IAM": []}]
    assert jwt == [{"JwtAuthorizer": {"Ref": "ApiJwtScopes"}}]
    scheme = api["components"]["securitySchemes"]["Fn::If"][1]["JwtAuthorizer"][
        "x-amazon-apigateway-authorizer"
    ]
    assert scheme["jwtConfiguration"] == {
        "issuer": {"Ref": "ApiJwtIssuer"},
        "audience": {"Ref": "ApiJwtAudience"},
    }
    parameters = deployed["Parameters"]
    assert parameters["ApiJwtScopes"]["Default"].split(",") == [READ_SCOPE, WRITE_SCOPE]
    asserted = [a["Assert"] for a in deployed["Rules"]["JwtAuthNeedsAnIssuer"]["Assertions"]]
    for name in ("ApiJwtAudience", "ApiJwtScopes"):
        assert {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": name}]}, ""]}]} in asserted, name


def test_the_api_stage_throttles_by_default(deployed: dict[str, Any]) -> None:
    (stage,) = [r for r in deployed["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Stage"]
    assert stage["Properties"]["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"},
    }
    parameters = deployed["Parameters"]
    rate, burst = parameters["ApiThrottlingRateLimit"], parameters["ApiThrottlingBurstLimit"]
    assert (
        1 <= rate["Default"] <= rate["MaxValue"] and rate["Default"] <= burst["Default"] <= burst["MaxValue"]
    )


# --------------------------------------------------------------------------- the scanner itself


@pytest.mark.parametrize(
    ("statement", "condition"),
    [
        ({"Effect": "Allow", "Action": "*", "Resource": "arn:${AWS::Partition}:s3:::b/x"}, None),
        ({"Effect": "Allow", "Action": "sqs:*", "Resource": {"Fn::GetAtt": ["RunQueue", "Arn"]}}, None),
        (
            {
                "Effect": "Allow",
                "Action": "sqs:SendMessage*",
                "Resource": {"Fn::GetAtt": ["RunQueue", "Arn"]},
            },
            None,
        ),
        ({"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": "*"}, None),
        (
            {
                "Effect": "Allow",
                "Action": ["xray:PutTraceSegments", "xray:GetSamplingRules"],
                "Resource": "*",
            },
            "TracingOn",
        ),
        ({"Effect": "Allow", "Action": ["xray:PutTraceSegments"], "Resource": "*"}, None),  # tracing off
        ({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": {"Fn::Sub": "*"}}, None),
        (
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": {"Fn::Sub": "${SessionsBucket.Arn}/*"},
            },
            None,
        ),
        (
            {
                "Effect": "Allow",
                "Action": ["s3:DeleteBucket"],
                "Resource": {"Fn::GetAtt": ["SessionsBucket", "Arn"]},
            },
            None,
        ),
        (
            {
                "Effect": "Allow",
                "Action": "bedrock:InvokeModel",
                "Resource": {"Fn::Sub": "arn:${AWS::Partition}:bedrock:*::foundation-model/*"},
            },
            None,
        ),
        ({"Effect": "Allow", "NotAction": "iam:PassRole", "Resource": "arn:${AWS::Partition}:s3:::b"}, None),
        (
            {"Effect": "Allow", "Action": "dynamodb:Get*", "Resource": {"Fn::GetAtt": ["RunsTable", "Arn"]}},
            None,
        ),
    ],
)
def test_the_scanner_rejects_broad_statements(statement: dict[str, Any], condition: str | None) -> None:
    assert iam_problems(copy.deepcopy(statement), condition)


@pytest.mark.parametrize(
    ("statement", "condition"),
    [
        (
            {
                "Effect": "Allow",
                "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                "Resource": "*",
            },
            "TracingOn",
        ),
        (
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": {"Fn::Sub": "${SessionsBucket.Arn}/sessions/*"},
            },
            None,
        ),
        (
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": {"Fn::GetAtt": ["SessionsBucket", "Arn"]},
            },
            None,
        ),
        (
            {
                "Effect": "Allow",
                "Action": "logs:PutLogEvents",
                "Resource": {"Fn::GetAtt": ["ApiLogGroup", "Arn"]},
            },
            None,
        ),
        ({"Effect": "Deny", "Action": "s3:*", "Resource": "*"}, None),
    ],
)
def test_the_scanner_accepts_scoped_statements(statement: dict[str, Any], condition: str | None) -> None:
    assert iam_problems(statement, condition) == []


def test_the_scanner_sees_what_sam_adds_to_a_function_without_a_role(monkeypatch: pytest.MonkeyPatch) -> None:
    """A function left to SAM gets AWS-managed policies and a wildcard SQS action: the checks catch both."""
    template = load_template(ROOT / "template.yaml")
    assert template["Resources"]["ExecutorFunction"]["Properties"]["Role"]
    from samtranslator.translator.transform import transform as sam_transform

    document = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue"},
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "s3://artifacts/fn.zip",
                    "Handler": "app.handler",
                    "Runtime": "python3.13",
                    "Tracing": "Active",
                    "Policies": [
                        {"SQSSendMessagePolicy": {"QueueName": {"Fn::GetAtt": ["Queue", "QueueName"]}}}
                    ],
                },
            },
        },
    }
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    out = sam_transform(document, {}, _NoManagedPolicies())
    assert out["Resources"]["FnRole"]["Properties"]["ManagedPolicyArns"]
    problems = [p for owner, c, s in policy_statements(out) for p in iam_problems(s, c)]
    assert any("sqs:SendMessage*" in p for p in problems)
