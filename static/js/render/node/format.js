// Small shared pieces of the node cards: elements with text only, and numbers as kubectl
// writes them (250m, 64Mi, 67.7 MB).

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = String(text);
  return node;
}

/** Millicores as Kubernetes writes them: 250m, 1.5, 4. */
export function cpu(milli) {
  const m = Number(milli) || 0;
  if (m === 0) return "0";
  if (m % 1000 === 0) return String(m / 1000);
  if (m >= 1000) return String(Number((m / 1000).toFixed(2)));
  return `${Math.round(m)}m`;
}

/** Bytes in binary units as resources are written: 64Mi, 7.9Gi. */
export function mem(bytes) {
  const b = Number(bytes) || 0;
  const units = [["Gi", 2 ** 30], ["Mi", 2 ** 20], ["Ki", 2 ** 10]];
  for (const [unit, size] of units) {
    if (b >= size) {
      const v = b / size;
      return `${v >= 100 || Number.isInteger(v) ? Math.round(v) : Number(v.toFixed(1))}${unit}`;
    }
  }
  return `${b}B`;
}

/** Download sizes in decimal units as registries and containerd print them: 67.7 MB. */
export function size(bytes) {
  const b = Number(bytes) || 0;
  if (b >= 1e9) return `${(b / 1e9).toFixed(1)} GB`;
  if (b >= 1e6) return `${(b / 1e6).toFixed(1)} MB`;
  if (b >= 1e3) return `${(b / 1e3).toFixed(1)} kB`;
  return `${b} B`;
}

import { gettext, interpolate } from "../../i18n.js";

/** "3 s ago", "1 min ago": whole seconds, so the text changes at most once a second. */
export function ago(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  if (s < 120) return interpolate(gettext("%(n)s s ago"), { n: s });
  return interpolate(gettext("%(n)s min ago"), { n: Math.floor(s / 60) });
}

/** English only: callers that show text use ngettext (static/js/i18n.js). */
export function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** A bar: a track with a fill (0..1) and optional marker (0..1), labelled in words. */
export function bar(className, label) {
  const wrap = el("div", `nbar ${className}`);
  const head = el("div", "nbar-head");
  const name = el("span", "nbar-name", label);
  const value = el("span", "nbar-value");
  head.append(name, value);
  const track = el("div", "nbar-track");
  const fill = el("div", "nbar-fill");
  const marker = el("div", "nbar-marker");
  marker.hidden = true;
  track.append(fill, marker);
  track.setAttribute("role", "meter");
  track.setAttribute("aria-valuemin", "0");
  track.setAttribute("aria-valuemax", "100");
  wrap.append(head, track);
  wrap._value = value;
  wrap._fill = fill;
  wrap._marker = marker;
  wrap._track = track;
  return wrap;
}

export function setBar(wrap, fraction, text, { marker = null, over = false, aria = "" } = {}) {
  const f = Math.max(0, Math.min(1, Number(fraction) || 0));
  wrap._fill.style.width = `${(f * 100).toFixed(2)}%`;
  wrap._value.textContent = text;
  wrap.classList.toggle("is-over", Boolean(over));
  wrap._track.setAttribute("aria-valuenow", String(Math.round(f * 100)));
  wrap._track.setAttribute("aria-valuetext", aria || text);
  if (marker == null) wrap._marker.hidden = true;
  else {
    wrap._marker.hidden = false;
    wrap._marker.style.left = `${(Math.max(0, Math.min(1, marker)) * 100).toFixed(2)}%`;
  }
}
