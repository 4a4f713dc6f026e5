"""The schedule spec's new fields: triggers (and the single-trigger form), exclude, jitter_seconds,
max_runs and notify; PATCH merges of trigger sets; what a deployment allows notify to name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from agentcron.application.patch import merge_patch
from agentcron.domain.notify import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    NotifyConfig,
    deployment_problem,
    run_finished_body,
    signature,
)
from agentcron.models import Run, RunStatus, ScheduleSpec

DAILY = {"type": "daily", "hour": 9, "minute": 0}
WEEKEND = {"type": "cron", "expr": "0 11 * * sat,sun"}


def spec(**fields) -> ScheduleSpec:
    fields.setdefault("name", "n")
    if "triggers" not in fields:
        fields.setdefault("trigger", DAILY)
    return ScheduleSpec.model_validate(fields)


# --------------------------------------------------------------------------- triggers


def test_triggers_set_the_first_as_trigger_and_one_is_the_single_form() -> None:
    several = spec(triggers=[DAILY, WEEKEND])
    assert several.trigger.type == "daily" and len(several.triggers) == 2
    assert [t.type for t in several.all_triggers] == ["daily", "cron"]
    one = spec(triggers=[WEEKEND])
    assert one.triggers is None and one.trigger.type == "cron"
    assert spec().triggers is None and [t.type for t in spec().all_triggers] == ["daily"]


def test_a_round_trip_of_both_keys_is_accepted_a_mismatch_is_not() -> None:
    several = spec(triggers=[DAILY, WEEKEND])
    assert ScheduleSpec.model_validate(several.model_dump(mode="json")) == several
    with pytest.raises(ValueError, match="trigger must be the first of triggers"):
        spec(trigger=WEEKEND, triggers=[DAILY, WEEKEND])


@pytest.mark.parametrize(
    ("triggers", "message"),
    [
        ([], "non-empty list"),
        ("daily", "non-empty list"),
        ([DAILY, {"type": "hourly"}], "triggers\\[1\\].type must be one of"),
        ([DAILY, {"hour": 1}], "triggers\\[1\\].type is required"),
        ([DAILY] * 11, "at most 10"),
    ],
)
def test_bad_trigger_lists_are_refused(triggers, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        spec(triggers=triggers)


def test_a_patch_of_either_key_replaces_the_set() -> None:
    several = spec(triggers=[DAILY, WEEKEND])
    single = ScheduleSpec.model_validate(merge_patch(several, {"trigger": WEEKEND}))
    assert single.triggers is None and single.trigger.type == "cron"
    again = ScheduleSpec.model_validate(merge_patch(spec(), {"triggers": [WEEKEND, DAILY]}))
    assert [t.type for t in again.all_triggers] == ["cron", "daily"]
    untouched = ScheduleSpec.model_validate(merge_patch(several, {"name": "renamed"}))
    assert untouched.triggers == several.triggers


# --------------------------------------------------------------------------- jitter, max_runs, exclude


@pytest.mark.parametrize(("value", "ok"), [(0, True), (86400, True), (-1, False), (86401, False)])
def test_jitter_seconds_range(value: int, ok: bool) -> None:
    if ok:
        assert spec(jitter_seconds=value).jitter_seconds == value
    else:
        with pytest.raises(ValueError, match="jitter_seconds must be between 0 and 86400"):
            spec(jitter_seconds=value)
    assert spec(jitter_seconds=None).jitter_seconds == 0


def test_exclude_list_empty_is_none_and_capped() -> None:
    assert spec(exclude=[]).exclude is None
    assert spec(exclude=[{"date": "2026-12-25", "name": "Christmas"}]).exclude[0].name == "Christmas"
    with pytest.raises(ValueError, match="at most 100"):
        spec(exclude=[{"date": "2026-12-25"}] * 101)


# --------------------------------------------------------------------------- notify


WEBHOOK = {
    "type": "webhook",
    "url": "https://hooks.example.com/agentcron",
    "secret_parameter": "/agentcron/webhooks/a",
}
TOPIC = "arn:aws:sns:eu-west-1:123456789012:runs"


def test_notify_defaults_to_every_end_status_and_filters() -> None:
    config = spec(notify={"targets": [WEBHOOK]}).notify
    assert [s.value for s in config.statuses] == ["success", "failed", "timed_out", "cancelled"]
    only = spec(
        notify={"targets": [{"type": "sns", "topic_arn": TOPIC}], "statuses": ["timed_out", "failed"]}
    ).notify
    assert [s.value for s in only.statuses] == ["failed", "timed_out"]
    assert only.wants(RunStatus.failed) and not only.wants(RunStatus.success)


@pytest.mark.parametrize(
    ("notify", "message"),
    [
        ({"targets": []}, "must not be empty"),
        ({"targets": [WEBHOOK], "statuses": ["skipped"]}, "notify.statuses must be among"),
        ({"targets": [{**WEBHOOK, "url": "http://hooks.example.com/"}]}, "https:// URL"),
        ({"targets": [{**WEBHOOK, "url": "https://169.254.169.254/latest"}]}, "public host"),
        ({"targets": [{**WEBHOOK, "url": "https://u:p@hooks.example.com/"}]}, "credentials"),
        ({"targets": [{**WEBHOOK, "secret_parameter": "no-slash"}]}, "SSM parameter name"),
        (
            {"targets": [{"type": "sns", "topic_arn": "arn:aws:sqs:eu-west-1:123456789012:q"}]},
            "SNS topic ARN",
        ),
        ({"targets": [WEBHOOK] * 6}, "at most 5"),
    ],
)
def test_bad_notify_is_refused(notify: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        spec(notify=notify)


def test_the_deployment_grants_decide_which_targets_a_schedule_may_name() -> None:
    config = NotifyConfig.model_validate({"targets": [{"type": "sns", "topic_arn": TOPIC}, WEBHOOK]})
    assert deployment_problem(config, frozenset({TOPIC}), "/agentcron/webhooks") is None
    assert deployment_problem(config, frozenset(), "/agentcron/webhooks")[0] == "notify.targets[0].topic_arn"
    field, message = deployment_problem(config, frozenset({TOPIC}), "/other")
    assert field == "notify.targets[1].secret_parameter" and "under /other/" in message
    assert deployment_problem(config, frozenset({TOPIC}), "")[0] == "notify.targets[1].secret_parameter"
    # a prefix is a path: /agentcron/web is not the parent of /agentcron/webhooks/a
    assert deployment_problem(config, frozenset({TOPIC}), "/agentcron/web") is not None


def test_the_body_and_its_signature_stripe_style_verification() -> None:
    # The receiver's check, as Stripe's and GitHub's webhook docs describe theirs: HMAC-SHA256 of
    # "<timestamp>.<body>" under the shared secret, hex, compared in constant time.
    import hashlib
    import hmac

    run = Run(
        run_id="r1",
        schedule_id="s1",
        scheduled_for=datetime(2026, 1, 1, 9, tzinfo=UTC),
        claimed_at=datetime(2026, 1, 1, 9, tzinfo=UTC),
        completed_at=datetime(2026, 1, 1, 9, 1, tzinfo=UTC),
        status=RunStatus.failed,
        outcome_reason="boom",
    )
    body = run_finished_body(run, "nightly")
    assert body == (
        b'{"completed_at":"2026-01-01T09:01:00Z","event":"run.finished","outcome_reason":"boom",'
        b'"run_id":"r1","schedule_id":"s1","schedule_name":"nightly","scheduled_for":"2026-01-01T09:00:00Z",'
        b'"status":"failed","trigger":"schedule"}'
    )
    at = datetime(2026, 1, 1, 9, 1, 5, tzinfo=UTC)
    header = signature("s3cret", body, at)
    stamp, digest = (part.split("=", 1)[1] for part in header.split(","))
    assert stamp == "1767258065"
    expected = hmac.new(b"s3cret", stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(digest, expected)
    assert signature("other", body, at) != header
    assert (SIGNATURE_HEADER, DELIVERY_HEADER) == ("X-Agentcron-Signature", "X-Agentcron-Delivery")
