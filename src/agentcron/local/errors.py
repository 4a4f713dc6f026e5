"""Errors of the local stack: one clear line on the console, the full traceback in a log file.

A failing claim invocation, executor poll or API request must not bury the run lines under a traceback,
nor hide one: the console gets ``error: <what failed>: <ExceptionType>: <message> (traceback: PATH)`` and
the log file (``$AGENTCRON_LOCAL_LOG``, by default one per run in the temp folder, shared with the executor
worker processes) the whole traceback.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

LOG_ENV = "AGENTCRON_LOCAL_LOG"
MAX_LINE = 300


def log_path() -> Path:
    """The log file of this run (set once in the environment, so worker processes append to the same)."""
    if not os.environ.get(LOG_ENV):
        name = f"agentcron-local-{datetime.now().strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
        os.environ[LOG_ENV] = str(Path(tempfile.gettempdir()) / name)
    return Path(os.environ[LOG_ENV])


def describe(exc: BaseException) -> str:
    """``ExceptionType: message`` on one line."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class ErrorReporter:
    """``reporter(what)`` inside an ``except`` block (or with a plain message): one console line, and the
    traceback of the exception being handled appended to the log file."""

    def __init__(self, emit: Callable[[str], None], path: Path | None = None) -> None:
        self.emit, self.path = emit, path or log_path()
        self._lock = threading.Lock()

    def __call__(self, what: str) -> None:
        line = " ".join(what.split())
        if len(line) > MAX_LINE:
            line = line[: MAX_LINE - 1] + "…"
        trace = traceback.format_exc() if sys.exc_info()[0] is not None else ""
        try:
            with self._lock, self.path.open("a", encoding="utf-8") as log:
                log.write(f"{datetime.now().isoformat(timespec='milliseconds')}  {what}\n{trace}\n")
            where = f" (traceback: {self.path})" if trace else f" (log: {self.path})"
        except OSError:
            where = ""
        self.emit(f"error: {line}{where}")
