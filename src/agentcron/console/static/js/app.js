// The console's shell: hash routes, the page in <main>, polls that stop when the API is down, dialogs.

import { clear, h } from "./dom.js";
import { Unreachable } from "./api.js";
import { schedulesPage } from "./pages/schedules.js";
import { schedulePage } from "./pages/schedule.js";
import { formPage } from "./pages/form.js";
import { runPage } from "./pages/run.js";
import { overviewPage } from "./pages/overview.js";
import { closeDialogs } from "./dialog.js";

const ROUTES = [
  [/^\/?$/, schedulesPage, "schedules"],
  [/^\/schedules\/?$/, schedulesPage, "schedules"],
  [/^\/schedules\/new$/, formPage, "schedules"],
  [/^\/schedules\/([^/]+)\/edit$/, formPage, "schedules"],
  [/^\/schedules\/([^/]+)\/runs\/([^/]+)$/, runPage, "schedules"],
  [/^\/schedules\/([^/]+)$/, schedulePage, "schedules"],
  [/^\/overview\/?$/, overviewPage, "overview"],
];

const main = document.getElementById("main");
const banner = document.getElementById("banner");
let current = null; // {controller, timers}
let halted = false; // the API is down: nothing polls until Retry
let flash = null; // a message for the next page (e.g. after a delete)

function showBanner(message) {
  halted = true;
  clear(banner);
  banner.append(
    h("p", {}, h("strong", { text: "The API is not answering. " }), message, " Nothing is retried automatically."),
    h("button", { type: "button", class: "button", text: "Retry", onclick: retry }),
  );
  banner.hidden = false;
}

function retry() {
  halted = false;
  banner.hidden = true;
  clear(banner);
  render({ focus: false });
}

/** What a page gets: its params, an abort signal, polls, failure handling, navigation. */
function context(controller, params) {
  const timers = new Set();
  const ctx = {
    params,
    signal: controller.signal,
    timers,
    get active() {
      return !controller.signal.aborted && !halted;
    },
    /** Run `fn` now and again after `delay()` ms each time it settles, until the page goes or the API is down. */
    poll(fn, delay) {
      const tick = async () => {
        if (!ctx.active) return;
        if (document.hidden) {
          schedule(1000);
          return;
        }
        const ok = await ctx.guard(fn);
        if (ok !== false) schedule(typeof delay === "function" ? delay() : delay);
      };
      const schedule = (ms) => {
        if (!ctx.active) return;
        const id = setTimeout(() => {
          timers.delete(id);
          tick();
        }, ms);
        timers.add(id);
      };
      tick();
      return { now: () => { for (const id of timers) clearTimeout(id); timers.clear(); tick(); } };
    },
    /** Await fn(); an outage shows the banner and answers false; an abort (navigation) answers false. */
    async guard(fn) {
      try {
        await fn();
        return true;
      } catch (err) {
        if (controller.signal.aborted || (err && err.name === "AbortError")) return false;
        if (err instanceof Unreachable) {
          showBanner(err.message);
          return false;
        }
        ctx.problem(err);
        return false;
      }
    },
    /** A request the API refused while loading (e.g. the schedule was deleted elsewhere): said on the page. */
    problem(err) {
      let box = main.querySelector(":scope > .load-error");
      if (!box) {
        box = h("p", { class: "error load-error", role: "alert" });
        main.prepend(box);
      }
      box.textContent = err && err.status === 404 ? `Not found: ${err.message}.` : `Error: ${err ? err.message : "unknown"}`;
    },
    failed(err) {
      if (err instanceof Unreachable) showBanner(err.message);
    },
    go(hash, message) {
      flash = message || null;
      location.hash = hash;
    },
    takeFlash() {
      const message = flash;
      flash = null;
      return message;
    },
    reload() {
      render({ focus: true });
    },
    title(text) {
      document.title = `${text} · agentcron`;
    },
  };
  return ctx;
}

function route() {
  const path = decodeURIComponent(location.hash.replace(/^#/, "")) || "/";
  for (const [pattern, page, section] of ROUTES) {
    const match = pattern.exec(path);
    if (match) return { page, section, params: match.slice(1), path };
  }
  return null;
}

function render({ focus }) {
  if (current) {
    current.controller.abort();
    for (const id of current.ctx.timers) clearTimeout(id);
  }
  closeDialogs();
  const found = route();
  const controller = new AbortController();
  const ctx = context(controller, found ? found.params : []);
  current = { controller, ctx };
  clear(main);
  for (const link of document.querySelectorAll("nav.main a")) {
    if (found && link.dataset.section === found.section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (!found) {
    ctx.title("Not found");
    main.append(h("h1", { text: "Not found" }), h("p", {}, "No page here. ", h("a", { href: "#/schedules", text: "Schedules" })));
    return;
  }
  if (found.path === "/schedules/new") ctx.params = [];
  Promise.resolve(found.page(main, ctx)).catch((err) => {
    if (controller.signal.aborted) return;
    if (err instanceof Unreachable) showBanner(err.message);
    else main.append(h("p", { class: "error", role: "alert", text: `Something went wrong: ${err.message}` }));
  });
  if (focus) main.focus({ preventScroll: false });
}

// --------------------------------------------------------------------------- start

document.getElementById("skip").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});
window.addEventListener("hashchange", () => render({ focus: true }));
render({ focus: false });
