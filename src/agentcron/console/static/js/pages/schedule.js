// One schedule: its state and upcoming fire times, the run history as a timeline and a table, and the
// actions Run now, Pause (with a note), Resume, Backfill (a range), Edit and Delete. Runs update by polling.

import { add, badge, h, update } from "../dom.js";
import { ApiError, newKey, request, seg } from "../api.js";
import { openDialog } from "../dialog.js";
import { runTimeline } from "../charts.js";
import {
  OPEN, VIEWER_ZONE, duration, lengthWords, parseWhen, projectOf, relative, tokens, triggerWords, when, whenInput,
  zoneAbbrev,
} from "../format.js";
import { rateText, stateCell } from "./schedules.js";

const PAGE = 25;

export function runLink(run) {
  return `#/schedules/${seg(run.schedule_id)}/runs/${seg(run.run_id)}`;
}

export function runsTable(runs, { caption }) {
  if (!runs.length) return h("p", { class: "empty", text: "No runs yet." });
  return h("table", { class: "grid responsive runs" },
    h("caption", { class: "visually-hidden", text: caption }),
    h("thead", {}, h("tr", {}, ["Run", "Status", "Trigger", `Slot (${VIEWER_ZONE})`, "Lag", "Duration", "Tokens", "Reason"]
      .map((t) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, runs.map((r) => {
      const usage = r.usage || {};
      const cell = (label, value, extra = {}) => h("td", { "data-label": label, class: [extra.class, value === null && "na"], ...extra.attrs }, value ?? "—");
      return h("tr", {},
        h("td", { "data-label": "Run", class: "id-cell" }, h("a", { href: runLink(r), text: r.run_id })),
        h("td", { "data-label": "Status" }, badge(r.status)),
        cell("Trigger", r.trigger),
        h("td", { "data-label": "Slot" }, h("time", { datetime: r.scheduled_for, text: when(r.scheduled_for) })),
        cell("Lag", r.dispatch_lag_ms === null || r.dispatch_lag_ms === undefined ? null : duration(r.dispatch_lag_ms)),
        cell("Duration", r.execution_duration_ms === null || r.execution_duration_ms === undefined ? null : duration(r.execution_duration_ms)),
        cell("Tokens", usage.input_tokens || usage.output_tokens ? tokens(usage) : null),
        cell("Reason", r.outcome_reason || null, { class: "reason" }));
    })));
}

function fieldErrorsIn(form, err, fields) {
  for (const p of form.querySelectorAll(".field-error")) p.remove();
  let general = true;
  for (const problem of err.problems()) {
    const input = fields[problem.field];
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.after(h("p", { class: "field-error", id: `${input.id}-error`, text: problem.message }));
      input.setAttribute("aria-describedby", `${input.id}-error`);
      general = false;
    }
  }
  if (general) form.querySelector(".dialog-error").textContent = err.message;
}

function details(s) {
  const state = s.state || {};
  const config = s.run_config || {};
  const limits = config.limits || {};
  const misfire = s.misfire_policy || {};
  const misfireText = {
    run_once: "run once (missed slots coalesce into one run)",
    skip: `skip slots later than ${misfire.grace_seconds ?? 60} s`,
    catch_up_all: "catch up every missed slot",
    catch_up_window: `catch up the newest ${misfire.max_catch_up_runs ?? 1} within ${misfire.max_lateness_seconds ?? 3600} s`,
  }[misfire.type] || misfire.type;
  const zone = s.timezone || "UTC";
  const rows = [
    ["Timezone", zone],
    ["Window", s.start_at || s.end_at ? `${s.start_at ? when(s.start_at, zone) : "—"} → ${s.end_at ? when(s.end_at, zone) : "—"}` : "always"],
    ["Misfire policy", misfireText],
    ["Overlap policy", s.overlap_policy],
    ["Daylight saving", `gap: ${(s.dst_policy || {}).gap || "shift"}, repeated hour: ${(s.dst_policy || {}).repeat || "first"}`],
    ["Model", config.model || "deployment default"],
    ["Task", config.task_message || "—"],
    ["Tools", config.tools === null || config.tools === undefined ? "model default" : config.tools.length ? config.tools.join(", ") : "none"],
    ["Auto-execute", config.auto_execute ? "yes" : "no (runs prepare the session only)"],
    ["Limits", `${limits.max_rounds ?? 8} rounds, ${(limits.max_total_tokens ?? 200000).toLocaleString()} tokens, ${lengthWords(limits.max_duration_seconds ?? 3600)}`],
    ["Runs", `${state.total_run_count || 0} (${state.total_success_count || 0} ok, ${state.total_failure_count || 0} failed, ${state.total_missed_count || 0} missed, ${state.total_skipped_count || 0} skipped)`],
    ["Active", `${state.active_run_count || 0} queued or running`],
    ["Tokens used", tokens(state)],
    ["Last success", state.last_success_at ? `${when(state.last_success_at)} (${relative(state.last_success_at)})` : "—"],
    ["Last failure", state.last_failure_at ? `${when(state.last_failure_at)} (${relative(state.last_failure_at)})` : "—"],
    ["Updated", when(s.updated_at)],
  ];
  return h("dl", { class: "details" }, rows.map(([k, v]) => [h("dt", { text: k }), h("dd", { text: String(v) })]));
}

function upcomingList(body, schedule) {
  const zone = (body && body.timezone) || schedule.timezone || "UTC";
  const times = (body && body.fire_times) || [];
  if (!times.length) return h("p", { class: "muted", text: "No further fire times." });
  return h("div", {},
    body.enabled ? null : h("p", { class: "muted", text: "Not firing: the times it would fire if resumed now." }),
    h("ol", { class: "times", "aria-label": "Upcoming fire times" }, times.map((t) => h("li", {},
      h("time", { datetime: t, text: when(t) }),
      zone !== VIEWER_ZONE ? h("span", { class: "muted", text: ` · ${when(t, zone)} ${zoneAbbrev(t, zone)}` }) : null))));
}

export async function schedulePage(main, ctx) {
  const [id] = ctx.params;
  const path = `/schedules/${seg(id)}`;
  const data = { schedule: null, runs: [], older: [], cursor: null, upcoming: null };

  const heading = h("h1", { text: id });
  const meta = h("div", { class: "meta" });
  const notice = h("p", { class: "notice", role: "status", "aria-live": "polite", hidden: true });
  const actionError = h("p", { class: "error", role: "alert", hidden: true });
  const actions = h("div", { class: "actions toolbar", role: "group", "aria-label": "Schedule actions" });
  const upcoming = h("div", {}, h("p", { class: "muted", text: "Loading…" }));
  const info = h("div", {});
  const timeline = h("div", {});
  const table = h("div", { class: "table-area" });
  const more = h("div", {});

  add(main, 
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/schedules", text: "Schedules" })),
    h("div", { class: "page-head" }, heading), meta, actions, notice, actionError,
    h("div", { class: "columns" },
      h("section", { class: "card", "aria-labelledby": "upcoming-h" }, h("h2", { id: "upcoming-h", text: "Upcoming fire times" }), upcoming),
      h("section", { class: "card", "aria-labelledby": "details-h" }, h("h2", { id: "details-h", text: "Details" }), info)),
    h("section", { class: "card", "aria-labelledby": "history-h" },
      h("h2", { id: "history-h", text: "Run history" }), timeline, table, more),
  );

  function say(message, link) {
    actionError.hidden = true;
    notice.hidden = false;
    notice.replaceChildren(message, link ? " " : "", link || "");
  }
  function fail(err) {
    if (!(err instanceof ApiError)) {
      ctx.failed(err);
      return;
    }
    notice.hidden = true;
    actionError.hidden = false;
    actionError.textContent = err.status === 409 ? `Conflict: ${err.message}` : err.message;
  }
  async function act(fn) {
    try {
      await fn();
    } catch (err) {
      if (err && err.name === "AbortError") return;
      fail(err);
    }
  }

  function drawActions(s) {
    const buttons = [
      h("button", { type: "button", class: "button primary", text: "Run now", onclick: () => act(runNow) }),
      s.enabled
        ? h("button", { type: "button", class: "button", text: "Pause", onclick: () => act(pause) })
        : h("button", { type: "button", class: "button", text: "Resume", onclick: () => act(resume) }),
      h("button", { type: "button", class: "button", text: "Backfill", onclick: () => act(backfill) }),
      h("button", { type: "button", class: "button", text: "Edit", onclick: () => ctx.go(`#/schedules/${seg(id)}/edit`) }),
      h("button", { type: "button", class: "button danger-outline", text: "Delete", onclick: () => act(remove) }),
    ];
    update(actions, s.enabled, () => buttons);
  }

  function draw() {
    const s = data.schedule;
    if (!s) return;
    ctx.title(s.name || s.id);
    heading.textContent = s.name || s.id;
    update(meta, [s, data.runs.slice(0, 20)], () => [
      h("p", { class: "meta-line" },
        h("span", { class: "muted", text: "id " }), h("code", { text: s.id }),
        h("span", { class: "muted", text: " · project " }), projectOf(s),
        h("span", { class: "muted", text: " · success " }), rateText(data.runs.slice(0, 20))),
      h("p", { class: "meta-line" }, stateCell(s), " ", h("span", { class: "trigger", text: triggerWords(s) })),
    ]);
    drawActions(s);
    update(upcoming, data.upcoming, () => upcomingList(data.upcoming, s));
    update(info, [s, Math.floor(Date.now() / 30000)], () => details(s));
    const runs = [...data.runs, ...data.older];
    const now = Date.now();
    const oldest = runs.length ? new Date(runs[runs.length - 1].scheduled_for).getTime() : now - 3600000;
    const from = Math.min(oldest, now - 60000);
    update(timeline, [runs.map((r) => [r.run_id, r.status, r.dispatch_lag_ms, r.execution_duration_ms]), Math.floor(now / 10000)],
      () => runs.length ? runTimeline(runs, { from, to: now + (now - from) * 0.02, href: runLink, label: "Run history timeline: one mark per slot, oldest left" }) : "");
    update(table, runs, () => runsTable(runs, { caption: "Runs, newest first" }));
    update(more, [data.cursor], () => data.cursor ? h("button", { type: "button", class: "button secondary", text: "Load older runs", onclick: () => act(loadOlder) }) : "");
  }

  async function refresh() {
    const got = await request("GET", path, { signal: ctx.signal });
    data.schedule = got.body;
    data.etag = got.etag;
    const [runs, times] = await Promise.all([
      request("GET", `${path}/runs`, { query: { limit: PAGE }, signal: ctx.signal }),
      request("GET", `${path}/upcoming`, { query: { count: 10 }, signal: ctx.signal }),
    ]);
    data.runs = runs.body.runs || [];
    if (!data.older.length) data.cursor = runs.body.next_cursor;
    data.upcoming = times.body;
    draw();
  }

  async function loadOlder() {
    const { body } = await request("GET", `${path}/runs`, { query: { limit: PAGE, cursor: data.cursor }, signal: ctx.signal });
    const known = new Set([...data.runs, ...data.older].map((r) => r.run_id));
    data.older.push(...(body.runs || []).filter((r) => !known.has(r.run_id)));
    data.cursor = body.next_cursor;
    draw();
  }

  const busy = () => data.runs.some((r) => OPEN.has(r.status));
  const poller = ctx.poll(refresh, () => (busy() ? 1000 : 5000));

  async function runNow() {
    const { body } = await request("POST", `${path}/run`, { headers: { "Idempotency-Key": newKey() }, signal: ctx.signal });
    say(`Run queued:`, h("a", { href: runLink(body), text: body.run_id }));
    poller.now();
  }

  async function pause() {
    const note = h("input", { id: "pause-note", type: "text", maxlength: 1000, autocomplete: "off", placeholder: "e.g. upstream API down until Monday" });
    const result = await openDialog({
      title: "Pause schedule",
      submit: "Pause",
      build: (form) => form.append(
        h("p", { text: "No slot fires while it is paused; resuming does not catch up the paused period." }),
        h("div", { class: "field" }, h("label", { for: "pause-note", text: "Note" }), note),
        h("p", { class: "error dialog-error", role: "alert" })),
      onSubmit: async () => {
        try {
          await request("POST", `${path}/pause`, { body: note.value.trim() ? { note: note.value.trim() } : {}, signal: ctx.signal });
          return true;
        } catch (err) {
          if (!(err instanceof ApiError)) {
            ctx.failed(err);
            return true;
          }
          fieldErrorsIn(note.form, err, { note });
          return false;
        }
      },
    });
    if (result === "confirm") {
      say("Pause saved: no slot fires until you resume.");
      poller.now();
    }
  }

  async function resume() {
    const { body } = await request("POST", `${path}/resume`, { signal: ctx.signal });
    const next = body.state && body.state.next_fire_at;
    say(next ? `Resumed; next fire ${when(next)} (${relative(next)}).` : "Resumed.");
    poller.now();
  }

  async function backfill() {
    const now = new Date(Math.floor(Date.now() / 60000) * 60000);
    const start = h("input", { id: "backfill-start", type: "text", value: whenInput(new Date(now.getTime() - 3600000), VIEWER_ZONE), autocomplete: "off" });
    const end = h("input", { id: "backfill-end", type: "text", value: whenInput(now, VIEWER_ZONE), autocomplete: "off" });
    const hint = `YYYY-MM-DD HH:MM in your zone (${VIEWER_ZONE}), or ISO 8601 with Z or an offset`;
    const result = await openDialog({
      title: "Backfill",
      submit: "Backfill",
      build: (form) => form.append(
        h("p", { text: "Runs every slot of the trigger from Start (inclusive) to End (exclusive), both in the past; a slot that already has a run is not run again. At most 1000 slots." }),
        h("div", { class: "field" }, h("label", { for: "backfill-start", text: "Start" }), start, h("p", { class: "hint", text: hint })),
        h("div", { class: "field" }, h("label", { for: "backfill-end", text: "End" }), end),
        h("p", { class: "error dialog-error", role: "alert" })),
      onSubmit: async () => {
        const form = start.form;
        const from = parseWhen(start.value, VIEWER_ZONE);
        const to = parseWhen(end.value, VIEWER_ZONE);
        const bad = [];
        if (!from) bad.push({ field: "start_at", message: "Start must be a date and time (YYYY-MM-DD HH:MM)" });
        if (!to) bad.push({ field: "end_at", message: "End must be a date and time (YYYY-MM-DD HH:MM)" });
        const fields = { start_at: start, end_at: end };
        if (bad.length) {
          fieldErrorsIn(form, { problems: () => bad, message: bad[0].message }, fields);
          return false;
        }
        try {
          const { body } = await request("POST", `${path}/backfill`, { body: { start_at: from.toISOString(), end_at: to.toISOString() }, signal: ctx.signal });
          say(`Backfill: ${body.created.length} run${body.created.length === 1 ? "" : "s"} queued; ${body.existing.length} slot${body.existing.length === 1 ? "" : "s"} already had a run.`);
          return true;
        } catch (err) {
          if (!(err instanceof ApiError)) {
            ctx.failed(err);
            return true;
          }
          fieldErrorsIn(form, err, fields);
          return false;
        }
      },
    });
    if (result === "confirm") poller.now();
  }

  async function remove() {
    const name = data.schedule ? data.schedule.name || id : id;
    let done = false;
    await openDialog({
      title: "Delete schedule",
      submit: "Delete",
      danger: true,
      build: (form) => form.append(
        h("p", {}, "Delete ", h("strong", { text: name }), " and its run records? This cannot be undone. Sessions stay until the sessions bucket's lifecycle removes them."),
        h("p", { class: "error dialog-error", role: "alert" })),
      onSubmit: async () => {
        try {
          await request("DELETE", path, { signal: ctx.signal });
          done = true;
          return true;
        } catch (err) {
          if (!(err instanceof ApiError)) {
            ctx.failed(err);
            return true;
          }
          fieldErrorsIn(main.ownerDocument.querySelector("#dialog form"), err, {});
          return false;
        }
      },
    });
    if (done) ctx.go("#/schedules", `Deleted schedule ${name}.`);
  }
}
