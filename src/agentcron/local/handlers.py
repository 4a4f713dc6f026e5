"""Load the Lambda handlers from ``functions/<name>/app.py`` as Lambda does: by file, not as a package.

The local stack and the tests call the very modules SAM deploys, so there is no second code path to drift.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from pathlib import Path
from types import ModuleType

from agentcron.local.resources import default_template_path


def functions_dir() -> Path:
    return default_template_path().parent / "functions"


_LOADING = threading.Lock()


def load_handler(name: str, container: int = 0) -> ModuleType:
    """Import ``functions/<name>/app.py`` under the module name ``agentcron_fn_<name>`` (loaded once).

    ``container`` > 0 loads another copy (``agentcron_fn_<name>_<container>``): a second warm Lambda
    container with its own module state, so copies may serve requests at the same time. Powertools
    metrics keep one metric set per process (a class attribute); each copy gets its own, as each container
    is its own process.

    Thread-safe: a module is in ``sys.modules`` before it finishes executing, so without the lock a second
    thread could pick up a half-loaded handler.
    """
    with _LOADING:
        return _load(name, container)


def _own_metric_set(module: ModuleType) -> None:
    metrics = getattr(module, "metrics", None)
    provider = getattr(metrics, "provider", None)
    if provider is None:
        return
    for attribute in ("metric_set", "dimension_set", "metadata_set"):
        fresh = dict(getattr(provider, attribute, None) or {})
        setattr(provider, attribute, fresh)
        if hasattr(metrics, attribute):
            setattr(metrics, attribute, fresh)


def _load(name: str, container: int = 0) -> ModuleType:
    module_name = f"agentcron_fn_{name}" + (f"_{container}" if container else "")
    if module_name in sys.modules:
        return sys.modules[module_name]
    path = functions_dir() / name / "app.py"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"no handler at {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    if container:
        _own_metric_set(module)
    return module


class LambdaContext:
    """The parts of the Lambda context object the handlers use, with a real deadline."""

    def __init__(self, function_name: str, timeout_seconds: float, clock,
                 stop: threading.Event | None = None) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = "local"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._clock = clock
        self._deadline = clock() + timeout_seconds
        self._stop = stop  # the local stack shutting down: the invocation's time is up at once

    def get_remaining_time_in_millis(self) -> int:
        if self._stop is not None and self._stop.is_set():
            return 0
        return max(0, int((self._deadline - self._clock()) * 1000))
