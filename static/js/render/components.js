// One box per component, shared by the control-plane and nodes areas: the kind's colour
// (left bar) and shape (icon), the name, and the facts the component's view carries.
// Crashed components are hatched, outlined in dashes, crossed out and labelled "crashed";
// a partitioned one carries its side ("side A") so the groups read without colour.
// Every server string goes in as text (textContent), never as markup.

import { gettext, interpolate } from "../i18n.js";
import { kindInfo, kindIcon, svgEl } from "../theme.js";

const SIDE_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

export function sideLabel(index) {
  return interpolate(gettext("side %(side)s"), { side: SIDE_LETTERS[index] ?? index + 1 });
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = String(text);
  return node;
}

const ROLES = { leader: gettext("leader"), follower: gettext("follower"), candidate: gettext("candidate"), precandidate: gettext("pre-candidate"), "pre-candidate": gettext("pre-candidate") };
/** A Raft role in words (the server's word when it is not one of these). */
export function roleLabel(role) {
  return ROLES[role] ?? String(role);
}

function fact(label, value) {
  const span = el("span", "fact");
  span.append(el("span", "k", `${label} `), el("b", null, value));
  return span;
}

/** The facts line: etcd members show role, term, vote, commit and applied (DESIGN.md section 4). */
function facts(view) {
  const out = [];
  if (view.term != null) out.push(fact(gettext("term"), view.term));
  if (view.vote != null && view.vote !== "" && view.role !== "leader") out.push(fact(gettext("vote"), view.vote));
  if (view.commit != null) out.push(fact(gettext("commit"), view.commit));
  if (view.applied != null) out.push(fact(gettext("applied"), view.applied));
  // the view may carry only the tail of the log; log_length is the whole length
  if (view.log_length != null) out.push(fact(gettext("log"), view.log_length));
  else if (Array.isArray(view.log)) out.push(fact(gettext("log"), view.log.length));
  return out;
}

function signature(view, side) {
  return JSON.stringify([view.kind, view.alive, view.role, view.term, view.vote, view.commit, view.applied, view.log_length, Array.isArray(view.log) ? view.log.length : null, side]);
}

function crashMark() {
  const svg = svgEl("svg", { class: "crash-mark", viewBox: "-10 -10 20 20", "aria-hidden": "true", focusable: "false" });
  svg.appendChild(svgEl("path", { d: "M -7 -7 L 7 7 M 7 -7 L -7 7", stroke: "currentColor", "stroke-width": 3.2, "stroke-linecap": "round", fill: "none" }));
  return svg;
}

/**
 * A new box. options.compact: a small box (icon and short label) for the parts of a node;
 * options.prefix is stripped from the name for that label ("node-1/kubelet" -> "kubelet").
 */
export function createBox(view, { compact = false, prefix = "" } = {}) {
  const kind = kindInfo(view.kind);
  const box = el("article", `comp kind-${kind.id}${compact ? " compact" : ""}`);
  box.dataset.component = view.name;
  box.dataset.kind = String(view.kind ?? "");
  const kindLabel = kind.id === "other" ? String(view.kind ?? gettext("component")) : kind.label;
  if (compact) {
    const short = prefix && view.name.startsWith(prefix) ? view.name.slice(prefix.length) : view.name;
    box.title = `${view.name} (${kindLabel})`;
    box.append(kindIcon(kind, 20), el("div", "comp-name", short || kindLabel), el("div", "comp-facts"), el("div", "comp-badges"), crashMark());
    return box;
  }
  const parts = [kindIcon(kind, 26), el("div", "comp-name", view.name), el("div", "comp-role")];
  // "apiserver / API server" says the same thing twice: the kind line only when it adds something
  const squash = (text) => String(text ?? "").toLowerCase().replace(/[^a-z0-9]/g, "");
  const name = squash(view.name);
  if (!name.includes(squash(kindLabel)) && !name.includes(squash(view.kind))) parts.push(el("div", "comp-kind", kindLabel));
  else box.classList.add("no-kind-line");
  box.append(...parts, el("div", "comp-facts"), el("div", "comp-badges"), crashMark());
  return box;
}

/** Bring a box up to date with its view; cheap when nothing changed. */
export function updateBox(box, view, side) {
  const sig = signature(view, side);
  if (box._sig === sig) return;
  box._sig = sig;
  const crashed = view.alive === false;
  box.classList.toggle("is-crashed", crashed);
  box.classList.toggle("partitioned", side != null);
  for (const role of ["leader", "follower", "candidate", "precandidate"]) box.classList.toggle(`role-${role}`, view.role === role);
  box.querySelector(".comp-facts").replaceChildren(...(box.classList.contains("compact") ? [] : facts(view)));
  const role = box.querySelector(".comp-role");
  if (role) role.replaceChildren(...(view.role != null && !crashed ? [el("span", "role", roleLabel(view.role))] : []));
  const badges = [];
  if (crashed) badges.push(el("span", "badge badge-crashed", gettext("✕ crashed")));
  if (side != null) badges.push(el("span", "badge badge-side", sideLabel(side)));
  box.querySelector(".comp-badges").replaceChildren(...badges);
  box.dataset.alive = String(!crashed);
  box.dataset.side = side == null ? "" : String(side);
}

/**
 * Reconcile the children of `container` with `views` (already sorted), reusing boxes by name.
 * `boxes` is the caller's name -> element map; it is updated in place. `options` go to createBox.
 */
export function reconcileBoxes(container, views, boxes, sideOf, options = {}) {
  const wanted = new Set(views.map((v) => v.name));
  for (const [name, box] of boxes) {
    if (!wanted.has(name)) {
      box.remove();
      boxes.delete(name);
    }
  }
  let previous = null;
  for (const view of views) {
    let box = boxes.get(view.name);
    if (!box || box.dataset.kind !== String(view.kind ?? "")) {
      box?.remove();
      box = createBox(view, options);
      boxes.set(view.name, box);
    }
    updateBox(box, view, sideOf(view.name));
    const expectedNext = previous ? previous.nextSibling : container.firstChild;
    if (expectedNext !== box) container.insertBefore(box, expectedNext);
    previous = box;
  }
}

/** Natural order: etcd-2 before etcd-10. */
export const byName = (a, b) => a.name.localeCompare(b.name, "en", { numeric: true });

export function placeholder(title, lines, kinds = []) {
  const box = el("div", "placeholder");
  const inner = el("div");
  if (kinds.length) {
    const shapes = el("div", "shapes");
    for (const kind of kinds) shapes.appendChild(kindIcon(kind, 22));
    inner.appendChild(shapes);
  }
  inner.appendChild(el("p", "placeholder-title", title));
  for (const line of lines) inner.appendChild(el("p", null, line));
  box.appendChild(inner);
  return box;
}
