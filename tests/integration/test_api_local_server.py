"""The local adapter: HTTP on 127.0.0.1 -> API Gateway v2 event -> functions/api/app.py -> HTTP answer."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from test_api_support import daily_spec

from agentcron.local.http import ApiServer, serve_api

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server(stack: Any, load_handler: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in stack.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    with ApiServer(load_handler("api").lambda_handler, port=0) as running:
        yield running


def _request(
    url: str, method: str, path: str, body: bytes | None = None, headers: dict | None = None
) -> tuple:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        raw = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, raw
    finally:
        connection.close()


def test_a_schedule_round_trips_over_http(server: ApiServer) -> None:
    body = json.dumps(daily_spec()).encode()
    status, headers, raw = _request(
        server.url, "POST", "/schedules", body, {"Content-Type": "application/json"}
    )
    assert status == 201 and headers["etag"] == '"1"' and headers["content-type"] == "application/json"
    assert json.loads(raw)["id"] == "daily-news"
    status, headers, raw = _request(server.url, "GET", "/schedules?enabled=true&limit=5")
    assert status == 200 and [s["id"] for s in json.loads(raw)["schedules"]] == ["daily-news"]
    status, _, raw = _request(
        server.url,
        "PATCH",
        "/schedules/daily-news",
        b'{"name": "renamed"}',
        {"Content-Type": "application/json", "If-Match": '"1"'},
    )
    assert status == 200 and json.loads(raw)["name"] == "renamed"
    status, _, raw = _request(server.url, "DELETE", "/schedules/daily-news")
    assert (status, raw) == (204, b"")


def test_the_deployed_handler_honours_idempotency_keys(server: ApiServer) -> None:
    """The Lambda's own wiring records Idempotency-Key answers: a retry replays the first, creates nothing."""
    body = json.dumps(daily_spec()).encode()
    headers = {"Content-Type": "application/json", "Idempotency-Key": "deployed-retry"}
    first = _request(server.url, "POST", "/schedules", body, headers)
    again = _request(server.url, "POST", "/schedules", body, headers)
    assert (first[0], again[0]) == (201, 201), again
    assert again[1]["idempotent-replayed"] == "true" and json.loads(again[2]) == json.loads(first[2])


def test_errors_come_back_as_json(server: ApiServer) -> None:
    status, _, raw = _request(server.url, "GET", "/schedules/missing")
    assert status == 404 and json.loads(raw)["schedule_id"] == "missing"
    status, _, raw = _request(
        server.url, "POST", "/schedules", b'{"name":', {"Content-Type": "application/json"}
    )
    assert status == 400 and json.loads(raw)["error"]["field"] == "body"
    status, _, raw = _request(
        server.url, "POST", "/schedules", b"\xff\xfe", {"Content-Type": "application/json"}
    )
    assert status == 400 and json.loads(raw)["error"]["message"] == "body must be UTF-8 text"
    status, _, _ = _request(server.url, "GET", "/no/such/route")
    assert status == 404


def test_the_openapi_document_is_served_and_names_every_route(server: ApiServer) -> None:
    status, headers, raw = _request(server.url, "GET", "/openapi.json")
    assert status == 200 and headers["content-type"] == "application/json"
    assert len(json.loads(raw)["paths"]) == 15  # with /jobs/{job_id}, /imports and a schedule's sessions


def test_serve_api_loads_the_deployed_handler_by_default(stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in stack.environment().items():
        monkeypatch.setenv(name, value)
    running = serve_api(port=0)
    try:
        status, _, raw = _request(running.url, "GET", "/schedules")
        assert status == 200 and json.loads(raw) == {"schedules": [], "next_cursor": None}
    finally:
        running.stop()


def test_make_run_serves_the_api_and_prints_its_url(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "agentcron.local",
            "--for",
            "1",
            "--api-port",
            "0",
            "--examples",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "API on http://127.0.0.1:" in done.stdout


def test_any_undeclared_method_is_a_405_in_the_api_error_shape(server: ApiServer) -> None:
    for method in ("TRACE", "PUT", "PROPFIND"):
        status, headers, raw = _request(server.url, method, "/schedules")
        assert status == 405, (method, raw)
        assert headers["allow"] == "GET, POST" and json.loads(raw)["error"]["type"] == "method_not_allowed"


def test_requests_are_served_concurrently() -> None:
    """A slow request (one container busy) does not hold up the next one (served by another container)."""
    release = threading.Event()

    def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if event["rawPath"] == "/slow":
            assert release.wait(timeout=30), "the fast request was never served meanwhile"
        else:
            release.set()
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}

    with ApiServer([slow, slow], port=0, console=False) as running:
        waiting = threading.Thread(target=_request, args=(running.url, "GET", "/slow"))
        waiting.start()
        status, _, _ = _request(running.url, "GET", "/fast")
        waiting.join(timeout=30)
        assert status == 200 and not waiting.is_alive()


def test_containers_sharing_the_routers_never_mix_their_requests(stack: Any, load_handler: Any,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Four resolvers (containers) built on the same module-level routers, 200 requests in parallel over
    several routes: each answers its own request (a router's state is the last resolver's, so a route that
    read it, or a dependency resolved against it, would answer another request or fail)."""
    from concurrent.futures import ThreadPoolExecutor

    for name, value in stack.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    containers = [load_handler("api") for _ in range(4)]
    for container in containers:
        container.api_handler()  # as serve_api builds them: before any request
    with ApiServer([c.lambda_handler for c in containers], port=0, console=False) as running:
        for i in range(3):
            body = json.dumps({"id": f"s{i}", "name": f"s{i}", "trigger": {"type": "interval", "every_seconds": 60}})
            status, _, raw = _request(running.url, "POST", "/schedules", body.encode(),
                                      {"Content-Type": "application/json"})
            assert status == 201, raw

        def one(i: int) -> tuple[str, int, bytes]:
            path = [f"/schedules/s{i % 3}", f"/schedules/s{i % 3}/runs?limit={1 + i % 5}",
                    f"/api/v1/schedules/s{i % 3}/runs?limit={1 + i % 5}", "/schedules?limit=2",
                    f"/schedules/s{i % 3}/sessions"][i % 5]
            status, _, raw = _request(running.url, "GET", path)
            return path, status, raw

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(one, range(200)))
    bad = [(path, status, raw[:200]) for path, status, raw in results if status != 200]
    assert not bad, bad[:5]
    for path, _, raw in results:
        if path.startswith("/schedules/s") and path.count("/") == 2:
            assert json.loads(raw)["id"] == path.rsplit("/", 1)[1]
