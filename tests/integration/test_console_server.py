"""The console's servers: the local stack's static branch, and ``agentcron console``'s proxy to an API.

The proxy is pointed at the local adapter (the API handler on a moto stack): the browser's requests come back
with the API's answers, carrying the bearer token or a SigV4 signature, and requests from other sites are
refused before anything is signed.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.credentials import Credentials

from agentcron.cli.client import ApiClient, SigV4Signer, bearer_client
from agentcron.console import FILES
from agentcron.console.server import ConsoleServer
from agentcron.local.http import ApiServer

from test_api_support import daily_spec

ROOT = Path(__file__).resolve().parents[2]


class Recorder:
    def __init__(self, handler: Any) -> None:
        self.handler, self.headers = handler, []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.headers.append(event.get("headers") or {})
        return self.handler(event, context)


@pytest.fixture
def api(stack: Any, load_handler: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in stack.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    recorder = Recorder(load_handler("api").lambda_handler)
    with ApiServer(recorder, port=0) as server:
        yield server, recorder


def request(
    url: str, method: str, path: str, body: bytes | None = None, headers: dict | None = None
) -> tuple:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_the_local_stack_serves_the_console_beside_the_api(api: Any) -> None:
    server, recorder = api
    status, headers, raw = request(server.url, "GET", "/console")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert b'<script type="module" src="/console/js/app.js">' in raw
    assert "script-src 'self'" in headers["content-security-policy"]
    assert request(server.url, "GET", "/console/")[0] == 200
    status, headers, _ = request(server.url, "GET", "/console/js/app.js")
    assert status == 200 and headers["content-type"] == "text/javascript; charset=utf-8"
    assert request(server.url, "GET", "/console/console.css")[1]["content-type"] == "text/css; charset=utf-8"
    assert request(server.url, "GET", "/console/favicon.svg")[1]["content-type"] == "image/svg+xml"
    status, headers, _ = request(server.url, "GET", "/")
    assert status == 302 and headers["location"] == "/console"
    status, headers, raw = request(server.url, "HEAD", "/console/js/app.js")
    assert status == 200 and raw == b"" and int(headers["content-length"]) > 0
    for path in (
        "/console/../setup.py", "/console/%2e%2e/setup.py", "/console/js/../../__init__.py",
        "/console/__init__.py", "/console/static/index.html", "/console/nothing.js", "/console//etc/passwd",
    ):
        assert request(server.url, "GET", path)[0] == 404, path
    assert request(server.url, "POST", "/console", b"{}")[0] == 405
    assert recorder.headers == []  # none of it reached the API handler
    assert request(server.url, "GET", "/schedules")[0] == 200  # the API is still there
    assert len(recorder.headers) == 1


def test_only_the_console_files_are_served() -> None:
    expected = {"/console", "/console/", "/console/index.html", "/console/console.css", "/console/js/app.js"}
    assert expected <= set(FILES)
    assert all(path.startswith("/console") for path in FILES)
    for path in FILES.values():
        assert "static" in path.parts and path.suffix in (".html", ".css", ".js", ".svg")


def test_the_proxy_forwards_the_api_with_a_bearer_token(api: Any) -> None:
    server, recorder = api
    client = bearer_client(server.url, "header.payload.signature", timeout=10)
    with ConsoleServer(client, port=0) as console:
        status, headers, raw = request(console.url, "GET", "/console")
        assert status == 200 and b"agentcron" in raw and recorder.headers == []
        body = json.dumps(daily_spec()).encode()
        status, headers, raw = request(
            console.url, "POST", "/schedules", body,
            {"Content-Type": "application/json", "Idempotency-Key": "k-1", "Cookie": "secret=1"},
        )
        assert status == 201 and headers["etag"] == '"1"' and headers["location"] == "/schedules/daily-news"
        sent = recorder.headers[-1]
        assert sent["authorization"] == "Bearer header.payload.signature"
        assert sent["idempotency-key"] == "k-1" and "cookie" not in sent
        status, _, raw = request(console.url, "GET", "/schedules?enabled=true&limit=5")
        assert status == 200 and [s["id"] for s in json.loads(raw)["schedules"]] == ["daily-news"]
        status, _, raw = request(
            console.url, "PATCH", "/schedules/daily-news", b'{"name": "x"}',
            {"Content-Type": "application/json", "If-Match": '"7"'},
        )
        assert status == 409 and json.loads(raw)["error"]["type"] == "version_conflict"
        status, _, raw = request(console.url, "POST", "/schedules/preview?count=3",
                                 json.dumps(daily_spec()).encode(), {"Content-Type": "application/json"})
        assert status == 200 and len(json.loads(raw)["fire_times"]) == 3
        status, _, raw = request(console.url, "DELETE", "/schedules/daily-news")
        assert (status, raw) == (204, b"")
        assert request(console.url, "GET", "/schedules/daily-news")[0] == 404


def test_the_proxy_signs_with_sigv4(api: Any) -> None:
    server, recorder = api
    signer = SigV4Signer(Credentials("AKIDEXAMPLE", "secret", "session-token"), "eu-west-1")
    with ConsoleServer(ApiClient(server.url, signer=signer, timeout=10), port=0) as console:
        assert request(console.url, "GET", "/schedules?limit=2")[0] == 200
        sent = recorder.headers[-1]
        assert sent["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
        assert "/eu-west-1/execute-api/aws4_request" in sent["authorization"]
        assert sent["x-amz-security-token"] == "session-token" and "x-amz-date" in sent


def test_the_proxy_refuses_other_sites_before_signing(api: Any) -> None:
    server, recorder = api
    with ConsoleServer(bearer_client(server.url, "t", timeout=10), port=0) as console:
        port = console.server_address[1]
        cases = [
            {"Origin": "https://evil.example"},
            {"Sec-Fetch-Site": "cross-site"},
            {"Host": f"evil.example:{port}"},  # DNS rebinding
        ]
        for headers in cases:
            status, _, raw = request(console.url, "DELETE", "/schedules/x", None, headers)
            assert status == 403 and json.loads(raw)["error"]["type"] == "forbidden", headers
        assert recorder.headers == []
        same = {"Origin": console.url, "Sec-Fetch-Site": "same-origin"}
        assert request(console.url, "GET", "/schedules", None, same)[0] == 200
        localhost = {"Host": f"localhost:{port}"}
        assert request(console.url, "GET", "/schedules", None, localhost)[0] == 200


def test_the_proxy_reports_an_unreachable_api() -> None:
    client = ApiClient("http://127.0.0.1:9", timeout=2)  # the discard port: nothing listens
    with ConsoleServer(client, port=0, on_error=lambda _: None) as console:
        status, _, raw = request(console.url, "GET", "/schedules")
    assert status == 502 and json.loads(raw)["error"]["type"] == "api_unreachable"


def test_agentcron_console_serves_until_stopped(api: Any, tmp_path: Path) -> None:
    server, recorder = api
    process = subprocess.Popen(
        [sys.executable, "-m", "agentcron.cli", "console", "--api-url", server.url, "--port", "0",
         "--token", "tok", "--for", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "console on http://127.0.0.1:" in line, line
        assert f"API calls to {server.url}, bearer token" in line, line
        url = line.split("console on ", 1)[1].split("/console", 1)[0]
        deadline = time.monotonic() + 10
        while True:
            try:
                status, _, _ = request(url, "GET", "/schedules")
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert status == 200 and recorder.headers[-1]["authorization"] == "Bearer tok"
    finally:
        process.terminate()
        process.wait(timeout=10)
