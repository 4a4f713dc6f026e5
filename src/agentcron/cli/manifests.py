"""Schedules as spec files: ``apply -f FILE|DIR [--prune]``, ``export -d DIR`` and ``edit ID``.

A spec file holds one schedule: what a user writes (the body of ``POST /schedules``, ``id`` required here),
never what the server owns (``state``, ``version``, ``created_*``, ``updated_*``). ``export`` writes each
schedule that way (``ID.json``, or ``ID.yaml`` with ``--format yaml``), so ``apply`` reads it back as
"unchanged": that pair keeps schedules across restarts of the local stack, whose state lives in memory.

``apply`` creates a schedule whose id is new and otherwise changes only the fields the file states that
differ from the stored ones (one PATCH, guarded by the ETag it compared with); a field the file leaves out
keeps its stored value (write ``null`` to reset it). So applying the same files twice changes nothing the
second time, and the server's own changes (a claim's state, a finished ``once``) never make a file look
different. ``--prune`` then deletes the schedules of the files' projects (or ``--project``) that no file
names, after one confirmation.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from agentcron.cli import output
from agentcron.cli.client import segment
from agentcron.cli.context import EXIT_API_ERROR, EXIT_OK, ApiFailed, Context, report_error
from agentcron.cli.specs import SpecError, read_spec

SERVER_FIELDS = ("state", "version", "created_at", "updated_at", "created_by", "updated_by")
MERGED_FIELDS = frozenset({"run_config"})  # PATCH merges this object's keys (application/patch.py)
SPEC_SUFFIXES = (".json", ".yaml", ".yml")


def spec_of(schedule: dict[str, Any]) -> dict[str, Any]:
    """The spec file of a schedule as the API serves it: no server-owned fields, no nulls."""
    return _without_nulls({k: v for k, v in schedule.items() if k not in SERVER_FIELDS})


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def same(wanted: Any, stored: Any) -> bool:
    """True when ``wanted`` (a file's value) says nothing ``stored`` does not: every key the file gives is
    equal (objects key by key, so fields the server fills in do not count), instants compared as instants
    (``+00:00`` and ``Z`` are one time), ``null`` equal to a missing value."""
    if wanted is None:
        return stored is None
    if isinstance(wanted, dict):
        return isinstance(stored, dict) and all(same(v, stored.get(k)) for k, v in wanted.items())
    if isinstance(wanted, list):
        return (
            isinstance(stored, list)
            and len(wanted) == len(stored)
            and all(same(w, s) for w, s in zip(wanted, stored, strict=True))
        )
    if isinstance(wanted, str) and isinstance(stored, str) and wanted != stored:
        return _instant(wanted) is not None and _instant(wanted) == _instant(stored)
    return wanted == stored and type(wanted) is type(stored)


def _instant(text: str) -> datetime | None:
    if len(text) < 19 or text[4:5] != "-" or "T" not in text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def changes_for(wanted: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """The PATCH body that makes ``stored`` say what ``wanted`` says (its differing top-level fields)."""
    return {
        key: value
        for key, value in wanted.items()
        if key != "id" and key not in SERVER_FIELDS and not same(value, stored.get(key))
    }


def patch_between(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The PATCH body from spec ``old`` to spec ``new``: changed fields, and ``null`` for removed ones (in
    ``run_config`` key by key, since PATCH merges it)."""
    body = changes_for(new, old)
    for key in old:
        if key not in new and key != "id":
            body[key] = None
    for key in MERGED_FIELDS:
        if isinstance(new.get(key), dict) and isinstance(old.get(key), dict):
            removed = {k: None for k in old[key] if k not in new[key]}
            if removed:
                body[key] = {**(body.get(key) or new[key]), **removed}
    return body


# --------------------------------------------------------------------------- apply


def spec_files(source: str) -> list[Path]:
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SPEC_SUFFIXES)
        if not files:
            raise SpecError(f"{source} holds no spec file (*.json, *.yaml, *.yml)")
        return files
    if not path.exists() and source != "-":
        raise SpecError(f"cannot read {source}: no such file or directory")
    return [path]


def _read_all(sources: list[str]) -> list[tuple[str, dict[str, Any]]]:
    specs: list[tuple[str, dict[str, Any]]] = []
    named: dict[str, str] = {}
    for source in sources:
        for path in spec_files(source):
            spec = read_spec(str(path))
            schedule_id = spec.get("id")
            if not isinstance(schedule_id, str) or not schedule_id:
                raise SpecError(f"{path}: apply needs an id in every spec (it creates or updates by id)")
            if schedule_id in named:
                raise SpecError(f"{path}: id {schedule_id} is also in {named[schedule_id]}")
            named[schedule_id] = str(path)
            specs.append((str(path), spec))
    return specs


def apply(ctx: Context, args: argparse.Namespace) -> int:
    specs = _read_all(args.file)
    results: list[dict[str, Any]] = []
    failed = 0
    for source, spec in specs:
        if args.project:
            spec = {**spec, "project_id": spec.get("project_id") or args.project}
        try:
            result = _apply_one(ctx, spec)
        except ApiFailed as exc:
            failed += 1
            ctx.warn(f"{source}:")
            report_error(ctx, exc.reply)
            continue
        results.append(result)
        _say_result(ctx, result)
    if args.prune:
        projects = {args.project} if args.project else {s.get("project_id") or "default" for _, s in specs}
        keep = {s["id"] for _, s in specs}
        pruned = _prune(ctx, projects, keep, assume_yes=args.yes)
        if pruned is None:
            return EXIT_OK if not failed else EXIT_API_ERROR
        for schedule_id in pruned:
            result = {"id": schedule_id, "result": "deleted"}
            results.append(result)
            _say_result(ctx, result)
    if ctx.structured:
        ctx.dump(results)
    return EXIT_API_ERROR if failed else EXIT_OK


def _say_result(ctx: Context, result: dict[str, Any]) -> None:
    if ctx.structured:
        return
    fields = f" ({', '.join(result['fields'])})" if result.get("fields") else ""
    ctx.say(f"{result['result']:<9}  {result['id']}{fields}")


def _apply_one(ctx: Context, spec: dict[str, Any]) -> dict[str, Any]:
    path = f"/schedules/{segment(spec['id'])}"
    current = ctx.client.request("GET", path)
    if current.status == 404:
        ctx.call("POST", "/schedules", body=spec)
        return {"id": spec["id"], "result": "created"}
    if not current.ok:
        raise ApiFailed(current)
    changes = changes_for(spec, current.body)
    if not changes:
        return {"id": spec["id"], "result": "unchanged"}
    headers = {"If-Match": current.headers["etag"]} if current.headers.get("etag") else None
    ctx.call("PATCH", path, body=changes, headers=headers)
    return {"id": spec["id"], "result": "updated", "fields": sorted(changes)}


def list_all(ctx: Context, project: str | None = None) -> list[dict[str, Any]]:
    """Every schedule the caller sees (of ``project``), following the cursor."""
    schedules: list[dict[str, Any]] = []
    query: dict[str, Any] = {"project_id": project, "limit": 100}
    while True:
        body = ctx.call("GET", "/schedules", query=query).body or {}
        schedules += body.get("schedules") or []
        if not body.get("next_cursor"):
            return schedules
        query["cursor"] = body["next_cursor"]


def _prune(ctx: Context, projects: set[str], keep: set[str], *, assume_yes: bool) -> list[str] | None:
    """Delete the schedules of ``projects`` not in ``keep`` after one confirmation; None when declined."""
    doomed = sorted(s["id"] for project in projects for s in list_all(ctx, project) if s["id"] not in keep)
    if not doomed:
        return []
    shown = ", ".join(doomed[:20]) + (f" and {len(doomed) - 20} more" if len(doomed) > 20 else "")
    scope = ", ".join(sorted(projects))
    question = f"Prune: delete {len(doomed)} schedule(s) of project {scope} that no file names ({shown})?"
    if not ctx.confirm(question, assume_yes=assume_yes):
        ctx.warn("nothing pruned")
        return None
    for schedule_id in doomed:
        ctx.call("DELETE", f"/schedules/{segment(schedule_id)}")
    return doomed


# --------------------------------------------------------------------------- export


def export(ctx: Context, args: argparse.Namespace) -> int:
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for schedule in list_all(ctx, args.project):
        spec = spec_of(schedule)
        target = folder / f"{schedule['id']}.{args.format}"
        target.write_text(output.dump(spec, args.format) + "\n", encoding="utf-8")
        written.append({"id": schedule["id"], "file": str(target)})
        if not ctx.structured:
            ctx.say(f"exported  {schedule['id']}  -> {target}")
    if ctx.structured:
        ctx.dump(written)
    elif not written:
        ctx.say("no schedules to export")
    return EXIT_OK


# --------------------------------------------------------------------------- edit


def edit(ctx: Context, args: argparse.Namespace) -> int:
    """Open the schedule's spec in ``$EDITOR``; save the changes with ``If-Match`` of the version opened, so
    an edit made meanwhile by someone else is a 409 rather than lost (the edited file is kept and named)."""
    path = f"/schedules/{segment(args.schedule_id)}"
    reply = ctx.call("GET", path)
    before = spec_of(reply.body)
    etag = reply.headers.get("etag")
    handle, name = tempfile.mkstemp(prefix=f"agentcron-{args.schedule_id}-", suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(output.to_json(before) + "\n")
    keep = True
    try:
        code = ctx.editor(name)
        if code != 0:
            raise SpecError(f"the editor exited with {code}; nothing saved (your edit is in {name})")
        try:
            after = read_spec(name)
        except SpecError as exc:
            raise SpecError(f"{exc}; nothing saved (your edit is in {name})") from None
        if after.get("id", before["id"]) != before["id"]:
            raise SpecError(f"the id cannot change; nothing saved (your edit is in {name})")
        body = patch_between(before, after)
        if not body:
            ctx.say(f"unchanged  {args.schedule_id}")
            keep = False
            return EXIT_OK
        try:
            saved = ctx.call("PATCH", path, body=body, headers={"If-Match": etag} if etag else None)
        except ApiFailed:
            ctx.warn(
                f"not saved; your edit is in {name} (apply it with: agentcron schedules apply -f {name})"
            )
            raise
        keep = False
        if ctx.structured:
            ctx.dump(saved.body)
        else:
            ctx.say(
                f"updated  {args.schedule_id} ({', '.join(sorted(body))}); "
                f"version {saved.body.get('version')}"
            )
        return EXIT_OK
    finally:
        if not keep:
            Path(name).unlink(missing_ok=True)


# --------------------------------------------------------------------------- parser


def register(command: Callable[..., argparse.ArgumentParser], schedule_id: Any, yes: Any) -> None:
    sub = command("apply", apply, "create or update schedules from spec files, by id (idempotent)")
    sub.add_argument(
        "-f",
        "--file",
        action="append",
        required=True,
        metavar="FILE|DIR",
        help="a spec file (.json, .yaml/.yml), a folder of them, or - for stdin; repeatable",
    )
    sub.add_argument("--project", help="the project of specs that name none (and of --prune)")
    sub.add_argument(
        "--prune",
        action="store_true",
        help="then delete the project's schedules that no file names (asks first)",
    )
    yes(sub)

    sub = command("export", export, "write every schedule as a spec file that apply reads back")
    sub.add_argument("-d", "--dir", required=True, metavar="DIR", help="folder to write ID.json files in")
    sub.add_argument("--project", help="only this project's schedules")
    sub.add_argument("--format", choices=("json", "yaml"), default="json", help="file format (json)")

    sub = command("edit", edit, "edit a schedule's spec in $EDITOR, saved with its ETag (If-Match)")
    schedule_id(sub)
