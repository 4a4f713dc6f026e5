"""``agentcron schedules`` (alias ``schedule``): schedules, their runs and sessions.

Most commands are one request and one reply (``Handler`` + a ``show`` for tables); the ones with several
steps (``apply``, ``export``, ``edit``, ``runs --watch``) live in :mod:`agentcron.cli.manifests` and
:mod:`agentcron.cli.watch` and register here.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from agentcron.cli import render
from agentcron.cli.client import ApiClient, ApiReply, segment
from agentcron.cli.context import EXIT_OK, ApiFailed, Context
from agentcron.cli.manifests import MERGED_FIELDS
from agentcron.cli.specs import SpecError, parse_assignments, read_spec

OVERLAP_POLICIES = ("allow", "skip", "queue_one", "cancel_other", "queue_all")
RUN_STATUSES = ("queued", "running", "success", "failed", "skipped", "missed", "cancelled", "timed_out")

Handler = Callable[[ApiClient, argparse.Namespace], ApiReply]
Show = Callable[[dict[str, Any], argparse.Namespace], str]


# --------------------------------------------------------------------------- commands


def one_request(handler: Handler, show: Show) -> Callable[[Context, argparse.Namespace], int]:
    """A command of one request: its reply as a table (``show``), or as the API's data (``-o json|yaml``)."""

    def run(ctx: Context, args: argparse.Namespace) -> int:
        args.wide = ctx.wide
        reply = handler(ctx.client, args)
        if not reply.ok:
            raise ApiFailed(reply)
        if ctx.structured:
            ctx.dump(reply.body)
        else:
            ctx.say(show(reply.body or {}, args))
        return EXIT_OK

    run.handler = handler  # type: ignore[attr-defined]  # (tests and the completion walk the tree)
    return run


def _schedule_path(args: argparse.Namespace, *rest: str) -> str:
    return "/".join(["/schedules", segment(args.schedule_id), *rest])


def _headers(**values: str | None) -> dict[str, str]:
    names = {"if_match": "If-Match", "idempotency_key": "Idempotency-Key"}
    return {names[k]: _etag(v) if k == "if_match" else v for k, v in values.items() if v}


def _etag(value: str) -> str:
    return value if value.startswith(('"', "W/")) or value == "*" else f'"{value}"'


def create(client: ApiClient, args: argparse.Namespace) -> ApiReply:
    spec = read_spec(args.file)
    if args.imported:
        from agentcron.domain.schedule import imported

        spec = imported(spec)
    if args.project:
        named = spec.get("project_id") or (spec.get("run_config") or {}).get("project_id")
        if named and named != args.project:
            raise SpecError(f"the spec names project {named!r}, not {args.project!r} (--project)")
        spec["project_id"] = args.project
    return client.request(
        "POST", "/schedules", body=spec, headers=_headers(idempotency_key=args.idempotency_key)
    )


def list_schedules(client: ApiClient, args: argparse.Namespace) -> ApiReply:
    query: dict[str, Any] = {
        "enabled": args.enabled,
        "project_id": args.project,
        "limit": args.limit,
        "cursor": args.cursor,
    }
    reply = client.request("GET", "/schedules", query=query)
    schedules = list((reply.body or {}).get("schedules") or []) if reply.ok else []
    while args.all and reply.ok and reply.body.get("next_cursor"):
        reply = client.request("GET", "/schedules", query={**query, "cursor": reply.body["next_cursor"]})
        if reply.ok:
            schedules += reply.body.get("schedules") or []
    if args.all and reply.ok:
        reply.body = {"schedules": schedules, "next_cursor": None}
    return reply


def get(client: ApiClient, args: argparse.Namespace) -> ApiReply:
    return client.request("GET", _schedule_path(args))


def update(client: ApiClient, args: argparse.Namespace) -> ApiReply:
    """PATCH the changes of ``-f`` and ``--set``. A dotted ``--set`` (``trigger.every_seconds=45``) changes
    one field inside an object: the object is read, changed and sent whole (PATCH replaces an object but
    ``run_config`` as a whole), guarded by the ETag it was read at unless ``--if-match`` says otherwise."""
    changes: dict[str, Any] = read_spec(args.file) if args.file else {}
    pairs = args.set or []
    if not changes and not pairs:
        raise SpecError("nothing to change: give -f FILE and/or --set key=value")
    if_match = args.if_match
    dotted = [pair for pair in pairs if "." in pair.partition("=")[0]]
    if dotted:
        current = client.request("GET", _schedule_path(args))
        if not current.ok:
            return current
        if_match = if_match or current.headers.get("etag")
        changes = nest_into(current.body, changes, pairs)
    else:
        changes.update(parse_assignments(pairs))
    return client.request("PATCH", _schedule_path(args), body=changes, headers=_headers(if_match=if_match))


def nest_into(current: dict[str, Any], changes: dict[str, Any], pairs: list[str]) -> dict[str, Any]:
    """``changes`` plus the ``--set`` pairs: a plain key sets the field (a JSON object replaces it whole), a
    dotted key changes one field inside the schedule's current object of that name (as ``changes`` left
    it), so the PATCH carries the whole object.

    Walking into a field that holds a value, not an object (``name.x=1``), is a usage error; a key the API
    does not know is left for the API to refuse, naming it (its strict input is the one list of fields)."""
    out = dict(changes)
    for pair in pairs:
        assignment = parse_assignments([pair])
        (key, value), dotted = next(iter(assignment.items())), "." in pair.partition("=")[0]
        if not dotted:
            out[key] = value
            continue
        if key in MERGED_FIELDS:  # PATCH merges its keys itself (a null removes one): send the change only
            out[key] = {**(out.get(key) or {}), **value}
            continue
        base = out.get(key, current.get(key))
        if base is not None and not isinstance(base, dict):
            raise SpecError(f"--set {pair.partition('=')[0]}: {key} is {type(base).__name__}, not an object")
        out[key] = _merged(base or {}, value, key)
    return out


def _merged(base: dict[str, Any], update: dict[str, Any], path: str) -> dict[str, Any]:
    """``base`` with the one dotted assignment ``update`` (nested dicts down to the value) applied."""
    merged = {k: v for k, v in base.items() if v is not None}
    for key, value in update.items():
        here = merged.get(key)
        if isinstance(value, dict) and isinstance(here, dict):
            merged[key] = _merged(here, value, f"{path}.{key}")
        elif isinstance(value, dict) and here is not None:
            raise SpecError(f"--set {path}.{key}.…: {path}.{key} is {type(here).__name__}, not an object")
        elif value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def pause(client: ApiClient, args: argparse.Namespace) -> ApiReply:
    body = {"note": args.note} if args.note else None
    return client.request(
        "POST", _schedule_path(args, "pause"), body=body, headers=_headers(if_match=args.if_match)
    )


def resume(client: ApiClient, args: argparse.Namespace) -> ApiReply:
    return client.request("POST", _schedule_path(args, "resume"), headers=_headers(if_match=args.if_match))


def delete(client: ApiClient, args: argparse.Namespace) -> ApiReply:
    reply = client.request("DELETE", _schedule_path(args), headers=_headers(if_match=args.if_match))
    if reply.ok:
        job = reply.body.get("job_id") if isinstance(reply.body, dict) else None  # 202: a purge job goes on
        reply.body = {"schedule_id": args.schedule_id, "deleted": True, "job_id": job}
    return reply


def delete_confirmed(ctx: Context, args: argparse.Namespace) -> int:
    """``delete`` asks first (``--yes`` skips the question; without a terminal ``--yes`` is required)."""
    question = f"Delete schedule {args.schedule_id} with its run records and transcripts?"
    if not ctx.confirm(question, assume_yes=args.yes):
        ctx.warn("not deleted")
        return EXIT_OK
    return one_request(delete, _show_deleted)(ctx, args)


def run_now(client: ApiClient, args: argparse.Namespace) -> ApiReply:
    body = {k: v for k, v in {"task_message": args.task, "overlap_policy": args.overlap}.items() if v}
    headers = _headers(idempotency_key=args.idempotency_key)
    return client.request("POST", _schedule_path(args, "run"), body=body or None, headers=headers)


def backfill(client: ApiClient, args: argparse.Namespace) -> ApiReply:
    body = {"start_at": args.start, "end_at": args.end}
    return client.request("POST", _schedule_path(args, "backfill"), body=body)


def upcoming(client: ApiClient, args: argparse.Namespace) -> ApiReply:
    return client.request("GET", _schedule_path(args, "upcoming"), query={"count": args.count})


def preview(client: ApiClient, args: argparse.Namespace) -> ApiReply:
    return client.request(
        "POST", "/schedules/preview", query={"count": args.count}, body=read_spec(args.file)
    )


def runs(client: ApiClient, args: argparse.Namespace) -> ApiReply:
    if args.run_id:
        return client.request("GET", _schedule_path(args, "runs", segment(args.run_id)))
    query = {"status": args.status, "limit": args.limit, "cursor": args.cursor}
    return client.request("GET", _schedule_path(args, "runs"), query=query)


def cancel(client: ApiClient, args: argparse.Namespace) -> ApiReply:
    return client.request("POST", _schedule_path(args, "runs", segment(args.run_id), "cancel"))


def session(client: ApiClient, args: argparse.Namespace) -> ApiReply:
    """A session by id, or (``--latest ID``) the session of the schedule's newest run that has one."""
    session_id = args.session_id
    if args.latest:
        if session_id:
            raise SpecError("give SESSION_ID or --latest SCHEDULE_ID, not both")
        found = client.request("GET", f"/schedules/{segment(args.latest)}/runs", query={"limit": 20})
        if not found.ok:
            return found
        session_id = next(
            (r["session_id"] for r in found.body.get("runs") or [] if r.get("session_id")), None
        )
        if session_id is None:
            raise SpecError(
                f"no run of {args.latest} has a session yet (see: agentcron schedules runs {args.latest})"
            )
    elif not session_id:
        raise SpecError("give SESSION_ID (see `runs`) or --latest SCHEDULE_ID")
    return client.request("GET", f"/sessions/{segment(session_id)}")


# --------------------------------------------------------------------------- human output


def _show_schedule(body: dict[str, Any], args: argparse.Namespace) -> str:
    return render.schedule_detail(body)


def _show_list(body: dict[str, Any], args: argparse.Namespace) -> str:
    out = render.schedules_table(body.get("schedules") or [], wide=args.wide)
    if body.get("next_cursor"):
        out += f"\n(more: --cursor {body['next_cursor']} or --all)"
    return out


def _show_deleted(body: dict[str, Any], args: argparse.Namespace) -> str:
    if body.get("job_id"):
        return (
            f"deleted schedule {body['schedule_id']}; its run records and transcripts are being deleted "
            f"(job {body['job_id']}, GET /jobs/{body['job_id']})"
        )
    return f"deleted schedule {body['schedule_id']} and its run records"


def _show_run_now(body: dict[str, Any], args: argparse.Namespace) -> str:
    return f"queued run {body['run_id']} of {body['schedule_id']} at {render.when(body.get('enqueued_at'))}"


def _show_backfill(body: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [f"queued {len(body['created'])} run(s); {len(body['existing'])} slot(s) already had a run"]
    lines += [f"  queued   {run_id}" for run_id in body["created"]]
    lines += [f"  existing {run_id}" for run_id in body["existing"]]
    return "\n".join(lines)


def _show_times(body: dict[str, Any], args: argparse.Namespace) -> str:
    zone = body.get("timezone")
    times = body.get("fire_times") or []
    head = "" if body.get("enabled", True) else "(paused: the fires it would have if resumed now)\n"
    if body.get("remaining_runs") is not None:
        head += f"(max_runs: {body['remaining_runs']} more run(s) allowed)\n"
    tail = "".join(
        f"\nexcluded: {render.when(item['at'])} {item['reason']}" for item in body.get("excluded") or []
    )
    if not times:
        return head + "no further fire times" + tail
    windows = body.get("jitter_windows")
    if windows:
        rows = [
            (render.when(t), render.local(t, zone), render.when(w.get("fire_at") or w["end"]))
            if w.get("fire_at")
            else (render.when(t), render.local(t, zone), f"by {render.when(w['end'])}")
            for t, w in zip(times, windows, strict=False)
        ]
        label = f"FIRES (jitter {body.get('jitter_seconds')}s)"
        return head + render.table(("UTC", f"LOCAL ({zone})", label), rows) + tail
    return (
        head
        + render.table(("UTC", f"LOCAL ({zone})"), [(render.when(t), render.local(t, zone)) for t in times])
        + tail
    )


def _show_runs(body: dict[str, Any], args: argparse.Namespace) -> str:
    if "run_id" in body:
        return render.run_detail(body)
    out = render.runs_table(body.get("runs") or [], wide=args.wide)
    if body.get("next_cursor"):
        out += f"\n(more: --cursor {body['next_cursor']})"
    return out


def _show_cancel(body: dict[str, Any], args: argparse.Namespace) -> str:
    if body.get("status") == "cancelled":
        return f"cancelled run {body['run_id']}"
    status = body.get("status")
    return f"cancellation requested: run {body['run_id']} is {status}; its agent stops at the next round"


def _show_session(body: dict[str, Any], args: argparse.Namespace) -> str:
    return render.session_transcript(body)


# --------------------------------------------------------------------------- parser

Command = Callable[..., argparse.ArgumentParser]


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    """The ``schedules`` group (alias ``schedule``) and its commands."""
    from agentcron.cli import manifests, watch

    schedules = groups.add_parser(
        "schedules", aliases=["schedule"], parents=[common], help="schedules, their runs and sessions"
    )
    commands = schedules.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(
        name: str,
        run: Callable[[Context, argparse.Namespace], int],
        help_text: str,
        aliases: tuple[str, ...] = (),
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name, aliases=list(aliases), parents=[common], help=help_text, description=help_text
        )
        sub.set_defaults(run=run)
        return sub

    def simple(name: str, handler: Handler, show: Show, help_text: str, **kw: Any) -> argparse.ArgumentParser:
        return command(name, one_request(handler, show), help_text, **kw)

    sub = simple("create", create, _show_schedule, "create a schedule from a JSON or YAML spec")
    sub.add_argument("-f", "--file", required=True, help="spec file (.json, .yaml/.yml) or - for stdin")
    sub.add_argument("--idempotency-key", help="retrying with the same key creates the schedule once")
    sub.add_argument(
        "--import",
        dest="imported",
        action="store_true",
        help='a file of the original system: spell out its shorthands (misfire_policy "skip", null '
        "policies, weekday names in full) and drop fields this system does not know",
    )
    sub.add_argument("--project", help="create it in this project (sets project_id)")

    sub = simple("list", list_schedules, _show_list, "list schedules", aliases=("ls",))
    sub.add_argument("--project", help="only this project's schedules")
    state = sub.add_mutually_exclusive_group()
    state.add_argument(
        "--enabled",
        dest="enabled",
        action="store_const",
        const=True,
        default=None,
        help="only enabled schedules",
    )
    state.add_argument("--paused", dest="enabled", action="store_const", const=False, help="only paused ones")
    sub.add_argument("--limit", type=int, default=50, help="page size (1-100)")
    sub.add_argument("--cursor", help="continue after a previous page")
    sub.add_argument("--all", action="store_true", help="follow the cursor to the last page")

    sub = simple("get", get, _show_schedule, "show one schedule")
    schedule_id(sub)

    sub = simple("update", update, _show_schedule, "change part of a schedule")
    schedule_id(sub)
    sub.add_argument("-f", "--file", help="partial spec file (.json, .yaml/.yml) or -")
    sub.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="a field to set (JSON values; dotted keys change one field of an object: "
        "trigger.every_seconds=45, run_config.model=echo); repeatable",
    )
    if_match(sub)

    sub = simple("pause", pause, _show_schedule, "pause a schedule")
    schedule_id(sub)
    sub.add_argument("--note", help="why it is paused")
    if_match(sub)

    sub = simple("resume", resume, _show_schedule, "resume a paused schedule (no catch-up of the pause)")
    schedule_id(sub)
    if_match(sub)

    sub = command(
        "delete", delete_confirmed, "delete a schedule and its run records (asks first)", aliases=("rm",)
    )
    schedule_id(sub)
    yes(sub)
    if_match(sub)

    sub = simple("run", run_now, _show_run_now, "run a schedule now")
    schedule_id(sub)
    sub.add_argument("--task", help="task message for this run only")
    sub.add_argument("--overlap", choices=OVERLAP_POLICIES, help="overlap policy for this run only")
    sub.add_argument("--idempotency-key", help="retrying with the same key starts one run")

    sub = simple("backfill", backfill, _show_backfill, "run every slot of a past time range [start, end)")
    schedule_id(sub)
    sub.add_argument("--start", required=True, help="ISO-8601 instant, e.g. 2026-03-01T00:00:00Z")
    sub.add_argument("--end", required=True, help="ISO-8601 instant (exclusive), not in the future")

    sub = simple("upcoming", upcoming, _show_times, "next fire times of a schedule")
    schedule_id(sub)
    sub.add_argument("--count", type=int, default=10, help="how many (1-100)")

    sub = simple("preview", preview, _show_times, "next fire times of an unsaved spec")
    sub.add_argument("-f", "--file", required=True, help="spec file (.json, .yaml/.yml) or -")
    sub.add_argument("--count", type=int, default=10, help="how many (1-100)")

    sub = command(
        "runs",
        watch.runs_command(one_request(runs, _show_runs)),
        "runs of a schedule, newest first (or one run); --watch follows them until they end",
    )
    schedule_id(sub)
    sub.add_argument("run_id", nargs="?", metavar="RUN_ID", help="show this run only")
    sub.add_argument("--status", choices=RUN_STATUSES, help="only runs in this status")
    sub.add_argument("--limit", type=int, default=20, help="page size (1-100)")
    sub.add_argument("--cursor", help="continue after a previous page")
    sub.add_argument(
        "-w",
        "--watch",
        action="store_true",
        help="follow the active runs (or RUN_ID) live, one line per change, until they end",
    )
    sub.add_argument("--interval", type=float, default=1.0, metavar="SECONDS", help="--watch poll period (1)")

    sub = simple("cancel", cancel, _show_cancel, "cancel a queued or running run")
    schedule_id(sub)
    sub.add_argument("run_id", metavar="RUN_ID")

    sub = simple("session", session, _show_session, "show a run's agent session (transcript)")
    sub.add_argument("session_id", nargs="?", metavar="SESSION_ID", help="the run's session id (see `runs`)")
    sub.add_argument("--latest", metavar="SCHEDULE_ID", help="the session of this schedule's newest run")

    manifests.register(command, schedule_id, yes)


def schedule_id(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("schedule_id", metavar="ID", help="schedule id")


def if_match(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--if-match", metavar="VERSION", help="only if the schedule is still at VERSION (ETag)")


def yes(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
