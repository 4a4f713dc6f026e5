"""``agentcron``: manage schedules, runs and sessions through the management API.

    agentcron schedules create -f spec.yaml          agentcron schedules run ID [--task TEXT]
    agentcron schedules list [--project P] [--all]   agentcron schedules backfill ID --start T --end T
    agentcron schedules get ID                       agentcron schedules upcoming ID [--count N]
    agentcron schedules update ID --set name=X       agentcron schedules runs ID [RUN_ID] [--status S]
    agentcron schedules pause ID [--note TEXT]       agentcron schedules cancel ID RUN_ID
    agentcron schedules resume ID                    agentcron schedules session SESSION_ID
    agentcron schedules delete ID                    agentcron schedules preview -f spec.json
    agentcron console [--stack NAME] [--token JWT]   (the web console on http://127.0.0.1:8788/console)
    agentcron import schedules.json [--dry-run]     (the original system's store file)

Targets the local stack (``make run``) at http://127.0.0.1:8787 by default (or ``--api-url`` /
``AGENTCRON_API_URL``); ``--stack NAME`` targets a deployed stack: the API URL comes from its ``ApiUrl``
output and requests are SigV4-signed with your AWS credentials; ``--token JWT`` (or ``AGENTCRON_TOKEN``)
sends a bearer token instead (an API behind a JWT authorizer, or ``make run ARGS="--auth jwt"``). Tables for
people, ``--json`` for scripts.

Exit codes: 0 success, 1 the API refused the request (4xx), 2 usage error (bad arguments or spec file),
3 the API cannot be reached or failed (5xx).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from agentcron.cli import importer, render
from agentcron.cli.client import (
    DEFAULT_API_URL,
    ApiClient,
    ApiReply,
    ApiUnreachable,
    StackLookupFailed,
    bearer_client,
    segment,
    stack_client,
)
from agentcron.cli.specs import SpecError, parse_assignments, read_spec

EXIT_OK, EXIT_API_ERROR, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
OVERLAP_POLICIES = ("allow", "skip", "queue_one", "cancel_other", "queue_all")
RUN_STATUSES = ("queued", "running", "success", "failed", "skipped", "missed", "cancelled", "timed_out")

Handler = Callable[[ApiClient, argparse.Namespace], ApiReply]


# --------------------------------------------------------------------------- commands


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
    changes: dict[str, Any] = read_spec(args.file) if args.file else {}
    changes.update(parse_assignments(args.set or []))
    if not changes:
        raise SpecError("nothing to change: give -f FILE and/or --set key=value")
    return client.request(
        "PATCH", _schedule_path(args), body=changes, headers=_headers(if_match=args.if_match)
    )


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
    return client.request("GET", f"/sessions/{segment(args.session_id)}")


# --------------------------------------------------------------------------- human output


def _show_schedule(body: dict[str, Any], args: argparse.Namespace) -> str:
    return render.schedule_detail(body)


def _show_list(body: dict[str, Any], args: argparse.Namespace) -> str:
    out = render.schedules_table(body.get("schedules") or [])
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
    return head + render.table(
        ("UTC", f"LOCAL ({zone})"), [(render.when(t), render.local(t, zone)) for t in times]
    ) + tail


def _show_runs(body: dict[str, Any], args: argparse.Namespace) -> str:
    if "run_id" in body:
        return render.run_detail(body)
    out = render.runs_table(body.get("runs") or [])
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


def _common() -> argparse.ArgumentParser:
    """Options accepted before or after the subcommand (defaults are applied in ``_settings``)."""
    common = argparse.ArgumentParser(add_help=False)
    target = common.add_argument_group("target")
    target.add_argument(
        "--api-url",
        default=argparse.SUPPRESS,
        help=f"API base URL (default: $AGENTCRON_API_URL or {DEFAULT_API_URL})",
    )
    target.add_argument(
        "--stack",
        default=argparse.SUPPRESS,
        help="a deployed stack: API URL from its ApiUrl output, requests SigV4-signed",
    )
    target.add_argument("--region", default=argparse.SUPPRESS, help="AWS region of --stack")
    target.add_argument("--profile", default=argparse.SUPPRESS, help="AWS profile for --stack")
    target.add_argument(
        "--token",
        default=argparse.SUPPRESS,
        help="a JWT sent as 'Authorization: Bearer' instead of SigV4 (default: $AGENTCRON_TOKEN)",
    )
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print the API's JSON")
    common.add_argument("--timeout", type=float, default=argparse.SUPPRESS, help="seconds per request (30)")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="agentcron",
        description="Manage agentcron schedules, runs and sessions.",
        epilog="Exit codes: 0 ok, 1 API error (4xx), 2 usage error, 3 API unreachable or failing (5xx).",
        parents=[common],
    )
    groups = parser.add_subparsers(dest="group", metavar="{schedules,import,console}", required=True)
    schedules = groups.add_parser("schedules", parents=[common], help="schedules, their runs and sessions")
    commands = schedules.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(
        name: str, handler: Handler, show: Callable[..., str], help_text: str
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[common], help=help_text, description=help_text)
        sub.set_defaults(handler=handler, show=show)
        return sub

    def schedule_id(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("schedule_id", metavar="ID", help="schedule id")

    def if_match(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--if-match", metavar="VERSION", help="only if the schedule is still at VERSION (ETag)"
        )

    sub = command("create", create, _show_schedule, "create a schedule from a JSON or YAML spec")
    sub.add_argument("-f", "--file", required=True, help="spec file (.json, .yaml/.yml) or - for stdin")
    sub.add_argument("--idempotency-key", help="retrying with the same key creates the schedule once")
    sub.add_argument(
        "--import",
        dest="imported",
        action="store_true",
        help="a file of the original system: spell out its shorthands (misfire_policy \"skip\", null "
        "policies, weekday names in full) and drop fields this system does not know",
    )
    sub.add_argument("--project", help="create it in this project (sets project_id)")

    sub = command("list", list_schedules, _show_list, "list schedules")
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

    sub = command("get", get, _show_schedule, "show one schedule")
    schedule_id(sub)

    sub = command("update", update, _show_schedule, "change part of a schedule")
    schedule_id(sub)
    sub.add_argument("-f", "--file", help="partial spec file (.json, .yaml/.yml) or -")
    sub.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="a field to set (JSON values; dotted keys nest: run_config.model=echo); repeatable",
    )
    if_match(sub)

    sub = command("pause", pause, _show_schedule, "pause a schedule")
    schedule_id(sub)
    sub.add_argument("--note", help="why it is paused")
    if_match(sub)

    sub = command("resume", resume, _show_schedule, "resume a paused schedule (no catch-up of the pause)")
    schedule_id(sub)
    if_match(sub)

    sub = command("delete", delete, _show_deleted, "delete a schedule and its run records")
    schedule_id(sub)
    if_match(sub)

    sub = command("run", run_now, _show_run_now, "run a schedule now")
    schedule_id(sub)
    sub.add_argument("--task", help="task message for this run only")
    sub.add_argument("--overlap", choices=OVERLAP_POLICIES, help="overlap policy for this run only")
    sub.add_argument("--idempotency-key", help="retrying with the same key starts one run")

    sub = command("backfill", backfill, _show_backfill, "run every slot of a past time range [start, end)")
    schedule_id(sub)
    sub.add_argument("--start", required=True, help="ISO-8601 instant, e.g. 2026-03-01T00:00:00Z")
    sub.add_argument("--end", required=True, help="ISO-8601 instant (exclusive), not in the future")

    sub = command("upcoming", upcoming, _show_times, "next fire times of a schedule")
    schedule_id(sub)
    sub.add_argument("--count", type=int, default=10, help="how many (1-100)")

    sub = command("preview", preview, _show_times, "next fire times of an unsaved spec")
    sub.add_argument("-f", "--file", required=True, help="spec file (.json, .yaml/.yml) or -")
    sub.add_argument("--count", type=int, default=10, help="how many (1-100)")

    sub = command("runs", runs, _show_runs, "runs of a schedule, newest first (or one run)")
    schedule_id(sub)
    sub.add_argument("run_id", nargs="?", metavar="RUN_ID", help="show this run only")
    sub.add_argument("--status", choices=RUN_STATUSES, help="only runs in this status")
    sub.add_argument("--limit", type=int, default=20, help="page size (1-100)")
    sub.add_argument("--cursor", help="continue after a previous page")

    sub = command("cancel", cancel, _show_cancel, "cancel a queued or running run")
    schedule_id(sub)
    sub.add_argument("run_id", metavar="RUN_ID")

    sub = command("session", session, _show_session, "show a run's agent session (transcript)")
    sub.add_argument("session_id", metavar="SESSION_ID", help="the run's session id (see `runs`)")

    importer.register(groups, common)  # agentcron import FILE (the original system's store file)

    console_help = (
        "serve the web console on 127.0.0.1; its API calls go to --stack (SigV4-signed, or with --token) "
        "or --api-url"
    )
    console = groups.add_parser("console", parents=[common], help=console_help, description=console_help)
    console.add_argument("--port", type=int, default=8788, help="port on 127.0.0.1 (0: any free port)")
    console.add_argument("--open", action="store_true", help="open the console in the default browser")
    console.add_argument("--for", dest="duration", type=float, metavar="SECONDS", help="stop after SECONDS")
    return parser


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "api_url": getattr(args, "api_url", None) or os.environ.get("AGENTCRON_API_URL") or DEFAULT_API_URL,
        "stack": getattr(args, "stack", None),
        "region": getattr(args, "region", None),
        "profile": getattr(args, "profile", None),
        "json": getattr(args, "json", False),
        "timeout": getattr(args, "timeout", 30.0),
        "token": getattr(args, "token", None) or os.environ.get("AGENTCRON_TOKEN") or None,
    }


def make_client(settings: dict[str, Any]) -> ApiClient:
    token = settings.get("token")
    if settings["stack"]:
        return stack_client(
            settings["stack"],
            region=settings["region"],
            profile=settings["profile"],
            timeout=settings["timeout"],
            token=token,
        )
    if token:
        return bearer_client(settings["api_url"], token, timeout=settings["timeout"])
    return ApiClient(settings["api_url"], timeout=settings["timeout"])


def console_command(args: argparse.Namespace, settings: dict[str, Any]) -> int:
    """Serve the console until Ctrl-C (or ``--for``); API calls are forwarded through the CLI's client."""
    import time
    import webbrowser

    from agentcron.console.server import ConsoleServer

    try:
        client = make_client(settings)
    except StackLookupFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    try:
        server = ConsoleServer(client, port=args.port, on_error=lambda line: print(line, file=sys.stderr))
    except OSError as exc:
        problem = f"cannot listen on 127.0.0.1:{args.port}: {exc} (choose another with --port)"
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    mode = "bearer token" if settings["token"] else ("SigV4-signed" if client.signer else "as they are")
    with server:
        target = f"API calls to {client.base_url}, {mode}"
        print(f"console on {server.url}/console ({target}); Ctrl-C stops", flush=True)
        if args.open:
            webbrowser.open(f"{server.url}/console")
        try:
            if args.duration is None:
                while True:
                    time.sleep(3600)
            else:
                time.sleep(args.duration)
        except KeyboardInterrupt:
            pass
    return EXIT_OK


def _report_error(reply: ApiReply, as_json: bool) -> None:
    if as_json and isinstance(reply.body, dict):
        print(json.dumps(reply.body, indent=2))
        return
    error = (reply.body or {}).get("error") if isinstance(reply.body, dict) else None
    if isinstance(error, dict):
        message = str(error.get("message"))
        if error.get("field"):
            message += f" (field: {error['field']})"
    else:
        message = (reply.text or "no response body").strip()[:500]
    print(f"error: HTTP {reply.status}: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    settings = _settings(args)
    if args.group == "console":
        return console_command(args, settings)
    try:
        client = make_client(settings)
        reply = args.handler(client, args)
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ApiUnreachable, StackLookupFailed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    if not reply.ok:
        _report_error(reply, settings["json"])
        return EXIT_UNREACHABLE if reply.status >= 500 else EXIT_API_ERROR
    if settings["json"]:
        print(json.dumps(reply.body, indent=2))
    else:
        print(args.show(reply.body or {}, args))
    return EXIT_OK
