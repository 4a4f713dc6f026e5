// Overview: the next 24 hours of fire times across all schedules on one timeline, runs by status over the
// last 24 hours, and every schedule's health with the ones failing now first.

import { add, badge, h, update } from "../dom.js";
import { ApiError, listRuns, listSchedules, mapLimit, request, seg } from "../api.js";
import { statusBars, upcomingLanes } from "../charts.js";
import { failingNow, lastRun, relative, triggerWords } from "../format.js";
import { nextFireCell, rateText, stateCell } from "./schedules.js";

const DAY_MS = 24 * 3600 * 1000;
const REFRESH_MS = 30000;
const RUN_PAGES = 5; // at most 500 runs per schedule for the chart

export async function overviewPage(main, ctx) {
  ctx.title("Overview");
  const health = h("div", {}, h("p", { class: "muted", text: "Loading…" }));
  const ahead = h("div", {});
  const behind = h("div", {});
  const note = h("p", { class: "hint" });
  add(main, 
    h("div", { class: "page-head" }, h("h1", { text: "Overview" })),
    h("section", { class: "card", "aria-labelledby": "health-h" }, h("h2", { id: "health-h", text: "Schedules, failing first" }), health),
    h("section", { class: "card", "aria-labelledby": "ahead-h" }, h("h2", { id: "ahead-h", text: "Next 24 hours" }), ahead),
    h("section", { class: "card", "aria-labelledby": "behind-h" }, h("h2", { id: "behind-h", text: "Runs in the last 24 hours" }), behind, note),
  );

  ctx.poll(async () => {
    const now = Date.now();
    const { schedules } = await listSchedules(ctx.signal);
    const since = now - DAY_MS;
    const results = await mapLimit(schedules, 4, async (s) => {
      try {
        const [runs, upcoming] = await Promise.all([
          listRuns(s.id, ctx.signal, { limit: 100, pages: RUN_PAGES, stop: (r) => new Date(r.scheduled_for).getTime() < since }),
          s.enabled ? request("GET", `/schedules/${seg(s.id)}/upcoming`, { query: { count: 100 }, signal: ctx.signal }) : null,
        ]);
        return { s, runs: runs.runs, complete: runs.complete, times: upcoming ? upcoming.body.fire_times || [] : [] };
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        return null; // deleted meanwhile
      }
    });
    const rows = results.filter(Boolean);
    rows.sort((a, b) => Number(failingNow(b.s, b.runs)) - Number(failingNow(a.s, a.runs)) || (a.s.name || a.s.id).localeCompare(b.s.name || b.s.id));

    update(health, [rows.map((r) => [r.s, r.runs.slice(0, 20)]), Math.floor(now / 10000)], () => {
      if (!rows.length) return h("p", { class: "empty" }, "No schedules yet. ", h("a", { href: "#/schedules/new", text: "Create one" }), ".");
      return h("table", { class: "grid responsive" },
        h("caption", { class: "visually-hidden", text: "Schedules, failing first" }),
        h("thead", {}, h("tr", {}, ["Name", "Health", "Last run", "Success", "Next fire", "State"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, rows.map(({ s, runs }) => {
          const last = lastRun(runs);
          const failing = failingNow(s, runs);
          return h("tr", { class: failing ? "failing" : null },
            h("td", { "data-label": "Name" }, h("div", { class: "stack" }, h("a", { href: `#/schedules/${seg(s.id)}`, class: "strong", text: s.name || s.id }),
              h("span", { class: "muted", text: triggerWords(s) }))),
            h("td", { "data-label": "Health" }, failing ? badge("failed", `failing now${s.state && s.state.consecutive_failures ? ` (${s.state.consecutive_failures} in a row)` : ""}`) : badge("success", "ok")),
            h("td", { "data-label": "Last run" }, last ? h("span", { class: "stack" }, badge(last.status), h("span", { class: "muted", text: relative(last.completed_at || last.scheduled_for) })) : h("span", { class: "muted", text: "none in 24 h" })),
            h("td", { "data-label": "Success", text: rateText(runs.slice(0, 20)) }),
            h("td", { "data-label": "Next fire" }, nextFireCell(s)),
            h("td", { "data-label": "State" }, stateCell(s)));
        })));
    });

    const lanes = rows.filter((r) => r.s.enabled).map((r) => ({
      name: r.s.name || r.s.id, href: `#/schedules/${seg(r.s.id)}`, times: r.times,
      truncated: r.times.length >= 100 && new Date(r.times[r.times.length - 1]).getTime() < now + DAY_MS,
    }));
    update(ahead, [lanes.map((l) => [l.name, l.times.length, l.times[0]]), Math.floor(now / 60000)], () =>
      lanes.length ? upcomingLanes(lanes, { from: now, to: now + DAY_MS }) : h("p", { class: "muted", text: "No enabled schedule." }));

    const runs = rows.flatMap((r) => r.runs);
    update(behind, [runs.map((r) => [r.run_id, r.status]), Math.floor(now / 60000)], () => statusBars(runs, { from: now - DAY_MS, to: now }));
    const capped = rows.filter((r) => !r.complete).map((r) => r.s.name || r.s.id);
    note.textContent = capped.length ? `Counted from the latest ${RUN_PAGES * 100} runs of: ${capped.join(", ")}.` : "";
  }, REFRESH_MS);
}
