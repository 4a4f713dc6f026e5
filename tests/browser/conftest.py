"""Browser tests of the web console: headless Chromium (Debian's ``chromium``) driven by Playwright against
the local stack, started once per module as a user starts it (``python -m agentcron.local``).

Without Chromium or Playwright the tests are skipped with the reason, except in CI (``CI`` set), where they
fail: CI must run them.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from console_support import ROOT, LocalStack, Problems

START_TIMEOUT_SECONDS = 60

EXAMPLES: dict[str, dict[str, Any]] = {
    "heartbeat": {
        "name": "Heartbeat",
        "trigger": {"type": "interval", "every_seconds": 5},
        "run_config": {"project_id": "ops", "model": "echo", "task_message": "Report that all is well.",
                       "auto_execute": True},
    },
    "on-demand": {
        "name": "Echo on demand",
        "trigger": {"type": "daily", "hour": 3, "minute": 0},
        "timezone": "Europe/Paris",
        "run_config": {"project_id": "ops", "model": "echo", "task_message": "Summarise the night's alerts.",
                       "system_prompt": "You are a terse operations assistant.", "auto_execute": True},
    },
    "weekday-digest": {
        "name": "Weekday digest",
        "trigger": {"type": "weekly", "weekdays": ["mon", "tue", "wed", "thu", "fri"], "hour": 9,
                    "minute": 0},
        "timezone": "Europe/Berlin",
        "run_config": {"project_id": "reports", "model": "echo", "task_message": "Write the digest.",
                       "auto_execute": True},
    },
    "broken-model": {
        "name": "Broken model",
        "trigger": {"type": "interval", "every_seconds": 6},
        "run_config": {"project_id": "reports", "model": "echo", "limits": {"max_total_tokens": 1},
                       "task_message": "Fail, please.", "auto_execute": True},
    },
    "month-end": {
        "name": "Month-end close",
        "trigger": {"type": "cron", "expr": "0 18 28-31 * *"},
        "timezone": "Asia/Tokyo",
        "run_config": {"task_message": "Run the month-end checklist.", "auto_execute": False},
    },
}


def _chromium() -> str | None:
    return shutil.which("chromium")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium_path() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("playwright is not installed (pip install -r requirements-dev.txt)")
    path = _chromium()
    if path is None:
        _unavailable("chromium is not installed (apt-get install -y chromium)")
    return path  # type: ignore[return-value]


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory, chromium_path: str) -> Iterator[LocalStack]:
    """``python -m agentcron.local`` on free ports with the EXAMPLES; its console URL read from its output."""
    folder = tmp_path_factory.mktemp("examples")
    for schedule_id, spec in EXAMPLES.items():
        (folder / f"{schedule_id}.json").write_text(json.dumps({"id": schedule_id, **spec}))
    process = subprocess.Popen(
        [sys.executable, "-m", "agentcron.local", "--api-port", "0", "--examples", str(folder),
         "--for", "900", "--executors", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
    )
    lines: queue.Queue[str] = queue.Queue()
    seen: list[str] = []

    def drain() -> None:  # keep reading, or the stack blocks on a full pipe
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            lines.put(line)

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    url = None
    while url is None and time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            if process.poll() is not None:
                break
            continue
        if match := re.search(r"console on (http://127\.0\.0\.1:\d+)/console", line):
            url = match.group(1)
    if url is None:
        process.kill()
        pytest.fail("the local stack did not start:\n" + "".join(seen[-40:]))
    stack = LocalStack(url, process, seen)
    try:
        yield stack
    finally:
        process.terminate()  # nothing to keep: the stack lives in memory
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def problems() -> Problems:
    return Problems()


def _page(browser: Any, problems: Problems, width: int, height: int) -> Iterator[Any]:
    viewport = {"width": width, "height": height}
    context = browser.new_context(viewport=viewport, locale="en-GB", timezone_id="UTC")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("console", problems.console)
    page.on("response", problems.response)
    page.on("pageerror", lambda error: problems.errors.append(f"page error: {error}"))
    try:
        yield page
        assert problems.unexpected() == [], "the browser console reported problems"
    finally:
        context.close()


@pytest.fixture
def page(browser: Any, problems: Problems) -> Iterator[Any]:
    """A desktop page (1280x800); at the end, no console error or page error may have happened."""
    yield from _page(browser, problems, 1280, 800)


@pytest.fixture
def phone(browser: Any, problems: Problems) -> Iterator[Any]:
    """A phone-sized page (390x844), with the same console check."""
    yield from _page(browser, problems, 390, 844)
