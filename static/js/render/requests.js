// The API server's requests made visible (issue 4, item 5), drawn from model.requests and
// model.watches (appliers/requests.js) on every animation frame:
//
//   pipeline strip   inside the API server's box: authn → authz → admission → validation → etcd.
//                    Each request in flight is a token in the cell of the stage it has reached
//                    at the display time; a rejected request stops in the stage named by its
//                    response's `rejected_by`, red, with ✕, and stays there a few seconds.
//                    The simulation passes several stages in the same virtual instant: those
//                    are shown one after another, STEP_WALL seconds of wall time apart from
//                    when the page first saw the request, so the eye can follow and a late
//                    frame or a paused clock skips none (the inspector gives the true times). With reduced motion
//                    nothing moves: the cells only count and highlight what is in them.
//   watch lines      a thin standing line from every client with open watches to the API
//                    server, labelled with how many it holds (the watch events themselves fly
//                    as message dots, messages.js).
//   requests list    the newest requests in words (screen readers, reduced motion), each a
//                    button that opens the inspector; filters: only kubectl, show leases and
//                    node heartbeats (hidden by default: a kubelet renews every 10 s).
//   inspector        a dialog: verb, path, client, user, the stages with their times, the
//                    response, the etcd key and revision; then what the API server kept of the
//                    request (GET /api/clusters/<name>/requests/<id>): the body the client sent,
//                    and the object at the revision the request produced or read (for a list,
//                    watch or log, a summary; for a rejected request, the Status). "The object
//                    now" fetches it from the cluster's Kubernetes API on demand (a request of
//                    this page, labelled as the inspector's by its X-Clusterscope-Client header).
// Every server string goes in through textContent.

import { STAGES, STAGE_LABELS, clientLabel, isKubectl, isNoise, objectPath, requestPath } from "../appliers/requests.js";
import { gettext, interpolate, ngettext } from "../i18n.js";
import { formatTime, svgEl } from "../theme.js";
import { boxIn } from "./geometry.js";

const STAGE_SHORT = { authn: gettext("authn"), authz: gettext("authz"), admission: gettext("admit"), validation: gettext("valid"), etcd: "etcd" };
const STAGE_TITLES = { authn: gettext("authentication: who is asking"), authz: gettext("authorization (RBAC): may they"), admission: gettext("admission: namespace lifecycle, defaults, quotas"), validation: gettext("validation: names, labels, required fields"), etcd: gettext("etcd: the transaction (or the watch cache, for reads)") };
const STEP_WALL = 0.35; // wall seconds between stages passed in the same virtual instant
const LINGER_WALL = 4; // wall seconds a rejected (or just answered) token stays visible
const MAX_TOKENS_PER_STAGE = 3; // requests.css keeps room for this many
const MAX_WATCH_CLIENTS_NAMED = 12; // "Watches open": the busiest clients by name, then how many more
const MAX_LISTED = 12;
const LIST_EVERY_MS = 250;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = String(text);
  return node;
}

/** A small YAML writer for JSON objects (strings quoted only when they must be). */
export function toYaml(value, indent = 0) {
  const pad = "  ".repeat(indent);
  const scalar = (v) => {
    if (v === null || v === undefined) return "null";
    if (typeof v === "number" || typeof v === "boolean") return String(v);
    const s = String(v);
    if (s === "" || /^[\s-?:,[\]{}#&*!|>'"%@`]|: |\s#|\s$|^(true|false|null|yes|no|on|off|~)$/i.test(s) || /^[-+]?[\d.]+(e[-+]?\d+)?$/i.test(s) || s.includes("\n")) return JSON.stringify(s);
    return s;
  };
  if (Array.isArray(value)) {
    if (!value.length) return `${pad}[]\n`;
    return value
      .map((item) => {
        if (item && typeof item === "object" && Object.keys(item).length) {
          const inner = toYaml(item, indent + 1);
          return `${pad}- ${inner.slice(pad.length + 2)}`;
        }
        return `${pad}- ${item && typeof item === "object" ? (Array.isArray(item) ? "[]" : "{}") : scalar(item)}\n`;
      })
      .join("");
  }
  if (value && typeof value === "object") {
    const keys = Object.keys(value);
    if (!keys.length) return `${pad}{}\n`;
    return keys
      .map((k) => {
        const v = value[k];
        if (v && typeof v === "object" && (Array.isArray(v) ? v.length : Object.keys(v).length)) return `${pad}${scalar(k)}:\n${toYaml(v, Array.isArray(v) ? indent : indent + 1)}`;
        if (v && typeof v === "object") return `${pad}${scalar(k)}: ${Array.isArray(v) ? "[]" : "{}"}\n`;
        return `${pad}${scalar(k)}: ${scalar(v)}\n`;
      })
      .join("");
  }
  return `${pad}${scalar(value)}\n`;
}

function shortClient(client) {
  if (client === "kubectl") return gettext("you");
  const parts = String(client).split("/");
  const last = parts[parts.length - 1];
  return last.replace(/^kube-/, "").replace("controller-manager", "ctrl-mgr");
}

function describeRequest(r) {
  if (!r.resource) return [r.verb, r.path].filter(Boolean).join(" ");
  const what = [r.verb, r.resource + (r.subresource ? `/${r.subresource}` : "")].filter(Boolean).join(" ");
  const where = [r.namespace, r.name].filter(Boolean).join("/");
  return `${what}${where ? ` ${where}` : ""}`;
}

function outcomeText(r) {
  if (r.code == null) return gettext("in progress");
  const bad = r.code >= 400;
  return `${bad ? "✕" : "✓"} ${r.code}${r.reason ? ` ${r.reason}` : ""}` + (r.rejectedBy ? interpolate(gettext(" (rejected by %(who)s)"), { who: r.rejectedBy }) : "");
}

export function createRequestsView({ stage, linksSvg, locateBox, apiServerName = "kube-apiserver", list, watchSummary, onlyKubectl, showNoise, inspector, clusterName, announce = () => {} }) {
  const strip = el("div", "api-pipeline");
  strip.setAttribute("role", "group");
  strip.setAttribute("aria-label", gettext("API server pipeline: authentication, authorization, admission, validation, etcd"));
  const cells = new Map();
  STAGES.forEach((name, i) => {
    const cell = el("div", "api-stage");
    cell.dataset.stage = name;
    const head = el("div", "api-stage-name");
    head.title = STAGE_TITLES[name];
    head.append(el("span", "long", STAGE_LABELS[name]), el("span", "short", STAGE_SHORT[name]));
    if (i < STAGES.length - 1) head.dataset.arrow = "→";
    const tokens = el("div", "api-stage-tokens");
    const count = el("div", "api-stage-count");
    cell.append(head, tokens, count);
    strip.appendChild(cell);
    cells.set(name, { cell, tokens, count });
  });
  const tokenEls = new Map(); // request id -> button
  const watchGroup = svgEl("g", { class: "watch-lines" });
  linksSvg.prepend(watchGroup);
  const watchEls = new Map(); // client -> {g, line, label}
  const filters = { onlyKubectl: false, showNoise: false };
  const rowEls = new Map(); // request id -> <li> in the requests list
  const emptyRow = el("li", "req-empty");
  let listVersion = -1;
  let lastList = 0;
  let watchVersion = -1;
  let inspected = null; // request id shown in the inspector
  let inspectedSig = "";
  let fetchSerial = 0; // answers to older fetches (another request, an older state) are ignored

  function shown(r) {
    if (filters.onlyKubectl && !isKubectl(r)) return false;
    if (!filters.showNoise && isNoise(r)) return false;
    return true;
  }

  for (const [input, key] of [
    [onlyKubectl, "onlyKubectl"],
    [showNoise, "showNoise"],
  ]) {
    input.checked = filters[key];
    input.addEventListener("change", () => {
      filters[key] = input.checked;
      listVersion = -1;
    });
  }

  // --- the strip -----------------------------------------------------------------------------
  function mountStrip() {
    const box = locateBox(apiServerName);
    if (!box) return false;
    if (strip.parentElement !== box) box.appendChild(strip);
    return true;
  }

  function tokenFor(r) {
    let b = tokenEls.get(r.id);
    if (!b) {
      b = el("button", `req-token${isKubectl(r) ? " is-kubectl" : ""}`);
      b.type = "button";
      b.dataset.request = r.id;
      b.setAttribute("aria-haspopup", "dialog");
      b.append(el("span", "req-token-who", shortClient(r.client)), el("span", "req-token-verb", r.verb ?? ""), el("span", "req-token-mark"));
      tokenEls.set(r.id, b);
    }
    return b;
  }

  const seenAt = new Map(); // request id -> wall ms when this view first saw it at a stage
  function drawStrip(model, t, reduced, now) {
    if (!mountStrip()) return;
    const speed = model.clock.speed > 0 ? model.clock.speed : 1;
    const linger = LINGER_WALL * speed;
    const byStage = new Map(STAGES.map((s) => [s, []]));
    const rejectedAt = new Map();
    for (const id of seenAt.keys()) if (!model.requests?.has(id)) seenAt.delete(id);
    for (const r of model.requests?.values() ?? []) {
      if (!r.stages.length || !shown(r)) continue;
      // reached: the furthest stage passed by virtual time t
      let reached = -1;
      r.stages.forEach((st, i) => {
        if (st.time <= t + 1e-9) reached = i;
      });
      if (reached < 0) continue;
      // the walk: stages passed in one virtual instant are shown STEP_WALL apart, counted in
      // wall time from when the page first saw the request (so a late frame or a paused
      // clock never skips a stage); reduced motion shows the stage reached at once
      if (!seenAt.has(r.id)) seenAt.set(r.id, now);
      const walked = reduced ? Infinity : Math.floor((now - seenAt.get(r.id)) / (STEP_WALL * 1000));
      const index = Math.min(reached, walked);
      const current = r.stages[index];
      const last = index === r.stages.length - 1;
      const rejected = r.code != null && r.code >= 400;
      const answered = r.responded != null && t >= r.responded - 1e-9 && last;
      if (answered) {
        const walkDone = seenAt.get(r.id) + r.stages.length * STEP_WALL * 1000;
        const stay = rejected ? linger : STEP_WALL * speed;
        if (t > r.responded + stay && now > walkDone + (rejected ? LINGER_WALL : STEP_WALL) * 1000) continue;
      }
      const stopped = rejected && last && !current.ok;
      byStage.get(current.stage)?.push({ r, current, stopped, answered, moving: !stopped && !answered });
      if (stopped) rejectedAt.set(current.stage, (rejectedAt.get(current.stage) ?? 0) + 1);
    }
    for (const [name, { cell, tokens, count }] of cells) {
      const items = byStage.get(name);
      items.sort((a, b) => Number(isKubectl(b.r)) - Number(isKubectl(a.r)) || b.r.stages[0].time - a.r.stages[0].time);
      cell.classList.toggle("is-busy", items.length > 0);
      cell.classList.toggle("has-rejected", rejectedAt.has(name));
      cell.classList.toggle("has-kubectl", items.some((i) => isKubectl(i.r)));
      const wanted = reduced ? [] : items.slice(0, MAX_TOKENS_PER_STAGE);
      const buttons = wanted.map(({ r, current, stopped, answered, moving }) => {
        const b = tokenFor(r);
        b.dataset.stage = current.stage;
        b.classList.toggle("rejected", stopped);
        b.classList.toggle("moving", moving);
        b.classList.toggle("answered", answered && !stopped);
        const mark = stopped ? "✕" : answered ? "✓" : "";
        const markEl = b.querySelector(".req-token-mark");
        if (markEl.textContent !== mark) markEl.textContent = mark;
        const where = stopped ? interpolate(gettext("rejected at %(stage)s (%(code)s)"), { stage: current.stage, code: r.code }) : answered ? interpolate(gettext("answered %(code)s"), { code: r.code }) : interpolate(gettext("at %(stage)s"), { stage: current.stage });
        const label = interpolate(gettext("%(client)s: %(request)s, %(where)s. Open the inspector."), { client: clientLabel(r.client), request: describeRequest(r), where });
        if (b.getAttribute("aria-label") !== label) {
          b.setAttribute("aria-label", label);
          b.title = label;
        }
        return b;
      });
      const same = tokens.childNodes.length === buttons.length && buttons.every((b, i) => tokens.childNodes[i] === b);
      if (!same) tokens.replaceChildren(...buttons);
      const extra = items.length - buttons.length;
      const text = reduced ? (items.length ? `${items.length}${rejectedAt.has(name) ? ` (${rejectedAt.get(name)} ✕)` : ""}` : "") : extra > 0 ? `+${extra}` : "";
      if (count.textContent !== text) count.textContent = text;
    }
    for (const [id, b] of tokenEls) if (!b.isConnected) tokenEls.delete(id);
  }

  // --- watch lines ---------------------------------------------------------------------------
  function rectOf(name) {
    const box = locateBox(name);
    const rect = box ? boxIn(stage, box) : null; // measured at the frame's start (geometry.js)
    if (!rect) return null;
    // a kubelet's or kube-proxy's box sits inside its node card: labels go outside the card
    const card = box.closest?.(".node-card");
    const outer = card ? boxIn(stage, card) : null;
    if (outer) {
      rect.card = card;
      rect.outer = outer;
    }
    return rect;
  }

  function edge(rect, x, y) {
    const dx = x - rect.cx;
    const dy = y - rect.cy;
    if (!dx && !dy) return [rect.cx, rect.cy];
    const k = Math.min(dx ? (rect.hw + 3) / Math.abs(dx) : Infinity, dy ? (rect.hh + 3) / Math.abs(dy) : Infinity, 1);
    return [rect.cx + dx * k, rect.cy + dy * k];
  }

  function drawWatches(model) {
    const byClient = new Map();
    for (const w of model.watches?.values() ?? []) {
      if (w.client === apiServerName) continue;
      byClient.set(w.client, (byClient.get(w.client) ?? []).concat(w));
    }
    const api = rectOf(apiServerName);
    const seen = new Set();
    const perCard = new Map(); // node card -> its watchers' total, labelled once on the card
    if (api) {
      const rects = new Map();
      for (const [client, watches] of byClient) {
        const c = rectOf(client);
        if (!c) continue;
        rects.set(client, c);
        if (c.card) perCard.set(c.card, (perCard.get(c.card) ?? 0) + watches.length);
      }
      for (const [client, watches] of byClient) {
        const c = rects.get(client);
        if (!c) continue;
        seen.add(client);
        let e = watchEls.get(client);
        if (!e) {
          const g = svgEl("g", { class: `watch-line${client === "kubectl" ? " is-kubectl" : ""}` });
          g.dataset.client = client;
          const line = svgEl("line", { class: "watch-stroke" });
          const label = svgEl("text", { class: "watch-label" });
          g.append(line, label);
          watchGroup.appendChild(g);
          e = { g, line, label };
          watchEls.set(client, e);
        }
        const [x1, y1] = edge(c, api.cx, api.cy);
        const [x2, y2] = edge(api, c.cx, c.cy);
        e.line.setAttribute("x1", x1.toFixed(1));
        e.line.setAttribute("y1", y1.toFixed(1));
        e.line.setAttribute("x2", x2.toFixed(1));
        e.line.setAttribute("y2", y2.toFixed(1));
        const count = c.card ? perCard.get(c.card) : watches.length;
        const first = !c.card || perCard.has(c.card);
        const text = first ? interpolate(ngettext("%(n)s watch", "%(n)s watches", count), { n: count }) : "";
        if (c.card) perCard.delete(c.card);
        if (e.label.textContent !== text) e.label.textContent = text;
        if (c.card) {
          // a node's watchers (kubelet, kube-proxy) share one label in the card's head
          e.label.setAttribute("text-anchor", "end");
          e.label.setAttribute("x", (c.outer.cx + c.outer.hw - 8).toFixed(1));
          e.label.setAttribute("y", (c.outer.cy - c.outer.hh + 18).toFixed(1));
        } else {
          // beside the line a short way out of the watcher's box, on the side away from the
          // API server, so neighbours' labels never meet
          const len = Math.hypot(x2 - x1, y2 - y1) || 1;
          const along = Math.min(34, len / 3) / len;
          const side = x2 >= x1 ? -1 : 1;
          e.label.setAttribute("text-anchor", side > 0 ? "start" : "end");
          e.label.setAttribute("x", (x1 + (x2 - x1) * along + 5 * side).toFixed(1));
          e.label.setAttribute("y", (y1 + (y2 - y1) * along + 3).toFixed(1));
        }
        e.g.dataset.count = String(watches.length);
      }
    }
    for (const [client, e] of watchEls) {
      if (!seen.has(client)) {
        e.g.remove();
        watchEls.delete(client);
      }
    }
    if (model.versions.watches !== watchVersion) {
      watchVersion = model.versions.watches;
      const total = [...byClient.values()].reduce((n, ws) => n + ws.length, 0);
      const parts = [...byClient].sort((a, b) => b[1].length - a[1].length).map(([client, ws]) => `${clientLabel(client)} ${ws.length}`);
      // a large cluster has a watching kube-proxy and kubelet per node: name the busiest, count the rest
      if (parts.length > MAX_WATCH_CLIENTS_NAMED) parts.splice(MAX_WATCH_CLIENTS_NAMED, Infinity, interpolate(gettext("%(n)s more clients"), { n: (parts.length - MAX_WATCH_CLIENTS_NAMED).toLocaleString("en") }));
      watchSummary.textContent = total ? interpolate(gettext("Watches open: %(n)s (%(clients)s)"), { n: total, clients: parts.join(", ") }) : gettext("No watches open.");
    }
  }

  // --- the list --------------------------------------------------------------------------------
  function drawList(model, now) {
    const version = model.versions.requests ?? 0;
    if (version === listVersion || now - lastList < LIST_EVERY_MS) return;
    listVersion = version;
    lastList = now;
    // rows are kept by request id and only new ones inserted, so a row that has the
    // keyboard focus keeps it while the list updates
    const rows = [];
    const all = [...(model.requests?.values() ?? [])];
    for (let i = all.length - 1; i >= 0 && rows.length < MAX_LISTED; i -= 1) {
      const r = all[i];
      if (!r.verb || !shown(r)) continue;
      let li = rowEls.get(r.id);
      if (!li) {
        li = el("li");
        const b = el("button", "req-open");
        b.type = "button";
        b.dataset.request = r.id;
        b.setAttribute("aria-haspopup", "dialog");
        b.append(el("span", "req-who"), el("span", "req-what"), el("span", "req-outcome"));
        li.appendChild(b);
        rowEls.set(r.id, li);
      }
      li.className = `req-row${isKubectl(r) ? " is-kubectl" : ""}${r.code >= 400 ? " is-bad" : ""}`;
      const [who, what, outcome] = li.firstChild.children;
      for (const [node, text] of [
        [who, clientLabel(r.client)],
        [what, describeRequest(r)],
        [outcome, outcomeText(r)],
      ]) {
        if (node.textContent !== text) node.textContent = text;
      }
      rows.push(li);
    }
    const wanted = new Set(rows);
    for (const [id, li] of rowEls) {
      if (!wanted.has(li)) {
        li.remove();
        rowEls.delete(id);
      }
    }
    emptyRow.textContent = filters.onlyKubectl ? gettext("No kubectl requests yet: run kubectl against this cluster.") : gettext("No requests yet.");
    if (!rows.length) rows.push(emptyRow);
    else emptyRow.remove();
    rows.forEach((li, i) => {
      if (list.children[i] !== li) list.insertBefore(li, list.children[i] ?? null);
    });
  }

  // --- the inspector -----------------------------------------------------------------------------
  const body = inspector.querySelector(".req-inspector-body");
  const title = inspector.querySelector(".req-inspector-title");
  let opener = null;

  function field(dl, label, value) {
    if (value == null || value === "") return;
    dl.append(el("dt", null, label), el("dd", null, value));
  }

  function renderInspector(model) {
    const r = model.requests?.get(inspected);
    if (!r) return;
    const sig = JSON.stringify([r.stages.length, r.code, r.rv, r.key, r.user]);
    if (sig === inspectedSig) return;
    inspectedSig = sig;
    title.textContent = `${clientLabel(r.client)}: ${r.verb ?? gettext("request")} ${r.resource ?? ""}`.trim();
    const dl = el("dl", "req-fields");
    field(dl, gettext("Verb"), r.method ? `${r.verb} (${r.method})` : r.verb);
    field(dl, gettext("Path"), requestPath(r));
    field(dl, gettext("Client"), clientLabel(r.client));
    field(dl, gettext("User"), r.user);
    field(dl, gettext("Request"), r.id);
    field(dl, gettext("Response"), r.code == null ? gettext("waiting…") : outcomeText(r));
    field(dl, gettext("etcd key"), r.key);
    field(dl, gettext("Revision"), r.rv);
    const stages = el("ol", "req-stages");
    stages.setAttribute("aria-label", gettext("Stages passed"));
    for (const s of r.stages) {
      const li = el("li", s.ok ? "ok" : "bad", `${s.ok ? "✓" : "✕"} ` + interpolate(gettext("%(stage)s at %(time)s"), { stage: STAGE_LABELS[s.stage] ?? s.stage, time: formatTime(s.time) }));
      if (s.detail) li.appendChild(el("div", "req-stage-detail", s.detail));
      stages.appendChild(li);
    }
    if (r.responded != null) stages.appendChild(el("li", r.code >= 400 ? "bad" : "ok", interpolate(gettext("response %(code)s at %(time)s"), { code: r.code, time: formatTime(r.responded) })));
    const kept = el("div", "req-kept");
    kept.setAttribute("aria-live", "polite");
    kept.append(el("p", "req-note", gettext("Loading what the API server kept of this request…")));
    const now = el("div", "req-now");
    body.replaceChildren(dl, el("h3", null, gettext("Stages")), stages, kept, now);
    const serial = ++fetchSerial;
    fetch(`/api/clusters/${encodeURIComponent(clusterName)}/requests/${encodeURIComponent(r.id)}`, { headers: { Accept: "application/json" } })
      .then(async (response) => {
        const data = await response.json().catch(() => null);
        if (serial !== fetchSerial) return;
        if (!response.ok) kept.replaceChildren(el("p", "req-note", data?.error ?? interpolate(gettext("The API server's record could not be read (%(status)s)."), { status: response.status })));
        else kept.replaceChildren(...recordParts(r, data));
      })
      .catch((err) => {
        if (serial === fetchSerial) kept.replaceChildren(el("p", "req-note", interpolate(gettext("The API server's record could not be read: %(error)s"), { error: err.message })));
      });
    const path = objectPath(r);
    if (path && r.verb !== "list" && r.verb !== "watch" && r.verb !== "deletecollection") now.append(nowButton(path, now, model));
  }

  function yamlBlock(label, value) {
    const pre = el("pre", "req-yaml", toYaml(value));
    pre.setAttribute("aria-label", label);
    pre.tabIndex = 0; // scrollable by keyboard
    return pre;
  }

  /** What the API server kept: the body sent, the answer at its revision (or a summary). */
  function recordParts(r, rec) {
    const parts = [];
    if (rec.request_body != null) parts.push(el("h3", null, rec.patch_type ? interpolate(gettext("Sent by the client (%(type)s patch)"), { type: rec.patch_type }) : gettext("Sent by the client")), yamlBlock(gettext("The body the client sent, as YAML"), rec.request_body));
    const answer = rec.response;
    if (rec.code == null) {
      parts.push(el("p", "req-note", gettext("In flight: the answer is shown once the API server has answered.")));
    } else if (rec.code >= 400) {
      parts.push(el("h3", null, interpolate(gettext("Answer: Status %(code)s"), { code: `${rec.code}${rec.reason ? ` ${rec.reason}` : ""}` })));
      parts.push(el("p", "req-note", rec.rejected_by ? interpolate(gettext("Nothing was written: the request was rejected by %(who)s (%(code)s)."), { who: rec.rejected_by, code: rec.code }) : interpolate(gettext("Nothing was written: the request was rejected (%(code)s)."), { code: rec.code })));
      if (answer) parts.push(yamlBlock(gettext("The Status returned, as YAML"), answer));
    } else if (answer?.summary) {
      parts.push(el("h3", null, gettext("Answer")), el("p", "req-note", summaryText(answer)));
    } else if (answer) {
      const rv = rec.revision ?? answer?.metadata?.resourceVersion;
      const gone = r.verb === "delete" ? gettext(" (its last state: the delete)") : "";
      parts.push(el("h3", null, interpolate(gettext("Object at revision %(rv)s"), { rv: rv ?? "?" }) + gone), yamlBlock(interpolate(gettext("The object at revision %(rv)s, as YAML"), { rv: rv ?? "?" }), answer));
    } else {
      parts.push(el("p", "req-note", gettext("No object in the answer.")));
    }
    return parts;
  }

  function summaryText(a) {
    if (a.kind === "watch") return a.expired ? interpolate(gettext("A watch that could not start: %(why)s"), { why: a.expired }) : interpolate(gettext("A watch of %(resource)s: %(n)s event(s) sent at its start, then every change as it happens (drawn as message dots)."), { resource: a.resource, n: a.initial_events ?? 0 });
    if (a.kind === "log") return interpolate(a.follow ? gettext("Log text: %(n)s characters, then followed as the container writes more.") : gettext("Log text: %(n)s characters."), { n: a.characters });
    const names = a.names?.length ? `: ${a.names.join(", ")}${a.count > a.names.length ? ", …" : ""}` : "";
    return interpolate(gettext("A list (%(kind)s) of %(n)s item(s) at revision %(rv)s"), { kind: a.kind, n: a.count, rv: a.resourceVersion ?? "?" }) + names + (a.continue ? gettext(" (one page: more follow)") : "") + ".";
  }

  /** "The object now": a GET of this page's own through the cluster's Kubernetes API. */
  function nowButton(path, holder, model) {
    const button = el("button", "btn btn-small req-now-open", gettext("Show the object now"));
    button.type = "button";
    button.addEventListener("click", () => {
      const serial = fetchSerial;
      const status = el("p", "req-note", model.clock.paused ? gettext("Asking the API server… (the cluster is paused: it answers once the clock runs)") : gettext("Asking the API server…"));
      holder.replaceChildren(status);
      fetch(`/k8s/${encodeURIComponent(clusterName)}${path}`, { headers: { Accept: "application/json", "X-Clusterscope-Client": "inspector" } })
        .then(async (response) => {
          const data = await response.json().catch(() => null);
          if (serial !== fetchSerial) return;
          if (!response.ok) status.textContent = `GET ${path}: ${response.status}${data?.message ? ` ${data.message}` : ""}`;
          else holder.replaceChildren(el("h3", null, interpolate(gettext("Object now (resourceVersion %(rv)s)"), { rv: data?.metadata?.resourceVersion ?? "?" })), yamlBlock(gettext("The object now, as YAML"), data));
        })
        .catch((err) => {
          if (serial === fetchSerial) status.textContent = interpolate(gettext("Could not fetch %(path)s: %(error)s"), { path, error: err.message });
        });
    });
    return button;
  }

  function open(id, from, model) {
    if (!model.requests?.has(id)) return;
    inspected = id;
    inspectedSig = "";
    opener = from ?? null;
    renderInspector(model);
    if (!inspector.open) inspector.showModal();
    announce(interpolate(gettext("Request inspector: %(title)s"), { title: title.textContent }));
  }

  inspector.addEventListener("close", () => {
    inspected = null;
    if (opener && opener.isConnected) opener.focus();
  });

  return {
    /** Open the inspector for a request (from a token, a list row or an event-log row). */
    open,
    /** True when the filters hide the request a message belongs to (its dot is not drawn). */
    hides(m, model) {
      const r = m.request ? model.requests?.get(m.request) : null;
      return Boolean(r) && !shown(r);
    },
    update(model, t, { reduced, now }) {
      drawStrip(model, t, reduced, now);
      drawWatches(model);
      drawList(model, now);
      if (inspected && inspector.open) renderInspector(model);
    },
  };
}
