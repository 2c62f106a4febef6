// Small DOM helpers for the classroom bars: every string goes in as text, never as HTML.

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

export function button(text, className, onClick) {
  const b = el("button", `btn ${className ?? ""}`.trim(), text);
  b.type = "button";
  if (onClick) b.addEventListener("click", onClick);
  return b;
}

/** A labelled checkbox: [input, label]. */
export function toggle(text, className, onChange) {
  const label = el("label", `check ${className}`);
  const input = document.createElement("input");
  input.type = "checkbox";
  input.addEventListener("change", () => onChange(input.checked, input));
  label.append(input, document.createTextNode(` ${text}`));
  return { label, input };
}

/** Set text only when it changed (no needless layout, no lost selection). */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/** The join address of a class, as people type it. */
export function joinUrl(code) {
  return `${window.location.origin}/c/${encodeURIComponent(code)}`;
}
