"""The pinned environments: `make run` installs what running needs, `make test` / `make bench` the rest."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST_AND_BENCH_TOOLS = {
    "pytest",
    "pytest-xdist",
    "hypothesis",
    "cfn-lint",
    "schemathesis",
    "playwright",
    "apscheduler",
    "sqlalchemy",
    "aws-sam-translator",
}


def _pins(name: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            package, _, version = line.partition("==")
            pins[re.sub(r"[-_.]+", "-", package.lower())] = version
    return pins


def test_the_run_environment_has_no_test_or_bench_tool_and_the_same_pins_as_the_dev_one() -> None:
    run, dev = _pins("requirements-run.txt"), _pins("requirements-dev.txt")
    assert not TEST_AND_BENCH_TOOLS & set(run)
    assert {name: dev.get(name) for name in run} == run
    assert {"moto", "flask", "boto3", "aws-lambda-powertools", "croniter", "pydantic", "pyyaml"} <= set(run)


def test_make_run_installs_the_run_environment_and_make_test_the_dev_one() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run: venv-run$", makefile, re.M)
    assert re.search(r"^test: venv lint\b", makefile, re.M) and re.search(r"^bench: venv$", makefile, re.M)
    assert "pip install -q -r requirements-run.txt" in makefile.split("$(VENV)/.installed:")[0]
    assert "pip install -q -r requirements-dev.txt" in makefile.split("$(VENV)/.installed:")[1]
