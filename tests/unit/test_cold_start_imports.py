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
loaded = [m for m, v in sys.modules.items() if m.startswith("agentcron") and type(v).__name__ != "_LazyModule"]
print(json.dumps({"modules": sorted(loaded), "built": built}))
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
            {
                "agentcron.domain.original",
                "agentcron.application.imports",
                "agentcron.agent",
                # a list of schedules reads none of these: the run, session and claim use cases, the messages
                "agentcron.application.runs",
                "agentcron.application.sessions",
                "agentcron.application.claim",
                "agentcron.domain.messages",
            },
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


def test_a_lazy_module_loads_on_first_use_and_is_the_module_once_loaded() -> None:
    probe = """
import sys
from agentcron import lazy
found = lazy.module("agentcron.domain.original")
assert type(found).__name__ == "_LazyModule" and "agentcron.domain.planner" not in sys.modules
assert found.imported is not None  # first use: the module runs, with what it imports
assert type(found).__name__ == "module" and "agentcron.domain.planner" in sys.modules
assert lazy.module("agentcron.domain.original") is found
try:
    lazy.module("agentcron.no_such_module")
except ModuleNotFoundError:
    pass
else:
    raise AssertionError("an unknown module must fail at once")
"""
    subprocess.run([sys.executable, "-c", probe], check=True, cwd=ROOT, timeout=60)


def test_model_modules_keep_their_annotations_evaluated() -> None:
    """Pydantic compiles every string annotation back into a type at each cold start (see the domain package's
    docstring): a module defining models must not turn its annotations into strings."""
    package = ROOT / "layers/agentcron/agentcron"
    modules = [*(package / "domain").glob("*.py"), package / "api" / "schemas.py"]
    for path in modules:
        text = path.read_text(encoding="utf-8")
        if "DomainModel)" in text or "(BaseModel)" in text or "(_Body)" in text:
            assert "from __future__ import annotations" not in text, path.name
