"""Access control, black box: the local stack started as a user does (``make run ARGS="--auth jwt"``), spoken
to over HTTP with bearer tokens for two projects (a writer and a reader of ``ops``, a writer of ``reports``)
and an administrator, and through the CLI with ``--token``."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentcron.cli import main as cli


def token(sub: str, projects: Any, scope: str) -> str:
    """An unsigned JWT: the local stack verifies nothing, as its banner says."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    claims = {"sub": sub, "agentcron_projects": projects, "scope": scope, "iss": "https://issuer.example"}
    return f"{part({'alg': 'RS256', 'kid': 'k'})}.{part(claims)}.c2lnbmF0dXJl"


ADMIN = token("admin", "*", "agentcron/write")
OPS_WRITER = token("alice", ["ops"], "openid agentcron/write")
OPS_READER = token("bob", "ops", "agentcron/read")
REPORTS_WRITER = token("carol", '["reports"]', "agentcron/write")
NO_SCOPE = token("dave", ["ops"], "openid")


class Stack:
    def __init__(self, url: str, output: list[str]) -> None:
        self.url, self.output = url, output

    def call(self, method: str, path: str, bearer: str | None = None, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            raw, status = exc.read(), exc.code
        return status, json.loads(raw) if raw else None


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    examples = tmp_path_factory.mktemp("no-examples")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agentcron.local",
            "--auth",
            "jwt",
            "--api-port",
            "0",
            "--for",
            "240",
            "--examples",
            str(examples),
            "--executors",
            "1",
            "--executor-processes",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    url = None
    assert process.stdout is not None
    for line in process.stdout:
        output.append(line)
        match = re.search(r"API on (http://127\.0\.0\.1:\d+)", line)
        if match:
            url = match.group(1)
        if "claim loop and executors running" in line:
            break
    assert url, "".join(output)
    try:
        yield Stack(url, output)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _spec(schedule_id: str, project: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": schedule_id,
        "name": schedule_id,
        "project_id": project,
        "trigger": {"type": "daily", "hour": 9, "minute": 0},
        "run_config": {"model": "echo", "task_message": "report", "auto_execute": True},
        **extra,
    }


def test_the_banner_says_tokens_are_not_verified(local: Stack) -> None:
    banner = "".join(local.output)
    assert "API auth: JWT" in banner and "UNVERIFIED" in banner


def test_no_token_is_401_and_a_token_without_an_agentcron_scope_403(local: Stack) -> None:
    assert local.call("GET", "/schedules") == (401, {"message": "Unauthorized"})
    assert local.call("GET", "/schedules", "not-a-jwt")[0] == 401
    status, body = local.call("GET", "/schedules", NO_SCOPE)
    assert status == 403 and body["error"]["type"] == "forbidden"


def test_projects_readers_writers_and_administrators(local: Stack) -> None:
    # an administrator creates in any project; a writer in its own only; a reader nowhere
    assert local.call("POST", "/schedules", ADMIN, _spec("reports-digest", "reports"))[0] == 201
    status, created = local.call("POST", "/schedules", OPS_WRITER, _spec("ops-check", "ops"))
    assert status == 201
    assert (created["project_id"], created["created_by"], created["updated_by"]) == ("ops", "alice", "alice")
    assert local.call("POST", "/schedules", OPS_WRITER, _spec("sneaky", "reports"))[0] == 403
    assert local.call("POST", "/schedules", OPS_READER, _spec("reader-made", "ops"))[0] == 403
    # the seed system's run_config.project_id is accepted and moved
    seed = {**_spec("seed-style", "ops"), "run_config": {"project_id": "ops", "model": "echo"}}
    seed.pop("project_id")
    status, moved = local.call("POST", "/schedules", OPS_WRITER, seed)
    assert status == 201 and moved["project_id"] == "ops" and "project_id" not in moved["run_config"]

    # another project's schedule answers exactly as a missing one
    missing = local.call("GET", "/schedules/no-such-schedule", OPS_WRITER)
    hidden = local.call("GET", "/schedules/reports-digest", OPS_WRITER)
    assert missing[0] == hidden[0] == 404
    assert hidden[1]["error"] == missing[1]["error"]
    for method, path in (
        ("PATCH", "/schedules/reports-digest"),
        ("DELETE", "/schedules/reports-digest"),
        ("POST", "/schedules/reports-digest/run"),
        ("POST", "/schedules/reports-digest/pause"),
        ("GET", "/schedules/reports-digest/runs"),
        ("GET", "/schedules/reports-digest/upcoming"),
    ):
        body = {"name": "x"} if method == "PATCH" else None
        assert local.call(method, path, OPS_WRITER, body)[0] == 404, (method, path)
        assert local.call(method, path, OPS_READER, body)[0] == 404, (method, path)

    # a reader reads its project and may change nothing
    assert local.call("GET", "/schedules/ops-check", OPS_READER)[0] == 200
    for method, path, body in (
        ("PATCH", "/schedules/ops-check", {"name": "x"}),
        ("DELETE", "/schedules/ops-check", None),
        ("POST", "/schedules/ops-check/run", None),
        ("POST", "/schedules/ops-check/pause", None),
        ("POST", "/schedules/ops-check/resume", None),
    ):
        status, answer = local.call(method, path, OPS_READER, body)
        assert (status, answer["error"]["type"]) == (403, "forbidden"), (method, path)

    # lists hold the caller's projects only; a filter on another project is empty
    def listed(bearer: str, query: str = "") -> set[str]:
        status, body = local.call("GET", f"/schedules{query}", bearer)
        assert status == 200
        return {s["id"] for s in body["schedules"]}

    assert listed(OPS_READER) == {"ops-check", "seed-style"}
    assert listed(OPS_READER, "?project_id=reports") == set()
    assert listed(REPORTS_WRITER) == {"reports-digest"}
    assert listed(ADMIN) >= {"ops-check", "seed-style", "reports-digest"}
    assert listed(ADMIN, "?project_id=ops") == {"ops-check", "seed-style"}

    # a writer changes its own; the change names it
    status, patched = local.call("PATCH", "/schedules/ops-check", OPS_WRITER, {"name": "Ops check"})
    assert status == 200 and (patched["updated_by"], patched["created_by"]) == ("alice", "alice")
    assert local.call("PATCH", "/schedules/ops-check", OPS_WRITER, {"project_id": "reports"})[0] == 400


def test_a_transcript_is_served_only_within_its_project(local: Stack) -> None:
    assert local.call("POST", "/schedules", OPS_WRITER, _spec("ops-now", "ops"))[0] == 201
    status, queued = local.call("POST", "/schedules/ops-now/run", OPS_WRITER, {"task_message": "hello"})
    assert status == 202
    path = f"/schedules/ops-now/runs/{queued['run_id']}"
    deadline = time.monotonic() + 90
    run: dict[str, Any] = {}
    while time.monotonic() < deadline:  # the executor works asynchronously: wait for its outcome
        run = local.call("GET", path, OPS_READER)[1]
        if run["status"] == "success":
            break
        time.sleep(0.2)
    assert run["status"] == "success", run
    assert (run["project_id"], run["created_by"]) == ("ops", "alice")
    session_id = run["session_id"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", session_id)
    status, session = local.call("GET", f"/sessions/{session_id}", OPS_READER)
    assert status == 200 and session["metadata"]["project_id"] == "ops"
    status, other = local.call("GET", f"/sessions/{session_id}", REPORTS_WRITER)
    assert status == 404 and other["error"]["type"] == "not_found"
    assert local.call("GET", path, REPORTS_WRITER)[0] == 404
    assert local.call("POST", f"{path}/cancel", OPS_READER)[0] == 403


def test_the_cli_sends_its_token(local: Stack, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    assert local.call("POST", "/schedules", ADMIN, _spec("cli-reports", "reports"))[0] == 201
    code = cli(["--api-url", local.url, "--token", REPORTS_WRITER, "schedules", "list", "--json"])
    assert code == 0
    assert {s["id"] for s in json.loads(capsys.readouterr().out)["schedules"]} >= {"cli-reports"}
    monkeypatch.setenv("AGENTCRON_TOKEN", OPS_READER)
    assert cli(["--api-url", local.url, "schedules", "list", "--project", "reports", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["schedules"] == []
    assert cli(["--api-url", local.url, "schedules", "get", "cli-reports"]) == 1  # 404
    monkeypatch.delenv("AGENTCRON_TOKEN")
    assert cli(["--api-url", local.url, "schedules", "list"]) == 1  # 401 without a token
    assert "HTTP 401" in capsys.readouterr().err


def test_a_create_with_the_project_flag(
    local: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({k: v for k, v in _spec("flagged", "ops").items() if k != "project_id"}))
    args = ["--api-url", local.url, "--token", OPS_WRITER, "schedules", "create", "-f", str(spec)]
    assert cli([*args, "--project", "ops", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["project_id"] == "ops"
    assert cli([*args, "--project", "reports"]) == 1  # not granted: 403
    assert "HTTP 403" in capsys.readouterr().err
