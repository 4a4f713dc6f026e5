"""What each handler's cold start loads: only what its ordinary invocation uses (README, Performance).

Each case imports a handler in a fresh interpreter, as Lambda does, and lists the modules it loaded and the
models it built; the rare paths (transcripts in the claim, the scheduler tool in the executor, the original's
API in the API, a job anywhere) must not be among them, and what an ordinary invocation uses must be.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import app
from pydantic import BaseModel

def subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)

built = sorted(
    c.__qualname__ for c in set(subclasses(BaseModel))
    if c.__module__.startswith("agentcron") and c.__dict__.get("__pydantic_complete__")
)
print(json.dumps({"modules": sorted(m for m in sys.modules if m.startswith("agentcron")), "built": built}))
"""


def _cold(handler: str) -> dict[str, list[str]]:
    env = {"POWERTOOLS_TRACE_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(ROOT / "functions" / handler)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("handler", "loaded", "not_loaded"),
    [
        (
            "claim",
            {"agentcron.domain.schedule", "agentcron.domain.runs", "agentcron.domain.messages"},
            {"agentcron.domain.sessions", "agentcron.agent", "agentcron.api", "agentcron.domain.validation"},
        ),
        (
            "executor",
            {"agentcron.domain.sessions", "agentcron.agent.tools.http_fetch", "agentcron.agent.echo"},
            {"agentcron.agent.tools.scheduler", "agentcron.application.schedules", "agentcron.api"},
        ),
        (
            "api",
            {"agentcron.api.routes.schedules", "agentcron.api.schemas"},
            {"agentcron.domain.original", "agentcron.application.imports", "agentcron.agent"},
        ),
    ],
)
def test_a_handler_loads_what_its_ordinary_invocation_uses_and_no_rare_path(
    handler: str, loaded: set[str], not_loaded: set[str]
) -> None:
    found = _cold(handler)
    modules = set(found["modules"])
    assert loaded <= modules, sorted(loaded - modules)
    assert not {m for m in modules if any(m == n or m.startswith(n + ".") for n in not_loaded)}
    assert "Job" not in found["built"]  # built when a job is pending, not with every container


def test_the_api_builds_the_schedule_bodies_at_import_and_the_rare_ones_on_first_use() -> None:
    built = set(_cold("api")["built"])
    assert {"Schedule", "ScheduleSpec", "ScheduleView", "ScheduleList", "ErrorResponse"} <= built
    assert not built & {"RunList", "BackfillRequest", "FireTimes", "SessionList", "ImportReportView"}


def test_the_models_facade_keeps_every_public_name_importable() -> None:
    from agentcron import models

    for name in models.__all__:
        assert getattr(models, name) is not None, name
    assert set(dir(models)) >= set(models.__all__)
    with pytest.raises(AttributeError):
        _ = models.NoSuchName  # type: ignore[attr-defined]
