// Small DOM helpers for the scheduler panel. Server strings always go in as text.

import { gettext, interpolate } from "../../i18n.js";

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = String(text);
  return node;
}

/** A pod anyone can click for its scheduling history: data-pod="<namespace>/<name>". */
export function podButton(key, label = key) {
  const b = el("button", "sched-pod", label);
  b.type = "button";
  b.dataset.pod = key;
  b.title = interpolate(gettext("%(pod)s: show its scheduling history"), { pod: key });
  return b;
}

/** "NodeResourcesFit" -> breakable at its words (a zero-width space), so narrow headers wrap. */
export function breakable(name) {
  return String(name).replace(/([a-z])([A-Z])/g, "$1\u200b$2");
}

export function seconds(t) {
  return typeof t === "number" && Number.isFinite(t) ? `${t.toFixed(3)} s` : "";
}
