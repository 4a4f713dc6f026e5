// Inline SVG charts. Marks carry a <title> (shown on hover) and the charts have text equivalents beside them.

import { h, s } from "./dom.js";
import { STATUSES, clock, duration, instant, when, VIEWER_ZONE } from "./format.js";

const WIDTH = 1000;

const DAY_LABEL = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });

function tickLabel(at, span) {
  if (span > 36 * 3600000) return DAY_LABEL.format(new Date(at));
  const text = clock(new Date(at));
  return span < 15 * 60000 ? text : text.slice(0, 5);
}

function axis(from, to, ticks) {
  // HTML labels under an SVG that stretches to its box: they stay legible at any width.
  const row = h("div", { class: "axis", "aria-hidden": "true" });
  for (let i = 0; i <= ticks; i += 1) {
    const at = from + ((to - from) * i) / ticks;
    const label = h("span", { text: tickLabel(at, to - from) });
    label.style.left = `${(100 * i) / ticks}%`;
    row.append(label);
  }
  return row;
}

/**
 * One mark per slot, placed by scheduled_for between `from` and `to`, coloured by status; the title of each
 * mark gives its lag and duration. `href(run)` makes marks links (keyboard reachable).
 */
export function runTimeline(runs, { from, to, href, label }) {
  const span = Math.max(1, to - from);
  const svg = s("svg", {
    class: "timeline", viewBox: `0 0 ${WIDTH} 40`, preserveAspectRatio: "none", role: "group", "aria-label": label,
  });
  svg.append(s("line", { x1: 0, x2: WIDTH, y1: 20, y2: 20, class: "timeline-rule" }));
  for (const run of [...runs].reverse()) {
    const at = instant(run.scheduled_for);
    if (!at) continue;
    const x = Math.min(WIDTH - 6, Math.max(0, ((at.getTime() - from) / span) * WIDTH - 3));
    const tip = [
      `${run.status} · slot ${when(run.scheduled_for)}`,
      `lag ${duration(run.dispatch_lag_ms)} · took ${duration(run.execution_duration_ms)}`,
      run.outcome_reason ? run.outcome_reason : null,
    ].filter(Boolean).join("\n");
    const mark = s("rect", { x, y: 4, width: 6, height: 32, rx: 1, class: `mark status-${run.status}` }, s("title", { text: tip }));
    svg.append(href ? s("a", { href: href(run), "aria-label": tip.replace(/\n/g, "; ") }, mark) : mark);
  }
  return h("figure", { class: "chart" }, svg, axis(from, to, 4));
}

/** A lane per schedule with a tick per upcoming fire time within [from, to). */
export function upcomingLanes(lanes, { from, to }) {
  const span = to - from;
  const rows = lanes.map((lane) => {
    const svg = s("svg", { class: "lane", viewBox: `0 0 ${WIDTH} 20`, preserveAspectRatio: "none", "aria-hidden": "true" });
    svg.append(s("line", { x1: 0, x2: WIDTH, y1: 10, y2: 10, class: "timeline-rule" }));
    const times = lane.times.map(instant).filter((t) => t && t.getTime() >= from && t.getTime() < to);
    for (const t of times) {
      const x = ((t.getTime() - from) / span) * WIDTH;
      svg.append(s("rect", { x: Math.max(0, x - 1.5), y: 2, width: 3, height: 16, class: "tick" }, s("title", { text: when(t) })));
    }
    if (lane.truncated && times.length) {
      const last = (times[times.length - 1].getTime() - from) / span * WIDTH;
      svg.append(s("rect", { x: last, y: 6, width: Math.max(0, WIDTH - last), height: 8, class: "tick-more" },
        s("title", { text: "more fire times than the API lists at once" })));
    }
    const summary = times.length
      ? `${times.length}${lane.truncated ? "+" : ""} fire time${times.length === 1 ? "" : "s"}, next ${clock(times[0])}`
      : "no fire time in the next 24 hours";
    return h("li", { class: "lane-row" },
      h("div", { class: "lane-label" }, h("a", { href: lane.href, text: lane.name }), h("span", { class: "muted", text: summary })),
      svg);
  });
  return h("figure", { class: "chart lanes" }, h("ul", { class: "plain" }, rows), axis(from, to, 6),
    h("figcaption", { class: "muted", text: `Times in your zone (${VIEWER_ZONE}).` }));
}

/** Stacked bars: runs per hour by status over [from, to). `runs` are the API's runs (scheduled_for). */
export function statusBars(runs, { from, to, hours = 24 }) {
  const size = (to - from) / hours;
  const buckets = Array.from({ length: hours }, () => Object.fromEntries(STATUSES.map((st) => [st, 0])));
  const totals = Object.fromEntries(STATUSES.map((st) => [st, 0]));
  for (const run of runs) {
    const at = instant(run.scheduled_for);
    if (!at || at.getTime() < from || at.getTime() >= to) continue;
    const i = Math.min(hours - 1, Math.floor((at.getTime() - from) / size));
    buckets[i][run.status] = (buckets[i][run.status] || 0) + 1;
    totals[run.status] = (totals[run.status] || 0) + 1;
  }
  const peak = Math.max(1, ...buckets.map((b) => Object.values(b).reduce((a, n) => a + n, 0)));
  const barWidth = WIDTH / hours;
  const svg = s("svg", { class: "bars", viewBox: `0 0 ${WIDTH} 120`, preserveAspectRatio: "none", "aria-hidden": "true" });
  buckets.forEach((bucket, i) => {
    let y = 120;
    const start = new Date(from + i * size);
    for (const status of STATUSES) {
      const n = bucket[status];
      if (!n) continue;
      const height = (n / peak) * 116;
      y -= height;
      svg.append(s("rect", { x: i * barWidth + 2, y, width: barWidth - 4, height, class: `mark status-${status}` },
        s("title", { text: `${clock(start).slice(0, 5)}–${clock(new Date(start.getTime() + size)).slice(0, 5)}: ${n} ${status}` })));
    }
  });
  const legend = h("ul", { class: "legend plain" },
    STATUSES.filter((st) => totals[st]).map((st) => h("li", {}, h("span", { class: `swatch status-${st}` }), `${st} ${totals[st]}`)));
  const total = Object.values(totals).reduce((a, n) => a + n, 0);
  return h("figure", { class: "chart" }, svg, axis(from, to, 6),
    h("figcaption", {}, total ? legend : h("p", { class: "muted", text: "No runs in the last 24 hours." })));
}
