"""The ``agentcron`` CLI against the local adapter (the API handler on a moto stack), as people and scripts
use it.

Most tests run ``agentcron.cli.main`` in-process (fast, output captured); one runs the console script.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from agentcron.cli import main
from agentcron.local.http import ApiServer
from agentcron.clock import utcnow
from agentcron.models import Session
from agentcron.sessions import SessionStore

SPEC_YAML = """\
id: hourly-report
name: Hourly report
trigger: {type: cron, expr: "0 * * * *"}
timezone: Europe/Berlin
run_config:
  model: echo
  task_message: Write the hourly report.
  auto_execute: true
"""
SPEC_JSON = {
    "id": "every-minute",
    "name": "Every minute",
    "trigger": {"type": "interval", "every_seconds": 60},
}


class Recorder:
    """The deployed handler, remembering the headers of every event it was given."""

    def __init__(self, handler: Any) -> None:
        self.handler, self.headers = handler, []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.headers.append(event.get("headers") or {})
        return self.handler(event, context)


@pytest.fixture
def served(stack: Any, load_handler: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in stack.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")  # no EMF lines in the captured output
    recorder = Recorder(load_handler("api").lambda_handler)
    with ApiServer(recorder, port=0) as server:
        monkeypatch.setenv("AGENTCRON_API_URL", server.url)
        yield server, stack, recorder


@pytest.fixture
def cli(served: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def spec_files(tmp_path: Path) -> dict[str, Path]:
    yaml_file, json_file = tmp_path / "hourly.yaml", tmp_path / "minute.json"
    yaml_file.write_text(SPEC_YAML)
    json_file.write_text(json.dumps(SPEC_JSON))
    return {"yaml": yaml_file, "json": json_file}


def test_create_from_yaml_and_json_then_list_as_a_table_and_as_json(cli: Any, spec_files: dict) -> None:
    code, out, _ = cli("schedules", "create", "-f", str(spec_files["yaml"]))
    assert code == 0 and "hourly-report" in out and "cron 0 * * * *" in out and "Europe/Berlin" in out
    assert cli("schedules", "create", "-f", str(spec_files["json"]), "--json")[0] == 0
    code, out, _ = cli("schedules", "list")
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:4] == ["ID", "NAME", "ENABLED", "TRIGGER"]
    assert {line.split()[0] for line in lines[1:]} == {"hourly-report", "every-minute"}
    code, out, _ = cli("schedules", "list", "--json", "--limit", "1", "--all")
    assert code == 0
    assert sorted(s["id"] for s in json.loads(out)["schedules"]) == ["every-minute", "hourly-report"]


def test_get_update_pause_resume_and_upcoming(cli: Any, spec_files: dict) -> None:
    cli("schedules", "create", "-f", str(spec_files["yaml"]))
    code, out, _ = cli("schedules", "get", "hourly-report", "--json")
    assert code == 0 and json.loads(out)["version"] == 1
    code, out, _ = cli(
        "schedules",
        "update",
        "hourly-report",
        "--set",
        "name=Hourly digest",
        "--set",
        "run_config.task_message=Digest",
        "--if-match",
        "1",
        "--json",
    )
    body = json.loads(out)
    assert code == 0 and body["name"] == "Hourly digest" and body["run_config"]["task_message"] == "Digest"
    assert body["run_config"]["model"] == "echo"
    code, out, _ = cli("schedules", "pause", "hourly-report", "--note", "maintenance")
    assert code == 0 and "paused: maintenance" in out
    code, out, _ = cli("schedules", "list", "--paused", "--json")
    assert [s["id"] for s in json.loads(out)["schedules"]] == ["hourly-report"]
    code, out, _ = cli("schedules", "upcoming", "hourly-report", "--count", "2")
    assert code == 0 and "if resumed now" in out and "CET" in out or "CEST" in out
    code, out, _ = cli("schedules", "resume", "hourly-report", "--json")
    assert code == 0 and json.loads(out)["enabled"] is True


def test_run_now_then_watch_the_runs_and_cancel(cli: Any, served: Any, spec_files: dict) -> None:
    cli("schedules", "create", "-f", str(spec_files["yaml"]))
    code, out, _ = cli("schedules", "run", "hourly-report", "--task", "now please", "--json")
    assert code == 0
    run_id = json.loads(out)["run_id"]
    code, out, _ = cli("schedules", "runs", "hourly-report")
    assert code == 0 and run_id in out and "queued" in out and "run_now" in out
    code, out, _ = cli("schedules", "runs", "hourly-report", run_id)
    assert code == 0 and "status" in out and "queued" in out
    code, out, _ = cli("schedules", "cancel", "hourly-report", run_id)
    assert code == 0 and out.strip() == f"cancelled run {run_id}"
    code, out, _ = cli("schedules", "runs", "hourly-report", "--status", "cancelled", "--json")
    assert [r["run_id"] for r in json.loads(out)["runs"]] == [run_id]
    code, _, err = cli("schedules", "cancel", "hourly-report", run_id)
    assert code == 1 and "Run is already cancelled" in err


def test_backfill_and_session(cli: Any, served: Any, spec_files: dict) -> None:
    _, stack, _ = served
    cli("schedules", "create", "-f", str(spec_files["yaml"]))
    start = (utcnow() - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    end = start + timedelta(hours=2)
    code, out, _ = cli(
        "schedules", "backfill", "hourly-report", "--start", start.isoformat(), "--end", end.isoformat()
    )
    assert code == 0 and out.startswith("queued 2 run(s); 0 slot(s) already had a run")
    SessionStore(stack.s3, stack.settings.sessions_bucket).save(
        Session(
            id="s-1",
            title="report",
            model="echo",
            messages=[{"role": "user", "content": "Write it."}],
            created_at=start,
            updated_at=start,
        )
    )
    code, out, _ = cli("schedules", "session", "s-1")
    assert code == 0 and "[user]" in out and "Write it." in out


def test_delete_and_exit_codes(cli: Any, spec_files: dict, tmp_path: Path) -> None:
    cli("schedules", "create", "-f", str(spec_files["json"]))
    code, out, _ = cli("schedules", "delete", "every-minute", "--json")
    assert code == 0 and json.loads(out) == {"schedule_id": "every-minute", "deleted": True, "job_id": None}
    code, _, err = cli("schedules", "get", "every-minute")
    assert code == 1 and err.strip() == "error: HTTP 404: Schedule not found"
    code, out, _ = cli("schedules", "get", "every-minute", "--json")
    assert code == 1 and json.loads(out)["error"]["message"] == "Schedule not found"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "x", "trigger": {"type": "daily", "hour": 24, "minute": 0}}))
    code, _, err = cli("schedules", "create", "-f", str(bad))
    assert code == 1 and "trigger.hour must be between 0 and 23 (field: trigger.hour)" in err
    assert cli("schedules", "create", "-f", str(tmp_path / "missing.json"))[0] == 2
    (tmp_path / "broken.json").write_text("{")
    assert cli("schedules", "create", "-f", str(tmp_path / "broken.json"))[0] == 2
    assert cli("schedules", "frobnicate")[0] == 2
    assert cli("schedules", "update", "x")[0] == 2  # nothing to change
    assert cli("--api-url", "http://127.0.0.1:9", "schedules", "list")[0] == 3


def test_a_server_failure_is_exit_code_3(cli: Any, served: Any) -> None:
    server, _, recorder = served
    recorder.handler = lambda event, context: {"statusCode": 503, "body": "{}", "headers": {}}
    code, _, err = cli("schedules", "list")
    assert code == 3 and "HTTP 503" in err


def test_stack_mode_reads_the_api_url_from_the_stack_and_signs_requests(cli: Any, served: Any) -> None:
    server, _, recorder = served
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    cloudformation.create_stack(
        StackName="agentcron-test",
        TemplateBody=json.dumps(
            {
                "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {"ApiUrl": {"Value": server.url}},
            }
        ),
    )
    code, out, _ = cli("--stack", "agentcron-test", "--region", "us-east-1", "schedules", "list", "--json")
    assert code == 0 and json.loads(out)["schedules"] == []
    authorization = recorder.headers[-1]["authorization"]
    assert re.match(
        r"AWS4-HMAC-SHA256 Credential=\w+/\d{8}/us-east-1/execute-api/aws4_request, ", authorization
    )
    assert "x-amz-date" in recorder.headers[-1]
    code, _, err = cli("--stack", "no-such-stack", "--region", "us-east-1", "schedules", "list")
    assert code == 3 and "no-such-stack" in err


def test_the_console_script_is_installed_and_talks_to_the_api(served: Any, spec_files: dict) -> None:
    server, _, _ = served
    script = Path(sys.executable).with_name("agentcron")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "agentcron.cli"]
    env = {**os.environ, "AGENTCRON_API_URL": server.url}
    created = subprocess.run(
        [*command, "schedules", "create", "-f", str(spec_files["yaml"]), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["id"] == "hourly-report"
    usage = subprocess.run([*command, "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert usage.returncode == 0 and "schedules" in usage.stdout


def test_an_unknown_field_fails_the_cli_too(cli: Any, spec_files: dict) -> None:
    cli("schedules", "create", "-f", str(spec_files["json"]))
    code, _, err = cli("schedules", "update", "every-minute", "--set", "enabeld=false")
    assert code == 1 and "enabeld is not a known field" in err
    code, out, _ = cli("schedules", "get", "every-minute", "--json")
    assert json.loads(out)["enabled"] is True


def test_the_import_path_spells_out_the_original_shorthands(cli: Any, tmp_path: Path) -> None:
    seed = {
        "id": "seeded",
        "name": "From the original system",
        "trigger": {"type": "weekly", "weekdays": ["Monday", "FRI"], "hour": 9, "minute": 0},
        "misfire_policy": "skip",
        "retry_policy": None,
        "workflow_target": "legacy",
    }
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed))
    code, _, err = cli("schedules", "create", "-f", str(path))
    assert code == 1 and "misfire_policy must be an object, not a string" in err
    code, out, _ = cli("schedules", "create", "-f", str(path), "--import", "--json")
    assert code == 0, out
    created = json.loads(out)
    assert created["trigger"]["weekdays"] == ["mon", "fri"] and created["misfire_policy"]["type"] == "skip"


def test_the_trigger_features_through_the_cli(cli: Any, tmp_path: Path) -> None:
    spec = tmp_path / "features.json"
    spec.write_text(
        json.dumps(
            {
                "id": "features",
                "name": "features",
                "triggers": [
                    {"type": "cron", "expr": "0 9 * * mon-fri"},
                    {"type": "cron", "expr": "0 11 * * sat,sun"},
                ],
                "exclude": [{"date": "2099-12-25", "name": "Christmas"}, {"cron": "* * 1 1 *"}],
                "jitter_seconds": 600,
                "max_runs": 3,
            }
        )
    )
    unsaved = tmp_path / "unsaved.json"
    unsaved.write_text(json.dumps({k: v for k, v in json.loads(spec.read_text()).items() if k != "id"}))
    code, out, _ = cli("schedules", "preview", "-f", str(unsaved), "--count", "2")
    assert code == 0 and "FIRES (jitter 600s)" in out and "by " in out and "3 more run(s)" in out
    code, out, _ = cli("schedules", "create", "-f", str(spec))
    assert code == 0
    assert "cron 0 9 * * mon-fri; cron 0 11 * * sat,sun" in out
    assert "2099-12-25 (Christmas); cron * * 1 1 *" in out and "up to 600s" in out and "max runs" in out
    code, out, _ = cli("schedules", "upcoming", "features", "--count", "3")
    assert code == 0 and "FIRES (jitter 600s)" in out and "by " not in out  # a stored schedule: exact fires


def test_a_step_on_l_through_the_cli(cli: Any, tmp_path: Path) -> None:
    """``L/2`` is the last day of the month (cronsim's meaning, docs/cron.md), through the CLI too."""
    spec = tmp_path / "month-end.json"
    spec.write_text(json.dumps({"id": "month-end", "name": "month end", "timezone": "UTC",
                                "trigger": {"type": "cron", "expr": "0 9 L/2 * *"}}))
    code, out, _ = cli("schedules", "create", "-f", str(spec), "--json")
    assert code == 0, out
    assert json.loads(out)["trigger"]["expr"] == "0 9 L/2 * *"
    code, out, _ = cli("schedules", "upcoming", "month-end", "--count", "3", "--json")
    assert code == 0, out
    fires = json.loads(out)["fire_times"]
    assert len(fires) == 3 and all(f.endswith("T09:00:00Z") for f in fires)
    days = [date.fromisoformat(f[:10]) for f in fires]
    assert all((day + timedelta(days=1)).day == 1 for day in days)  # each the last day of its month
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "x", "trigger": {"type": "cron", "expr": "0 9 L-2/2 * *"}}))
    code, _, err = cli("schedules", "create", "-f", str(bad))
    assert code == 1 and "trigger.expr" in err and "a step cannot apply to 'L-2'" in err
