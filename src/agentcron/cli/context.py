"""What every command runs with: the target's client, the output format, the terminal, and the hooks tests
replace (the clock's sleep, the editor), so no command reads ``sys`` or sleeps on its own."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from agentcron.cli import output
from agentcron.cli.client import ApiClient, ApiReply, bearer_client, stack_client
from agentcron.cli.specs import SpecError

EXIT_OK, EXIT_API_ERROR, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


class ApiFailed(Exception):
    """A request of a multi-step command was refused or failed: reported like a one-request command's."""

    def __init__(self, reply: ApiReply) -> None:
        super().__init__(f"HTTP {reply.status}")
        self.reply = reply


def run_editor(path: str) -> int:
    """Open ``path`` in ``$VISUAL`` / ``$EDITOR`` (``vi`` when neither is set); the editor's exit code."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    return subprocess.call([*shlex.split(editor), path])  # noqa: S603 - the user's own editor


@dataclass
class Context:
    settings: dict[str, Any]
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    sleep: Callable[[float], None] = time.sleep
    editor: Callable[[str], int] = run_editor
    _client: ApiClient | None = None

    @property
    def client(self) -> ApiClient:
        if self._client is None:
            self._client = make_client(self.settings)
        return self._client

    @property
    def output(self) -> str:
        return self.settings.get("output") or "table"

    @property
    def wide(self) -> bool:
        return self.output == "wide"

    @property
    def structured(self) -> bool:
        """``-o json`` / ``-o yaml``: print the API's data, not tables."""
        return self.output in ("json", "yaml")

    def say(self, text: str = "", *, end: str = "\n") -> None:
        self.stdout.write(text + end)
        self.stdout.flush()

    def warn(self, text: str) -> None:
        self.stderr.write(text + "\n")
        self.stderr.flush()

    def dump(self, data: Any) -> None:
        self.say(output.dump(data, self.output))

    def call(self, method: str, path: str, **kwargs: Any) -> ApiReply:
        """One request; a refused or failed one raises :class:`ApiFailed`."""
        reply = self.client.request(method, path, **kwargs)
        if not reply.ok:
            raise ApiFailed(reply)
        return reply

    def confirm(self, question: str, *, assume_yes: bool) -> bool:
        """Ask ``question [y/N]`` on the terminal. ``--yes`` answers yes; without a terminal to ask on, it is
        a usage error (a script must say ``--yes``) rather than a prompt nobody sees or a wait for input."""
        if assume_yes:
            return True
        if not _is_terminal(self.stdin):
            raise SpecError(f"{question} Confirmation needed, but stdin is not a terminal: pass --yes")
        self.stderr.write(f"{question} [y/N] ")
        self.stderr.flush()
        return self.stdin.readline().strip().lower() in ("y", "yes")


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def make_client(settings: dict[str, Any]) -> ApiClient:
    token = settings.get("token")
    if settings.get("stack"):
        return stack_client(
            settings["stack"],
            region=settings.get("region"),
            profile=settings.get("profile"),
            timeout=settings["timeout"],
            token=token,
        )
    if token:
        return bearer_client(settings["api_url"], token, timeout=settings["timeout"])
    return ApiClient(settings["api_url"], timeout=settings["timeout"])


def report_error(ctx: Context, reply: ApiReply) -> int:
    """Print a refused or failed reply (one line, or the API's JSON with ``-o json``); its exit code."""
    if ctx.output == "json" and isinstance(reply.body, dict):
        ctx.say(json.dumps(reply.body, indent=2))
    else:
        error = (reply.body or {}).get("error") if isinstance(reply.body, dict) else None
        if isinstance(error, dict):
            message = str(error.get("message"))
            if error.get("field"):
                message += f" (field: {error['field']})"
        else:
            message = (reply.text or "no response body").strip()[:500]
        ctx.warn(f"error: HTTP {reply.status}: {message}")
    return EXIT_UNREACHABLE if reply.status >= 500 else EXIT_API_ERROR
