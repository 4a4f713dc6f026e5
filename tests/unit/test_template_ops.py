"""The operations part of template.yaml: alarms (optional SNS actions), the dashboard, Run Finished IAM.

Custom-metric alarms must name exactly what the handlers emit (agentcron.telemetry); the handlers' real EMF
output is checked against the same alarms in tests/integration/test_observability.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from agentcron import telemetry
from agentcron.local.resources import load_template

ROOT = Path(__file__).resolve().parents[2]
ACTIONS_IF_TOPIC = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
BUS_ARN = "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBusName}"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: res["Properties"]
        for name, res in template["Resources"].items()
        if res["Type"] == "AWS::CloudWatch::Alarm"
    }


def custom_metric_alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: p for n, p in alarms(template).items() if p.get("Namespace") == telemetry.NAMESPACE}


def dimensions(properties: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in properties.get("Dimensions", [])}


# --------------------------------------------------------------------------- parameters


def test_the_alarm_topic_is_optional_and_every_alarm_notifies_it_only_when_given(template) -> None:
    parameter = template["Parameters"]["AlarmTopicArn"]
    assert parameter["Default"] == ""
    pattern = re.compile(parameter["AllowedPattern"])
    assert pattern.match("") and pattern.match("arn:aws:sns:eu-west-1:123456789012:ops-alerts")
    assert not pattern.match("ops-alerts")
    assert template["Conditions"]["HasAlarmTopic"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]
    }
    assert len(alarms(template)) == 6
    for name, properties in alarms(template).items():
        assert properties["AlarmActions"] == ACTIONS_IF_TOPIC, name
        assert properties["OKActions"] == ACTIONS_IF_TOPIC, name
        assert properties["AlarmDescription"], name


@pytest.mark.parametrize(
    ("alarm", "queue"),
    [
        ("RunDeadLetterQueueAlarm", "RunDeadLetterQueue"),
        ("ClaimScheduleDeadLetterQueueAlarm", "ClaimScheduleDeadLetterQueue"),
    ],
)
def test_a_dead_letter_queue_with_any_message_alarms(template, alarm: str, queue: str) -> None:
    properties = alarms(template)[alarm]
    assert (properties["Namespace"], properties["MetricName"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    assert dimensions(properties) == {"QueueName": {"Fn::GetAtt": [queue, "QueueName"]}}
    assert (properties["ComparisonOperator"], properties["Threshold"]) == ("GreaterThanThreshold", 0)


def test_claim_errors_or_throttles_alarm(template) -> None:
    properties = alarms(template)["ClaimFunctionErrorsAlarm"]
    stats = {m["Id"]: m["MetricStat"] for m in properties["Metrics"] if "MetricStat" in m}
    assert {s["Metric"]["MetricName"] for s in stats.values()} == {"Errors", "Throttles"}
    for stat in stats.values():
        assert stat["Metric"]["Namespace"] == "AWS/Lambda"
        assert dimensions(stat["Metric"]) == {"FunctionName": {"Ref": "ClaimFunction"}}
        assert stat["Stat"] == "Sum"
    (expression,) = [m for m in properties["Metrics"] if "Expression" in m]
    assert expression["ReturnData"] is True
    assert set(re.findall(r"FILL\((\w+), 0\)", expression["Expression"])) == set(stats)
    assert (properties["ComparisonOperator"], properties["Threshold"]) == ("GreaterThanThreshold", 0)


def test_executor_errors_alarm(template) -> None:
    properties = alarms(template)["ExecutorErrorsAlarm"]
    assert (properties["Namespace"], properties["MetricName"], properties["Statistic"]) == (
        "AWS/Lambda",
        "Errors",
        "Sum",
    )
    assert dimensions(properties) == {"FunctionName": {"Ref": "ExecutorFunction"}}


def test_fire_lag_p99_alarm_uses_its_parameter(template) -> None:
    properties = alarms(template)["FireLagP99Alarm"]
    assert properties["MetricName"] == telemetry.FIRE_LAG_MS
    assert properties["ExtendedStatistic"] == "p99"
    assert properties["Threshold"] == {"Ref": "FireLagP99AlarmMs"}
    assert template["Parameters"]["FireLagP99AlarmMs"]["Type"] == "Number"


def test_timed_out_runs_alarm(template) -> None:
    properties = alarms(template)["RunsTimedOutAlarm"]
    assert properties["MetricName"] == telemetry.RUNS_TIMED_OUT == "RunsTimedOut"
    assert (properties["Statistic"], properties["ComparisonOperator"], properties["Threshold"]) == (
        "Sum",
        "GreaterThanThreshold",
        0,
    )


def test_custom_metric_alarms_name_exactly_what_the_code_emits(template) -> None:
    emitted = {
        telemetry.FIRE_LAG_MS,
        telemetry.RUN_DURATION_MS,
        telemetry.INPUT_TOKENS,
        telemetry.OUTPUT_TOKENS,
        *telemetry.TERMINAL_STATUS_METRICS.values(),
    }
    found = custom_metric_alarms(template)
    assert set(found) == {"FireLagP99Alarm", "RunsTimedOutAlarm"}
    for name, properties in found.items():
        assert properties["MetricName"] in emitted, name
        assert dimensions(properties) == telemetry.DIMENSIONS, name
    # the Powertools settings the handlers build their Metrics from
    globals_env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert globals_env["POWERTOOLS_METRICS_NAMESPACE"] == telemetry.NAMESPACE


# --------------------------------------------------------------------------- dashboard


def dashboard_body(template) -> dict[str, Any]:
    (dashboard,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    assert isinstance(body, str)
    return json.loads(body)


def _widget_metrics(widget: dict[str, Any]) -> list[list[Any]]:
    return widget["properties"]["metrics"]


def test_the_dashboard_shows_what_an_operator_needs(template) -> None:
    widgets = {w["properties"]["title"]: w for w in dashboard_body(template)["widgets"]}
    by_status = {m[1] for m in _widget_metrics(widgets["Runs by terminal status"])}
    assert by_status == set(telemetry.TERMINAL_STATUS_METRICS.values())
    lag = [(m[1], m[4]["stat"]) for m in _widget_metrics(widgets["Fire lag (slot -> start), ms"])]
    assert lag == [("FireLagMs", "p50"), ("FireLagMs", "p99")]
    assert {m[1] for m in _widget_metrics(widgets["Run duration, ms"])} == {"RunDurationMs"}
    assert {m[1] for m in _widget_metrics(widgets["Tokens"])} == {"InputTokens", "OutputTokens"}
    depth = {(m[1], m[3]) for m in _widget_metrics(widgets["Run queue depth"])}
    assert ("ApproximateNumberOfMessagesVisible", "${RunQueue.QueueName}") in depth
    age = {(m[1], m[3]) for m in _widget_metrics(widgets["Age of oldest run message, s"])}
    assert ("ApproximateAgeOfOldestMessage", "${RunQueue.QueueName}") in age


def test_dashboard_metrics_use_the_emitted_dimensions_and_existing_queues(template) -> None:
    resources = template["Resources"]
    for widget in dashboard_body(template)["widgets"]:
        assert widget["properties"]["region"] == "${AWS::Region}"
        for metric in _widget_metrics(widget):
            namespace, name, dimension, value = metric[:4]
            if namespace == telemetry.NAMESPACE:
                assert {dimension: value} == telemetry.DIMENSIONS, name
            else:
                assert (namespace, dimension) == ("AWS/SQS", "QueueName")
                queue = re.fullmatch(r"\$\{(\w+)\.QueueName\}", value)
                assert queue and resources[queue.group(1)]["Type"] == "AWS::SQS::Queue"


def test_the_dashboard_url_is_an_output(template) -> None:
    output = template["Outputs"]["DashboardUrl"]
    assert "#dashboards:name=${OperationsDashboard}" in output["Value"]["Fn::Sub"]


# --------------------------------------------------------------------------- Run Finished IAM


def test_every_function_may_put_events_on_the_configured_bus_only(template) -> None:
    assert template["Parameters"]["EventBusName"]["Default"] == "default"
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["EVENT_BUS_NAME"] == {"Ref": "EventBusName"}
    for name in ("ClaimFunction", "ExecutorFunction", "ApiFunction"):
        role = template["Resources"][name]["Properties"]["Role"]["Fn::GetAtt"][0]
        policies = template["Resources"][role]["Properties"]["Policies"]
        statements = [s for p in policies if "PolicyDocument" in p for s in p["PolicyDocument"]["Statement"]]
        events = [s for s in statements if any(a.startswith("events:") for a in s["Action"])]
        assert [(s["Action"], s["Resource"]) for s in events] == [
            (["events:PutEvents"], {"Fn::Sub": BUS_ARN})
        ], name
