// Words and times: instants in the viewer's zone and the schedule's, triggers and cron expressions in words,
// and what daylight saving did to a fire time. Pure functions over the API's JSON.

export const VIEWER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
export const OPEN = new Set(["queued", "running"]);
export const STATUSES = ["success", "failed", "timed_out", "cancelled", "skipped", "missed", "running", "queued"];
const FAILURES = new Set(["failed", "timed_out", "cancelled"]);

const formatters = new Map();
function formatter(zone, options) {
  const key = `${zone}|${JSON.stringify(options)}`;
  if (!formatters.has(key)) {
    let f;
    try {
      f = new Intl.DateTimeFormat(undefined, { ...options, timeZone: zone });
    } catch {
      f = new Intl.DateTimeFormat(undefined, { ...options, timeZone: "UTC" });
    }
    formatters.set(key, f);
  }
  return formatters.get(key);
}

export function instant(value) {
  if (!value) return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** "Tue, Mar 3, 09:00:00" in `zone` (the year too when it is not this year). */
export function when(value, zone = VIEWER_ZONE, { seconds = true } = {}) {
  const date = instant(value);
  if (!date) return "—";
  const sameYear = wall(date, zone).year === wall(new Date(), zone).year;
  const options = { weekday: "short", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  if (seconds) options.second = "2-digit";
  if (!sameYear) options.year = "numeric";
  return formatter(zone, options).format(date);
}

/** "14:05:09" in `zone`. */
export function clock(value, zone = VIEWER_ZONE) {
  const date = instant(value);
  if (!date) return "—";
  return formatter(zone, { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }).format(date);
}

/** The zone's short name at that instant ("CET", "GMT+9"). */
export function zoneAbbrev(value, zone) {
  const date = instant(value) || new Date();
  const part = formatter(zone, { timeZoneName: "short" }).formatToParts(date).find((p) => p.type === "timeZoneName");
  return part ? part.value : zone;
}

export function relative(value, now = Date.now()) {
  const date = instant(value);
  if (!date) return "";
  const delta = Math.round((date.getTime() - now) / 1000);
  const size = Math.abs(delta);
  if (size < 2) return "now";
  let text;
  if (size < 90) text = `${size} s`;
  else if (size < 90 * 60) text = `${Math.round(size / 60)} min`;
  else if (size < 36 * 3600) text = `${Math.round(size / 3600)} h`;
  else text = `${Math.round(size / 86400)} d`;
  return delta > 0 ? `in ${text}` : `${text} ago`;
}

export function duration(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

// --------------------------------------------------------------------------- zones

/** The wall-clock fields of `date` in `zone`. */
export function wall(date, zone) {
  const parts = {};
  const options = {
    year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric",
    weekday: "short", hourCycle: "h23",
  };
  for (const p of formatter(zone, options).formatToParts(date)) parts[p.type] = p.value;
  return {
    year: Number(parts.year), month: Number(parts.month), day: Number(parts.day),
    hour: Number(parts.hour) % 24, minute: Number(parts.minute), second: Number(parts.second), weekday: parts.weekday,
  };
}

/** Seconds east of UTC that `zone` observes at `date`. */
export function offsetSeconds(date, zone) {
  const w = wall(date, zone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return Math.round((asUtc - Math.floor(date.getTime() / 1000) * 1000) / 1000);
}

/** The instant at which `zone`'s clocks show the wall time `w` (the earlier one when it is repeated). */
export function zonedToUtc(w, zone) {
  const guess = Date.UTC(w.year, w.month - 1, w.day, w.hour || 0, w.minute || 0, w.second || 0);
  const day = 86400 * 1000;
  const candidates = [guess - day, guess, guess + day].map((t) => guess - offsetSeconds(new Date(t), zone) * 1000);
  const matching = candidates.filter((t) => {
    const back = wall(new Date(t), zone);
    return back.day === w.day && back.hour === (w.hour || 0) && back.minute === (w.minute || 0);
  });
  // A repeated wall time: the earlier instant. One in a gap: the offset before the gap (it lands after it).
  return new Date(matching.length ? Math.min(...matching) : candidates[0]);
}

const LOCAL_INPUT = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;

/** A date the user typed: ISO with Z or an offset is taken as is; a bare date or time is in `zone`.
 *  Returns a Date, null for an empty field, or undefined when it cannot be read. */
export function parseWhen(text, zone) {
  const value = (text || "").trim();
  if (!value) return null;
  const local = LOCAL_INPUT.exec(value);
  if (local) {
    const [, year, month, day, hour, minute, second] = local.map((v) => (v === undefined ? undefined : Number(v)));
    if (month < 1 || month > 12 || day < 1 || day > 31 || (hour ?? 0) > 23 || (minute ?? 0) > 59) return undefined;
    return zonedToUtc({ year, month, day, hour: hour ?? 0, minute: minute ?? 0, second: second ?? 0 }, zone);
  }
  if (/(Z|[+-]\d{2}:?\d{2})$/i.test(value)) {
    const date = new Date(value.replace(" ", "T"));
    return Number.isNaN(date.getTime()) ? undefined : date;
  }
  return undefined;
}

const pad = (n) => String(n).padStart(2, "0");

/** "2026-03-01 09:00" (seconds when not zero): the wall time of `value` in `zone`, as parseWhen reads it. */
export function whenInput(value, zone) {
  const date = instant(value);
  if (!date) return "";
  const w = wall(date, zone);
  const base = `${w.year}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:${pad(w.minute)}`;
  return w.second ? `${base}:${pad(w.second)}` : base;
}

export function validZone(zone) {
  try {
    new Intl.DateTimeFormat(undefined, { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

// --------------------------------------------------------------------------- triggers in words

const DAY_KEYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const UNITS = [["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];

export function everyWords(seconds) {
  const n = Number(seconds);
  if (!(n > 0)) return "every ? seconds";
  for (const [unit, size] of UNITS) {
    if (n % size === 0) {
      const count = n / size;
      return count === 1 ? `every ${unit}` : `every ${count} ${unit}s`;
    }
  }
  return `every ${n} seconds`;
}

/** "1 hour", "90 seconds". */
export function lengthWords(seconds) {
  const words = everyWords(seconds).replace(/^every /, "");
  return /^\d/.test(words) ? words : `1 ${words}`;
}

export function ordinal(n) {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  return `${n}${{ 1: "st", 2: "nd", 3: "rd" }[n % 10] || "th"}`;
}

function joinWords(items) {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

/** Runs of consecutive indexes as "Mon–Fri", others listed: [0,1,2,3,4] -> "Mon–Fri". */
function ranges(indexes, names) {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const out = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j += 1;
    if (j - i >= 2) out.push(`${names[sorted[i]]}–${names[sorted[j]]}`);
    else for (let k = i; k <= j; k += 1) out.push(names[sorted[k]]);
    i = j + 1;
  }
  return out.join(", ");
}

export function weekdaysWords(days) {
  const indexes = (days || []).map((d) => DAY_KEYS.indexOf(String(d).slice(0, 3).toLowerCase())).filter((i) => i >= 0);
  if (new Set(indexes).size === 7) return "every day";
  return ranges(indexes, DAY_NAMES);
}

function timeOfDay(t) {
  const base = `${pad(t.hour ?? 0)}:${pad(t.minute ?? 0)}`;
  return t.second ? `${base}:${pad(t.second)}` : base;
}

/** The trigger in words, with its zone for wall-clock kinds: "09:00 Mon–Fri, Europe/Berlin". */
export function triggerWords(schedule) {
  const t = schedule.trigger || {};
  const zone = schedule.timezone || "UTC";
  switch (t.type) {
    case "interval":
      return everyWords(t.every_seconds);
    case "once":
      return `once, ${when(t.at, zone, { seconds: false })} ${zoneAbbrev(t.at, zone)}`;
    case "daily":
      return `${timeOfDay(t)} every day, ${zone}`;
    case "weekly":
      return `${timeOfDay(t)} ${weekdaysWords(t.weekdays)}, ${zone}`;
    case "monthly":
      return `${timeOfDay(t)} on the ${joinWords((t.days || []).map(ordinal))} of each month, ${zone}`;
    case "cron":
      return `${t.expr} (${cronMeaning(t.expr)}), ${zone}`;
    default:
      return t.type || "?";
  }
}

// --------------------------------------------------------------------------- cron in words

const MACROS = {
  "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
  "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
};
const isAny = (f) => f === "*" || f === "?";
const isNum = (f) => /^\d+$/.test(f);
const isNums = (f) => /^\d+(,\d+)*$/.test(f);
const stepOf = (f) => {
  const m = /^(?:\*|0)\/(\d+)$/.exec(f);
  return m ? Number(m[1]) : null;
};
const rangeOf = (f) => {
  const m = /^(\d+)-(\d+)$/.exec(f);
  return m ? [Number(m[1]), Number(m[2])] : null;
};

function nameList(field, names, offset, aliases) {
  // "1-5" / "MON-FRI" / "1,3,5" / "JAN,JUL" -> indexes into names; null when it uses anything fancier.
  const indexes = [];
  const value = (token) => {
    const upper = token.toUpperCase();
    if (aliases && upper in aliases) return aliases[upper];
    return isNum(token) ? Number(token) - offset : NaN;
  };
  for (const part of field.split(",")) {
    const range = /^([A-Za-z0-9]+)-([A-Za-z0-9]+)$/.exec(part);
    if (range) {
      const [a, b] = [value(range[1]), value(range[2])];
      if (Number.isNaN(a) || Number.isNaN(b) || b < a) return null;
      for (let i = a; i <= b; i += 1) indexes.push(i);
    } else {
      const v = value(part);
      if (Number.isNaN(v)) return null;
      indexes.push(v);
    }
  }
  if (indexes.some((i) => i < 0 || i >= names.length)) return null;
  return ranges(indexes, names);
}

const DOW_ALIASES = { SUN: 6, MON: 0, TUE: 1, WED: 2, THU: 3, FRI: 4, SAT: 5 };
function dowWords(field) {
  // cron: 0 and 7 are Sunday, 1 is Monday.
  const mapped = field.split(",").map((part) => part.replace(/\d+/g, (d) => String(((Number(d) + 6) % 7) + 1))).join(",");
  if (/^[0-9,-]+$/.test(field) && field.split(",").some((p) => /^(\d+)-(\d+)$/.test(p) && /(^|-)(0|7)(-|$)/.test(p))) {
    return null; // ranges through Sunday number twice: say it as written
  }
  const names = nameList(mapped, DAY_NAMES, 1, DOW_ALIASES);
  return names && (names === "Mon–Sun" ? "every day" : names);
}

const MONTH_ALIASES = Object.fromEntries(MONTH_NAMES.map((m, i) => [m.toUpperCase(), i]));

/** A cron expression in words, as agentcron reads it (5 fields, 6 with seconds first, 7 with a year). */
export function cronMeaning(expr) {
  let text = String(expr || "").trim().split(/\s+/).join(" ");
  if (!text) return "empty";
  if (text.startsWith("@")) {
    const macro = MACROS[text.toLowerCase()];
    if (!macro) return "unknown macro";
    text = macro;
  }
  const fields = text.split(" ");
  if (![5, 6, 7].includes(fields.length)) return `${fields.length} fields; expected 5, 6 or 7`;
  const [sec, min, hour, dom, mon, dow, year] = fields.length === 5 ? ["0", ...fields] : fields;

  let time;
  if (isAny(sec) && isAny(min) && isAny(hour)) time = "every second";
  else if (stepOf(sec) && isAny(min) && isAny(hour)) time = everyWords(stepOf(sec));
  else if (isNum(sec) && isAny(min) && isAny(hour)) time = Number(sec) ? `every minute at second ${Number(sec)}` : "every minute";
  else if (isNum(sec) && stepOf(min) && isAny(hour)) time = everyWords(stepOf(min) * 60);
  else if (isNum(sec) && stepOf(min) && rangeOf(hour)) {
    const [a, b] = rangeOf(hour);
    time = `${everyWords(stepOf(min) * 60)} from ${pad(a)}:00 to ${pad(b)}:59`;
  } else if (sec === "0" && min === "0" && isAny(hour)) time = "every hour";
  else if (isNum(sec) && isNums(min) && (isAny(hour) || stepOf(hour))) {
    const minutes = min.split(",").map((m) => `:${pad(Number(m))}`);
    time = `at ${joinWords(minutes)} past ${isAny(hour) ? "every hour" : `every ${stepOf(hour)} hours`}`;
  } else if (isNum(sec) && isNums(min) && isNums(hour)) {
    const times = [];
    for (const hh of hour.split(",")) for (const mm of min.split(",")) times.push({ hour: Number(hh), minute: Number(mm), second: Number(sec) });
    times.sort((a, b) => a.hour - b.hour || a.minute - b.minute);
    time = times.length <= 6 ? `at ${joinWords(times.map(timeOfDay))}` : `at minutes ${min} of hours ${hour}`;
  } else if (isNum(sec) && isNums(min) && rangeOf(hour)) {
    const [a, b] = rangeOf(hour);
    time = `at :${pad(Number(min.split(",")[0]))} every hour from ${pad(a)}:00 to ${pad(b)}:59`;
    if (min.includes(",")) time = `at minutes ${min} of every hour from ${pad(a)}:00 to ${pad(b)}:59`;
  } else {
    const raw = [];
    if (fields.length > 5 || sec !== "0") raw.push(`second ${sec}`);
    raw.push(`minute ${min}`, `hour ${hour}`);
    time = `at ${raw.join(", ")}`;
  }

  const days = [];
  const domText = isAny(dom) ? null : dom === "L" ? "the last day of the month"
    : /^\d+$/.test(dom) ? `day ${dom} of the month`
      : /^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(dom) ? `days ${joinWords(dom.split(",").map((p) => p.replace("-", "–")))} of the month`
        : `day-of-month ${dom}`;
  const dowText = isAny(dow) ? null : dowWords(dow) || `day-of-week ${dow}`;
  if (domText && dowText) days.push(`on ${domText} or on ${dowText}`);
  else if (domText) days.push(`on ${domText}`);
  else if (dowText) days.push(dowText === "every day" ? "every day" : `on ${dowText}`);
  else if (/^at \d/.test(time)) days.push("every day");
  if (!isAny(mon)) days.push(`in ${nameList(mon, MONTH_NAMES, 1, MONTH_ALIASES) || `month ${mon}`}`);
  if (year && !isAny(year)) days.push(`in ${year}`);
  return [time, ...days].join(" ");
}

/** The wall time a wall-clock trigger asks for (null when it has no single one, as for most crons). */
function intendedTime(trigger) {
  if (["daily", "weekly", "monthly"].includes(trigger.type)) {
    return { hour: trigger.hour ?? 0, minute: trigger.minute ?? 0, second: trigger.second ?? 0 };
  }
  if (trigger.type === "cron" && trigger.expr && !trigger.expr.trim().startsWith("@")) {
    const fields = trigger.expr.trim().split(/\s+/);
    const [sec, min, hour] = fields.length === 5 ? ["0", fields[0], fields[1]] : fields;
    if ([sec, min, hour].every(isNum)) return { hour: Number(hour), minute: Number(min), second: Number(sec) };
  }
  return null;
}

/**
 * What daylight saving did to each fire time: "shifted" (its wall time did not exist: it fires after the gap),
 * "repeated" (its wall time happens twice that night), or null. Interval and once triggers are plain UTC.
 */
export function dstNotes(times, zone, trigger) {
  if (!trigger || ["interval", "once"].includes(trigger.type)) return times.map(() => null);
  const wanted = intendedTime(trigger);
  return times.map((value) => {
    const date = instant(value);
    if (!date) return null;
    const w = wall(date, zone);
    const shown = timeOfDay(w);
    if (wanted && (w.hour !== wanted.hour || w.minute !== wanted.minute || w.second !== wanted.second)) {
      return { kind: "shifted", text: `DST: ${timeOfDay(wanted)} did not exist that day; fires at ${shown}` };
    }
    const before = offsetSeconds(new Date(date.getTime() - 3 * 3600 * 1000), zone);
    const after = offsetSeconds(new Date(date.getTime() + 3 * 3600 * 1000), zone);
    if (before > after) {
      const gap = (before - after) * 1000;
      for (const [other, which] of [[date.getTime() - gap, "second"], [date.getTime() + gap, "first"]]) {
        const o = wall(new Date(other), zone);
        if (o.day === w.day && o.hour === w.hour && o.minute === w.minute && o.second === w.second) {
          return { kind: "repeated", text: `DST: ${shown} happens twice that night; this is the ${which} one` };
        }
      }
    }
    return null;
  });
}

// --------------------------------------------------------------------------- schedules and runs

export function projectOf(schedule) {
  return schedule.project_id || (schedule.run_config && schedule.run_config.project_id) || "default";
}

/** {rate, count}: successes among the finished runs that ran (skipped and missed slots do not count). */
export function successRate(runs) {
  const finished = (runs || []).filter((r) => r.status === "success" || FAILURES.has(r.status));
  if (!finished.length) return { rate: null, count: 0 };
  const ok = finished.filter((r) => r.status === "success").length;
  return { rate: ok / finished.length, count: finished.length };
}

export function isFailure(status) {
  return FAILURES.has(status);
}

/** The newest run that is not a skipped or missed slot record (or the newest of all). */
export function lastRun(runs) {
  return (runs || []).find((r) => r.status !== "skipped" && r.status !== "missed") || (runs || [])[0] || null;
}

/** A schedule is failing now when its latest finished run failed (or it keeps failing). */
export function failingNow(schedule, runs) {
  const state = schedule.state || {};
  if ((state.consecutive_failures || 0) > 0) return true;
  const finished = (runs || []).find((r) => !OPEN.has(r.status) && r.status !== "skipped" && r.status !== "missed");
  return Boolean(finished && FAILURES.has(finished.status));
}

export function tokens(usage) {
  const u = usage || {};
  return `${(u.input_tokens || 0).toLocaleString()} in / ${(u.output_tokens || 0).toLocaleString()} out`;
}
