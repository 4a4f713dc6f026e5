// Schedules: the landing page. Every schedule with its trigger in words, next fire (your zone and its own),
// last run, success rate of recent runs and state; filters by project and status, search by name.

import { add, badge, h, update } from "../dom.js";
import { ApiError, listRuns, listSchedules, mapLimit } from "../api.js";
import {
  VIEWER_ZONE, failingNow, lastRun, projectOf, relative, successRate, triggerWords, when, zoneAbbrev,
} from "../format.js";

const RECENT_RUNS = 20;
const REFRESH_MS = 10000;
const STATUS_FILTERS = [
  ["", "All"],
  ["enabled", "Enabled"],
  ["paused", "Paused"],
  ["failing", "Failing now"],
  ["never", "Never run"],
];

// A schedule that ended by itself (its once trigger fired, end_at or max_runs reached, expired) is disabled
// by the claim with a note saying so; it reads "finished", as in the CLI, not "paused".
const ENDED_NOTE = /^(finished|ended|expired)\b/;
export const finished = (schedule) => !schedule.enabled && ENDED_NOTE.test(schedule.pause_note || "");

export function nextFireCell(schedule) {
  const next = schedule.state && schedule.state.next_fire_at;
  if (finished(schedule)) return h("span", { class: "muted", text: "— (finished)" });
  if (!schedule.enabled) return h("span", { class: "muted", text: "— (paused)" });
  if (!next) return h("span", { class: "muted", text: "none" });
  const zone = schedule.timezone || "UTC";
  const cell = [h("span", { class: "when" }, h("time", { datetime: next, text: when(next) }), " ", h("span", { class: "muted", text: relative(next) }))];
  if (zone !== VIEWER_ZONE) {
    cell.push(h("span", { class: "when-zone muted", text: `${when(next, zone)} ${zoneAbbrev(next, zone)}` }));
  }
  return h("span", { class: "stack" }, cell);
}

export function rateText(runs) {
  const { rate, count } = successRate(runs);
  return rate === null ? "—" : `${Math.round(rate * 100)}% of ${count}`;
}

export function stateCell(schedule) {
  if (schedule.enabled) return badge("enabled", "enabled");
  const state = finished(schedule) ? "finished" : "paused";
  return h("span", { class: "stack" }, badge(state, state), schedule.pause_note ? h("span", { class: "note", text: schedule.pause_note }) : null);
}

export async function schedulesPage(main, ctx) {
  ctx.title("Schedules");
  const notice = ctx.takeFlash();
  const data = { schedules: [], runs: new Map(), complete: true, loaded: false };
  const filters = { project: "", status: "", search: "" };

  const project = h("select", { id: "filter-project", onchange: () => { filters.project = project.value; draw(); } });
  const status = h("select", { id: "filter-status", onchange: () => { filters.status = status.value; draw(); } },
    STATUS_FILTERS.map(([value, text]) => h("option", { value, text })));
  const search = h("input", {
    id: "filter-search", type: "search", placeholder: "Name or id", autocomplete: "off",
    oninput: () => { filters.search = search.value.trim().toLowerCase(); draw(); },
  });
  const body = h("div", { class: "table-area" }, h("p", { class: "muted", text: "Loading schedules…" }));
  const count = h("p", { class: "muted count", "aria-live": "polite" });

  add(main, 
    h("div", { class: "page-head" },
      h("h1", { text: "Schedules" }),
      h("button", { type: "button", class: "button primary", text: "Create schedule", onclick: () => ctx.go("#/schedules/new") })),
    notice ? h("p", { class: "notice", role: "status", text: notice }) : null,
    h("form", { class: "filters", role: "search", onsubmit: (e) => e.preventDefault() },
      h("div", { class: "field" }, h("label", { for: "filter-project", text: "Project" }), project),
      h("div", { class: "field" }, h("label", { for: "filter-status", text: "Status" }), status),
      h("div", { class: "field grow" }, h("label", { for: "filter-search", text: "Search by name" }), search)),
    count,
    body,
  );

  function visible() {
    return data.schedules.filter((s) => {
      const runs = data.runs.get(s.id);
      if (filters.project && projectOf(s) !== filters.project) return false;
      if (filters.status === "enabled" && !s.enabled) return false;
      if (filters.status === "paused" && s.enabled) return false;
      if (filters.status === "failing" && !failingNow(s, runs)) return false;
      if (filters.status === "never" && (!runs || runs.length)) return false;
      if (filters.search && !`${s.name} ${s.id}`.toLowerCase().includes(filters.search)) return false;
      return true;
    });
  }

  function drawProjects() {
    const projects = [...new Set(data.schedules.map(projectOf))].sort();
    update(project, projects, () => [h("option", { value: "", text: "All" }), ...projects.map((p) => h("option", { value: p, text: p }))]);
    project.value = projects.includes(filters.project) ? filters.project : "";
  }

  function row(s) {
    const runs = data.runs.get(s.id);
    const last = lastRun(runs);
    const failing = failingNow(s, runs);
    return h("tr", { class: failing ? "failing" : null },
      h("td", { "data-label": "Name" }, h("div", { class: "stack" }, h("a", { href: `#/schedules/${encodeURIComponent(s.id)}`, class: "strong", text: s.name || s.id }),
        s.name && s.name !== s.id ? h("span", { class: "muted id", text: s.id }) : null)),
      h("td", { "data-label": "Project", text: projectOf(s) }),
      h("td", { "data-label": "Trigger", class: "trigger", text: triggerWords(s) }),
      h("td", { "data-label": "Next fire" }, nextFireCell(s)),
      h("td", { "data-label": "Last run" }, runs === undefined ? h("span", { class: "muted", text: "…" })
        : last ? h("span", { class: "stack" }, badge(last.status), h("span", { class: "muted", text: relative(last.completed_at || last.scheduled_for) }))
          : h("span", { class: "muted", text: "never" })),
      h("td", { "data-label": "Success" }, runs === undefined ? "…" : rateText(runs)),
      h("td", { "data-label": "State" }, stateCell(s)));
  }

  function draw() {
    if (!data.loaded) return;
    drawProjects();
    const shown = visible();
    // Failing schedules first, then by name.
    shown.sort((a, b) => Number(failingNow(b, data.runs.get(b.id))) - Number(failingNow(a, data.runs.get(a.id)))
      || (a.name || a.id).localeCompare(b.name || b.id));
    count.textContent = `${shown.length} of ${data.schedules.length} schedule${data.schedules.length === 1 ? "" : "s"}`
      + (data.complete ? "" : " (the first 1000)");
    const key = [shown.map((s) => [s, data.runs.get(s.id) || null]), Math.floor(Date.now() / 5000)];
    update(body, key, () => {
      if (!data.schedules.length) {
        return h("div", { class: "empty" }, h("p", { text: "No schedules yet." }),
          h("p", {}, "Create one with the button above, or with ", h("code", { text: "agentcron schedules create -f spec.yaml" }), "."));
      }
      if (!shown.length) return h("p", { class: "empty", text: "No schedule matches these filters." });
      return h("table", { class: "grid responsive" },
        h("caption", { class: "visually-hidden", text: "Schedules" }),
        h("thead", {}, h("tr", {}, ["Name", "Project", "Trigger", `Next fire (${VIEWER_ZONE})`, "Last run", "Success", "State"]
          .map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, shown.map(row)));
    });
  }

  ctx.poll(async () => {
    const listed = await listSchedules(ctx.signal);
    data.schedules = listed.schedules;
    data.complete = listed.complete;
    data.loaded = true;
    draw();
    await mapLimit(data.schedules, 4, async (s) => {
      try {
        const { runs } = await listRuns(s.id, ctx.signal, { limit: RECENT_RUNS });
        data.runs.set(s.id, runs);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        data.runs.set(s.id, []); // deleted since the list was read
      }
    });
    for (const id of [...data.runs.keys()]) if (!data.schedules.some((s) => s.id === id)) data.runs.delete(id);
    draw();
  }, REFRESH_MS);
}
