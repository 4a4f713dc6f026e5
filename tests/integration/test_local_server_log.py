"""The local stack's moto servers: what their request handler writes to the terminal."""

from __future__ import annotations

from typing import Any

import pytest

from agentcron.local.server import _handler_class


def test_an_idle_keep_alive_connection_closing_is_not_reported_as_an_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    handler: Any = object.__new__(_handler_class())  # no socket: only the logging is exercised
    handler.log_error("Request timed out: %r", TimeoutError("timed out"))
    captured = capsys.readouterr()
    assert captured.out == captured.err == ""
