"""What the browser tests share besides fixtures: the local stack handle, the console check, screenshots."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
# Chrome reports every non-2xx answer to fetch() as "Failed to load resource"; the tests that provoke a 4xx
# on purpose (a field error, a conflict) allow exactly those. Anything else in the console is a failure.
RESOURCE_4XX = re.compile(r"^Failed to load resource: the server responded with a status of (4\d\d)")


@dataclass
class LocalStack:
    url: str
    process: subprocess.Popen
    lines: list[str] = field(default_factory=list)

    def api(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        """One API call: (status, headers, JSON body)."""
        data = None if body is None else json.dumps(body).encode()
        sent = dict(headers or {})
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw = response.read()
                return response.status, dict(response.headers.items()), json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            return exc.code, dict(exc.headers.items()), json.loads(raw) if raw else None


class Problems:
    """Console errors and page errors of one page; `allow(status)` tolerates Chrome's log of that 4xx."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.allowed: set[int] = set()
        self.network_down = False
        self.failed_requests: list[str] = []  # Chrome's console line names no URL: these say which one

    def allow(self, *statuses: int) -> None:
        self.allowed.update(statuses)

    def allow_network_errors(self) -> None:
        """A test that cuts the API off expects Chrome to log the refused connections."""
        self.network_down = True

    def console(self, message: Any) -> None:
        if message.type not in ("error", "warning"):
            return
        match = RESOURCE_4XX.match(message.text)
        if match and int(match.group(1)) in self.allowed:
            return
        if self.network_down and message.text.startswith("Failed to load resource: net::ERR_"):
            return
        self.errors.append(f"console {message.type}: {message.text}")

    def response(self, response: Any) -> None:
        if response.status >= 400:
            self.failed_requests.append(f"{response.status} {response.request.method} {response.url}")

    def unexpected(self) -> list[str]:
        """The problems, with the requests that failed when one of them is a failed load."""
        if any("Failed to load resource" in error for error in self.errors):
            return [*self.errors, *(f"(failed request: {line})" for line in self.failed_requests)]
        return list(self.errors)


def screenshot(page: Any, name: str) -> None:
    """docs/screenshots/<name>-<width>.png, the whole page."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True, animations="disabled")
