"""The Lambda layer as ``sam build`` lays it out, on the Lambda runtime's Python (3.13): the layer's
``requirements.txt`` installed into ``python/`` plus the ``agentcron`` package beside it, nothing else.
Every module of the layer and each function's handler must import from exactly that."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "agentcron"
RUNTIME = {**os.environ, "PYENV_VERSION": "3.13.0"}
CHECK = r"""
import importlib, importlib.util, pkgutil, sys
import agentcron
assert agentcron.__file__.startswith(sys.argv[1]), agentcron.__file__
modules = [m.name for m in pkgutil.walk_packages(agentcron.__path__, "agentcron.")]
for name in modules:
    importlib.import_module(name)
for function in sys.argv[2:]:
    spec = importlib.util.spec_from_file_location(f"fn_{function}", f"functions/{function}/app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert callable(module.lambda_handler)
print(len(modules), "modules")
"""


def _python313() -> str:
    found = shutil.which("python3.13")
    if found is None or subprocess.run([found, "--version"], env=RUNTIME, capture_output=True).returncode:
        pytest.skip("Python 3.13 (the Lambda runtime's version) is not installed here")
    return found


def _build(python: str) -> Path:
    """``python/`` of the layer (cached per requirements; the package is copied afresh every time)."""
    requirements = (LAYER / "requirements.txt").read_bytes()
    built = ROOT / "build" / f"layer-py313-{hashlib.sha256(requirements).hexdigest()[:12]}"
    deps = built / "deps"
    if not (deps / ".complete").exists():
        shutil.rmtree(deps, ignore_errors=True)
        subprocess.run(
            [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--target", str(deps),
             "-r", str(LAYER / "requirements.txt")],
            env=RUNTIME, check=True, timeout=600,
        )
        (deps / ".complete").touch()
    site = built / "python"
    shutil.rmtree(site, ignore_errors=True)
    shutil.copytree(deps, site, ignore=shutil.ignore_patterns(".complete"))
    shutil.copytree(LAYER / "agentcron", site / "agentcron", ignore=shutil.ignore_patterns("__pycache__"))
    return site


def test_every_layer_module_and_handler_imports_on_the_lambda_runtime(tmp_path: Path) -> None:
    python = _python313()
    site = _build(python)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYENV_VERSION": "3.13.0",
        "PYTHONPATH": str(site),  # the layer alone: not the project's virtualenv, not the source tree
        "PYTHONNOUSERSITE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    result = subprocess.run(
        [python, "-s", "-c", CHECK, str(site), "claim", "executor", "api"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
