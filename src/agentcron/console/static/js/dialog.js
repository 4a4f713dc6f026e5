// Modal dialogs (<dialog>): while one is open the page behind it is inert and hidden from assistive tech.

import { clear, h } from "./dom.js";

const dialog = document.getElementById("dialog");
const shell = document.getElementById("shell");

export function closeDialogs() {
  if (dialog.open) dialog.close("navigate");
}

dialog.addEventListener("close", () => {
  shell.removeAttribute("aria-hidden");
  clear(dialog);
});

/**
 * A modal form: `build(form)` fills it; resolves with the value of the button that closed it ("cancel" for
 * Escape or Cancel). `onSubmit(value)` may return false to keep it open (an error was shown inside).
 */
export function openDialog({ title, build, submit, danger = false, onSubmit }) {
  clear(dialog);
  const headingId = "dialog-title";
  const form = h("form", { method: "dialog", class: "dialog-form" });
  const actions = h("div", { class: "actions" },
    h("button", { type: "submit", value: "cancel", class: "button secondary", formnovalidate: true, text: "Cancel" }),
    h("button", { type: "submit", value: "confirm", class: `button ${danger ? "danger" : "primary"}`, text: submit }));
  form.append(h("h2", { id: headingId, text: title }));
  build(form);
  form.append(actions);
  dialog.setAttribute("aria-labelledby", headingId);
  dialog.append(form);
  return new Promise((resolve) => {
    form.addEventListener("submit", async (event) => {
      const value = event.submitter ? event.submitter.value : "confirm";
      if (value === "cancel") return; // the dialog closes by itself
      event.preventDefault();
      for (const b of actions.querySelectorAll("button")) b.disabled = true;
      const keep = onSubmit ? await onSubmit() : true;
      for (const b of actions.querySelectorAll("button")) b.disabled = false;
      if (keep !== false) {
        dialog.close("confirm");
      }
    });
    dialog.addEventListener("close", () => resolve(dialog.returnValue || "cancel"), { once: true });
    shell.setAttribute("aria-hidden", "true");
    dialog.returnValue = "";
    dialog.showModal();
    const first = form.querySelector("input, textarea, select");
    (first || actions.querySelector(".primary, .danger")).focus();
  });
}

