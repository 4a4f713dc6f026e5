"""The CLI against `make run` itself (the local stack in a process of its own, as a user starts it):
apply / export / edit, runs --watch of real runs, and the dead-letter queue through ``/_local``."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from agentcron.cli import main
from agentcron.cli.client import ApiClient

pytestmark = pytest.mark.xdist_group("cli-local-stack")

PULSE = {
    "id": "e2e-pulse",
    "name": "End to end",
    "trigger": {"type": "interval", "every_seconds": 3600},
    "overlap_policy": "allow",
    "run_config": {"model": "echo", "task_message": "ping", "auto_execute": True},
}
DIGEST = {
    "id": "e2e-a-schedule-id-much-longer-than-sixteen-characters",
    "name": "A long id",
    "trigger": {"type": "daily", "hour": 7, "minute": 30},
    "timezone": "Europe/Berlin",
}


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    examples = tmp_path_factory.mktemp("examples")
    process = subprocess.Popen(
        [sys.executable, "-m", "agentcron.local", "--for", "240", "--examples", str(examples),
         "--api-port", "0", "--executor-processes", "0", "--executors", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: list[str] = []
    url = None
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if m := re.search(r"API on (http://127\.0\.0\.1:\d+) ", line):
            url = m.group(1)
        if "claim loop and executors running" in line:
            break
    assert url, "".join(lines)
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:
        yield {"url": url, "lines": lines}
    finally:
        process.terminate()
        process.wait(timeout=60)


@pytest.fixture
def cli(local_stack: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> Any:
    def run(*argv: str, **hooks: Any) -> tuple[int, str, str]:
        hooks.setdefault("stdin", io.StringIO(""))
        code = main(["--api-url", local_stack["url"], *argv], **hooks)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_the_banner_names_the_queues_and_a_run_now_command(local_stack: dict[str, Any]) -> None:
    text = "".join(local_stack["lines"])
    assert (
        f"not the CLI's default http://127.0.0.1:8787: export AGENTCRON_API_URL={local_stack['url']}" in text
    )
    assert re.search(r"run queue\s+http://127\.0\.0\.1:\d+/\d+/agentcron-local-RunQueue\.fifo", text)
    assert re.search(r"sessions bucket agentcron-local-sessionsbucket", text)
    assert re.search(r"their tracebacks go to \S+\.log", text)


def test_apply_export_apply_and_edit(cli: Any, tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    for spec in (PULSE, DIGEST):
        (specs / f"{spec['id']}.json").write_text(json.dumps(spec))
    code, out, err = cli("schedules", "apply", "-f", str(specs))
    assert code == 0, err
    assert sorted(out.split()[::2]) == ["created", "created"]
    code, out, _ = cli("schedules", "export", "-d", str(tmp_path / "backup"))
    assert code == 0 and len(out.splitlines()) == 2
    code, out, _ = cli("schedules", "apply", "-f", str(tmp_path / "backup"))
    assert code == 0 and out.split()[::2] == ["unchanged", "unchanged"]

    def editor(path: str) -> int:
        spec = json.loads(Path(path).read_text())
        Path(path).write_text(json.dumps({**spec, "name": "Edited end to end"}))
        return 0

    code, out, _ = cli("schedules", "edit", DIGEST["id"], editor=editor)
    assert code == 0 and out.startswith(f"updated  {DIGEST['id']} (name)")
    code, out, _ = cli("schedules", "apply", "-f", str(tmp_path / "backup"))
    assert code == 0 and f"updated    {DIGEST['id']} (name)" in out
    code, out, _ = cli("schedules", "ls")
    rows = out.splitlines()
    assert len({row.index("  ", len(DIGEST["id"])) for row in rows if row.startswith("e2e")}) == 1


def test_runs_watch_follows_real_runs_to_the_end(
    cli: Any, local_stack: dict[str, Any], tmp_path: Path
) -> None:
    (tmp_path / "pulse.json").write_text(json.dumps(PULSE))
    assert cli("schedules", "apply", "-f", str(tmp_path / "pulse.json"))[0] == 0
    run_id = json.loads(cli("schedules", "run", PULSE["id"], "-o", "json")[1])["run_id"]
    code, out, err = cli("schedules", "runs", PULSE["id"], run_id, "--watch", "--interval", "0.2")
    assert code == 0, err
    assert re.search(rf"^{run_id}  success\s+slot .*session \S+", out, re.M), out
    assert out.splitlines()[-1] == f"{PULSE['id']}: all 1 followed run(s) ended (1 success)"


def test_dlq_list_and_redrive_on_the_local_stack(
    cli: Any, local_stack: dict[str, Any], tmp_path: Path
) -> None:
    (tmp_path / "pulse.json").write_text(json.dumps(PULSE))
    assert cli("schedules", "apply", "-f", str(tmp_path / "pulse.json"))[0] == 0
    run_id = json.loads(cli("schedules", "run", PULSE["id"], "-o", "json")[1])["run_id"]
    assert cli("schedules", "runs", PULSE["id"], run_id, "--watch", "--interval", "0.2")[0] == 0
    local = ApiClient(local_stack["url"]).request("GET", "/_local").body
    sqs = boto3.client(
        "sqs",
        region_name=local["region"],
        endpoint_url=local["sqs_endpoint"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    body = {"type": "run", "schedule_id": PULSE["id"], "run_id": run_id}  # a duplicate of a finished run
    sqs.send_message(
        QueueUrl=local["dead_letter_queue_url"],
        MessageBody=json.dumps(body),
        MessageGroupId=run_id,
        MessageDeduplicationId=f"e2e-{run_id}",
    )
    code, out, _ = cli("dlq", "list")
    assert code == 0 and "about 1 message(s)" in out and run_id in out
    code, out, _ = cli("dlq", "redrive", "--yes")
    assert code == 0 and f"redriven  {run_id}  ({PULSE['id']})" in out
    code, out, _ = cli("dlq", "list", "-o", "json")
    assert json.loads(out)["messages"] == []
    code, out, _ = cli("schedules", "runs", PULSE["id"], run_id, "-o", "json")
    assert (
        json.loads(out)["status"] == "success"
    )  # terminal stays terminal: the redriven duplicate is a no-op
