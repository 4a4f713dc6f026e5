"""`agentcron import` end to end: the local stack started as a user does, the CLI pointed at it, the original
system's store files of tests/data/original imported (dry run, for real, again, broken)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentcron.cli import main as cli

DATA = Path(__file__).resolve().parents[1] / "data" / "original"


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    examples = tmp_path_factory.mktemp("no-examples")
    process = subprocess.Popen(
        [sys.executable, "-m", "agentcron.local", "--api-port", "0", "--for", "180", "--examples", str(examples),
         "--executors", "1", "--executor-processes", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    url = None
    assert process.stdout is not None
    for line in process.stdout:
        output.append(line)
        match = re.search(r"API on (http://127\.0\.0\.1:\d+)", line)
        if match:
            url = match.group(1)
        if "claim loop and executors running" in line:
            break
    assert url, "".join(output)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_through_the_cli(api_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    good, broken = str(DATA / "schedules.json"), str(DATA / "broken.json")
    # a broken file: non-zero, each bad entry named by id and field, nothing written
    code, _, err = run(capsys, "import", broken, "--api-url", api_url)
    assert code == 1, err
    assert "invalid: schedules.digest.trigger.hour" in err
    assert "invalid: schedules.weekly-report.run_config.reasoning_effort" in err
    assert "invalid: run_records.c1d2e3f4-0000-4000-8000-000000000001.status" in err
    code, out, _ = run(capsys, "schedules", "list", "--json", "--api-url", api_url)
    assert json.loads(out)["schedules"] == []
    # a dry run says what would happen and writes nothing
    code, out, _ = run(capsys, "import", good, "--dry-run", "--api-url", api_url)
    assert code == 0 and "6 created, 0 updated, 0 unchanged" in out and "dry run: nothing was written" in out
    assert "imported disabled (workflow_target cannot run here): flow" in out
    code, out, _ = run(capsys, "schedules", "list", "--json", "--api-url", api_url)
    assert json.loads(out)["schedules"] == []
    # the import, then the same again: nothing changes the second time
    code, out, _ = run(capsys, "import", good, "--api-url", api_url)
    assert code == 0 and "6 created" in out and "5 run record(s) were added" in out, out
    code, out, _ = run(capsys, "import", good, "--api-url", api_url)
    assert code == 0 and "0 created, 0 updated, 6 unchanged" in out, out
    # the history came along
    code, out, _ = run(capsys, "schedules", "runs", "digest", "--json", "--api-url", api_url)
    runs = json.loads(out)["runs"]
    assert [r["status"] for r in runs] == ["missed", "failed", "success"]
    code, out, _ = run(capsys, "schedules", "get", "digest", "--json", "--api-url", api_url)
    digest = json.loads(out)
    assert digest["state"]["total_run_count"] == 12 and digest["run_config"]["model"] == "openai:gpt-4o-mini"
