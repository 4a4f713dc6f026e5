"""Human output of the CLI: tables and short summaries of the API's JSON bodies (``--json`` bypasses this)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Left-aligned columns separated by two spaces; ``-`` for empty cells."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return " ".join(str(value).split())


def when(value: str | None) -> str:
    """An ISO instant as ``2026-03-01 09:00:00Z``."""
    if not value:
        return "-"
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%SZ")
    except ValueError:
        return value


def local(value: str, timezone: str | None) -> str:
    """An ISO instant in ``timezone`` (``2026-03-01 10:00:00 CET``)."""
    try:
        zone = ZoneInfo(timezone or "UTC")
        return (
            datetime.fromisoformat(value.replace("Z", "+00:00"))
            .astimezone(zone)
            .strftime("%Y-%m-%d %H:%M:%S %Z")
        )
    except (ValueError, ZoneInfoNotFoundError):
        return value


def trigger_summary(trigger: dict[str, Any]) -> str:
    kind = trigger.get("type", "?")
    at = f"{trigger.get('hour', 0):02d}:{trigger.get('minute', 0):02d}"
    if trigger.get("second"):
        at += f":{trigger['second']:02d}"
    if kind == "interval":
        return f"every {_duration(int(trigger.get('every_seconds', 0)))}"
    if kind == "once":
        return f"once at {when(trigger.get('at'))}"
    if kind == "daily":
        return f"daily at {at}"
    if kind == "weekly":
        return f"weekly {','.join(trigger.get('weekdays') or [])} at {at}"
    if kind == "monthly":
        return f"monthly on {','.join(str(d) for d in trigger.get('days') or [])} at {at}"
    if kind == "cron":
        return f"cron {trigger.get('expr', '')}"
    return kind


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def triggers_summary(s: dict[str, Any]) -> str:
    """Every trigger of a schedule, ``; ``-separated (``triggers`` when it has several)."""
    triggers = s.get("triggers") or [s.get("trigger") or {}]
    return "; ".join(trigger_summary(t) for t in triggers)


def _features(s: dict[str, Any]) -> list[tuple[str, Any]]:
    """Detail lines of issue 14's features, only those the schedule uses."""
    lines: list[tuple[str, Any]] = []
    if s.get("exclude"):
        items = []
        for item in s["exclude"]:
            if item.get("date"):
                what = item["date"]
            elif item.get("start_date"):
                what = f"{item['start_date']}..{item['end_date']}"
            else:
                what = f"cron {item.get('cron')}"
            items.append(what + (f" ({item['name']})" if item.get("name") else ""))
        lines.append(("exclude", "; ".join(items)))
    if s.get("jitter_seconds"):
        lines.append(("jitter", f"up to {s['jitter_seconds']}s after each slot"))
    if s.get("max_runs"):
        lines.append(("max runs", s["max_runs"]))
    notify = s.get("notify")
    if notify:
        targets = ", ".join(t.get("topic_arn") or t.get("url") or "?" for t in notify.get("targets") or [])
        lines.append(("notify", f"{targets} on {','.join(notify.get('statuses') or [])}"))
    return lines


def schedules_table(schedules: list[dict[str, Any]]) -> str:
    rows = [
        (
            s["id"],
            s.get("name"),
            "yes" if s.get("enabled") else "paused",
            triggers_summary(s),
            s.get("timezone") or "UTC",
            when((s.get("state") or {}).get("next_fire_at")),
            (s.get("state") or {}).get("total_run_count", 0),
            s.get("project_id") or "default",
        )
        for s in schedules
    ]
    return table(("ID", "NAME", "ENABLED", "TRIGGER", "TIMEZONE", "NEXT FIRE", "RUNS", "PROJECT"), rows)


def schedule_detail(s: dict[str, Any]) -> str:
    state = s.get("state") or {}
    config = s.get("run_config") or {}
    misfire = s.get("misfire_policy") or {}
    lines = [
        ("id", s.get("id")),
        ("name", s.get("name")),
        ("project", s.get("project_id") or "default"),
        ("created by", s.get("created_by")),
        ("updated by", s.get("updated_by")),
        (
            "enabled",
            "yes" if s.get("enabled") else f"paused{': ' + s['pause_note'] if s.get('pause_note') else ''}",
        ),
        ("trigger", triggers_summary(s)),
        ("timezone", s.get("timezone") or "UTC"),
        ("window", f"{when(s.get('start_at'))} .. {when(s.get('end_at'))}"),
        *_features(s),
        ("misfire policy", misfire.get("type")),
        ("overlap policy", s.get("overlap_policy")),
        ("model", config.get("model") or "(deployment default)"),
        ("task", config.get("task_message")),
        ("auto execute", "yes" if config.get("auto_execute") else "no"),
        ("next fire", when(state.get("next_fire_at"))),
        ("last success", when(state.get("last_success_at"))),
        ("last failure", when(state.get("last_failure_at"))),
        (
            "runs",
            f"{state.get('total_run_count', 0)} ({state.get('total_success_count', 0)} ok, "
            f"{state.get('total_failure_count', 0)} failed, {state.get('total_missed_count', 0)} missed)",
        ),
        ("active", f"{state.get('active_run_count', 0)} queued or running"),
        ("version", s.get("version")),
    ]
    width = max(len(k) for k, _ in lines)
    return "\n".join(f"{k.ljust(width)}  {_cell(v)}" for k, v in lines)


def runs_table(runs: list[dict[str, Any]]) -> str:
    rows = [
        (
            r["run_id"],
            r.get("status"),
            r.get("trigger"),
            when(r.get("scheduled_for")),
            when(r.get("started_at")),
            f"{r['execution_duration_ms']} ms" if r.get("execution_duration_ms") is not None else None,
            r.get("session_id"),
            r.get("outcome_reason"),
        )
        for r in runs
    ]
    return table(("RUN ID", "STATUS", "TRIGGER", "SLOT", "STARTED", "TOOK", "SESSION", "REASON"), rows)


def run_detail(r: dict[str, Any]) -> str:
    usage = r.get("usage") or {}
    lines = [
        ("run", r.get("run_id")),
        ("schedule", r.get("schedule_id")),
        ("status", r.get("status")),
        ("trigger", r.get("trigger")),
        ("slot", when(r.get("scheduled_for"))),
        ("started", when(r.get("started_at"))),
        ("completed", when(r.get("completed_at"))),
        ("attempt", r.get("attempt")),
        ("session", r.get("session_id")),
        ("tokens", f"{usage.get('input_tokens', 0)} in / {usage.get('output_tokens', 0)} out"),
        ("reason", r.get("outcome_reason")),
        ("cancel requested", "yes" if r.get("cancel_requested") else "no"),
        ("answer", r.get("final_answer")),
    ]
    width = max(len(k) for k, _ in lines)
    return "\n".join(f"{k.ljust(width)}  {_cell(v)}" for k, v in lines)


def session_transcript(session: dict[str, Any]) -> str:
    out = [
        f"session {session.get('id')}  {session.get('title', '')}".rstrip(),
        f"model   {session.get('model') or '-'}",
    ]
    for message in session.get("messages") or []:
        out.append("")
        out.append(f"[{message.get('role')}]")
        if message.get("content"):
            out.append(str(message["content"]))
        for call in message.get("tool_calls") or []:
            out.append(f"-> tool {call.get('name')}({call.get('arguments')})")
    return "\n".join(out)
