"""The web console in Chromium against the local stack: what a person does with it, step by step.

Each test opens a fresh page; the page fixtures fail a test whose browser console reported an error or whose
page threw. Screenshots of the main pages (1280 and 390 px wide) are written to docs/screenshots/.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from console_support import LocalStack, Problems, screenshot

pytestmark = pytest.mark.xdist_group("browser")

RUN_TIMEOUT_MS = 30_000


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def open_console(page: Any, stack: LocalStack, fragment: str = "") -> None:
    page.goto(f"{stack.url}/console{fragment}")


def no_horizontal_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    assert width <= viewport, f"the page scrolls sideways: {width} > {viewport} px"


def wait_for_run(page: Any, stack: LocalStack, schedule_id: str, status: str | None = None) -> None:
    """Until the schedule has at least one finished run (the heartbeat's, say), so pages show real data;
    with ``status``, one that ended so (on a busy machine a first slot can end ``missed`` or ``skipped``)."""
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    query = f"status={status}&limit=1" if status else "limit=5"
    while time.monotonic() < deadline:
        _, _, body = stack.api("GET", f"/schedules/{schedule_id}/runs?{query}")
        if any(run["status"] not in ("queued", "running") for run in body["runs"]):
            return
        time.sleep(0.5)
    raise AssertionError(f"no finished run of {schedule_id}" + (f" ended {status}" if status else ""))


# --------------------------------------------------------------------------- the landing page


def test_the_landing_page_lists_schedules_with_filters(page: Any, local_stack: LocalStack) -> None:
    expect = _expect()
    wait_for_run(page, local_stack, "heartbeat")
    wait_for_run(page, local_stack, "broken-model")
    page.goto(f"{local_stack.url}/")  # the root redirects to the console
    assert page.url.endswith("/console")
    expect(page.get_by_role("heading", name="Schedules")).to_be_visible()
    table = page.get_by_role("table")
    for name in ("Heartbeat", "Echo on demand", "Weekday digest", "Broken model", "Month-end close"):
        expect(table.get_by_role("link", name=name, exact=True)).to_be_visible()
    row = table.get_by_role("row").filter(has=page.get_by_role("link", name="Weekday digest", exact=True))
    expect(row).to_contain_text("09:00 Mon–Fri, Europe/Berlin")
    expect(row).to_contain_text("reports")
    heartbeat = table.get_by_role("row").filter(has=page.get_by_role("link", name="Heartbeat", exact=True))
    expect(heartbeat).to_contain_text("every 5 seconds")
    expect(heartbeat).to_contain_text("success")
    expect(heartbeat).to_contain_text("100% of")
    cron = table.get_by_role("row").filter(has=page.get_by_role("link", name="Month-end close", exact=True))
    expect(cron).to_contain_text("0 18 28-31 * * (at 18:00 on days 28–31 of the month), Asia/Tokyo")
    expect(cron).to_contain_text("default")  # no project: "default"
    # failing now comes first
    expect(table.locator("tbody tr").first).to_contain_text("Broken model")
    expect(table.locator("tbody tr").first).to_contain_text("failed")
    screenshot(page, "schedules")

    page.get_by_label("Project").select_option("reports")
    expect(table.locator("tbody tr")).to_have_count(2)
    page.get_by_label("Status").select_option("failing")
    expect(table.locator("tbody tr")).to_have_count(1)
    page.get_by_label("Project").select_option("")
    page.get_by_label("Status").select_option("")
    page.get_by_label("Search by name").fill("digest")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("Weekday digest")


def test_create_schedule_is_reachable_by_keyboard(page: Any, local_stack: LocalStack) -> None:
    expect = _expect()
    open_console(page, local_stack)
    expect(page.get_by_role("button", name="Create schedule")).to_be_visible()
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Create schedule":
            break
    else:
        raise AssertionError("Create schedule is not reachable with Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Create schedule")).to_be_visible()
    expect(page.get_by_label("Name", exact=True)).to_be_visible()


# --------------------------------------------------------------------------- a schedule and its runs


def test_run_now_succeeds_without_reload_and_the_transcript_reads(page: Any, local_stack: LocalStack) -> None:
    expect = _expect()
    open_console(page, local_stack)
    page.get_by_role("link", name="Echo on demand").click()
    expect(page.get_by_role("heading", name="Echo on demand")).to_be_visible()
    expect(page.get_by_role("heading", name="Upcoming fire times")).to_be_visible()
    page.evaluate("window.sameDocument = true")
    page.get_by_role("button", name="Run now").click()
    status = page.get_by_role("status")
    expect(status).to_contain_text("Run queued")
    run_id = status.get_by_role("link").inner_text()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=run_id))
    expect(row).to_contain_text("success", timeout=RUN_TIMEOUT_MS)
    assert page.evaluate("window.sameDocument") is True, "the page was reloaded"
    expect(page.locator("svg.timeline .mark.status-success")).to_have_count(1)
    screenshot(page, "schedule")

    page.get_by_role("link", name=run_id).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(run_id)
    facts = page.locator("dl.details")
    expect(facts).to_contain_text("success")
    expect(facts).to_contain_text("run_now")
    expect(facts).to_contain_text(" in / ")  # tokens
    conversation = page.locator("ol.conversation")
    expect(conversation.locator("li.message")).to_have_count(3)
    expect(conversation.locator("li.role-system")).to_contain_text("You are a terse operations assistant.")
    expect(conversation.locator("li.role-user")).to_contain_text("Summarise the night's alerts.")
    expect(conversation.locator("li.role-assistant")).to_contain_text("echo: Summarise the night's alerts.")
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)  # finished: nothing to cancel
    screenshot(page, "run")


def test_a_transcript_shows_tool_calls_and_collapses_long_results(page: Any, local_stack: LocalStack) -> None:
    expect = _expect()
    wait_for_run(page, local_stack, "heartbeat", "success")
    _, _, body = local_stack.api("GET", "/schedules/heartbeat/runs?status=success&limit=1")
    run = body["runs"][0]
    long_result = "\n".join(f"line {i}: all systems nominal" for i in range(40))
    session = {
        "id": run["session_id"], "title": "Heartbeat", "model": "echo",
        "messages": [
            {"role": "system", "content": "You check systems."},
            {"role": "user", "content": "Check the disks."},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "call-1", "name": "http_fetch", "arguments": {"url": "https://status.example/disks"}}]},
            {"role": "tool", "tool_call_id": "call-1", "content": long_result},
            {"role": "assistant", "content": "The disks are fine."},
        ],
        "metadata": {}, "usage": {"input_tokens": 10, "output_tokens": 5},
        "created_at": run["scheduled_for"], "updated_at": run["scheduled_for"],
    }
    page.route(f"**/sessions/{run['session_id']}", lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps(session)))
    open_console(page, local_stack, f"#/schedules/heartbeat/runs/{run['run_id']}")
    conversation = page.locator("ol.conversation")
    expect(conversation.locator("li.message")).to_have_count(5)
    call = conversation.locator(".tool-call")
    expect(call).to_contain_text("http_fetch")
    expect(call).to_contain_text('"url": "https://status.example/disks"')
    result = conversation.locator("li.role-tool")
    expect(result).to_contain_text("Tool result: http_fetch")
    details = result.locator("details")
    expect(details).not_to_have_attribute("open", "")
    expect(result.locator("pre")).not_to_be_visible()  # collapsed: a summary line only
    result.locator("summary").click()
    expect(result.locator("pre")).to_contain_text("line 39: all systems nominal")


def test_pause_with_a_note_then_resume(page: Any, local_stack: LocalStack) -> None:
    expect = _expect()
    open_console(page, local_stack, "#/schedules/weekday-digest")
    expect(page.get_by_role("heading", name="Weekday digest")).to_be_visible()
    page.get_by_role("button", name="Pause").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Note").fill("Holiday week: no digest")
    dialog.get_by_role("button", name="Pause").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".meta")).to_contain_text("paused")
    expect(page.locator(".meta")).to_contain_text("Holiday week: no digest")
    _, _, body = local_stack.api("GET", "/schedules/weekday-digest")
    assert (body["enabled"], body["pause_note"]) == (False, "Holiday week: no digest")

    open_console(page, local_stack)
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Weekday digest", exact=True))
    expect(row).to_contain_text("Holiday week: no digest")
    page.get_by_label("Status").select_option("paused")
    expect(page.locator("tbody tr")).to_have_count(1)
    row.get_by_role("link", name="Weekday digest").click()

    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_role("status")).to_contain_text("Resumed")
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    _, _, body = local_stack.api("GET", "/schedules/weekday-digest")
    assert (body["enabled"], body["pause_note"]) == (True, None)


def test_backfill_a_range_and_delete_with_confirmation(page: Any, local_stack: LocalStack) -> None:
    expect = _expect()
    anchor = time.strftime("%Y-%m-%dT%H:00:00Z", time.gmtime(time.time() - 10 * 3600))
    status, _, _ = local_stack.api("POST", "/schedules", {
        "id": "short-lived", "name": "Short-lived",
        "trigger": {"type": "interval", "every_seconds": 3600, "anchor_at": anchor},
        "run_config": {"model": "echo", "task_message": "hi", "auto_execute": True},
    })
    assert status == 201
    open_console(page, local_stack, "#/schedules/short-lived")
    page.get_by_role("button", name="Backfill").click()
    dialog = page.get_by_role("dialog")
    now = time.time()
    dialog.get_by_label("Start").fill(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3 * 3600)))
    dialog.get_by_label("End").fill(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60)))
    dialog.get_by_role("button", name="Backfill").click()
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"Backfill: [23] runs queued"))
    created = int(re.search(r"Backfill: (\d+)", page.get_by_role("status").inner_text()).group(1))
    backfilled = page.locator("table.runs tbody tr").filter(has_text="backfill")
    expect(backfilled).to_have_count(created)
    expect(backfilled.filter(has_text="success")).to_have_count(created, timeout=RUN_TIMEOUT_MS)
    page.get_by_role("button", name="Delete").click()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    page.get_by_role("button", name="Delete").click()
    expect(dialog).to_contain_text("Short-lived")
    dialog.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("heading", name="Schedules")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Deleted schedule Short-lived")
    assert local_stack.api("GET", "/schedules/short-lived")[0] == 404


# --------------------------------------------------------------------------- the form


def test_create_through_the_form_field_error_first_then_the_preview(
    page: Any, local_stack: LocalStack, problems: Problems
) -> None:
    expect = _expect()
    problems.allow(400)  # the API's answer to the bad cron expression
    open_console(page, local_stack)
    page.get_by_role("button", name="Create schedule").click()
    page.get_by_label("Name", exact=True).fill("Quarter-hourly check")
    page.get_by_label("Trigger").select_option("cron")
    cron = page.get_by_label("Cron expression")
    cron.fill("*/15 * * *")
    error = page.locator(".field", has=cron).locator(".field-error")
    expect(error).to_contain_text("trigger.expr")
    expect(cron).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("list", name="Next fire times").get_by_role("listitem")).to_have_count(0)

    cron.fill("*/15 * * * *")
    expect(error).to_be_hidden()
    expect(page.get_by_text("Means: every 15 minutes")).to_be_visible()
    times = page.get_by_role("list", name="Next fire times").get_by_role("listitem")
    expect(times).to_have_count(10)
    first = times.first.locator("time").get_attribute("datetime")
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:(00|15|30|45):00Z$", first), first
    page.get_by_label("Timezone").fill("Asia/Kolkata")
    expect(times.first).to_contain_text("GMT+5:30")
    page.get_by_label("Task").fill("Check the queue depth.")
    page.get_by_label("Model").fill("echo")
    page.get_by_label("Project").fill("ops")
    screenshot(page, "form")

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Quarter-hourly check")).to_be_visible()
    schedule_id = page.url.rsplit("/", 1)[1]
    _, _, body = local_stack.api("GET", f"/schedules/{schedule_id}")
    assert body["trigger"] == {"type": "cron", "expr": "*/15 * * * *"}
    assert body["timezone"] == "Asia/Kolkata" and body["project_id"] == "ops"


def test_the_preview_of_a_half_typed_form_asks_nothing_the_api_would_refuse(page: Any, local_stack: LocalStack) -> None:
    """No 400 is allowed here: the page fixture fails on any console error, Chrome's log of a refused
    request included. The preview asks about timing only and waits for fields still being typed."""
    expect = _expect()
    open_console(page, local_stack, "#/schedules/new")
    times = page.get_by_role("list", name="Next fire times").get_by_role("listitem")
    expect(times).to_have_count(10)
    page.get_by_label("Model").press_sequentially("ech", delay=20)  # not a model yet
    page.get_by_label("Auto-execute", exact=False).check()  # before the task it needs is written
    page.get_by_label("Id (optional)").press_sequentially("half typed", delay=20)  # a space: not an id
    zone = page.get_by_label("Timezone")
    zone.fill("")
    zone.press_sequentially("Europe/Be", delay=20)
    zone_error = page.locator(".field", has=zone).locator(".field-error")
    expect(zone_error).to_contain_text("is not a timezone")
    expect(times).to_have_count(0)
    zone.press_sequentially("rlin", delay=20)
    expect(zone_error).to_be_hidden()
    expect(times).to_have_count(10)
    page.get_by_label("Trigger").select_option("interval")
    page.get_by_label("Every").fill("")
    expect(page.locator(".field", has=page.get_by_label("Every")).locator(".field-error")).to_contain_text("how often")
    page.get_by_label("Every").press_sequentially("15", delay=20)
    expect(times).to_have_count(10)


def test_save_reports_the_api_errors_next_to_their_fields(
    page: Any, local_stack: LocalStack, problems: Problems
) -> None:
    expect = _expect()
    problems.allow(400)
    open_console(page, local_stack, "#/schedules/new")
    page.get_by_label("Trigger").select_option("interval")
    page.get_by_label("Every").fill("0")
    every_error = page.locator(".field", has=page.get_by_label("Every")).locator(".field-error")
    expect(every_error).to_contain_text("trigger.every_seconds must be > 0")
    page.get_by_label("Every").fill("30")
    expect(every_error).to_be_hidden()
    page.get_by_role("button", name="Save").click()  # no name
    name_error = page.locator(".field", has=page.get_by_label("Name", exact=True)).locator(".field-error")
    expect(name_error).to_contain_text("name is required")
    expect(page.get_by_label("Name", exact=True)).to_be_focused()


def test_edit_with_a_stale_etag_reports_the_conflict(
    page: Any, local_stack: LocalStack, problems: Problems
) -> None:
    expect = _expect()
    problems.allow(409)
    open_console(page, local_stack, "#/schedules/month-end")
    page.get_by_role("button", name="Edit").click()
    expect(page.get_by_role("heading", name="Edit Month-end close")).to_be_visible()
    expect(page.get_by_label("Cron expression")).to_have_value("0 18 28-31 * *")
    # someone else edits the schedule meanwhile
    status, _, _ = local_stack.api("PATCH", "/schedules/month-end", {"name": "Month-end close (finance)"})
    assert status == 200
    page.get_by_label("Name", exact=True).fill("Month-end close (mine)")
    page.get_by_role("button", name="Save").click()
    conflict = page.locator(".conflict")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text("Conflict (HTTP 409)")
    expect(conflict).to_contain_text("changed by another request")
    assert local_stack.api("GET", "/schedules/month-end")[2]["name"] == "Month-end close (finance)"
    # reload, edit again: saved
    conflict.get_by_role("button", name="Reload latest").click()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Month-end close (finance)")
    page.get_by_label("Name", exact=True).fill("Month-end close")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Month-end close", exact=True)).to_be_visible()


def test_an_edit_survives_fires_of_a_busy_schedule(
    page: Any, local_stack: LocalStack, problems: Problems
) -> None:
    """The heartbeat fires every 5 s and each fire moves its version: that is no conflict with an edit."""
    expect = _expect()
    problems.allow(409)  # the first PATCH meets the moved version; the console re-sends it
    open_console(page, local_stack, "#/schedules/heartbeat/edit")
    expect(page.get_by_label("Every")).to_have_value("5")
    before = local_stack.api("GET", "/schedules/heartbeat")[1]["ETag"]
    deadline = time.monotonic() + 20
    while local_stack.api("GET", "/schedules/heartbeat")[1]["ETag"] == before and time.monotonic() < deadline:
        time.sleep(0.5)
    page.get_by_label("Task").fill("Report that all is well, briefly.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Heartbeat", exact=True)).to_be_visible()
    body = local_stack.api("GET", "/schedules/heartbeat")[2]
    assert body["run_config"]["task_message"] == "Report that all is well, briefly."


# --------------------------------------------------------------------------- overview, outages, phones


def test_overview_shows_the_next_day_and_the_last(page: Any, local_stack: LocalStack) -> None:
    expect = _expect()
    wait_for_run(page, local_stack, "broken-model")
    open_console(page, local_stack)
    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_role("heading", name="Next 24 hours")).to_be_visible()
    health = page.locator("section", has=page.get_by_role("heading", name="Schedules, failing first"))
    expect(health.locator("tbody tr").first).to_contain_text("Broken model")
    expect(health.locator("tbody tr").first).to_contain_text("failing now")
    expect(page.locator("svg.lane")).not_to_have_count(0)
    expect(page.locator("svg.bars rect.status-success")).not_to_have_count(0)
    expect(page.locator("svg.bars rect.status-failed")).not_to_have_count(0)
    screenshot(page, "overview")


def test_an_api_outage_shows_a_banner_and_nothing_hammers(
    page: Any, local_stack: LocalStack, problems: Problems
) -> None:
    expect = _expect()
    problems.allow_network_errors()
    calls: list[str] = []
    down = {"on": False}

    def api(route: Any) -> None:
        calls.append(route.request.url)
        if down["on"]:
            route.abort("connectionrefused")
        else:
            route.continue_()

    page.route(re.compile(r".*/(schedules|sessions)(/.*|\?.*)?$"), api)
    open_console(page, local_stack, "#/schedules/heartbeat")
    expect(page.get_by_role("heading", name="Heartbeat", exact=True)).to_be_visible()
    down["on"] = True
    page.get_by_role("link", name="Schedules", exact=True).first.click()
    banner = page.locator("#banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("The API is not answering")
    settled = len(calls)
    page.wait_for_timeout(4000)
    assert len(calls) <= settled + 2, f"{len(calls) - settled} requests while the API was down"
    down["on"] = False
    banner.get_by_role("button", name="Retry").click()
    expect(banner).to_be_hidden()
    expect(page.get_by_role("link", name="Heartbeat", exact=True)).to_be_visible()


def test_the_console_fits_a_phone_screen(phone: Any, local_stack: LocalStack) -> None:
    expect = _expect()
    wait_for_run(phone, local_stack, "heartbeat", "success")
    _, _, body = local_stack.api("GET", "/schedules/heartbeat/runs?status=success&limit=1")
    run_id = body["runs"][0]["run_id"]
    for fragment, ready, name in (
        ("", "table.grid tbody tr >> nth=4", "schedules"),
        ("#/schedules/heartbeat", "table.runs", "schedule"),
        (f"#/schedules/heartbeat/runs/{run_id}", "ol.conversation", "run"),
        ("#/schedules/new", "ol.preview li >> nth=9", "form"),
        ("#/overview", "svg.bars", "overview"),
    ):
        open_console(phone, local_stack, fragment)
        expect(phone.locator(ready)).to_be_visible()
        no_horizontal_scroll(phone)
        screenshot(phone, name)


def test_words_and_dst_notes(page: Any, local_stack: LocalStack) -> None:
    """The console's own functions, run in the browser: cron in words, triggers in words, DST marks."""
    open_console(page, local_stack)
    result = page.evaluate("""async () => {
        const f = await import("/console/js/format.js");
        return {
            crons: ["*/5 * * * *", "0 9 * * 1-5", "*/10 * * * * *", "@hourly", "30 8 1 * *", "0 0 * * SUN"].map(f.cronMeaning),
            weekly: f.triggerWords({trigger: {type: "weekly", weekdays: ["mon","tue","wed","thu","fri"], hour: 9, minute: 0}, timezone: "Europe/Berlin"}),
            interval: f.triggerWords({trigger: {type: "interval", every_seconds: 300}}),
            gap: f.dstNotes(["2026-03-29T01:00:00Z"], "Europe/Berlin", {type: "daily", hour: 2, minute: 30}),
            repeat: f.dstNotes(["2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z", "2026-10-26T01:30:00Z"], "Europe/Berlin", {type: "daily", hour: 2, minute: 30}),
            plain: f.dstNotes(["2026-03-29T01:00:00Z"], "Europe/Berlin", {type: "interval", every_seconds: 60}),
            zoned: f.zonedToUtc({year: 2026, month: 10, day: 25, hour: 2, minute: 30}, "Europe/Berlin").toISOString(),
        };
    }""")
    assert result["crons"] == [
        "every 5 minutes", "at 09:00 on Mon–Fri", "every 10 seconds", "every hour",
        "at 08:30 on day 1 of the month", "at 00:00 on Sun",
    ]
    assert result["weekly"] == "09:00 Mon–Fri, Europe/Berlin"
    assert result["interval"] == "every 5 minutes"
    assert result["gap"][0]["kind"] == "shifted"
    assert [n and n["kind"] for n in result["repeat"]] == ["repeated", "repeated", None]
    assert result["plain"] == [None]
    assert result["zoned"] == "2026-10-25T00:30:00.000Z"
