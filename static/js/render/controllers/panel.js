// The controller-manager panel (#controllers-body), issue 5 made visible:
//   leader election   each replica: leader (holds the Lease, when it last renewed) or standby
//                     (and, when the leader falls silent, the countdown to its takeover)
//   control loops     one row per loop: its queue depth, and its last reconcile in a sentence;
//                     a reconcile lights its row ("⟳ reconciling") for a moment
//   node lifecycle    each node: Ready, last heartbeat seen, countdown to NotReady, to eviction
//   owner graph       graph.js: owners → dependents, cascading deletion as it propagates
//   informers         re-lists (↻, a new LIST request) and resyncs (⟲, the cache replayed, no
//                     request) shown as such, distinct
// and one live line in the controller manager's box in the control plane.
// Data: the replicas' views (refreshed about once a second, appliers/views.js) and the events
// (appliers/controllers.js). Countdowns run on the display time, so they stop when paused.
// Every server string is set with textContent.

import { controllersOf, managerViews } from "../../appliers/controllers.js";
import { gettext, interpolate, ngettext } from "../../i18n.js";
import { kindIcon, kindInfo } from "../../theme.js";
import { graphSignature, renderOwnerGraph } from "./graph.js";
import { CANVAS_FROM_NODES } from "../nodemap/view.js";

const LIT_WALL_MS = 2500; // a reconcile stays lit this long on the wall clock…
const LIT_VIRTUAL_S = 1.5; // …or while the display time is this close to it (paused: it stays lit)
const DEFAULT_TOLERATION_S = 300; // the API server gives every pod 300 s for not-ready and unreachable
// From the heat map's node count on, the node lifecycle table lists this many nodes, those in
// trouble first, and a line counts them all: a row per node (1,000 rows ticking every second) laid
// the whole page out each frame and was no table anyone could read.
export const NODE_ROWS_AT_SCALE = 20;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = String(text);
  return node;
}

const fmt = (n) => Number(n).toLocaleString("en");

function setText(node, text) {
  const value = String(text);
  if (node.textContent !== value) node.textContent = value;
}

/** "42 s", "4:07" (minutes past a minute), for a projector: whole seconds. */
export function countdown(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return s >= 60 ? `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}` : `${s} s`;
}

function ago(seconds) {
  const s = Math.max(0, seconds);
  return s < 1 ? gettext("just now") : interpolate(gettext("%(n)s s ago"), { n: Math.floor(s) });
}

function section(className, title, hint) {
  const box = el("section", `cm-section ${className}`);
  const head = el("div", "cm-head");
  head.append(el("h3", null, title));
  if (hint) head.append(el("span", "cm-hint", hint));
  box.append(head);
  return box;
}

/** Forget the drawn items (`{root}` or `{tr}`) whose names are no longer wanted. */
function prune(items, wanted) {
  const keep = new Set(wanted);
  for (const [name, item] of items) {
    if (keep.has(name)) continue;
    (item.root ?? item.tr).remove();
    items.delete(name);
  }
}

/** A table with its column heads ([text, class]); returns [table, tbody]. */
function table(className, heads) {
  const tableEl = el("table", `cm-table ${className}`);
  const row = el("tr");
  for (const [text, cls] of heads) {
    const th = el("th", cls || null, text);
    th.scope = "col";
    row.append(th);
  }
  const head = el("thead");
  head.append(row);
  const body = el("tbody");
  tableEl.append(head, body);
  return [tableEl, body];
}

function bar(fraction, label) {
  const outer = el("span", "cm-bar");
  outer.setAttribute("aria-hidden", "true");
  const inner = el("span", "cm-bar-fill");
  inner.style.setProperty("--f", Math.max(0, Math.min(1, fraction)).toFixed(3));
  outer.append(inner);
  if (label) outer.title = label;
  return outer;
}

export function createControllersPanel({ root, note, model, name = null, api = null, announce = () => {}, showNotice = () => {} }) {
  const controllerKind = kindInfo("controller-manager");
  const panel = el("div", "cm-panel");
  const lease = section("cm-lease", gettext("Leader election"), gettext("Lease kube-system/kube-controller-manager: one replica runs the loops, the other stands by"));
  const leaseBody = el("div", "cm-replicas");
  lease.append(leaseBody);

  const loops = section("cm-loops", gettext("Control loops"), gettext("each compares what is wanted with what is, and acts on the difference"));
  const [loopTable, loopRows] = table("cm-loop-table", [[gettext("loop"), ""], [gettext("queue"), "num"], [gettext("last reconcile: what it saw and did"), ""]]);
  loops.append(loopTable);

  const nodes = section("cm-nodes", gettext("Node lifecycle"), gettext("heartbeats seen, and what happens if they stop"));
  const [nodeTable, nodeRows] = table("cm-node-table", [gettext("node"), gettext("status"), gettext("last heartbeat"), "NotReady", gettext("eviction")].map((text) => [text, ""]));
  const nodeNote = el("p", "cm-hint cm-node-note");
  const nodeSummary = el("p", "cm-node-summary");
  nodeSummary.hidden = true;
  nodes.append(nodeSummary, nodeTable, nodeNote);

  const graph = section("cm-graph", gettext("Owner graph"), gettext("owners → dependents; deletion cascades along these lines"));
  const graphBody = el("div", "og-body");
  const cascade = el("ol", "cm-cascade");
  cascade.setAttribute("aria-label", gettext("The garbage collector's latest steps, newest first"));
  graph.append(graphBody, cascade);

  const informers = section("cm-informers", gettext("Informers"), gettext("↻ re-list: a new LIST request · ⟲ resync: the cache replayed to the loops, no request"));
  const informerSummary = el("p", "cm-inf-summary");
  const chips = el("ul", "cm-chips");
  chips.setAttribute("aria-label", gettext("Informers with objects or activity"));
  const activity = el("ol", "cm-activity");
  activity.setAttribute("aria-label", gettext("Latest re-lists and resyncs, newest first"));
  informers.append(informerSummary, chips, activity);

  const empty = el("p", "cm-empty", gettext("The controller manager appears here when the simulation starts it."));
  const noLeader = el("p", "cm-no-leader");
  noLeader.setAttribute("role", "status");
  noLeader.hidden = true;
  panel.append(noLeader, lease, loops, graph, nodes, informers);
  root.replaceChildren(empty);

  // Crash / restart a replica or a node from the panel (POST /faults), like the etcd member menu.
  function faultButton(what) {
    const button = el("button", "btn btn-small cm-fault");
    button.type = "button";
    button.addEventListener("click", async () => {
      const { action, target } = button.dataset;
      if (!api || !name || !action || !target) return;
      button.disabled = true;
      try {
        await api.fault(name, { action, target });
        announce(`${action === "crash" ? "Crashed" : "Restarted"} ${target}`);
      } catch (err) {
        showNotice(interpolate(action === "restart" ? gettext("Could not restart %(target)s: %(error)s") : gettext("Could not crash %(target)s: %(error)s"), { target, error: err.message }));
      } finally {
        button.disabled = false;
      }
    });
    button.dataset.what = what;
    return button;
  }

  function setFault(button, target, down) {
    const action = down ? "restart" : "crash";
    if (button.dataset.action === action && button.dataset.target === target) return;
    button.dataset.action = action;
    button.dataset.target = target;
    button.textContent = button.dataset.what === "replica" ? (down ? gettext("↻ Restart replica") : gettext("✕ Crash replica")) : down ? gettext("↻ Restart") : gettext("✕ Crash");
    button.setAttribute("aria-label", interpolate(down ? gettext("Restart %(target)s") : gettext("Crash %(target)s"), { target }));
    button.title = interpolate(down ? gettext("Start %(target)s again") : gettext("Crash %(target)s (a fault: it stops at once, nothing of it runs)"), { target });
  }

  const rows = new Map(); // loop name -> {tr, glyph, depth, said, time}
  const nodeCells = new Map(); // node -> cells
  const replicaCards = new Map();
  const liveLines = new Map(); // component name -> the element in its control-plane box
  let seenData = null;
  let lastT = null;
  let wasLit = false;
  let graphSig = null;
  let lastLeader = null;
  let cachedT = 0;
  let cachedNow = 0;
  let lastDraw = -Infinity;

  const lit = (entry) => Boolean(entry) && (cachedNow - entry.seenAt < LIT_WALL_MS || (cachedT - entry.time >= 0 && cachedT - entry.time < LIT_VIRTUAL_S));

  function leaderView(views) {
    return views.find((v) => v.leading && v.alive !== false) ?? null;
  }

  // --- leader election -----------------------------------------------------------------------
  function drawReplicas(views, t) {
    prune(replicaCards, views.map((v) => v.name));
    for (const view of views) {
      let card = replicaCards.get(view.name);
      if (!card) {
        const cardRoot = el("article", `cm-replica kind-${controllerKind.id}`);
        cardRoot.dataset.replica = view.name;
        const title = el("div", "cm-replica-title");
        title.append(kindIcon(controllerKind, 20), el("span", "cm-replica-name", view.name));
        card = { root: cardRoot, role: el("span", "cm-role"), line: el("span", "cm-replica-line"), clockLine: el("span", "cm-replica-clock"), fault: faultButton("replica") };
        title.append(card.role);
        const foot = el("div", "cm-replica-foot");
        foot.append(card.clockLine, card.fault);
        cardRoot.append(title, card.line, foot);
        replicaCards.set(view.name, card);
      }
      leaseBody.append(card.root); // keeps the order (leader first)
      const crashed = view.alive === false;
      setFault(card.fault, view.name, crashed);
      const leading = !crashed && Boolean(view.leading);
      const role = crashed ? "down" : leading ? "leader" : "standby";
      card.root.dataset.role = role;
      setText(card.role, crashed ? gettext("✕ crashed") : leading ? gettext("★ leader") : gettext("standby"));
      const info = view.leader ?? {};
      card.clockLine.classList.remove("is-warn");
      if (crashed) {
        setText(card.line, gettext("nothing of it runs: no loops, no lease renewals"));
        setText(card.clockLine, "");
      } else if (leading) {
        setText(card.line, interpolate(gettext("holds the Lease as %(identity)s; runs every loop (transitions so far: %(n)s)"), { identity: info.identity ?? "?", n: info.transitions ?? 0 }));
        // it renews every 2 s (a get and an update: several seconds apart at teaching latency,
        // and the view may be a second old); one that has not renewed for 10 s steps down
        const since = info.last_renew != null ? t - info.last_renew : null;
        const late = since != null && since > 7;
        setText(card.clockLine, since == null ? "" : interpolate(late ? gettext("renewed %(ago)s: steps down at 10 s without renewal") : gettext("renewed %(ago)s, every 2 s"), { ago: ago(since) }));
        card.clockLine.classList.toggle("is-warn", late);
      } else {
        const holder = info.holder ? interpolate(gettext("the Lease is held by %(holder)s"), { holder: info.holder }) : gettext("nobody holds the Lease yet");
        setText(card.line, interpolate(gettext("%(holder)s; this replica runs no loops and watches the Lease"), { holder }));
        const expiresAt = info.lease_expires_in != null && view.time != null ? view.time + info.lease_expires_in : null;
        const left = expiresAt == null ? null : expiresAt - t;
        // The holder's replica is "<name>_<8 hex>". A live leader renews every 2 s and this replica
        // reads every 2 s, so with latency it normally sees 15 → about 10 s left; below 8 the
        // leader has gone silent (crashed, or cut off by the network).
        const holderName = String(info.holder ?? "").replace(/_[0-9a-f]+$/, "");
        const holderDown = holderName && views.some((v) => v.name === holderName && v.alive === false);
        const silent = left != null && (holderDown || left < 8);
        setText(card.clockLine, silent ? interpolate(gettext("leader silent: takes over in %(n)s (15 s without renewal)"), { n: countdown(left) }) : gettext("takes over if the leader stops renewing for 15 s"));
        card.clockLine.classList.toggle("is-warn", silent);
      }
    }
  }

  // --- loops --------------------------------------------------------------------------------
  function drawLoops(view, state) {
    const loopViews = view?.loops ?? [];
    prune(rows, loopViews.map((l) => l.name));
    for (const loop of loopViews) {
      let row = rows.get(loop.name);
      if (!row) {
        const tr = el("tr", "cm-loop");
        tr.dataset.loop = loop.name;
        const th = el("th", "cm-loop-name");
        th.scope = "row";
        const glyph = el("span", "cm-glyph");
        glyph.setAttribute("aria-hidden", "true");
        const word = el("span", "cm-lit-word", gettext("reconciling"));
        th.append(glyph, el("span", "cm-loop-label", loop.label || loop.name), word);
        const depthCell = el("td", "num cm-depth");
        const said = el("td", "cm-said");
        const sentence = el("span", "cm-sentence");
        const when = el("span", "cm-when");
        said.append(sentence, when);
        tr.append(th, depthCell, said);
        row = { tr, glyph, depthCell, sentence, when };
        rows.set(loop.name, row);
      }
      loopRows.append(row.tr);
      // the newest of what the view and the events say
      const fromEvent = state.loops.get(loop.name);
      const fromView = loop.last;
      const last = fromEvent && (!fromView || fromEvent.time >= fromView.time) ? fromEvent : fromView;
      const isLit = Boolean(view?.leading) && view.alive !== false && lit(fromEvent);
      row.tr.dataset.lit = String(Boolean(isLit));
      row.tr.dataset.action = last?.action ?? "";
      setText(row.glyph, isLit ? "⟳" : last ? "·" : "–");
      setText(row.sentence, last ? last.summary : gettext("idle: nothing seen to reconcile yet"));
      setText(row.when, last ? interpolate(gettext(" at %(time)s s"), { time: Number(last.time).toFixed(1) }) : "");
      const working = (loop.processing ?? []).length;
      const waiting = loop.waiting ?? 0;
      const text = `${loop.depth ?? 0}` + (working ? interpolate(gettext(" · %(n)s working"), { n: working }) : "") + (waiting ? interpolate(gettext(" · %(n)s later"), { n: waiting }) : "");
      setText(row.depthCell, text);
      row.depthCell.dataset.depth = String(loop.depth ?? 0);
      row.depthCell.title = interpolate(gettext("%(depth)s key(s) queued, %(working)s being reconciled, %(waiting)s waiting for a retry or a set time; %(processed)s processed so far"), { depth: loop.depth ?? 0, working, waiting, processed: loop.processed ?? 0 });
    }
  }

  // --- nodes --------------------------------------------------------------------------------
  /** At scale, the nodes that get a row: not Ready, host down, or evicting first, then the others,
   * each in the view's order, NODE_ROWS_AT_SCALE in all; and the counts for the summary line. */
  function shownNodes(list, evictedOn) {
    if (list.length < CANVAS_FROM_NODES) return { shown: list, counts: null };
    const counts = { all: list.length, ready: 0, notReady: 0, evicting: 0 };
    const trouble = [];
    const calm = [];
    for (const node of list) {
      const ready = (node.ready ?? "Unknown") === "True";
      const evicting = (node.evictions ?? []).length > 0 || evictedOn.has(node.name);
      if (ready) counts.ready += 1;
      else counts.notReady += 1;
      if (evicting) counts.evicting += 1;
      const down = model.components.get(`${node.name}/kubelet`)?.alive === false;
      (ready && !evicting && !down ? calm : trouble).push(node);
    }
    const shown = trouble.slice(0, NODE_ROWS_AT_SCALE);
    if (shown.length < NODE_ROWS_AT_SCALE) shown.push(...calm.slice(0, NODE_ROWS_AT_SCALE - shown.length));
    return { shown, counts };
  }

  function drawSummary(counts, shown) {
    nodeSummary.hidden = !counts;
    if (!counts) return;
    const parts = [
      interpolate(ngettext("%(n)s node", "%(n)s nodes", counts.all), { n: fmt(counts.all) }),
      interpolate(gettext("✓ %(n)s Ready"), { n: fmt(counts.ready) }),
      interpolate(gettext("✕ %(n)s NotReady"), { n: fmt(counts.notReady) }),
      interpolate(gettext("%(n)s evicting"), { n: fmt(counts.evicting) }),
    ];
    const rest = interpolate(gettext("The table lists %(shown)s of them, those NotReady or evicting first; the worker nodes' heat map draws them all."), { shown: fmt(shown) });
    setText(nodeSummary, `${parts.join(" · ")}. ${rest}`);
    nodeSummary.dataset.notReady = String(counts.notReady);
  }

  function drawNodes(view, state, t) {
    const all = view?.nodes ?? [];
    const grace = view?.node_monitor_grace_period ?? 40;
    const evictedOn = new Map();
    for (const e of state.evicted.values()) evictedOn.set(e.node, (evictedOn.get(e.node) ?? 0) + 1);
    const { shown: list, counts } = shownNodes(all, evictedOn);
    drawSummary(counts, list.length);
    prune(nodeCells, list.map((n) => n.name));
    let at = 0;
    for (const node of list) {
      let cells = nodeCells.get(node.name);
      if (!cells) {
        const tr = el("tr", "cm-node");
        tr.dataset.node = node.name;
        const th = el("th", "cm-node-name");
        th.scope = "row";
        const fault = faultButton("");
        th.append(el("span", null, node.name), fault);
        cells = { tr, fault, status: el("td", "cm-status"), beat: el("td", "cm-beat"), notReady: el("td", "cm-countdown"), evict: el("td", "cm-countdown cm-evict") };
        tr.append(th, cells.status, cells.beat, cells.notReady, cells.evict);
        nodeCells.set(node.name, cells);
      }
      // moved only when out of place: re-appending every row each draw laid the table out again
      if (nodeRows.children[at] !== cells.tr) nodeRows.insertBefore(cells.tr, nodeRows.children[at] ?? null);
      at += 1;
      // the node's host is down when its kubelet is (a crash of the host stops all its components)
      setFault(cells.fault, node.name, model.components.get(`${node.name}/kubelet`)?.alive === false);
      const ready = node.ready ?? "Unknown";
      const tainted = (node.taints ?? []).some((x) => x.includes("NoExecute"));
      cells.tr.dataset.ready = ready;
      const statusKey = ready;
      if (cells.status._sig !== statusKey) {
        cells.status._sig = statusKey;
        // NotReady in words, and the condition's own value (Unknown: the kubelet went silent) under it
        if (ready === "True") cells.status.replaceChildren(el("span", null, "✓ Ready"));
        else cells.status.replaceChildren(el("span", null, ready === "False" ? "✕ NotReady" : "? NotReady"), el("span", "cm-sub", `(${ready})`));
      }
      cells.status.title = ready === "True" ? "Ready" : interpolate(gettext("Ready condition: %(status)s"), { status: ready });
      if (tainted) cells.status.title += interpolate(gettext("; taints: %(taints)s"), { taints: (node.taints ?? []).join(", ") });
      setText(cells.beat, node.last_heartbeat != null ? ago(t - node.last_heartbeat) : gettext("none seen"));

      // NotReady: counts down from the grace period after each heartbeat seen
      const sig = (parts) => parts.join("|");
      if (ready === "True" && node.unknown_at != null) {
        const left = node.unknown_at - t;
        const key = sig(["r", Math.ceil(left), Math.round((left / grace) * 40)]);
        if (cells.notReady._sig !== key) {
          cells.notReady._sig = key;
          cells.notReady.replaceChildren(bar(left / grace, interpolate(gettext("%(n)s s grace period"), { n: grace })), el("span", "cm-count", left > 0 ? interpolate(gettext("in %(n)s"), { n: countdown(left) }) : gettext("due now")));
        }
        cells.notReady.dataset.left = left.toFixed(1);
      } else if (ready !== "True") {
        if (cells.notReady._sig !== "gone") {
          cells.notReady._sig = "gone";
          cells.notReady.replaceChildren(el("span", "cm-count is-bad", interpolate(gettext("✕ no heartbeat for %(n)s s"), { n: grace })));
        }
        delete cells.notReady.dataset.left;
      }

      // eviction: per pod, tolerationSeconds after the NoExecute taint
      const pending = node.evictions ?? [];
      const evicted = evictedOn.get(node.name) ?? 0;
      let key;
      let content;
      if (pending.length) {
        const next = Math.min(...pending.map((e) => (e.at != null ? e.at : (view.time ?? t) + e.in)));
        const left = next - t;
        key = sig(["e", pending.length, Math.ceil(left), Math.round((left / DEFAULT_TOLERATION_S) * 40)]);
        content = () => [bar(left / DEFAULT_TOLERATION_S, gettext("pods tolerate the taint for their tolerationSeconds")),
          el("span", "cm-count is-warn", left > 0 ? interpolate(ngettext("evicts %(n)s pod in %(time)s", "evicts %(n)s pods in %(time)s", pending.length), { n: pending.length, time: countdown(left) }) : gettext("evicting now"))];
        cells.evict.dataset.left = left.toFixed(1);
      } else {
        delete cells.evict.dataset.left;
        if (evicted) {
          key = sig(["d", evicted]);
          content = () => [el("span", "cm-count is-bad", interpolate(ngettext("✕ evicted %(n)s pod; replacements start elsewhere", "✕ evicted %(n)s pods; replacements start elsewhere", evicted), { n: evicted }))];
        } else if (ready === "True") {
          key = "calm";
          content = () => [el("span", "cm-count is-faint", interpolate(gettext("%(n)s s after NotReady"), { n: DEFAULT_TOLERATION_S }))];
        } else {
          key = "none";
          content = () => [el("span", "cm-count is-faint", tainted ? gettext("no pods left to evict") : gettext("tainting it next"))];
        }
      }
      if (cells.evict._sig !== key) {
        cells.evict._sig = key;
        cells.evict.replaceChildren(...content());
      }
    }
    setText(nodeNote, list.length ? interpolate(gettext("NotReady (Unknown) after %(grace)s s without a heartbeat; then a NoExecute taint, and pods are evicted after their toleration (%(toleration)s s unless they say otherwise)."), { grace, toleration: DEFAULT_TOLERATION_S }) : "");
  }

  // --- owner graph --------------------------------------------------------------------------
  function drawGraph(view, state) {
    const g = view?.owner_graph ?? { nodes: [], edges: [] };
    const sig = graphSignature(g, state.gc, lit);
    if (sig !== graphSig) {
      graphSig = sig;
      renderOwnerGraph(graphBody, g, state.gc, lit);
    }
    const items = state.cascade.slice(-4).reverse();
    const cascadeSig = items.map((i) => `${i.time}${i.summary}`).join("|");
    if (cascade._sig !== cascadeSig) {
      cascade._sig = cascadeSig;
      cascade.replaceChildren(...items.map((i) => {
        const li = el("li", "cm-cascade-item");
        li.append(el("span", "cm-when", `${Number(i.time).toFixed(1)} s `), el("span", null, i.summary));
        return li;
      }));
    }
  }

  // --- informers ----------------------------------------------------------------------------
  function drawInformers(view, state) {
    const list = view?.informers ?? [];
    const recent = (resource) => [...state.activity].reverse().find((a) => a.resource === resource && lit(a));
    const watching = list.filter((i) => i.state === "watching").length;
    const relists = list.reduce((n, i) => n + (i.relists ?? 0), 0);
    const resyncs = list.reduce((n, i) => n + (i.resyncs ?? 0), 0);
    setText(informerSummary, list.length ? interpolate(gettext("%(n)s informers, %(watching)s watching"), { n: list.length, watching }) + " · " + interpolate(ngettext("%(n)s re-list", "%(n)s re-lists", relists), { n: relists }) + " · " + interpolate(ngettext("%(n)s resync", "%(n)s resyncs", resyncs), { n: resyncs }) : gettext("No informers run: this replica does not lead."));
    const shown = list.filter((i) => (i.objects ?? 0) > 0 || i.relists || i.resyncs || i.state !== "watching" || recent(i.resource));
    const sig = shown.map((i) => `${i.name}|${i.objects}|${i.state}|${i.relists}|${i.resyncs}|${recent(i.resource)?.kind ?? ""}`).join(";");
    if (chips._sig !== sig) {
      chips._sig = sig;
      chips.replaceChildren(...shown.map((i) => {
        const li = el("li", "cm-chip");
        li.dataset.resource = i.resource;
        li.dataset.state = i.state;
        const act = recent(i.resource);
        if (act) li.dataset.activity = act.kind === "resync" ? "resync" : "relist";
        const glyph = i.state === "watching" ? "✓" : i.state === "backoff" ? "✕" : "…";
        li.append(el("span", "cm-chip-state", glyph), el("span", "cm-chip-name", i.name), el("span", "cm-chip-count", String(i.objects ?? 0)));
        if (i.relists) li.append(el("span", "cm-chip-relist", `↻${i.relists}`));
        if (i.resyncs) li.append(el("span", "cm-chip-resync", `⟲${i.resyncs}`));
        if (act) li.append(el("span", "cm-chip-now", act.kind === "resync" ? gettext("resync") : gettext("re-list")));
        li.title = interpolate(gettext("%(name)s: %(state)s, %(n)s cached, resourceVersion %(rv)s; %(relists)s re-lists, %(resyncs)s resyncs"), { name: i.name, state: i.state, n: i.objects ?? 0, rv: i.rv, relists: i.relists ?? 0, resyncs: i.resyncs ?? 0 });
        return li;
      }));
    }
    const items = state.activity.slice(-5).reverse();
    const actSig = items.map((a) => `${a.time}${a.kind}${a.resource}`).join("|");
    if (activity._sig !== actSig) {
      activity._sig = actSig;
      activity.replaceChildren(...items.map((a) => {
        const li = el("li", "cm-act");
        li.dataset.kind = a.kind;
        const tag = a.kind === "resync" ? gettext("⟲ resync") : a.kind === "backoff" ? gettext("… back-off") : a.kind === "relisted" ? gettext("↻ re-listed") : gettext("↻ re-list");
        li.append(el("span", "cm-act-tag", tag), el("span", "cm-when", ` ${Number(a.time).toFixed(1)} s `), el("span", "cm-act-text", a.text));
        return li;
      }));
    }
  }

  // --- the live line in the control plane ------------------------------------------------------
  function drawLiveLines(views, leader, state) {
    for (const view of views) {
      const box = document.querySelector(`.comp[data-component="${CSS.escape(view.name)}"]`);
      if (!box) continue;
      let line = liveLines.get(view.name);
      if (!line || !box.contains(line.root)) {
        const lineRoot = el("div", "comp-live cm-live");
        lineRoot.dataset.panel = "controllers";
        const text = el("span", "cm-live-text");
        const link = el("a", "cm-live-link", gettext("details ↓"));
        link.href = "#panel-controllers";
        link.addEventListener("click", (e) => {
          e.preventDefault();
          document.getElementById("panel-controllers")?.scrollIntoView({ behavior: "smooth", block: "start" });
        });
        lineRoot.append(text, link);
        box.append(lineRoot);
        line = { root: lineRoot, text };
        liveLines.set(view.name, line);
      }
      let text;
      let isLit = false;
      if (view.alive === false) text = gettext("✕ down: no loop runs");
      else if (view !== leader) text = gettext("standby: watches the Lease");
      else {
        const active = [...state.loops.entries()].filter(([, e]) => e.source === view.name && lit(e)).sort((a, b) => b[1].time - a[1].time)[0];
        if (active) {
          isLit = true;
          text = `⟳ ${active[1].summary}`;
        } else {
          const depth = (view.loops ?? []).reduce((n, l) => n + (l.depth ?? 0), 0);
          const working = (view.loops ?? []).reduce((n, l) => n + (l.processing ?? []).length, 0);
          const busy = [depth ? interpolate(gettext("%(n)s queued"), { n: depth }) : "", working ? interpolate(gettext("%(n)s working"), { n: working }) : ""].filter(Boolean).join(", ");
          text = interpolate(gettext("★ leader · %(n)s loops · %(busy)s"), { n: (view.loops ?? []).length, busy: busy || gettext("all quiet") });
        }
      }
      setText(line.text, text);
      line.root.dataset.lit = String(isLit);
      box.dataset.cmRole = view.alive === false ? "down" : view === leader ? "leader" : "standby";
    }
  }

  return {
    update(m, t, { now } = {}) {
      cachedT = t;
      cachedNow = now ?? performance.now();
      const state = controllersOf(m);
      const views = managerViews(m);
      if (!views.length) {
        if (root.firstChild !== empty) root.replaceChildren(empty);
        return;
      }
      if (root.firstChild !== panel) root.replaceChildren(panel);
      const leader = leaderView(views);
      const data = `${m.versions.views}|${m.versions.components}|${m.versions.controllers ?? 0}`;
      // Redraw when the data moved; when only the display time moved (countdowns show whole
      // seconds) or a light is fading, at most 10 times a second; paused and unlit: nothing.
      const lights = [...state.loops.values()].some(lit) || [...state.gc.values()].some(lit) || state.activity.some(lit);
      const moved = data !== seenData;
      if (!moved && t === lastT && !lights && !wasLit) return;
      if (!moved && cachedNow - lastDraw < 100) return;
      seenData = data;
      lastT = t;
      lastDraw = cachedNow;
      wasLit = lights;

      noLeader.hidden = Boolean(leader);
      setText(noLeader, leader ? "" : gettext("✕ No replica leads: nothing reconciles until one holds the Lease."));
      if (leader?.name !== lastLeader && leader) {
        if (lastLeader !== null) announce(interpolate(gettext("%(name)s now leads the controller manager"), { name: leader.name }));
        lastLeader = leader.name;
      }
      setText(note, leader ? interpolate(gettext("leader: %(name)s · %(n)s loops"), { name: leader.name, n: (leader.loops ?? []).length }) : gettext("no leader"));
      drawReplicas(views, t);
      drawLoops(leader ?? views[0], state);
      // with no leader nothing runs: the rest keeps its last picture, dimmed (data-leader="")
      if (leader) {
        drawNodes(leader, state, t);
        drawGraph(leader, state);
        drawInformers(leader, state);
      }
      drawLiveLines(views, leader, state);
      panel.dataset.leader = leader?.name ?? "";
    },
  };
}
