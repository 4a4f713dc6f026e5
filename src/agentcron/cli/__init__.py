"""``agentcron``: manage schedules, runs and sessions through the management API.

    agentcron schedules create -f spec.yaml          agentcron schedules run ID [--task TEXT]
    agentcron schedules list|ls [--project P] [--all] agentcron schedules backfill ID --start T --end T
    agentcron schedules get ID                       agentcron schedules upcoming ID [--count N]
    agentcron schedules update ID --set a.b=X        agentcron schedules runs ID [RUN_ID] [--watch]
    agentcron schedules pause ID [--note TEXT]       agentcron schedules cancel ID RUN_ID
    agentcron schedules resume ID                    agentcron schedules session SESSION_ID
    agentcron schedules delete|rm ID [--yes]         agentcron schedules preview -f spec.json
    agentcron schedules apply -f FILE|DIR [--prune]  agentcron schedules export [-d DIR]
    agentcron schedules edit ID                      agentcron dlq list | dlq redrive [--yes]
    agentcron console [--stack NAME] [--token JWT]   agentcron completion bash|zsh
    agentcron import schedules.json [--dry-run]      (the original system's store file)

Targets the local stack (``make run``) at http://127.0.0.1:8787 by default (or ``--api-url`` /
``AGENTCRON_API_URL``); ``--stack NAME`` targets a deployed stack: the API URL comes from its ``ApiUrl``
output and requests are SigV4-signed with your AWS credentials; ``--token JWT`` (or ``AGENTCRON_TOKEN``)
sends a bearer token instead (an API behind a JWT authorizer, or ``make run ARGS="--auth jwt"``). Tables for
people (long cells cut, ``-o wide`` for all of them), ``-o json`` / ``-o yaml`` (``--json``) for scripts.

Exit codes: 0 success, 1 the API refused the request (4xx), 2 usage error (bad arguments or spec file, a
confirmation needed without a terminal), 3 the API cannot be reached or failed (5xx).

A command group is a module with ``register(groups, common)`` listed in ``REGISTRARS``: it adds its parser
to ``groups`` (with ``common`` as a parent, so the target options work after the command too) and sets
``run(ctx, args) -> exit code`` (:class:`agentcron.cli.context.Context` carries the client, the output
format and the terminal), or, for one request and one reply, ``handler(client, args) -> ApiReply`` and
``show(body, args) -> str``. A request the API refuses raises ``ApiFailed`` and is reported here.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from agentcron.cli import completion, dlq, importer, schedules
from agentcron.cli.client import DEFAULT_API_URL, ApiUnreachable, StackLookupFailed
from agentcron.cli.context import (
    EXIT_API_ERROR,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    ApiFailed,
    Context,
    make_client,
    report_error,
)
from agentcron.cli.output import FORMATS
from agentcron.cli.specs import SpecError

__all__ = ["EXIT_API_ERROR", "EXIT_OK", "EXIT_UNREACHABLE", "EXIT_USAGE", "build_parser", "main", "version"]


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("agentcron")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


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
    common.add_argument(
        "-o",
        "--output",
        choices=FORMATS,
        default=argparse.SUPPRESS,
        help="table (default; long cells cut), wide (every column, nothing cut), json or yaml",
    )
    common.add_argument(
        "--json", dest="output", action="store_const", const="json", default=argparse.SUPPRESS,
        help="the same as -o json",
    )
    common.add_argument("--timeout", type=float, default=argparse.SUPPRESS, help="seconds per request (30)")
    return common


def _console(groups: Any, common: argparse.ArgumentParser) -> None:
    console_help = (
        "serve the web console on 127.0.0.1; its API calls go to --stack (SigV4-signed, or with --token) "
        "or --api-url"
    )
    console = groups.add_parser("console", parents=[common], help=console_help, description=console_help)
    console.add_argument("--port", type=int, default=8788, help="port on 127.0.0.1 (0: any free port)")
    console.add_argument("--open", action="store_true", help="open the console in the default browser")
    console.add_argument("--for", dest="duration", type=float, metavar="SECONDS", help="stop after SECONDS")
    console.set_defaults(run=lambda ctx, args: console_command(args, ctx.settings))


# Every command group, in the order `agentcron --help` lists them: register(groups, common).
REGISTRARS: list[Callable[[Any, argparse.ArgumentParser], None]] = [
    schedules.register,
    importer.register,  # agentcron import FILE (the original system's store file)
    dlq.register,
    _console,
    completion.register,
]


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="agentcron",
        description="Manage agentcron schedules, runs and sessions.",
        epilog="Exit codes: 0 ok, 1 API error (4xx), 2 usage error, 3 API unreachable or failing (5xx).",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"agentcron {version()}")
    groups = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)
    for register in REGISTRARS:
        register(groups, common)
    groups.metavar = "{" + ",".join(action.dest for action in groups._choices_actions) + "}"
    return parser


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "api_url": getattr(args, "api_url", None) or os.environ.get("AGENTCRON_API_URL") or DEFAULT_API_URL,
        "stack": getattr(args, "stack", None),
        "region": getattr(args, "region", None),
        "profile": getattr(args, "profile", None),
        "output": getattr(args, "output", None) or "table",
        "json": getattr(args, "output", None) == "json",
        "timeout": getattr(args, "timeout", 30.0),
        "token": getattr(args, "token", None) or os.environ.get("AGENTCRON_TOKEN") or None,
    }


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


def main(argv: list[str] | None = None, **hooks: Any) -> int:
    """Run one command; ``hooks`` replace the context's terminal, sleep or editor (tests)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help / --version (0) or a usage error (2)
        return int(exc.code or 0)
    ctx = Context(_settings(args), **hooks)
    run = getattr(args, "run", None) or schedules.one_request(args.handler, args.show)
    try:
        return run(ctx, args)
    except SpecError as exc:
        ctx.warn(f"error: {exc}")
        return EXIT_USAGE
    except (ApiUnreachable, StackLookupFailed) as exc:
        ctx.warn(f"error: {exc}")
        return EXIT_UNREACHABLE
    except ApiFailed as exc:
        return report_error(ctx, exc.reply)
