"""``agentcron schedules runs ID --watch``: follow runs live until they end.

It polls the schedule's run list (or the one ``RUN_ID``) every ``--interval`` seconds and prints one line
per change of a run's status, plus a progress line (rewritten in place on a terminal, printed when it
changes otherwise). It follows the runs active when it starts and any run that appears while it watches;
when none is active at the start it shows the newest run (a ``run`` that ended before the watch began),
and a schedule without any run yet is watched until its first one. It ends when every run it followed has
ended, with exit code 0 whatever their outcome (the lines say it); Ctrl-C stops it. ``-o json`` prints each change as one JSON object per line instead. The pause between polls is
the context's ``sleep``, so tests drive the system between polls instead of waiting for the clock.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from agentcron.cli import render
from agentcron.cli.client import segment
from agentcron.cli.context import EXIT_OK, Context

ACTIVE = frozenset({"queued", "running"})
MAX_ERRORS = 5  # consecutive failed polls before giving up (the last failure is reported)


def runs_command(
    plain: Callable[[Context, argparse.Namespace], int],
) -> Callable[[Context, argparse.Namespace], int]:
    def run(ctx: Context, args: argparse.Namespace) -> int:
        return follow(ctx, args) if args.watch else plain(ctx, args)

    return run


def _poll(ctx: Context, args: argparse.Namespace) -> list[dict[str, Any]]:
    base = f"/schedules/{segment(args.schedule_id)}/runs"
    if args.run_id:
        return [ctx.call("GET", f"{base}/{segment(args.run_id)}").body]
    reply = ctx.call("GET", base, query={"limit": args.limit})
    return list((reply.body or {}).get("runs") or [])


def follow(ctx: Context, args: argparse.Namespace) -> int:
    interval = max(0.05, args.interval)
    seen: dict[str, str] = {}  # run id -> last status printed
    followed: set[str] = set()
    first = True
    last_progress = ""
    terminal = ctx.stdout.isatty() if hasattr(ctx.stdout, "isatty") else False
    try:
        while True:
            runs = _poll(ctx, args)
            for run in reversed(runs):  # oldest first, so lines come in the order things happened
                run_id, state = run["run_id"], run.get("status") or "?"
                new = run_id not in seen
                if new and first and not args.run_id and state not in ACTIVE:
                    seen[run_id] = state  # history from before the watch: not followed
                    continue
                if new or seen[run_id] != state:
                    seen[run_id] = state
                    followed.add(run_id)
                    if terminal and last_progress:
                        ctx.stdout.write("\r\x1b[K")
                        last_progress = ""
                    _change(ctx, run)
            if first and not followed and runs and not args.run_id:
                # Nothing active: the newest run is what the user is after (a run-now that already ended)
                newest = runs[0]
                seen[newest["run_id"]] = newest.get("status") or "?"
                followed.add(newest["run_id"])
                _change(ctx, newest)
            first = False
            active = sorted(r for r in followed if seen[r] in ACTIVE)
            progress = _progress(args.schedule_id, followed, seen)
            if followed and not active:
                if terminal and last_progress:
                    ctx.stdout.write("\r\x1b[K")
                if not ctx.structured:
                    ctx.say(progress)
                return EXIT_OK
            if not ctx.structured and progress != last_progress:
                if terminal:
                    ctx.say("\r\x1b[K" + progress, end="")
                else:
                    ctx.say(progress)
                last_progress = progress
            ctx.sleep(interval)
    except KeyboardInterrupt:
        ctx.say("" if terminal else "(stopped)")
        return EXIT_OK


def _change(ctx: Context, run: dict[str, Any]) -> None:
    if ctx.output == "json":
        ctx.say(json.dumps(run, separators=(",", ":")))
        return
    if ctx.output == "yaml":
        ctx.say("---\n" + ctx_dump_yaml(run))
        return
    parts = [run["run_id"], f"{run.get('status', '?'):<9}", f"slot {render.when(run.get('scheduled_for'))}"]
    if run.get("execution_duration_ms") is not None:
        parts.append(f"took {run['execution_duration_ms']} ms")
    if run.get("session_id") and run.get("status") not in ACTIVE:
        parts.append(f"session {run['session_id']}")
    if run.get("outcome_reason"):
        parts.append(render.truncate(" ".join(str(run["outcome_reason"]).split()), 80))
    ctx.say("  ".join(parts))


def ctx_dump_yaml(run: dict[str, Any]) -> str:
    from agentcron.cli.output import to_yaml

    return to_yaml(run).rstrip("\n")


def _progress(schedule_id: str, followed: set[str], seen: dict[str, str]) -> str:
    if not followed:
        return f"watching {schedule_id}: no active run yet (Ctrl-C stops)"
    counts: dict[str, int] = {}
    for run_id in followed:
        counts[seen[run_id]] = counts.get(seen[run_id], 0) + 1
    active = ", ".join(f"{counts[s]} {s}" for s in ("queued", "running") if counts.get(s))
    ended = sum(n for s, n in counts.items() if s not in ACTIVE)
    detail = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()) if s not in ACTIVE)
    if not active:
        return f"{schedule_id}: all {ended} followed run(s) ended ({detail})"
    return f"watching {schedule_id}: {active}; {ended} ended" + (f" ({detail})" if detail else "")
