"""X-Ray tracing for the handlers, imported only when it is switched on.

Powertools' ``Tracer`` imports the X-Ray SDK, the heaviest import of a cold start (about a third of a
handler's import time). Tracing is off by default (template parameter ``Tracing``, which sets
``POWERTOOLS_TRACE_DISABLED``); then :func:`tracer` returns decorators that do nothing and the SDK is never
loaded. Switched on, it is Powertools' ``Tracer``, unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any


def tracing_enabled(env: dict[str, str] | None = None) -> bool:
    value = (os.environ if env is None else env).get("POWERTOOLS_TRACE_DISABLED", "")
    return value.strip().lower() not in ("1", "true", "yes")


class _Untraced:
    """The part of Powertools' Tracer the handlers use, doing nothing."""

    def capture_lambda_handler(self, function: Callable[..., Any] | None = None, **_: Any) -> Any:
        return function if function is not None else (lambda f: f)

    def capture_method(self, function: Callable[..., Any] | None = None, **_: Any) -> Any:
        return function if function is not None else (lambda f: f)

    def put_annotation(self, key: str, value: Any) -> None:
        return None


def tracer(service: str) -> Any:
    """Powertools' ``Tracer(service=...)`` when tracing is on, else a no-op with the same decorators."""
    if not tracing_enabled():
        return _Untraced()
    from aws_lambda_powertools import Tracer

    return Tracer(service=service)
