"""What every benchmark shares: a fake AWS environment, progress lines, percentiles, the template's settings.

Benchmarks never talk to AWS: :func:`fake_aws_env` sets dummy credentials and the region before any client
exists, and every client points at moto (in-process ``mock_aws`` or a local moto server).
"""

from __future__ import annotations

import copy
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "bench" / "results"
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account

FAKE_AWS_ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "agentcron",
}
NOISY_MACHINE = (
    "Measured on a shared, noisy machine: absolute times vary from run to run; ratios taken inside one run "
    "are the robust figures."
)


def fake_aws_env() -> None:
    """Dummy credentials and region for this process; no real AWS credential or endpoint can be picked up."""
    os.environ.update(FAKE_AWS_ENV)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(name, None)


_START = time.monotonic()


def progress(message: str) -> None:
    """One progress line on stderr (stdout carries the JSON figures)."""
    print(f"[bench {time.monotonic() - _START:7.1f}s] {message}", file=sys.stderr, flush=True)


def utc_now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# --------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def distribution(values: Iterable[float], digits: int = 1) -> dict[str, float | int]:
    """count, min, p50, p90, p99, max and mean of ``values``."""
    data = list(values)
    if not data:
        return {"count": 0}
    return {
        "count": len(data),
        "min": round(min(data), digits),
        "p50": round(percentile(data, 50), digits),
        "p90": round(percentile(data, 90), digits),
        "p99": round(percentile(data, 99), digits),
        "max": round(max(data), digits),
        "mean": round(statistics.fmean(data), digits),
    }


def ratio(numerator: float | None, denominator: float | None, digits: int = 3) -> float | None:
    """numerator / denominator, None when either is missing or the denominator is 0."""
    if numerator is None or denominator in (None, 0):
        return None
    return round(numerator / denominator, digits)


# --------------------------------------------------------------------------- machine and template


def machine_info() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(terse=True),
        "cpus": os.cpu_count(),
        "load_average_1m": round(load[0], 2) if load else None,
    }


@cache
def template() -> dict[str, Any]:
    from agentcron.local.template import load_template

    return load_template(ROOT / "template.yaml")


def template_parameter(name: str, default: Any) -> Any:
    spec = (template().get("Parameters") or {}).get(name) or {}
    return spec.get("Default", default)


@dataclass(frozen=True)
class FunctionConfig:
    """A function's billing-relevant settings as template.yaml declares them (parameter defaults resolved)."""

    logical_id: str
    memory_mb: int
    architecture: str
    timeout_seconds: int
    batch_size: int | None = None  # SQS event source batch size, for the executor

    @property
    def memory_gb(self) -> float:
        return self.memory_mb / 1024


def function_config(logical_id: str) -> FunctionConfig:
    """Memory, architecture, timeout (and SQS batch size) of ``logical_id``, falling back to Globals."""
    tpl = template()
    globals_ = (tpl.get("Globals") or {}).get("Function") or {}
    props = ((tpl.get("Resources") or {}).get(logical_id) or {}).get("Properties") or {}

    def value(name: str, default: Any) -> Any:
        raw = props.get(name, globals_.get(name, default))
        if isinstance(raw, dict) and "Ref" in raw:
            return template_parameter(raw["Ref"], default)
        return raw

    batch = None
    for event in (props.get("Events") or {}).values():
        if event.get("Type") == "SQS":
            batch = int((event.get("Properties") or {}).get("BatchSize", 10))
    architectures = value("Architectures", ["x86_64"])
    return FunctionConfig(
        logical_id=logical_id,
        memory_mb=int(value("MemorySize", 128)),
        architecture=str(architectures[0] if isinstance(architectures, list) else architectures),
        timeout_seconds=int(value("Timeout", 3)),
        batch_size=batch,
    )


# --------------------------------------------------------------------------- moto internals


def moto_peek(account: str = ACCOUNT, region: str = REGION) -> tuple[Any, Any]:
    """``(peek, index_keys)`` over moto's in-process DynamoDB backend, for :class:`bench.meter.ApiMeter`.

    ``peek(table, item_or_key)`` returns the stored item (DynamoDB JSON) or None; ``index_keys(table)`` maps
    each global secondary index of the table to its key attributes and projected attributes. Reads moto's state directly: no API
    call, nothing counted.
    """
    from moto.dynamodb.models import dynamodb_backends

    def backend() -> Any:
        return dynamodb_backends[account][region]

    def peek(table_name: str, key: dict[str, Any]) -> dict[str, Any] | None:
        try:
            table = backend().get_table(table_name)
        except Exception:  # noqa: BLE001 - an unknown table holds no item
            return None
        names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
        if not all(name in key for name in names):
            return None
        hash_key, range_key = backend().get_keys_value(table, {name: key[name] for name in names})
        item = table.get_item(hash_key, range_key)
        return item.to_json()["Attributes"] if item is not None else None

    def index_keys(table_name: str) -> dict[str, tuple[tuple[str, ...], tuple[str, ...] | None]]:
        try:
            table = backend().get_table(table_name)
        except Exception:  # noqa: BLE001
            return {}
        table_keys = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
        shapes = {}
        for index in table.global_indexes:
            projection = index.projection or {}
            kind = projection.get("ProjectionType", "ALL")
            projected = None
            if kind != "ALL":
                included = projection.get("NonKeyAttributes", []) if kind == "INCLUDE" else []
                projected = tuple(dict.fromkeys([*table_keys, *index.schema_key_attrs, *included]))
            shapes[index.name] = (tuple(index.schema_key_attrs), projected)
        return shapes

    return peek, index_keys


@contextmanager
def shallow_table_snapshots() -> Iterator[None]:
    """Make moto snapshot tables shallowly before a transaction (its rollback copy), for the duration.

    moto deep-copies every table a transaction touches, which at 100,000 items takes seconds per claim: a
    cost of the fake. A shallow snapshot is only wrong when a transaction is rolled back, and the benchmark
    reports how many were (``TransactionCanceledException`` responses) so a result built on one is visible.
    """
    from moto.dynamodb import models as moto_dynamodb
    from moto.dynamodb.models.table import Table

    class _Copy:
        def __getattr__(self, name: str) -> Any:
            return getattr(copy, name)

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return copy.copy(value) if isinstance(value, Table) else copy.deepcopy(value, memo)

    original = moto_dynamodb.copy
    moto_dynamodb.copy = _Copy()  # type: ignore[assignment]
    try:
        yield
    finally:
        moto_dynamodb.copy = original
