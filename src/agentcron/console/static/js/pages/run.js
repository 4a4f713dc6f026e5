// One run: status, slot, lag, duration, tokens, outcome, and the transcript of its agent session rendered as
// a conversation. Cancel while it is queued or running. Polls while the run is open.

import { add, badge, h, update } from "../dom.js";
import { ApiError, request, seg } from "../api.js";
import { OPEN, VIEWER_ZONE, duration, relative, tokens, when } from "../format.js";

const LONG_CHARS = 600;
const LONG_LINES = 12;

function collapsible(content, { className = "content", summary = "Show all" } = {}) {
  const value = String(content ?? "");
  const lines = value.split("\n").length;
  const body = h("pre", { class: className, text: value });
  if (value.length <= LONG_CHARS && lines <= LONG_LINES) return body;
  const first = value.slice(0, 160).split("\n")[0];
  return h("details", { class: "long" },
    h("summary", {}, h("span", { class: "preview-text", text: `${first}…` }), h("span", { class: "muted", text: ` ${summary} (${lines} lines, ${value.length.toLocaleString()} characters)` })),
    body);
}

function json(value) {
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

const ROLE_NAMES = { system: "System", user: "User", assistant: "Assistant", tool: "Tool result" };

/** The session's messages as a conversation; tool results sit under the call that asked for them. */
export function transcript(session) {
  const messages = session.messages || [];
  if (!messages.length) return h("p", { class: "muted", text: "The session has no messages yet." });
  const names = new Map();
  for (const m of messages) for (const call of m.tool_calls || []) names.set(call.id, call.name);
  return h("ol", { class: "conversation" }, messages.map((m) => {
    const items = [];
    const label = m.role === "tool" ? `Tool result${names.has(m.tool_call_id) ? `: ${names.get(m.tool_call_id)}` : ""}` : ROLE_NAMES[m.role] || m.role;
    items.push(h("div", { class: "who" }, h("span", { class: "role", text: label }),
      m.created_at ? h("time", { class: "muted", datetime: m.created_at, text: when(m.created_at) }) : null));
    if (m.content) items.push(collapsible(m.content, { className: m.role === "tool" ? "content mono" : "content" }));
    for (const call of m.tool_calls || []) {
      items.push(h("div", { class: "tool-call" },
        h("p", {}, h("span", { class: "muted", text: "Tool call " }), h("code", { class: "strong", text: call.name }), h("span", { class: "muted", text: ` (${call.id})` })),
        collapsible(json(call.arguments || {}), { className: "content mono", summary: "Show all arguments" })));
    }
    if (!m.content && !(m.tool_calls || []).length) items.push(h("p", { class: "muted", text: "(empty)" }));
    return h("li", { class: `message role-${m.role}` }, items);
  }));
}

export async function runPage(main, ctx) {
  const [scheduleId, runId] = ctx.params;
  const path = `/schedules/${seg(scheduleId)}/runs/${seg(runId)}`;
  const data = { run: null, schedule: null, session: null, sessionKey: null, sessionMissing: false };

  const status = h("div", {});
  const facts = h("div", {});
  const actions = h("div", { class: "actions toolbar" });
  const message = h("p", { class: "notice", role: "status", hidden: true });
  const conversation = h("div", {}, h("p", { class: "muted", text: "Loading…" }));
  const scheduleLink = h("a", { href: `#/schedules/${seg(scheduleId)}`, text: scheduleId });

  ctx.title(`Run ${runId}`);
  add(main, 
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/schedules", text: "Schedules" }), " / ", scheduleLink),
    h("div", { class: "page-head" }, h("h1", { class: "run-title" }, "Run ", h("span", { class: "id", text: runId }))),
    status, actions, message,
    h("section", { class: "card", "aria-labelledby": "run-facts-h" }, h("h2", { id: "run-facts-h", text: "Run" }), facts),
    h("section", { class: "card", "aria-labelledby": "transcript-h" }, h("h2", { id: "transcript-h", text: "Transcript" }), conversation),
  );

  function draw() {
    const r = data.run;
    if (!r) return;
    if (data.schedule) scheduleLink.textContent = data.schedule.name || scheduleId;
    update(status, [r.status, r.cancel_requested], () => h("p", { class: "meta-line" }, badge(r.status),
      r.cancel_requested && OPEN.has(r.status) ? h("span", { class: "muted", text: " cancellation requested: the agent stops at its next round" }) : null));
    update(actions, OPEN.has(r.status), () => OPEN.has(r.status)
      ? h("button", { type: "button", class: "button danger-outline", text: "Cancel", onclick: cancel }) : "");
    const usage = r.usage || {};
    const rows = [
      ["Status", r.status],
      ["Schedule", data.schedule ? `${data.schedule.name} (${scheduleId})` : scheduleId],
      ["Slot", `${when(r.scheduled_for)} (${relative(r.scheduled_for)})`],
      ["Trigger", r.trigger + (r.was_catch_up ? " (catch-up)" : "")],
      ["Lag", duration(r.dispatch_lag_ms)],
      ["Duration", duration(r.execution_duration_ms)],
      ["Tokens", usage.input_tokens || usage.output_tokens ? tokens(usage) : "—"],
      ["Outcome reason", r.outcome_reason || "—"],
      ["Started", when(r.started_at)],
      ["Completed", when(r.completed_at)],
      ["Attempt", String(r.attempt ?? 0)],
      ["Session", r.session_id || "—"],
    ];
    if (r.task_message) rows.push(["Task (this run)", r.task_message]);
    update(facts, rows, () => [
      h("dl", { class: "details" }, rows.map(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })])),
      r.final_answer ? h("div", { class: "answer" }, h("h3", { text: "Final answer" }), collapsible(r.final_answer)) : null,
      h("p", { class: "hint", text: `Times in your zone (${VIEWER_ZONE}).` }),
    ]);
    update(conversation, [data.sessionKey, data.sessionMissing, Boolean(r.session_id)], () => {
      if (data.session) return transcript(data.session);
      if (data.sessionMissing) return h("p", { class: "muted", text: "The session is not available (not saved, or removed by the bucket's lifecycle)." });
      return h("p", { class: "muted", text: r.session_id ? "Loading the session…" : "No session yet: it is built when the run starts." });
    });
  }

  async function refresh() {
    const { body } = await request("GET", path, { signal: ctx.signal });
    const before = data.run;
    data.run = body;
    if (!data.schedule) {
      try {
        data.schedule = (await request("GET", `/schedules/${seg(scheduleId)}`, { signal: ctx.signal })).body;
      } catch (err) {
        if (!(err instanceof ApiError)) throw err; // a deleted schedule keeps its runs' sessions readable
        data.schedule = { name: scheduleId };
      }
    }
    const needSession = body.session_id && (!data.session || OPEN.has(body.status) || (before && OPEN.has(before.status)));
    if (needSession) {
      try {
        const { body: session } = await request("GET", `/sessions/${seg(body.session_id)}`, { signal: ctx.signal });
        data.session = session;
        data.sessionKey = `${session.id}|${session.updated_at}|${(session.messages || []).length}`;
        data.sessionMissing = false;
      } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 404) throw err;
        data.sessionMissing = true;
      }
    }
    draw();
  }

  const poller = ctx.poll(refresh, () => (data.run && OPEN.has(data.run.status) ? 1000 : 15000));

  async function cancel() {
    try {
      const { status: code } = await request("POST", `${path}/cancel`, { signal: ctx.signal });
      message.hidden = false;
      message.textContent = code === 200 ? "Cancelled." : "Cancellation requested: the agent stops at its next round.";
    } catch (err) {
      if (!(err instanceof ApiError)) {
        ctx.failed(err);
        return;
      }
      message.hidden = false;
      message.textContent = err.status === 409 ? `Not cancelled: ${err.message}.` : err.message;
    }
    poller.now();
  }
}
