// Create or edit a schedule. As the user types, the next 10 fire times come from POST /schedules/preview
// (nothing is saved); the API's validation errors appear next to the field they name. Save creates
// (POST, with an Idempotency-Key) or updates (PATCH with If-Match = the ETag read; a 409 is reported).

import { add, h, uid } from "../dom.js";
import { ApiError, newKey, request, seg } from "../api.js";
import {
  VIEWER_ZONE, cronMeaning, dstNotes, parseWhen, relative, validZone, when, whenInput, zoneAbbrev,
} from "../format.js";

const KINDS = ["interval", "once", "daily", "weekly", "monthly", "cron"].map((k) => [k, k]);
const UNITS = [["seconds", 1], ["minutes", 60], ["hours", 3600], ["days", 86400]];
const WEEKDAYS = [["mon", "Mon"], ["tue", "Tue"], ["wed", "Wed"], ["thu", "Thu"], ["fri", "Fri"], ["sat", "Sat"], ["sun", "Sun"]];
const MISFIRE = [
  ["run_once", "Run once: missed slots coalesce into one run"],
  ["skip", "Skip: run a slot only within a grace period"],
  ["catch_up_all", "Catch up all: run every missed slot in order"],
  ["catch_up_window", "Catch up window: the newest few, if not too late"],
];
const OVERLAP = [
  ["queue_one", "Queue one: one run waits behind the active one"],
  ["skip", "Skip: a slot that finds a run active is skipped"],
  ["allow", "Allow: runs may overlap"],
  ["cancel_other", "Cancel other: the active run is asked to stop"],
  ["queue_all", "Queue all: every slot waits its turn"],
];
const PREVIEW_DELAY_MS = 300;

let zones = null;
function zoneList() {
  if (!zones) {
    zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
    if (!zones.includes("UTC")) zones = ["UTC", ...zones];
  }
  return zones;
}

const pad = (n) => String(n).padStart(2, "0");
const text = (v) => (v === undefined || v === null ? "" : String(v));
const orNull = (v) => (v.trim() ? v.trim() : null);
const num = (v) => {
  const t = String(v).trim();
  if (!t) return undefined;
  return /^-?\d+$/.test(t) ? Number(t) : t;
};

function defaults() {
  return {
    name: "", enabled: true, timezone: validZone(VIEWER_ZONE) ? VIEWER_ZONE : "UTC", // (a browser may not know its own)
    trigger: { type: "daily", hour: 9, minute: 0, second: 0 },
    misfire_policy: { type: "run_once" }, overlap_policy: "queue_one", dst_policy: { gap: "shift", repeat: "first" },
    run_config: { model: "", task_message: "", auto_execute: false, limits: { max_rounds: 8, max_total_tokens: 200000, max_duration_seconds: 3600 } },
  };
}

export async function formPage(main, ctx) {
  const [id] = ctx.params;
  const editing = Boolean(id);
  const path = editing ? `/schedules/${seg(id)}` : "/schedules";
  let original = null;
  let etag = null;
  if (editing) {
    const got = await request("GET", path, { signal: ctx.signal });
    original = got.body;
    etag = got.etag;
  }
  const start = original || defaults();
  ctx.title(editing ? `Edit ${start.name || id}` : "Create schedule");

  // ------------------------------------------------------------------ fields
  const errorTargets = new Map(); // API field path -> {input, error}

  function field(label, input, { key, hint, keys = [], wide = false } = {}) {
    input.id = input.id || uid("f");
    const error = h("p", { class: "field-error", id: `${input.id}-error`, hidden: true });
    const hintEl = hint ? h("p", { class: "hint", id: `${input.id}-hint`, text: hint }) : null;
    if (hintEl) input.setAttribute("aria-describedby", hintEl.id);
    const wrapper = h("div", { class: ["field", wide && "wide"] }, h("label", { for: input.id, text: label }), input, hintEl, error);
    for (const k of [key, ...keys].filter(Boolean)) errorTargets.set(k, { input, error, hintEl });
    return wrapper;
  }
  const select = (options, value) => h("select", {}, options.map(([v, t]) => h("option", { value: v, text: t, selected: v === value })));

  const nameInput = h("input", { type: "text", value: text(start.name), autocomplete: "off", required: true });
  const idInput = editing ? null : h("input", { type: "text", autocomplete: "off", placeholder: "generated when empty", pattern: "[A-Za-z0-9_-]{1,64}" });
  const kind = select(KINDS, start.trigger.type);
  const zoneInput = h("input", { type: "text", list: "zone-list", value: text(start.timezone) || "UTC", autocomplete: "off", spellcheck: "false" });
  const zoneOptions = h("datalist", { id: "zone-list" }, zoneList().map((z) => h("option", { value: z })));
  const zone = () => (zoneInput.value.trim() && validZone(zoneInput.value.trim()) ? zoneInput.value.trim() : "UTC");
  const startAt = h("input", { type: "text", value: whenInput(start.start_at, start.timezone || "UTC"), autocomplete: "off", placeholder: "YYYY-MM-DD HH:MM" });
  const endAt = h("input", { type: "text", value: whenInput(start.end_at, start.timezone || "UTC"), autocomplete: "off", placeholder: "YYYY-MM-DD HH:MM" });

  // The trigger's own fields, kept per kind so switching back and forth loses nothing.
  const t0 = start.trigger;
  const every = UNITS.slice().reverse().find(([, size]) => (t0.every_seconds || 0) % size === 0 && t0.every_seconds) || ["minutes", 60];
  const timeValue = (t) => (t.hour === undefined ? "09:00" : `${pad(t.hour)}:${pad(t.minute || 0)}${t.second ? `:${pad(t.second)}` : ""}`);
  const timeInput = () => {
    const input = h("input", { type: "time", value: timeValue(t0), step: t0.second ? 1 : 60 });
    return input;
  };
  const tomorrow = new Date(Date.now() + 86400000);
  const trig = {
    everyCount: h("input", { type: "number", min: 1, step: 1, inputmode: "numeric", value: t0.every_seconds ? String(t0.every_seconds / every[1]) : "5" }),
    everyUnit: select(UNITS.map(([u]) => [u, u]), t0.every_seconds ? every[0] : "minutes"),
    at: h("input", { type: "text", autocomplete: "off", placeholder: "YYYY-MM-DD HH:MM",
      value: t0.at ? whenInput(t0.at, start.timezone || "UTC") : whenInput(new Date(Math.floor(tomorrow.getTime() / 3600000) * 3600000), start.timezone || VIEWER_ZONE) }),
    dailyTime: timeInput(),
    weeklyTime: timeInput(),
    monthlyTime: timeInput(),
    weekdays: WEEKDAYS.map(([v, label]) => {
      const box = h("input", { type: "checkbox", value: v, id: uid("day"), checked: (t0.weekdays || ["mon", "tue", "wed", "thu", "fri"]).includes(v) });
      return h("label", { class: "check", for: box.id }, box, label);
    }),
    days: h("input", { type: "text", value: (t0.days || [1]).join(", "), autocomplete: "off", inputmode: "numeric" }),
    expr: h("input", { type: "text", value: text(t0.expr) || "*/5 * * * *", autocomplete: "off", spellcheck: "false", class: "mono" }),
  };
  const cronWords = h("p", { class: "hint", "aria-live": "polite" });
  const kindArea = h("div", { class: "kind-fields" });

  function drawKind() {
    errorTargets.forEach((target, key) => { if (key.startsWith("trigger.") && key !== "trigger.type") errorTargets.delete(key); });
    const k = kind.value;
    const parts = {
      interval: () => [h("div", { class: "row" },
        field("Every", trig.everyCount, { key: "trigger.every_seconds", keys: ["trigger.anchor_at"] }),
        field("Unit", trig.everyUnit)),
        h("p", { class: "hint", text: "Interval and once triggers are plain UTC arithmetic: the timezone and daylight saving do not move them." })],
      once: () => [field("At", trig.at, { key: "trigger.at", hint: "YYYY-MM-DD HH:MM in the schedule's timezone (or ISO 8601 with Z)" })],
      daily: () => [field("Time of day", trig.dailyTime, { key: "trigger.hour", keys: ["trigger.minute", "trigger.second"] })],
      weekly: () => {
        const group = h("fieldset", { class: "days", id: uid("weekdays") }, h("legend", { text: "Days of the week" }), trig.weekdays);
        const error = h("p", { class: "field-error", id: `${group.id}-error`, hidden: true });
        errorTargets.set("trigger.weekdays", { input: group, error });
        return [h("div", { class: "field wide" }, group, error),
          field("Time of day", trig.weeklyTime, { key: "trigger.hour", keys: ["trigger.minute", "trigger.second"] })];
      },
      monthly: () => [h("div", { class: "row" },
        field("Days of the month", trig.days, { key: "trigger.days", hint: "e.g. 1, 15, 31 (a month without the day skips it)" }),
        field("Time of day", trig.monthlyTime, { key: "trigger.hour", keys: ["trigger.minute", "trigger.second"] }))],
      cron: () => [field("Cron expression", trig.expr, {
        key: "trigger.expr", wide: true,
        hint: "5 fields (m h dom mon dow), 6 with seconds first, 7 with a year, or @hourly, @daily, @weekly, @monthly",
      }), cronWords],
    }[k];
    kindArea.replaceChildren(...parts());
    drawCronWords();
  }
  function drawCronWords() {
    cronWords.textContent = kind.value === "cron" ? `Means: ${cronMeaning(trig.expr.value)}` : "";
  }

  const misfire = select(MISFIRE, (start.misfire_policy || {}).type || "run_once");
  const m0 = start.misfire_policy || {};
  const grace = h("input", { type: "number", min: 0, inputmode: "numeric", value: text(m0.grace_seconds ?? 60) });
  const maxRuns = h("input", { type: "number", min: 1, inputmode: "numeric", value: text(m0.max_catch_up_runs ?? 1) });
  const lateness = h("input", { type: "number", min: 0, inputmode: "numeric", value: text(m0.max_lateness_seconds ?? 3600) });
  const misfireArea = h("div", { class: "row" });
  function drawMisfire() {
    const parts = {
      skip: [field("Grace (seconds)", grace, { key: "misfire_policy.grace_seconds" })],
      catch_up_window: [field("Max catch-up runs", maxRuns, { key: "misfire_policy.max_catch_up_runs" }),
        field("Max lateness (seconds)", lateness, { key: "misfire_policy.max_lateness_seconds" })],
    }[misfire.value] || [];
    misfireArea.replaceChildren(...parts);
  }
  const overlap = select(OVERLAP, start.overlap_policy || "queue_one");
  const dst = start.dst_policy || {};
  const gap = select([["shift", "Shift: fire right after the gap"], ["skip", "Skip that day's slot"]], dst.gap || "shift");
  const repeat = select([["first", "First occurrence"], ["last", "Last occurrence"], ["both", "Both occurrences"]], dst.repeat || "first");

  const rc = start.run_config || {};
  const limits = rc.limits || {};
  const task = h("textarea", { rows: 3, value: text(rc.task_message) });
  const model = h("input", { type: "text", value: text(rc.model), autocomplete: "off", placeholder: "deployment default (e.g. echo)", spellcheck: "false" });
  // The project is a top-level field (older specs kept it as run_config.project_id); it never changes.
  const project = h("input", { type: "text", value: text(start.project_id || rc.project_id), autocomplete: "off", placeholder: "default" });
  if (editing) project.readOnly = true;
  const tools = h("input", {
    type: "text", autocomplete: "off", spellcheck: "false", placeholder: "model default",
    value: rc.tools === null || rc.tools === undefined ? "" : rc.tools.length ? rc.tools.join(", ") : "none",
  });
  const auto = h("input", { type: "checkbox", id: uid("auto"), checked: Boolean(rc.auto_execute) });
  const system = h("textarea", { rows: 2, value: text(rc.system_prompt) });
  const rounds = h("input", { type: "number", min: 1, inputmode: "numeric", value: text(limits.max_rounds ?? 8) });
  const maxTokens = h("input", { type: "number", min: 1, inputmode: "numeric", value: text(limits.max_total_tokens ?? 200000) });
  const maxSeconds = h("input", { type: "number", min: 1, inputmode: "numeric", value: text(limits.max_duration_seconds ?? 3600) });
  const enabled = editing ? null : h("input", { type: "checkbox", id: uid("enabled"), checked: true });
  const autoError = h("p", { class: "field-error", id: `${auto.id}-error`, hidden: true });
  errorTargets.set("run_config.auto_execute", { input: auto, error: autoError });

  // ------------------------------------------------------------------ preview
  const previewList = h("ol", { class: "times preview", "aria-labelledby": "preview-h" });
  const previewStatus = h("p", { class: "muted", "aria-live": "polite" });
  const preview = h("aside", { class: "card preview-card", "aria-labelledby": "preview-h" },
    h("h2", { id: "preview-h", text: "Next fire times" }),
    h("p", { class: "hint", text: `In your zone (${VIEWER_ZONE}) and the schedule's.` }),
    previewStatus, previewList);

  const general = h("div", { class: "error", role: "alert", hidden: true });
  const conflict = h("div", { class: "conflict", role: "alert", hidden: true });
  const saveButton = h("button", { type: "submit", class: "button primary", text: "Save" });

  const form = h("form", { class: "schedule-form", novalidate: true },
    h("fieldset", { class: "card" }, h("legend", { text: "Schedule" }),
      field("Name", nameInput, { key: "name", wide: true }),
      idInput ? field("Id (optional)", idInput, { key: "id", hint: "letters, digits, - and _; fixed once created" }) : null,
      field("Trigger", kind, { key: "trigger", keys: ["trigger.type"] }),
      kindArea,
      field("Timezone", zoneInput, { key: "timezone", hint: "IANA name, e.g. Europe/Berlin; wall-clock triggers fire in it" }),
      zoneOptions,
      h("div", { class: "row" },
        field("Start at", startAt, { key: "start_at", hint: "optional; in the schedule's timezone" }),
        field("End at", endAt, { key: "end_at", hint: "optional; exclusive" })),
      enabled ? h("div", { class: "field" }, h("label", { class: "check", for: enabled.id }, enabled, "Enabled (fires as soon as it is saved)")) : null),
    preview,
    h("fieldset", { class: "card" }, h("legend", { text: "Policies" }),
      field("Misfire policy", misfire, { key: "misfire_policy", keys: ["misfire_policy.type"], hint: "what happens to slots missed while the scheduler could not fire them" }),
      misfireArea,
      field("Overlap policy", overlap, { key: "overlap_policy", hint: "what a slot does when a run of this schedule is still active" }),
      h("div", { class: "row" },
        field("On a DST gap", gap, { key: "dst_policy.gap" }),
        field("On a repeated hour", repeat, { key: "dst_policy.repeat" }))),
    h("fieldset", { class: "card" }, h("legend", { text: "Run config" }),
      field("Task", task, { key: "run_config.task_message", wide: true, hint: "the user message of each run's session" }),
      h("div", { class: "row" },
        field("Model", model, { key: "run_config.model", hint: "provider:model-id, or echo" }),
        field("Project", project, { key: "project_id", keys: ["run_config.project_id"], hint: editing ? "a schedule stays in its project" : undefined })),
      field("Tools", tools, { key: "run_config.tools", hint: "comma-separated; empty: the model's default tools; none: no tools" }),
      h("div", { class: "field" }, h("label", { class: "check", for: auto.id }, auto, "Auto-execute (run the agent; otherwise a run only prepares the session)"), autoError),
      field("System prompt", system, { key: "run_config.system_prompt", wide: true }),
      h("div", { class: "row three" },
        field("Max rounds", rounds, { key: "run_config.limits.max_rounds" }),
        field("Max total tokens", maxTokens, { key: "run_config.limits.max_total_tokens" }),
        field("Max duration (seconds)", maxSeconds, { key: "run_config.limits.max_duration_seconds" }))),
    h("div", { class: "form-actions" }, general, conflict,
      h("div", { class: "actions" }, saveButton,
        h("a", { class: "button secondary", href: editing ? `#/schedules/${seg(id)}` : "#/schedules", text: "Cancel" }))),
  );

  add(main, 
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/schedules", text: "Schedules" }),
      editing ? [" / ", h("a", { href: `#/schedules/${seg(id)}`, text: start.name || id })] : null),
    h("h1", { text: editing ? `Edit ${start.name || id}` : "Create schedule" }),
    form,
  );
  drawKind();
  drawMisfire();

  // ------------------------------------------------------------------ spec from the form
  function collect({ forPreview }) {
    const problems = [];
    const z = zone();
    const k = kind.value;
    const parseTime = (input) => {
      const m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(input.value.trim());
      if (!m) return {};
      return { hour: Number(m[1]), minute: Number(m[2]), second: Number(m[3] || 0) };
    };
    let trigger;
    if (k === "interval") {
      const count = num(trig.everyCount.value);
      const size = UNITS.find(([u]) => u === trig.everyUnit.value)[1];
      trigger = { type: "interval", every_seconds: typeof count === "number" ? count * size : count };
      if (original && original.trigger.type === "interval" && original.trigger.anchor_at) trigger.anchor_at = original.trigger.anchor_at;
    } else if (k === "once") {
      const at = parseWhen(trig.at.value, z);
      if (!at) problems.push({ field: "trigger.at", message: "trigger.at must be a date and time: YYYY-MM-DD HH:MM" });
      trigger = { type: "once", at: at ? at.toISOString() : null };
    } else if (k === "daily") trigger = { type: "daily", ...parseTime(trig.dailyTime) };
    else if (k === "weekly") {
      const days = trig.weekdays.map((l) => l.querySelector("input")).filter((b) => b.checked).map((b) => b.value);
      trigger = { type: "weekly", weekdays: days, ...parseTime(trig.weeklyTime) };
    } else if (k === "monthly") {
      const days = trig.days.value.split(/[\s,]+/).filter(Boolean).map(num);
      trigger = { type: "monthly", days, ...parseTime(trig.monthlyTime) };
    } else trigger = { type: "cron", expr: trig.expr.value };

    const window = {};
    for (const [key, input] of [["start_at", startAt], ["end_at", endAt]]) {
      const value = parseWhen(input.value, z);
      if (value === undefined) problems.push({ field: key, message: `${key} must be a date and time: YYYY-MM-DD HH:MM` });
      window[key] = value ? value.toISOString() : null;
    }
    const misfirePolicy = { type: misfire.value };
    if (misfire.value === "skip") misfirePolicy.grace_seconds = num(grace.value);
    if (misfire.value === "catch_up_window") {
      misfirePolicy.max_catch_up_runs = num(maxRuns.value);
      misfirePolicy.max_lateness_seconds = num(lateness.value);
    }
    const toolText = tools.value.trim();
    const limitValues = { max_rounds: num(rounds.value), max_total_tokens: num(maxTokens.value), max_duration_seconds: num(maxSeconds.value) };
    const spec = {
      name: nameInput.value.trim() || (forPreview ? "preview" : ""),
      project_id: project.value.trim() || undefined, // left out when blank: the API takes no null project
      trigger,
      timezone: orNull(zoneInput.value),
      ...window,
      misfire_policy: misfirePolicy,
      overlap_policy: overlap.value,
      dst_policy: { gap: gap.value, repeat: repeat.value },
      run_config: {
        task_message: orNull(task.value),
        model: orNull(model.value),
        system_prompt: orNull(system.value),
        tools: !toolText ? null : toolText.toLowerCase() === "none" ? [] : toolText.split(/\s*,\s*/).filter(Boolean),
        auto_execute: auto.checked,
        limits: Object.fromEntries(Object.entries(limitValues).filter(([, v]) => v !== undefined)),
      },
    };
    if (!editing) {
      if (idInput.value.trim()) spec.id = idInput.value.trim();
      spec.enabled = enabled.checked;
    }
    return { spec, problems };
  }

  // ------------------------------------------------------------------ errors
  function clearErrors() {
    for (const { input, error, hintEl } of errorTargets.values()) {
      error.hidden = true;
      error.textContent = "";
      input.removeAttribute("aria-invalid");
      input.setAttribute("aria-describedby", hintEl ? hintEl.id : "");
      if (!hintEl) input.removeAttribute("aria-describedby");
    }
    general.hidden = true;
    general.textContent = "";
  }
  function targetOf(fieldPath) {
    if (!fieldPath) return null;
    let key = fieldPath;
    while (key) {
      if (errorTargets.has(key)) return errorTargets.get(key);
      key = key.includes(".") ? key.slice(0, key.lastIndexOf(".")) : "";
    }
    return null;
  }
  function showErrors(problems) {
    clearErrors();
    const unplaced = [];
    for (const p of problems) {
      const target = targetOf(p.field);
      if (!target) {
        unplaced.push(p.message);
        continue;
      }
      target.error.hidden = false;
      target.error.textContent = target.error.textContent ? `${target.error.textContent} ${p.message}` : p.message;
      target.input.setAttribute("aria-invalid", "true");
      target.input.setAttribute("aria-describedby", [target.hintEl && target.hintEl.id, target.error.id].filter(Boolean).join(" "));
    }
    if (unplaced.length) {
      general.hidden = false;
      general.textContent = unplaced.join(" ");
    }
  }

  // ------------------------------------------------------------------ preview
  let sequence = 0;
  let timer = null;
  function schedulePreview() {
    clearTimeout(timer);
    timer = setTimeout(runPreview, PREVIEW_DELAY_MS);
  }
  // A preview asks about timing only: the fields that decide the fire times. What else the form holds (a
  // model name half typed, auto-execute ticked before the task is written, an id being typed) cannot make
  // the preview fail, and a field still being typed (a time, a count, a zone) is caught here rather than
  // sent: the preview never provokes a 400 of its own while the user types. Save checks everything.
  const TIMING = ["name", "trigger", "triggers", "timezone", "start_at", "end_at", "exclude", "jitter_seconds", "max_runs", "dst_policy", "enabled"];
  function incomplete(spec) {
    const problems = [];
    const t = spec.trigger;
    if (["daily", "weekly", "monthly"].includes(t.type) && t.hour === undefined) {
      problems.push({ field: "trigger.hour", message: "Enter a time of day (HH:MM)." });
    }
    if (t.type === "interval" && t.every_seconds === undefined) {
      problems.push({ field: "trigger.every_seconds", message: "Enter how often." });
    }
    if (t.type === "weekly" && !t.weekdays.length) problems.push({ field: "trigger.weekdays", message: "Choose at least one day." });
    if (t.type === "monthly" && !t.days.length) problems.push({ field: "trigger.days", message: "Enter at least one day of the month." });
    if (t.type === "cron" && !String(t.expr || "").trim()) problems.push({ field: "trigger.expr", message: "Enter a cron expression." });
    if (spec.timezone && !validZone(spec.timezone)) {
      problems.push({ field: "timezone", message: `${spec.timezone} is not a timezone (yet): pick one from the list.` });
    }
    return problems;
  }
  async function runPreview() {
    if (!ctx.active) return;
    const mine = ++sequence;
    const collected = collect({ forPreview: true });
    const problems = [...collected.problems, ...incomplete(collected.spec)];
    const spec = Object.fromEntries(Object.entries(collected.spec).filter(([key]) => TIMING.includes(key)));
    if (problems.length) {
      showErrors(problems);
      previewStatus.textContent = "Fix the marked fields to see the fire times.";
      previewList.replaceChildren();
      return;
    }
    previewStatus.textContent = "Updating…";
    try {
      const { body } = await request("POST", "/schedules/preview", { query: { count: 10 }, body: spec, signal: ctx.signal });
      if (mine !== sequence) return;
      clearErrors();
      drawPreview(body, spec);
    } catch (err) {
      if (mine !== sequence || ctx.signal.aborted) return;
      if (err instanceof ApiError) {
        showErrors(err.problems());
        previewStatus.textContent = "Fix the marked fields to see the fire times.";
        previewList.replaceChildren();
      } else {
        previewStatus.textContent = `No preview: ${err.message}`;
        previewList.replaceChildren();
      }
    }
  }
  function drawPreview(body, spec) {
    const z = body.timezone || "UTC";
    const times = body.fire_times || [];
    const notes = dstNotes(times, z, spec.trigger);
    previewStatus.textContent = times.length ? "" : "No further fire times: it would never fire (check the trigger and the window).";
    previewList.replaceChildren(...times.map((t, i) => h("li", { class: notes[i] ? `dst ${notes[i].kind}` : null },
      h("time", { datetime: t, text: when(t) }),
      h("span", { class: "muted" }, ` ${relative(t)}`),
      z !== VIEWER_ZONE ? h("span", { class: "zone-time", text: `${when(t, z)} ${zoneAbbrev(t, z)}` }) : null,
      notes[i] ? h("span", { class: `badge dst-${notes[i].kind}`, text: notes[i].text }) : null)));
  }

  // ------------------------------------------------------------------ save
  async function patch(spec) {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await request("PATCH", path, { body: spec, headers: { "If-Match": etag }, signal: ctx.signal });
      } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 409 || attempt >= 2) throw err;
        // A fire moves the version (the claim bumps it) without touching the spec: if updated_at is the one
        // read, nobody edited the schedule, so the edit is re-sent against the new version. Otherwise it is
        // a real conflict and the user decides.
        const fresh = await request("GET", path, { signal: ctx.signal });
        if (fresh.body.updated_at !== original.updated_at) throw err;
        etag = fresh.etag;
      }
    }
  }

  function showConflict(err) {
    conflict.hidden = false;
    conflict.replaceChildren(
      h("p", {}, h("strong", { text: "Conflict (HTTP 409): " }),
        "this schedule was changed by someone else after you opened this form, so it was not saved. ", err.message),
      h("p", { text: "Your edits are still in the form. Reload the latest version to see what changed (this discards your edits), then edit again." }),
      h("button", { type: "button", class: "button", text: "Reload latest", onclick: () => {
        ctx.reload();
      } }),
    );
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearTimeout(timer);
    conflict.hidden = true;
    const { spec, problems } = collect({ forPreview: false });
    if (problems.length) {
      showErrors(problems);
      focusFirstError();
      return;
    }
    saveButton.disabled = true;
    saveButton.textContent = "Saving…";
    try {
      if (editing) {
        await patch(spec);
        ctx.go(`#/schedules/${seg(id)}`);
      } else {
        const { body } = await request("POST", "/schedules", { body: spec, headers: { "Idempotency-Key": newKey() }, signal: ctx.signal });
        ctx.go(`#/schedules/${seg(body.id)}`);
      }
    } catch (err) {
      if (ctx.signal.aborted) return;
      if (err instanceof ApiError && err.status === 409 && editing) showConflict(err);
      else if (err instanceof ApiError) {
        showErrors(err.problems());
        focusFirstError();
      } else ctx.failed(err);
    } finally {
      saveButton.disabled = false;
      saveButton.textContent = "Save";
    }
  });
  function focusFirstError() {
    const invalid = form.querySelector('[aria-invalid="true"]');
    if (invalid && typeof invalid.focus === "function") invalid.focus();
  }

  kind.addEventListener("change", drawKind);
  misfire.addEventListener("change", drawMisfire);
  trig.expr.addEventListener("input", drawCronWords);
  form.addEventListener("input", schedulePreview);
  form.addEventListener("change", schedulePreview);
  runPreview();
}
