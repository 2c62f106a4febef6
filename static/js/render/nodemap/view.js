// Level of detail for the worker-nodes area: from CANVAS_FROM_NODES nodes (or CANVAS_FROM_PODS
// pods) the node cards give way to a heat map on a canvas (heatmap.js): the nodes in groups
// (summary.js: by zone label, else blocks of 100 by name), each group a cell coloured by cpu
// requested, pods against capacity, or the share of nodes Ready. Click a group (or focus the map,
// move with the arrow keys, press Enter) to zoom in: its nodes as cells, or, for a group of
// CARDS_MAX nodes or fewer, the normal node cards; a node's cell opens its card. "↑ Back", the
// breadcrumb or Esc go back up.
//
// For the words: a summary line with the counts (role=status), the canvas's aria-label, the
// focused cell's words, and "the map as a table" (a row per cell with a zoom button).
// The cards of a zoomed group need the nodes' whole views: `detailWanted()` names them for
// GET /state?detail= (a large cluster's views are compact otherwise: cluster/compact.py).

import { gettext, interpolate, ngettext } from "../../i18n.js";
import { el } from "../node/format.js";
import { createHeatmap, scaleColour } from "./heatmap.js";
import { groupNodes, metricValue, nodeSummaries, totals } from "./summary.js";

export const CANVAS_FROM_NODES = 61; // the server compacts views from the same count (cluster/compact.py COMPACT_FROM)
export const CANVAS_FROM_PODS = 3000;
export const CARDS_MAX = 12; // a zoomed group this small shows node cards again
const RECOMPUTE_MS = 500;
const TABLE_ROWS = 200;
const fmt = (n) => Number(n).toLocaleString("en");
const pct = (v) => `${Math.round(v * 100)} %`;

function metrics() {
  return [
    { id: "cpu", label: gettext("cpu requested") },
    { id: "pods", label: gettext("pods / capacity") },
    { id: "ready", label: gettext("nodes Ready") },
  ];
}

function countsText(t) {
  const parts = [
    interpolate(ngettext("%(n)s node", "%(n)s nodes", t.nodes), { n: fmt(t.nodes) }),
    interpolate(gettext("✓ %(n)s Ready"), { n: fmt(t.ready) }),
  ];
  if (t.notReady) parts.push(interpolate(gettext("✕ %(n)s not ready"), { n: fmt(t.notReady) }));
  if (t.joining) parts.push(interpolate(gettext("… %(n)s joining"), { n: fmt(t.joining) }));
  parts.push(interpolate(ngettext("%(n)s pod", "%(n)s pods", t.pods), { n: fmt(t.pods) }) + ` (${interpolate(gettext("%(n)s ready"), { n: fmt(t.podsReady) })})`);
  if (t.podsFailing) parts.push(interpolate(gettext("↻ %(n)s failing"), { n: fmt(t.podsFailing) }));
  parts.push(interpolate(gettext("cpu %(p)s requested"), { p: pct(metricValue("cpu", t)) }));
  return parts.join(" · ");
}

export function createNodeMap({ onZoom = () => {} } = {}) {
  const root = el("section", "nodemap");
  root.setAttribute("aria-label", gettext("Worker nodes as a heat map"));
  const bar = el("div", "nodemap-bar");
  const crumbs = el("nav", "nodemap-crumbs");
  crumbs.setAttribute("aria-label", gettext("Zoom level"));
  const up = el("button", "btn btn-small nodemap-up", gettext("↑ Back"));
  up.type = "button";
  const metricBox = el("fieldset", "nodemap-metric");
  metricBox.append(el("legend", null, gettext("Colour by")));
  let metric = "cpu";
  for (const m of metrics()) {
    const label = el("label");
    const input = el("input");
    input.type = "radio";
    input.name = `nodemap-metric-${Math.random().toString(36).slice(2, 7)}`;
    input.value = m.id;
    input.checked = m.id === metric;
    input.addEventListener("change", () => {
      metric = m.id;
      dirty = true;
    });
    label.append(input, document.createTextNode(` ${m.label}`));
    metricBox.append(label);
  }
  bar.append(up, crumbs, metricBox);
  const summary = el("p", "nodemap-summary"); // not a live region: it moves with the cluster; the focused cell's words are
  const wrap = el("div", "nodemap-canvas-wrap");
  const canvas = el("canvas", "nodemap-canvas");
  canvas.tabIndex = 0;
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-roledescription", gettext("heat map"));
  wrap.append(canvas);
  const focusText = el("p", "nodemap-focus");
  focusText.setAttribute("aria-live", "polite");
  const legend = el("div", "nodemap-legend");
  const gradient = el("span", "nodemap-gradient");
  gradient.style.background = `linear-gradient(to right, ${[0, 0.25, 0.5, 0.75, 1].map((v) => `rgb(${scaleColour(v).join(" ")})`).join(", ")})`;
  const legendMetric = el("span", "nodemap-legend-metric");
  legend.append(legendMetric, el("span", null, "0 %"), gradient, el("span", null, "100 %"), el("span", "nodemap-legend-bad", gettext("✕ not Ready (dashed, hatched)")), el("span", null, gettext("↻ pods failing")));
  const hint = el("p", "nodemap-hint", gettext("Click a cell, or focus the map and use the arrow keys and Enter, to zoom in; Esc or “↑ Back” goes back."));
  const table = el("details", "nodemap-table");
  const tableSummary = el("summary", null, gettext("The map as a table"));
  const tableBody = el("div", "nodemap-table-body");
  table.append(tableSummary, tableBody);
  table.addEventListener("toggle", () => (dirty = true));
  root.append(bar, summary, wrap, legend, focusText, hint, table);

  const heat = createHeatmap(canvas);
  let path = []; // [] | [groupId] | [groupId, node]
  let nodes = [];
  let groups = [];
  let level = null; // {kind: "group" | "node" | "cards", cells, items, group}
  let focus = 0;
  let computedAt = -Infinity;
  let seen = null;
  let dirty = true;
  let cellOfNode = new Map();
  let anchors = new Map(); // cell index -> its stand-in box, one per cell of the level (see anchorFor)
  let active = false;
  let expected = 0; // nodes the server counts (scale.nodes): the stream's snapshot leaves their views to GET /state

  new ResizeObserver(() => {
    dirty = true;
  }).observe(wrap);
  // the canvas takes the theme's ink when it draws: draw again when the theme changes
  new MutationObserver(() => (dirty = true)).observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });

  function groupOf(id) {
    return groups.find((g) => g.id === id) ?? null;
  }

  function zoom(next) {
    path = next;
    focus = 0;
    dirty = true;
    seen = null;
    onZoom();
  }

  function enter(i) {
    if (!level || level.kind === "cards") return;
    const item = level.items[i];
    if (!item) return;
    if (level.kind === "group") zoom([item.id]);
    else zoom([level.group.id, item.name]);
    canvas.focus({ preventScroll: true });
  }

  function back() {
    if (!path.length) return;
    const wasGroup = path[0];
    zoom(path.length === 2 && level?.group && level.group.nodes.length <= CARDS_MAX ? [] : path.slice(0, -1));
    if (!path.length) focus = Math.max(0, groups.findIndex((g) => g.id === wasGroup));
    (active && !root.hidden ? canvas : up).focus({ preventScroll: true });
  }

  up.addEventListener("click", back);
  root.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && path.length) {
      e.preventDefault();
      back();
    }
  });
  canvas.addEventListener("click", (e) => {
    const i = heat.cellAt(e.clientX, e.clientY);
    if (i >= 0) enter(i);
  });
  canvas.addEventListener("mousemove", (e) => {
    const i = heat.cellAt(e.clientX, e.clientY);
    canvas.title = i >= 0 && level ? describe(level, i) : "";
  });
  canvas.addEventListener("keydown", (e) => {
    if (!level || level.kind === "cards") return;
    const n = level.items.length;
    const cols = heat.columns();
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols, Home: -n, End: n };
    if (e.key in moves) {
      e.preventDefault();
      focus = Math.min(n - 1, Math.max(0, focus + moves[e.key]));
      dirty = true;
    } else if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      enter(focus);
    } else if (e.key === "Backspace" && path.length) {
      e.preventDefault();
      back();
    }
  });
  canvas.addEventListener("focus", () => (dirty = true));
  canvas.addEventListener("blur", () => (dirty = true));
  tableBody.addEventListener("click", (e) => {
    const button = e.target.closest("button[data-cell]");
    if (button) enter(Number(button.dataset.cell));
  });

  function describe(lv, i) {
    const item = lv.items[i];
    if (lv.kind === "group") return `${item.label}: ${countsText(totals(item.nodes))}`;
    const t = totals([item]);
    const state = item.ready === "True" ? gettext("✓ Ready") : item.ready === "Joining" ? gettext("… joining") : gettext("✕ not ready");
    return `${item.name}: ${state} · ${interpolate(ngettext("%(n)s pod", "%(n)s pods", t.pods), { n: fmt(t.pods) })} / ${fmt(t.podsCap)} · ${interpolate(gettext("cpu %(p)s requested"), { p: pct(metricValue("cpu", t)) })}`;
  }

  function buildLevel() {
    // a single group needs no top level: its nodes are the map
    const groupId = path[0] ?? (groups.length === 1 ? groups[0].id : null);
    const group = groupId ? groupOf(groupId) : null;
    if (groupId && !group) {
      path = [];
      return buildLevel();
    }
    if (!group) {
      const cells = groups.map((g) => {
        const t = totals(g.nodes);
        return { label: g.label, sub: `${fmt(t.nodes)} · ${pct(metricValue(metric, t))} · ${fmt(t.pods)} pods`, value: metricValue(metric, t), bad: t.notReady, failing: t.podsFailing };
      });
      return { kind: "group", cells, items: groups, group: null };
    }
    const node = path[1] ? group.nodes.find((n) => n.name === path[1]) : null;
    if (node) return { kind: "cards", cells: [], items: [node], group };
    if (group.nodes.length <= CARDS_MAX) return { kind: "cards", cells: [], items: group.nodes, group };
    const cells = group.nodes.map((n) => {
      const t = totals([n]);
      return { label: n.name, short: n.name.replace(/^.*?(\d+)$/, "$1"), value: metricValue(metric, t), bad: t.notReady, failing: t.podsFailing };
    });
    return { kind: "node", cells, items: group.nodes, group };
  }

  function drawCrumbs() {
    const items = [{ label: interpolate(ngettext("All nodes (%(n)s group)", "All nodes (%(n)s groups)", groups.length), { n: fmt(groups.length) }), path: [] }];
    if (path[0] && groups.length > 1) items.push({ label: groupOf(path[0])?.label ?? path[0], path: [path[0]] });
    if (path[1]) items.push({ label: path[1], path: [...path] });
    crumbs.replaceChildren(
      ...items.flatMap((c, i) => {
        const last = i === items.length - 1;
        const b = el("button", "nodemap-crumb", c.label);
        b.type = "button";
        if (last) b.setAttribute("aria-current", "location");
        else b.addEventListener("click", () => zoom(c.path));
        return i ? [el("span", "nodemap-sep", "›"), b] : [b];
      }),
    );
    up.disabled = !path.length || (groups.length === 1 && path.length === 1);
  }

  // The table: rebuilt when its rows change (another level, other groups), else its cells'
  // words are updated in place, so a button never moves away under a pointer.
  let tableKey = null;
  function drawTable() {
    if (!table.open || !level) return;
    const items = level.items.slice(0, TABLE_ROWS);
    const rows = items.map((item) => {
      const tt = totals(level.kind === "group" ? item.nodes : [item]);
      return [fmt(tt.nodes), fmt(tt.ready), tt.notReady ? `✕ ${fmt(tt.notReady)}` : "0", fmt(tt.pods), tt.podsFailing ? `↻ ${fmt(tt.podsFailing)}` : "0", pct(metricValue("cpu", tt))];
    });
    const key = `${level.kind}|${level.items.length}|${items.map((item) => item.label ?? item.name).join("|")}`;
    if (key === tableKey) {
      const trs = tableBody.querySelectorAll("tr.nodemap-row");
      rows.forEach((cells, r) => cells.forEach((text, c) => {
        const td = trs[r]?.cells[c + 1];
        if (td && td.textContent !== text) td.textContent = text;
      }));
      return;
    }
    tableKey = key;
    const t = el("table");
    const head = el("tr");
    for (const h of [level.kind === "group" ? gettext("group") : gettext("node"), gettext("nodes"), gettext("Ready"), gettext("not ready"), gettext("pods"), gettext("failing"), gettext("cpu requested"), ""]) head.append(el("th", null, h));
    t.append(head);
    items.forEach((item, i) => {
      const tr = el("tr", "nodemap-row");
      tr.append(el("th", null, item.label ?? item.name), ...rows[i].map((text) => el("td", null, text)));
      const cell = el("td");
      if (level.kind !== "cards") {
        const b = el("button", "btn btn-small", gettext("Zoom in"));
        b.type = "button";
        b.dataset.cell = String(i);
        b.setAttribute("aria-label", interpolate(gettext("Zoom into %(name)s"), { name: item.label ?? item.name }));
        cell.append(b);
      }
      tr.append(cell);
      t.append(tr);
    });
    const rest = level.items.length - TABLE_ROWS;
    tableBody.replaceChildren(t, ...(rest > 0 ? [el("p", null, interpolate(gettext("and %(n)s more"), { n: fmt(rest) }))] : []));
  }

  return {
    element: root,
    /** Whether the map replaces the cards (the cluster is large). */
    get active() {
      return active;
    },
    /** Counts over every node (summary.js totals). */
    totals: () => totals(nodes),
    /** The nodes to draw as cards under the map (a zoomed small group or one node), or null. */
    cards() {
      return active && level?.kind === "cards" ? level.items.map((n) => n.name) : null;
    },
    /** Nodes whose whole views the cards need (GET /state?detail=). */
    detailWanted() {
      return this.cards() ?? [];
    },
    /** A stand-in box for a node-level component drawn as a cell (messages fly to it). */
    anchorFor(component) {
      if (!active || !level || level.kind === "cards" || root.hidden) return null;
      const i = cellOfNode.get(String(component).split("/")[0]);
      if (i == null) return null;
      // one stand-in per cell, not one per ask: at 5,000 nodes every kubelet's message asked for
      // a new one, and geometry.js measured each afresh (a tenth of the frame)
      let anchor = anchors.get(i);
      if (!anchor) {
        anchor = { isConnected: true, offsetParent: wrap, getBoundingClientRect: () => heat.clientRect(i) };
        anchors.set(i, anchor);
      }
      return anchor;
    },
    /** Decide the level of detail and draw; returns whether the map is active. */
    update(model, now = performance.now()) {
      const v = model.versions;
      const version = `${v.components}/${v.views}/${v.nodes}`;
      if ((version !== seen && now - computedAt >= RECOMPUTE_MS) || seen === null) {
        seen = version;
        computedAt = now;
        nodes = nodeSummaries(model);
        const pods = nodes.reduce((s, n) => s + n.pods, 0);
        active = Boolean(model.extra?.scale?.compact) || nodes.length >= CANVAS_FROM_NODES || pods >= CANVAS_FROM_PODS;
        groups = groupNodes(nodes);
        expected = model.extra?.scale?.nodes ?? 0;
        dirty = true;
      }
      root.hidden = !active;
      if (!active) return false;
      if (dirty) {
        dirty = false;
        level = buildLevel();
        focus = Math.min(focus, Math.max(0, level.items.length - 1));
        cellOfNode = new Map();
        anchors = new Map();
        if (level.kind === "group") level.items.forEach((g, i) => g.nodes.forEach((n) => cellOfNode.set(n.name, i)));
        else if (level.kind === "node") level.items.forEach((n, i) => cellOfNode.set(n.name, i));
        const shown = level.kind === "group" ? nodes : level.group.nodes;
        const t = totals(level.kind === "cards" ? level.items : shown);
        const where = path[1] && level.kind === "cards" ? `${path[1]}: ` : level.group && (path.length || groups.length > 1) ? `${level.group.label}: ` : "";
        const words = !nodes.length && expected ? interpolate(gettext("Loading the views of %(n)s nodes…"), { n: fmt(expected) }) : where + countsText(t);
        if (summary.textContent !== words) summary.textContent = words;
        drawCrumbs();
        const metricLabel = metrics().find((m) => m.id === metric).label;
        legendMetric.textContent = `${metricLabel}:`;
        const canvasShown = level.kind !== "cards";
        wrap.hidden = legend.hidden = hint.hidden = focusText.hidden = !canvasShown;
        if (canvasShown) {
          heat.draw(level.cells, { focus, kind: level.kind, focused: document.activeElement === canvas });
          const zones = groups.filter((g) => g.by === "zone").length;
          const by = !zones ? gettext("in blocks of 100 by name") : zones === groups.length ? gettext("by zone") : gettext("by zone, the rest in blocks of 100 by name");
          canvas.setAttribute("aria-label", level.kind === "group"
            ? `${interpolate(gettext("Heat map of %(nodes)s in %(groups)s, %(by)s, coloured by %(metric)s"), { nodes: interpolate(ngettext("%(n)s node", "%(n)s nodes", t.nodes), { n: fmt(t.nodes) }), groups: interpolate(ngettext("%(n)s group", "%(n)s groups", groups.length), { n: fmt(groups.length) }), by, metric: metricLabel })}. ${countsText(t)}`
            : `${interpolate(gettext("Heat map of the nodes of %(group)s, coloured by %(metric)s"), { group: level.group.label, metric: metricLabel })}. ${countsText(t)}`);
          const focusWords = level.items.length ? describe(level, focus) : "";
          if (focusText.textContent !== focusWords) focusText.textContent = focusWords;
        }
        drawTable();
      }
      return true;
    },
  };
}

