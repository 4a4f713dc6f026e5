"""``agentcron import FILE``: bring the original system's store file (``schedules.json``) over.

The file goes to the API's ``POST /imports`` as it is (against the local stack, ``--api-url`` or ``--stack``,
like every command), so a deployed stack imports exactly as the local one: the API decides what each entry
becomes, refuses a file with any bad entry whole, and recognises a second identical import. ``--dry-run``
asks it what would be created, updated or left unchanged and writes nothing.

A file larger than one request may carry (:data:`PART_BYTES`) is sent in parts, a few schedules each with
their run records: every part is first sent as a dry run, and only when all of them pass are they sent for
real, so a bad entry anywhere still writes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from agentcron.cli.client import ApiClient, ApiReply
from agentcron.cli.specs import read_spec

PART_BYTES = 4 * 1024 * 1024  # under the API's 5 MB for /imports, with room for escaping
HELP = "import the original system's store file (schedules.json): schedules, state and run history"


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``import`` command to the CLI's top-level subparsers."""
    sub = groups.add_parser("import", parents=[common], help=HELP, description=HELP)
    sub.add_argument("file", metavar="FILE", help="the original's store file (JSON), or - for stdin")
    sub.add_argument("--dry-run", action="store_true", help="print what would change; write nothing")
    sub.set_defaults(handler=import_file, show=show_report)


def parts(data: dict[str, Any], limit: int = PART_BYTES) -> list[dict[str, Any]]:
    """The store file as one or more files of at most about ``limit`` bytes, each schedule with its runs."""
    if len(json.dumps(data)) <= limit:
        return [data]
    schedules = data.get("schedules") or {}
    records = data.get("run_records") or {}
    out: list[dict[str, Any]] = []
    current: dict[str, Any] = {"schedules": {}, "run_records": {}}
    size = 0
    for schedule_id, entry in schedules.items():
        runs = {k: v for k, v in records.items() if isinstance(v, dict) and v.get("schedule_id") == schedule_id}
        grown = len(json.dumps({schedule_id: entry})) + len(json.dumps(runs))
        if current["schedules"] and size + grown > limit:
            out.append(current)
            current, size = {"schedules": {}, "run_records": {}}, 0
        current["schedules"][schedule_id] = entry
        current["run_records"].update(runs)
        size += grown
    out.append(current)
    if "version" in data:
        for part in out:
            part["version"] = data["version"]
    return out


def _post(client: ApiClient, body: dict[str, Any], dry_run: bool) -> ApiReply:
    return client.request("POST", "/imports", query={"dry_run": dry_run}, body=body)


FILE_KEYS = ("version", "updated_at", "schedules", "run_records")  # what the API's StoreFile declares


def import_file(client: ApiClient, args: argparse.Namespace) -> ApiReply:
    data = read_spec(args.file)
    pieces = parts({key: data[key] for key in FILE_KEYS if data.get(key) is not None})
    if len(pieces) > 1:  # all parts checked before any is written
        for piece in pieces:
            reply = _post(client, piece, True)
            if not reply.ok:
                return _refused(reply)
    replies = []
    for piece in pieces:
        reply = _post(client, piece, args.dry_run)
        if not reply.ok:
            return _refused(reply)
        replies.append(reply)
    merged = dict(replies[0].body)
    for reply in replies[1:]:
        for key, value in reply.body.items():
            if isinstance(value, list | int) and not isinstance(value, bool):
                merged[key] = merged[key] + value
    replies[0].body = merged
    return replies[0]


def _refused(reply: ApiReply) -> ApiReply:
    """Every bad entry on its own line (id and field); the summary line follows from the CLI."""
    problems = (reply.body or {}).get("errors") if isinstance(reply.body, dict) else None
    for problem in problems or []:
        print(f"invalid: {problem.get('field')}: {problem.get('message')}", file=sys.stderr)
    return reply


def show_report(body: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [f"{action:<10} {schedule_id}" for action in ("created", "updated", "unchanged")
             for schedule_id in body.get(action) or []]
    counts = {action: len(body.get(action) or []) for action in ("created", "updated", "unchanged")}
    total = sum(counts.values())
    verb = "would be" if body.get("dry_run") else "were"
    summary = (
        f"{total} schedule(s): {counts['created']} created, {counts['updated']} updated, "
        f"{counts['unchanged']} unchanged; {body.get('runs_imported', 0)} run record(s) {verb} added"
    )
    lines.append(summary)
    if body.get("workflow_disabled"):
        ids = ", ".join(body["workflow_disabled"])
        lines.append(f"{len(body['workflow_disabled'])} imported disabled (workflow_target cannot run here): {ids}")
    if body.get("orphan_runs"):
        lines.append(f"{body['orphan_runs']} run record(s) of no schedule in the file were left out")
    if body.get("dry_run"):
        lines.append("dry run: nothing was written")
    return "\n".join(lines)
