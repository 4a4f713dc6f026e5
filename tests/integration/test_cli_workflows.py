"""The CLI's multi-step commands against the API on a moto stack: apply / export / edit, ``update --set``
with dotted keys, delete's confirmation, ``runs --watch`` (its sleep drives the executor, no clock waits) and
``dlq list`` / ``dlq redrive`` (the local server names the queues at ``/_local``)."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import pytest

from agentcron.cli import main
from agentcron.cli.client import ApiClient
from agentcron.local.http import ApiServer

SPEC = {
    "id": "digest",
    "name": "Daily digest",
    "trigger": {"type": "daily", "hour": 7, "minute": 30},
    "timezone": "Europe/Berlin",
    "run_config": {"model": "echo", "task_message": "Summarise the news.", "auto_execute": True},
}
INTERVAL = {
    "id": "pulse",
    "name": "Pulse",
    "trigger": {"type": "interval", "every_seconds": 30},
    "run_config": {"model": "echo", "task_message": "ping", "auto_execute": True},
}


class Terminal(io.StringIO):
    """stdin of a person at a terminal, who answers ``answer``."""

    def __init__(self, answer: str) -> None:
        super().__init__(answer + "\n")

    def isatty(self) -> bool:
        return True


@pytest.fixture
def served(stack: Any, load_handler: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in stack.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    local = {
        "region": "us-east-1",
        "sqs_endpoint": stack.endpoint_url,
        "run_queue_url": stack.resources.queue_urls["RunQueue"],
        "dead_letter_queue_url": stack.resources.queue_urls["RunDeadLetterQueue"],
        "sessions_bucket": stack.settings.sessions_bucket,
    }
    with ApiServer(load_handler("api").lambda_handler, port=0, local_info=local) as server:
        monkeypatch.setenv("AGENTCRON_API_URL", server.url)
        yield server, stack


@pytest.fixture
def cli(served: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    def run(*argv: str, **hooks: Any) -> tuple[int, str, str]:
        hooks.setdefault("stdin", io.StringIO(""))  # not a terminal
        code = main(list(argv), **hooks)
        out, err = capsys.readouterr()
        return code, _without_logs(out), err

    return run


def _without_logs(out: str) -> str:
    """The CLI's output without what the handlers run in this process print on the same stdout: their log
    lines and metrics (EMF) lines, one-line JSON objects with ``level`` or ``_aws``."""
    kept = []
    for line in out.splitlines(keepends=True):
        try:
            data = json.loads(line)
        except ValueError:
            data = None
        if isinstance(data, dict) and ("level" in data or "_aws" in data):
            continue
        kept.append(line)
    return "".join(kept)


def write(folder: Path, *specs: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for spec in specs:
        (folder / f"{spec['id']}.json").write_text(json.dumps(spec))
    return folder


def get(cli: Any, schedule_id: str) -> dict[str, Any]:
    code, out, err = cli("schedules", "get", schedule_id, "-o", "json")
    assert code == 0, err
    return json.loads(out)


# --------------------------------------------------------------------------- apply / export / edit


def test_apply_creates_then_reports_unchanged_then_updates_only_what_changed(
    cli: Any, tmp_path: Path
) -> None:
    folder = write(tmp_path / "specs", SPEC, INTERVAL)
    code, out, err = cli("schedules", "apply", "-f", str(folder))
    assert code == 0, err
    assert out.splitlines() == ["created    digest", "created    pulse"]
    code, out, _ = cli("schedules", "apply", "-f", str(folder))
    assert code == 0 and out.splitlines() == ["unchanged  digest", "unchanged  pulse"]
    assert get(cli, "digest")["version"] == 1
    write(
        folder, {**SPEC, "name": "Morning digest", "run_config": {**SPEC["run_config"], "task_message": "x"}}
    )
    code, out, _ = cli("schedules", "apply", "-f", str(folder / "digest.json"))
    assert code == 0 and out.splitlines() == ["updated    digest (name, run_config)"]
    stored = get(cli, "digest")
    assert (stored["name"], stored["run_config"]["task_message"], stored["version"]) == (
        "Morning digest",
        "x",
        2,
    )
    code, out, _ = cli("schedules", "apply", "-f", str(folder), "-o", "json")
    assert json.loads(out) == [
        {"id": "digest", "result": "unchanged"},
        {"id": "pulse", "result": "unchanged"},
    ]


def test_apply_refuses_a_spec_without_id_and_reports_a_refused_one(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "noid.json").write_text(json.dumps({k: v for k, v in SPEC.items() if k != "id"}))
    code, _, err = cli("schedules", "apply", "-f", str(tmp_path / "noid.json"))
    assert code == 2 and "needs an id" in err
    folder = write(
        tmp_path / "mixed", {**SPEC, "trigger": {"type": "daily", "hour": 25, "minute": 0}}, INTERVAL
    )
    code, out, err = cli("schedules", "apply", "-f", str(folder))
    assert code == 1 and out.splitlines() == ["created    pulse"]
    assert "digest.json" in err and "trigger.hour" in err


def test_apply_prune_deletes_the_schedules_no_file_names_after_confirmation(cli: Any, tmp_path: Path) -> None:
    write(tmp_path / "all", SPEC, INTERVAL)
    assert cli("schedules", "apply", "-f", str(tmp_path / "all"))[0] == 0
    only = write(tmp_path / "one", SPEC)
    code, _, err = cli("schedules", "apply", "-f", str(only), "--prune")  # no terminal, no --yes
    assert code == 2 and "pass --yes" in err
    code, out, err = cli("schedules", "apply", "-f", str(only), "--prune", stdin=Terminal("n"))
    assert code == 0 and "delete 1 schedule(s) of project default that no file names (pulse)?" in err
    assert "nothing pruned" in err and get(cli, "pulse")["id"] == "pulse"
    code, out, _ = cli("schedules", "apply", "-f", str(only), "--prune", stdin=Terminal("y"))
    assert code == 0 and out.splitlines() == ["unchanged  digest", "deleted    pulse"]
    assert cli("schedules", "get", "pulse")[0] == 1


def test_export_then_apply_reads_every_schedule_back_unchanged(cli: Any, tmp_path: Path) -> None:
    features = {
        "id": "features",
        "name": "All the features",
        "triggers": [
            {"type": "cron", "expr": "0 9 * * mon-fri"},
            {"type": "weekly", "weekdays": ["sat"], "hour": 11, "minute": 0},
        ],
        "exclude": [{"date": "2099-12-25", "name": "Christmas"}],
        "jitter_seconds": 120,
        "max_runs": 40,
        "start_at": "2026-01-01T00:00:00+00:00",
        "project_id": "ops",
    }
    write(tmp_path / "in", SPEC, INTERVAL, features)
    assert cli("schedules", "apply", "-f", str(tmp_path / "in"))[0] == 0
    assert cli("schedules", "pause", "pulse", "--note", "lunch")[0] == 0
    before = {s: get(cli, s) for s in ("digest", "pulse", "features")}
    code, out, _ = cli("schedules", "export", "-d", str(tmp_path / "out"))
    assert code == 0 and len(out.splitlines()) == 3
    exported = json.loads((tmp_path / "out" / "pulse.json").read_text())
    assert "state" not in exported and "version" not in exported and exported["pause_note"] == "lunch"
    code, out, _ = cli("schedules", "apply", "-f", str(tmp_path / "out"))
    assert code == 0 and sorted(out.splitlines()) == [
        "unchanged  digest",
        "unchanged  features",
        "unchanged  pulse",
    ]
    assert {s: get(cli, s) for s in before} == before  # not even a version moved
    # the same files recreate them elsewhere (a restarted local stack): delete all, apply, compare
    for schedule_id in before:
        assert cli("schedules", "rm", schedule_id, "--yes")[0] == 0
    code, out, _ = cli("schedules", "apply", "-f", str(tmp_path / "out"))
    assert code == 0 and sorted(out.splitlines()) == [
        "created    digest",
        "created    features",
        "created    pulse",
    ]
    again = {s: get(cli, s) for s in before}
    server_owned = ("state", "version", "created_at", "updated_at", "created_by", "updated_by")
    for schedule_id, schedule in before.items():
        assert {k: v for k, v in again[schedule_id].items() if k not in server_owned} == {
            k: v for k, v in schedule.items() if k not in server_owned
        }


def test_export_as_yaml_is_read_back_by_apply(cli: Any, tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    write(tmp_path / "in", SPEC)
    assert cli("schedules", "apply", "-f", str(tmp_path / "in"))[0] == 0
    assert cli("schedules", "export", "-d", str(tmp_path / "out"), "--format", "yaml")[0] == 0
    assert (tmp_path / "out" / "digest.yaml").read_text().startswith('id: "digest"')
    code, out, _ = cli("schedules", "apply", "-f", str(tmp_path / "out"))
    assert code == 0 and out.splitlines() == ["unchanged  digest"]


def test_edit_opens_the_spec_and_saves_it_with_the_etag(cli: Any, tmp_path: Path) -> None:
    write(tmp_path, SPEC)
    cli("schedules", "apply", "-f", str(tmp_path / "digest.json"))
    opened: list[dict[str, Any]] = []

    def editor(path: str) -> int:
        opened.append(json.loads(Path(path).read_text()))
        spec = json.loads(Path(path).read_text())
        spec["trigger"]["minute"] = 45
        del spec["timezone"]
        Path(path).write_text(json.dumps(spec))
        return 0

    code, out, err = cli("schedules", "edit", "digest", editor=editor)
    assert code == 0, err
    assert out.strip() == "updated  digest (timezone, trigger); version 2"
    assert "state" not in opened[0] and opened[0]["trigger"]["minute"] == 30
    stored = get(cli, "digest")
    assert stored["trigger"]["minute"] == 45 and stored["timezone"] == "UTC"  # unset: shown as UTC
    # nothing changed in the editor: nothing saved
    code, out, _ = cli("schedules", "edit", "digest", editor=lambda path: 0)
    assert code == 0 and out.strip() == "unchanged  digest" and get(cli, "digest")["version"] == 2


def test_edit_of_a_schedule_changed_meanwhile_is_a_conflict_and_keeps_the_edit(
    cli: Any, tmp_path: Path
) -> None:
    write(tmp_path, SPEC)
    cli("schedules", "apply", "-f", str(tmp_path / "digest.json"))
    kept: list[str] = []

    def editor(path: str) -> int:
        assert main(["schedules", "pause", "digest", "--note", "meanwhile"]) == 0  # someone else
        spec = json.loads(Path(path).read_text())
        Path(path).write_text(json.dumps({**spec, "name": "Mine"}))
        kept.append(path)
        return 0

    code, _, err = cli("schedules", "edit", "digest", editor=editor)
    assert code == 1 and "HTTP 409" in err and f"your edit is in {kept[0]}" in err
    assert json.loads(Path(kept[0]).read_text())["name"] == "Mine"
    assert get(cli, "digest")["name"] == "Daily digest"
    Path(kept[0]).unlink()
    code, _, err = cli("schedules", "edit", "digest", editor=lambda path: 1)
    assert code == 2 and "editor exited with 1" in err


# --------------------------------------------------------------------------- update --set, delete


def test_update_set_with_a_dotted_key_changes_one_field_of_the_object(cli: Any, tmp_path: Path) -> None:
    write(tmp_path, INTERVAL)
    cli("schedules", "apply", "-f", str(tmp_path / "pulse.json"))
    code, out, err = cli("schedules", "update", "pulse", "--set", "trigger.every_seconds=45", "-o", "json")
    assert code == 0, err
    body = json.loads(out)
    assert body["trigger"]["type"] == "interval" and body["trigger"]["every_seconds"] == 45
    code, _, err = cli("schedules", "update", "pulse", "--set", "trigger.evry_seconds=45")
    assert code == 1 and "trigger.evry_seconds" in err
    code, _, err = cli("schedules", "update", "pulse", "--set", "name.first=x")
    assert code == 2 and "name is str, not an object" in err
    code, _, err = cli("schedules", "update", "pulse", "--set", "colour=blue")
    assert code == 1 and "colour" in err
    code, out, _ = cli(
        "schedules", "update", "pulse", "--set", "run_config.system_prompt=Be brief", "-o", "json"
    )
    assert code == 0 and json.loads(out)["run_config"]["system_prompt"] == "Be brief"
    code, out, _ = cli("schedules", "update", "pulse", "--set", "run_config.system_prompt=null", "-o", "json")
    assert code == 0 and json.loads(out)["run_config"].get("system_prompt") is None
    assert json.loads(out)["run_config"]["task_message"] == "ping" and get(cli, "pulse")["version"] == 4


def test_delete_asks_first(cli: Any, tmp_path: Path) -> None:
    write(tmp_path, INTERVAL)
    cli("schedules", "apply", "-f", str(tmp_path / "pulse.json"))
    code, _, err = cli("schedules", "delete", "pulse")
    assert code == 2 and err.strip().endswith("Confirmation needed, but stdin is not a terminal: pass --yes")
    code, _, err = cli("schedules", "rm", "pulse", stdin=Terminal("no"))
    assert code == 0 and "[y/N]" in err and "not deleted" in err and get(cli, "pulse")
    code, out, _ = cli("schedules", "rm", "pulse", stdin=Terminal("y"))
    assert code == 0 and out.strip() == "deleted schedule pulse and its run records"


# --------------------------------------------------------------------------- runs --watch


class Executor:
    """The executor handler playing SQS's event source, one poll of the run queue per call: what
    ``runs --watch`` sleeps on here, so the runs move between its polls without waiting for a clock."""

    def __init__(self, stack: Any, load_handler: Any) -> None:
        self.stack, self.handler = stack, load_handler("executor").lambda_handler
        self.url = stack.resources.queue_urls["RunQueue"]
        self.sleeps: list[float] = []

    def __call__(self, seconds: float) -> None:
        from agentcron.local.handlers import LambdaContext
        from agentcron.local.loops import sqs_event

        self.sleeps.append(seconds)
        messages = (
            self.stack.sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=1,
                MessageSystemAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages")
            or []
        )
        if messages:
            event = sqs_event(messages, self.stack.resources.queue_arns["RunQueue"], "us-east-1")
            self.handler(event, LambdaContext("ExecutorFunction", 900, time.monotonic))
            for message in messages:
                self.stack.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])


def test_runs_watch_follows_the_active_runs_until_they_end(
    cli: Any, served: Any, load_handler: Any, tmp_path: Path
) -> None:
    _, stack = served
    write(tmp_path, {**INTERVAL, "overlap_policy": "allow"})
    cli("schedules", "apply", "-f", str(tmp_path / "pulse.json"))
    first = json.loads(cli("schedules", "run", "pulse", "-o", "json")[1])["run_id"]
    second = json.loads(cli("schedules", "run", "pulse", "--task", "again", "-o", "json")[1])["run_id"]
    executor = Executor(stack, load_handler)
    code, out, err = cli("schedules", "runs", "pulse", "--watch", "--interval", "0.5", sleep=executor)
    assert code == 0, err
    lines = out.splitlines()
    assert {line.split()[0] for line in lines[:2]} == {first, second} and "queued" in lines[0] + lines[1]
    assert lines[2] == "watching pulse: 2 queued; 0 ended"
    successes = [line for line in lines if "success" in line and "session " in line]
    assert sorted(line.split()[0] for line in successes) == sorted([first, second])
    assert lines[-1] == "pulse: all 2 followed run(s) ended (2 success)"
    assert executor.sleeps and set(executor.sleeps) == {0.5}
    # history from before the watch is not followed; a watch of one run ends at once when it has ended
    code, out, _ = cli("schedules", "runs", "pulse", first, "--watch", "-o", "json", sleep=executor)
    assert code == 0 and json.loads(out.splitlines()[-1])["status"] == "success"
    # nothing active any more: the newest run is shown (a run-now that ended before the watch began)
    code, out, _ = cli("schedules", "runs", "pulse", "--watch", sleep=executor)
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2 and " success " in lines[0]
    assert lines[1] == "pulse: all 1 followed run(s) ended (1 success)"


def test_runs_watch_waits_for_the_next_run_when_none_is_active(
    cli: Any, served: Any, load_handler: Any, tmp_path: Path
) -> None:
    server, stack = served
    write(tmp_path, INTERVAL)
    cli("schedules", "apply", "-f", str(tmp_path / "pulse.json"))
    executor = Executor(stack, load_handler)
    started: list[str] = []

    def sleep(seconds: float) -> None:  # a run-now arrives while it watches
        if not started:
            started.append(ApiClient(server.url).request("POST", "/schedules/pulse/run").body["run_id"])
        else:
            executor(seconds)

    code, out, _ = cli("schedules", "runs", "pulse", "-w", sleep=sleep)
    lines = out.splitlines()
    assert code == 0 and lines[0] == "watching pulse: no active run yet (Ctrl-C stops)"
    assert lines[1].startswith(f"{started[0]}  queued") and lines[-1].endswith("ended (1 success)")


# --------------------------------------------------------------------------- dlq


def test_dlq_list_shows_the_dead_letters_and_redrive_sends_them_back(
    cli: Any, served: Any, tmp_path: Path
) -> None:
    _, stack = served
    dlq = stack.resources.queue_urls["RunDeadLetterQueue"]
    code, out, _ = cli("dlq", "list")
    assert code == 0 and "about 0 message(s)" in out
    for n in (1, 2):
        body = {"type": "run", "schedule_id": "pulse", "run_id": f"pulse-run-{n}"}
        stack.sqs.send_message(
            QueueUrl=dlq, MessageBody=json.dumps(body), MessageGroupId="pulse", MessageDeduplicationId=f"d{n}"
        )
    code, out, _ = cli("dlq", "list")
    assert code == 0 and "about 2 message(s)" in out
    rows = out.splitlines()[2:]
    assert [row.split()[:3] for row in rows] == [
        ["pulse-run-1", "pulse", "run"],
        ["pulse-run-2", "pulse", "run"],
    ]
    code, out, _ = cli("dlq", "ls", "-o", "json")  # listing moved nothing: they are all visible again
    assert [m["run_id"] for m in json.loads(out)["messages"]] == ["pulse-run-1", "pulse-run-2"]
    code, _, err = cli("dlq", "redrive")
    assert code == 2 and "pass --yes" in err
    code, out, _ = cli("dlq", "redrive", "--yes")
    assert code == 0 and out.splitlines() == [
        "redriven  pulse-run-1  (pulse)",
        "redriven  pulse-run-2  (pulse)",
        "2 message(s) sent back to the run queue",
    ]
    back = stack.drain()
    assert [(m["body"]["run_id"], m["group_id"]) for m in back] == [
        ("pulse-run-1", "pulse"),
        ("pulse-run-2", "pulse"),
    ]
    assert all(m["dedup_id"].startswith("redrive-") for m in back)
    assert stack.drain("RunDeadLetterQueue") == []
    code, out, _ = cli("dlq", "redrive", "--yes")
    assert code == 0 and out.strip() == "the dead-letter queue is empty: nothing to redrive"


def test_dlq_needs_the_local_stack_or_a_deployed_one(
    stack: Any, load_handler: Any, monkeypatch, capsys
) -> None:
    for name, value in stack.environment().items():
        monkeypatch.setenv(name, value)
    with ApiServer(
        load_handler("api").lambda_handler, port=0
    ) as server:  # an API that is not the local stack
        code = main(["--api-url", server.url, "dlq", "list"])
    assert code == 3 and "pass --stack NAME" in capsys.readouterr().err


def test_session_latest_reads_the_newest_run_with_a_session(
    cli: Any, served: Any, load_handler: Any, tmp_path: Path
) -> None:
    _, stack = served
    write(tmp_path, INTERVAL)
    cli("schedules", "apply", "-f", str(tmp_path / "pulse.json"))
    code, _, err = cli("schedules", "session", "--latest", "pulse")
    assert code == 2 and "no run of pulse has a session yet" in err
    cli("schedules", "run", "pulse")
    Executor(stack, load_handler)(0)
    code, out, err = cli("schedules", "session", "--latest", "pulse")
    assert code == 0, err
    assert out.startswith("session ") and "[user]" in out and "ping" in out
    assert cli("schedules", "session")[0] == 2
