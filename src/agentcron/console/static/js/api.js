// The one way the console talks to the world: the management API on this origin.
//
// A reply outside 2xx is an ApiError (4xx: the API refused, with its message and the field it names). A
// request that cannot complete (network down, timeout, 5xx) is an Unreachable: the app shows a banner with
// a Retry button and stops every poll until the user presses it; nothing retries by itself.

const TIMEOUT_MS = 15000;

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
    this.field = error.field || null;
    this.type = error.type || null;
    this.errors = Array.isArray(this.body.errors) ? this.body.errors : [];
  }

  /** [{field, message}] for every problem the reply names (the first one at least). */
  problems() {
    if (this.errors.length) return this.errors.map((e) => ({ field: e.field || null, message: e.message }));
    return [{ field: this.field, message: this.message }];
  }
}

export class Unreachable extends Error {}

function withTimeout(signal) {
  const timeout = AbortSignal.timeout(TIMEOUT_MS);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}

/**
 * request("GET", "/schedules", {query, body, headers, signal}) -> {status, body, etag}
 */
export async function request(method, path, options = {}) {
  const { query, body, headers = {}, signal } = options;
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") params.set(k, v);
    const text = params.toString();
    if (text) url += `?${text}`;
  }
  const init = { method, headers: { Accept: "application/json", ...headers }, signal: withTimeout(signal) };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    if (signal && signal.aborted) throw err; // navigation moved on: not an outage
    const why = err && err.name === "TimeoutError" ? "no answer within 15 s" : "the connection failed";
    throw new Unreachable(`Cannot reach the API (${why}).`);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (response.status >= 500) {
    const message = data && data.error && data.error.message;
    throw new Unreachable(`The API failed (HTTP ${response.status}${message ? `: ${message}` : ""}).`);
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return { status: response.status, body: data, etag: response.headers.get("ETag") };
}

export const seg = (value) => encodeURIComponent(value);

/** Every schedule, following next_cursor (at most `pages` pages of 100). */
export async function listSchedules(signal, pages = 10) {
  const out = [];
  let cursor = null;
  for (let i = 0; i < pages; i += 1) {
    const { body } = await request("GET", "/schedules", { query: { limit: 100, cursor }, signal });
    out.push(...(body.schedules || []));
    cursor = body.next_cursor;
    if (!cursor) return { schedules: out, complete: true };
  }
  return { schedules: out, complete: false };
}

/** Runs of a schedule, newest first, until `stop(run)` says older ones are not wanted or `pages` run out. */
export async function listRuns(scheduleId, signal, { limit = 50, pages = 1, stop = null } = {}) {
  const out = [];
  let cursor = null;
  for (let i = 0; i < pages; i += 1) {
    const { body } = await request("GET", `/schedules/${seg(scheduleId)}/runs`, { query: { limit, cursor }, signal });
    for (const run of body.runs || []) {
      if (stop && stop(run)) return { runs: out, complete: true };
      out.push(run);
    }
    cursor = body.next_cursor;
    if (!cursor) return { runs: out, complete: true };
  }
  return { runs: out, complete: false };
}

/** Map with at most `limit` calls in flight; the first failure rejects (the rest are not started). */
export async function mapLimit(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  let failed = null;
  async function worker() {
    while (next < items.length && !failed) {
      const index = next;
      next += 1;
      try {
        results[index] = await fn(items[index], index);
      } catch (err) {
        failed = failed || err;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed) throw failed;
  return results;
}

export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}
