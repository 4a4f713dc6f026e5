// Small DOM helpers: build elements from data, never from HTML strings (nothing the API returns is markup).

const SVG_NS = "http://www.w3.org/2000/svg";

function apply(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.setAttribute("class", Array.isArray(value) ? value.filter(Boolean).join(" ") : value);
    else if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "style") Object.assign(el.style, value);
    else if (key === "value" && !(el instanceof SVGElement)) el.value = value;
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key in el && !(el instanceof SVGElement) && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** h("a", {href: "#/x", class: "link"}, "text", child...) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

/** An SVG element: s("rect", {x: 1, y: 2}). */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

/** Append children to an existing element, skipping null, undefined and false (unlike Element.append). */
export function add(el, ...children) {
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

/** Replace the contents of el, unless `key` (any JSON-able value) is what it was last time. */
export function update(el, key, build) {
  const signature = JSON.stringify(key);
  if (el.dataset.signature === signature) return false;
  el.dataset.signature = signature;
  const focused = focusKey(el);
  clear(el);
  append(el, [build()]);
  if (focused) {
    const again = [...el.querySelectorAll("a[href], button")].find((c) => focusKeyOf(c) === focused);
    if (again) again.focus({ preventScroll: true });
  }
  return true;
}

// Keyboard users keep their place when a poll redraws what they were on: the same link or button regains focus.
function focusKeyOf(node) {
  return `${node.tagName}|${node.getAttribute("href") || ""}|${node.textContent}`;
}
function focusKey(el) {
  const active = document.activeElement;
  return active && active !== el && el.contains(active) ? focusKeyOf(active) : null;
}

let counter = 0;
export function uid(prefix = "id") {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** A status badge: the API's word, coloured by class (colour is never the only signal). */
export function badge(status, text) {
  return h("span", { class: `badge status-${status || "none"}` }, text ?? status ?? "none");
}
