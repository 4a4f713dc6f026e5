"""The CLI's pure pieces: argument parsing (aliases, -o, --version), tables with capped columns, the YAML
writer, the apply comparison, the confirmation rule and the shell completion scripts."""

from __future__ import annotations

import io
import os
import shutil
import subprocess

import pytest

from agentcron.cli import build_parser, main, render
from agentcron.cli.context import Context
from agentcron.cli.manifests import changes_for, patch_between, same, spec_of
from agentcron.cli.output import to_yaml
from agentcron.cli.specs import SpecError

yaml = pytest.importorskip("yaml")


def test_version_and_the_short_aliases(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip().startswith("agentcron 0.")
    parser = build_parser()
    assert parser.parse_args(["schedule", "ls"]).run.handler.__name__ == "list_schedules"
    assert parser.parse_args(["schedules", "rm", "x", "--yes"]).yes is True
    args = parser.parse_args(["schedules", "list", "-o", "wide"])
    assert args.output == "wide"
    assert parser.parse_args(["--json", "schedules", "get", "x"]).output == "json"
    assert main(["schedules", "list", "-o", "xml"]) == 2


def _schedule(**fields: object) -> dict:
    base = {
        "id": "s1",
        "name": "short",
        "enabled": True,
        "trigger": {"type": "interval", "every_seconds": 60},
        "timezone": None,
        "state": {"next_fire_at": "2026-03-01T09:00:00Z", "total_run_count": 3},
    }
    return {**base, **fields}


def test_a_long_name_is_cut_in_the_table_and_whole_in_wide() -> None:
    long_name = "A very long schedule name that goes on and on and on and on"
    out = render.schedules_table([_schedule(), _schedule(id="s2", name=long_name)])
    lines = out.splitlines()
    assert len({len(line.split("  ")[0]) for line in lines}) == 1  # the ID column: one width
    assert "A very long schedule name that…" in out and long_name not in out
    assert max(len(line) for line in lines) < 110
    wide = render.schedules_table([_schedule(id="s2", name=long_name)], wide=True)
    assert long_name in wide and wide.splitlines()[0].endswith("VERSION  UPDATED BY  NOTE")


def test_a_finished_once_shows_as_finished_and_a_paused_one_as_paused() -> None:
    finished = _schedule(enabled=False, pause_note="finished: its once trigger fired (2026-03-01T09:00:00Z)")
    paused = _schedule(id="s2", enabled=False, pause_note="lunch")
    silent = _schedule(id="s3", enabled=False)
    assert [render.status(s) for s in (finished, paused, silent)] == ["finished", "paused", "paused"]
    assert render.status(_schedule(enabled=False, pause_note="ended after max_runs (3) runs")) == "finished"
    detail = render.schedule_detail(finished)
    assert "enabled         finished: its once trigger fired (2026-03-01T09:00:00Z)\n" in detail
    assert "enabled         paused: lunch\n" in render.schedule_detail(paused)


def test_a_missing_timezone_reads_utc_as_the_api_names_it_in_fire_times() -> None:
    assert render.zone_name(_schedule()) == "UTC"
    assert "UTC" in render.schedules_table([_schedule()]).splitlines()[1].split()


def test_the_yaml_writer_reads_back_to_the_same_data() -> None:
    data = {
        "id": "x",
        "yes": "no",
        "true": True,
        "n": None,
        "num": 1.5,
        "list": [1, "two", {"a": [], "b": {}}, [3, 4]],
        "text": "line one\nline: two # not a comment",
        "empty": "",
        "at": "2026-03-01T09:00:00Z",
        "odd key: x": "é",
    }
    assert yaml.safe_load(to_yaml(data)) == data


def test_the_apply_comparison_ignores_what_the_server_fills_in() -> None:
    stored = {
        "id": "x",
        "trigger": {"type": "interval", "every_seconds": 60, "anchor_at": "2026-03-01T00:00:00Z"},
        "start_at": "2026-03-01T00:00:00Z",
        "timezone": None,
        "run_config": {"model": "echo", "task_message": "t"},
        "state": {"next_fire_at": "2026-03-01T00:01:00Z"},
        "version": 3,
    }
    wanted = {
        "id": "x",
        "trigger": {"type": "interval", "every_seconds": 60},
        "start_at": "2026-03-01T00:00:00+00:00",
    }
    assert changes_for(wanted, stored) == {}
    assert changes_for({**wanted, "timezone": None}, stored) == {}
    assert changes_for({**wanted, "timezone": "UTC"}, stored) == {"timezone": "UTC"}
    assert changes_for({"id": "x", "run_config": {"model": "echo"}}, stored) == {}
    assert not same(1, 1.0) and not same(True, 1) and same([{"a": 1}], [{"a": 1, "b": 2}])
    assert spec_of(stored) == {
        "id": "x",
        "trigger": stored["trigger"],
        "start_at": "2026-03-01T00:00:00Z",
        "run_config": stored["run_config"],
    }


def test_an_edit_sends_nulls_for_what_was_removed() -> None:
    old = {
        "id": "x",
        "name": "a",
        "timezone": "Europe/Berlin",
        "run_config": {"model": "echo", "task_message": "t"},
    }
    new = {"id": "x", "name": "b", "run_config": {"model": "echo"}}
    assert patch_between(old, new) == {
        "name": "b",
        "timezone": None,
        "run_config": {"model": "echo", "task_message": None},
    }
    assert patch_between(old, old) == {}


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_confirmation_without_a_terminal_is_a_usage_error_not_a_wait() -> None:
    errors = io.StringIO()
    ctx = Context({}, stdin=io.StringIO("y\n"), stderr=errors)
    with pytest.raises(SpecError, match="pass --yes"):
        ctx.confirm("Delete?", assume_yes=False)
    assert ctx.confirm("Delete?", assume_yes=True)
    assert Context({}, stdin=_Tty("y\n"), stderr=errors).confirm("Delete?", assume_yes=False)
    assert not Context({}, stdin=_Tty("\n"), stderr=errors).confirm("Delete?", assume_yes=False)
    assert not Context({}, stdin=_Tty(""), stderr=errors).confirm("Delete?", assume_yes=False)  # end of input


def _complete(script: str, shell: str, words: list[str]) -> list[str]:
    line = " ".join(f"'{w}'" for w in words)
    # zsh runs a bash completion function through bashcompinit, which turns on ksharrays (0-based arrays)
    arrays = "setopt ksharrays; " if shell == "zsh" else ""
    program = f"""{script}
{arrays}COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _agentcron; printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    done = subprocess.run([shell, "-c", program], capture_output=True, text=True, timeout=30, check=True)
    # zsh's compgen leaves the matching to compadd, which keeps the candidates starting with the word typed
    return [w for w in done.stdout.split() if w.startswith(words[-1])]


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_the_completion_scripts_complete_commands_aliases_options_and_choices(
    shell: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if shutil.which(shell) is None:
        if os.environ.get("CI"):  # .ci/run installs it: a missing shell there is a failure, not a skip
            pytest.fail(f"{shell} is not installed")
        pytest.skip(f"{shell} is not installed")
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert _complete(script, shell, ["agentcron", "sch"]) == ["schedule", "schedules"]
    assert {"apply", "export", "edit", "ls", "rm"} <= set(
        _complete(script, shell, ["agentcron", "schedules", ""])
    )
    assert sorted(_complete(script, shell, ["agentcron", "schedules", "list", "-o", ""])) == [
        "json",
        "table",
        "wide",
        "yaml",
    ]
    assert "--watch" in _complete(script, shell, ["agentcron", "schedule", "runs", "--w"])
    assert _complete(script, shell, ["agentcron", "dlq", "re"]) == ["redrive"]
    assert "--prune" in _complete(script, shell, ["agentcron", "--json", "schedules", "apply", "--p"])
