// The decision table of one scheduling attempt (a decision record, cluster/scheduler/README.md):
// nodes as rows; the filter plugins as columns (✓ pass, ✕ and the reason, — when an earlier
// filter had already rejected the node; plugins PreFilter skipped get no column);
// then the score plugins (raw → normalized, × weight); the total; the chosen node first,
// marked with ★ and the word "chosen" (never by colour alone).

import { gettext, interpolate } from "../../i18n.js";
import { breakable, el, podButton } from "./dom.js";

const FAIL_GLYPH = "✕";

/** The columns: filter plugins in profile order, then every score plugin that scored. */
export function decisionColumns(record, profile) {
  const filters = [];
  const seen = new Set();
  const add = (name) => {
    if (name && !seen.has(name)) {
      seen.add(name);
      filters.push(name);
    }
  };
  // a plugin PreFilter skipped (nothing in this pod for it to check) gets no column: the
  // panel names them under the table, and the table keeps its width for what was decided
  const skipped = new Set(record.skipped?.filter ?? []);
  for (const [name] of profile?.points?.filter ?? []) if (!skipped.has(name)) add(name);
  for (const row of record.nodes ?? []) for (const f of row.filters ?? []) add(f.plugin);
  const scores = [];
  const weights = { ...(record.weights ?? {}) };
  for (const row of record.nodes ?? []) {
    for (const s of row.scores ?? []) {
      if (!scores.includes(s.plugin)) scores.push(s.plugin);
      if (weights[s.plugin] == null) weights[s.plugin] = s.weight;
    }
  }
  return { filters, scores: scores.map((plugin) => ({ plugin, weight: weights[plugin] ?? 1 })) };
}

/** Rows in reading order: the chosen node, the other feasible ones by total, the rejected ones. */
export function sortedRows(record) {
  const rows = [...(record.nodes ?? [])];
  const rank = (r) => (r.name === record.node ? 0 : r.total != null ? 1 : 2);
  return rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => rank(a.r) - rank(b.r) || (rank(a.r) === 1 ? (b.r.total ?? 0) - (a.r.total ?? 0) : 0) || a.i - b.i)
    .map((x) => x.r);
}

function filterCell(row, plugin) {
  const td = el("td", "f-cell");
  td.dataset.plugin = plugin;
  const verdict = (row.filters ?? []).find((f) => f.plugin === plugin);
  if (verdict) {
    if (verdict.status === "Success") {
      td.dataset.status = "pass";
      td.append(el("span", "f-glyph", "✓"), ` ${gettext("pass")}`);
    } else {
      td.dataset.status = "fail";
      td.title = `${plugin}: ${verdict.status}${verdict.reason ? `: ${verdict.reason}` : ""}`;
      td.append(el("span", "f-glyph", FAIL_GLYPH), ` ${verdict.reason || verdict.status}`);
    }
  } else {
    td.dataset.status = "not-run";
    td.title = gettext("not run: an earlier filter already rejected this node");
    td.textContent = "—";
  }
  return td;
}

function scoreCell(score) {
  const td = el("td", "s-cell num");
  td.dataset.plugin = score.plugin;
  td.dataset.raw = String(score.raw);
  td.dataset.normalized = String(score.normalized);
  td.title = interpolate(gettext("%(plugin)s: raw %(raw)s, normalized %(normalized)s, weight %(weight)s: adds %(points)s"), { plugin: score.plugin, raw: score.raw, normalized: score.normalized, weight: score.weight, points: score.normalized * score.weight });
  td.append(el("span", "s-main", score.raw === score.normalized ? String(score.normalized) : `${score.raw} → ${score.normalized}`),
    el("span", "s-weighted", `×${score.weight} = ${score.normalized * score.weight}`));
  return td;
}

/** Fill `table` (a <table>) with the full record. */
export function renderDecisionTable(table, record, profile) {
  table.replaceChildren();
  const { filters, scores } = decisionColumns(record, profile);
  table.append(el("caption", "visually-hidden", interpolate(gettext("Decision table: attempt %(n)s for %(pod)s"), { n: record.attempt, pod: record.pod ?? gettext("the pod") })));
  const thead = el("thead");
  const groups = el("tr", "groups");
  const nodeHead = el("th", "node-col", gettext("Node"));
  nodeHead.scope = "col";
  nodeHead.rowSpan = 2;
  const filterHead = el("th", "group-filter", gettext("Filter: pass or why not"));
  filterHead.scope = "colgroup";
  filterHead.colSpan = Math.max(1, filters.length);
  groups.append(nodeHead, filterHead);
  if (scores.length) {
    const scoreHead = el("th", "group-score", gettext("Score: raw → normalized, × weight"));
    scoreHead.scope = "colgroup";
    scoreHead.colSpan = scores.length;
    groups.append(scoreHead);
  }
  const totalHead = el("th", "total-col num", gettext("Total"));
  totalHead.scope = "col";
  totalHead.rowSpan = 2;
  groups.append(totalHead);
  const names = el("tr", "plugins");
  for (const plugin of filters) {
    const th = el("th", "plugin", breakable(plugin));
    th.scope = "col";
    th.dataset.plugin = plugin;
    th.dataset.point = "filter";
    names.append(th);
  }
  for (const { plugin, weight } of scores) {
    const th = el("th", "plugin score", breakable(plugin));
    th.scope = "col";
    th.dataset.plugin = plugin;
    th.dataset.point = "score";
    th.dataset.weight = String(weight);
    th.append(el("span", "weight", ` ×${weight}`));
    names.append(th);
  }
  if (!filters.length) names.append(el("th", "plugin", ""));
  thead.append(groups, names);

  const tbody = el("tbody");
  for (const row of sortedRows(record)) {
    const tr = el("tr");
    tr.dataset.node = row.name;
    const chosen = row.name === record.node;
    const rejected = row.total == null && (row.filters ?? []).some((f) => f.status !== "Success");
    tr.dataset.outcome = chosen ? "chosen" : rejected ? "rejected" : "feasible";
    const th = el("th", "node-name");
    th.scope = "row";
    th.append(el("span", "n", row.name));
    if (chosen) th.append(el("span", "tag tag-chosen", gettext("★ chosen")));
    else if (rejected) th.append(el("span", "tag tag-rejected", gettext("✕ filtered out")));
    if (record.nominated_node === row.name) th.append(el("span", "tag tag-nominated", gettext("⚑ nominated")));
    tr.append(th);
    for (const plugin of filters) tr.append(filterCell(row, plugin));
    if (!filters.length) tr.append(el("td", "f-cell", ""));
    if (scores.length) {
      if (row.scores?.length) {
        for (const { plugin, weight } of scores) {
          const s = row.scores.find((x) => x.plugin === plugin);
          tr.append(s ? scoreCell({ weight, ...s }) : el("td", "s-cell", "—"));
        }
      } else {
        const td = el("td", "s-cell not-scored", rejected ? gettext("not scored: filtered out") : gettext("not scored"));
        td.colSpan = scores.length;
        tr.append(td);
      }
    }
    const total = el("td", "total num", row.total == null ? "—" : String(row.total));
    total.dataset.total = row.total == null ? "" : String(row.total);
    tr.append(total);
    tbody.append(tr);
  }
  table.append(thead, tbody);
}

/** The event's compact table (≤ 8 rows: name, "pass" or "<plugin>: <reason>", total) until the full record arrives. */
export function renderCompactTable(table, latest) {
  table.replaceChildren();
  table.append(el("caption", "visually-hidden", interpolate(gettext("Decision for %(pod)s, attempt %(n)s (best rows)"), { pod: latest.pod, n: latest.attempt })));
  const head = el("tr");
  for (const [id, text] of [["node", gettext("Node")], ["filters", gettext("Filters")], ["total", gettext("Total")]]) {
    const th = el("th", id === "total" ? "num" : "", text);
    th.scope = "col";
    head.append(th);
  }
  const thead = el("thead");
  thead.append(head);
  const tbody = el("tbody");
  for (const row of latest.table ?? []) {
    const tr = el("tr");
    tr.dataset.node = row.name;
    const chosen = row.name === latest.node;
    tr.dataset.outcome = chosen ? "chosen" : row.fit === "pass" ? "feasible" : "rejected";
    const th = el("th", "node-name");
    th.scope = "row";
    th.append(el("span", "n", row.name));
    if (chosen) th.append(el("span", "tag tag-chosen", gettext("★ chosen")));
    const fit = el("td", "f-cell");
    fit.dataset.status = row.fit === "pass" ? "pass" : "fail";
    fit.append(el("span", "f-glyph", row.fit === "pass" ? "✓" : FAIL_GLYPH), ` ${row.fit === "pass" ? gettext("pass") : row.fit}`);
    tr.append(th, fit, el("td", "total num", row.total == null ? "—" : String(row.total)));
    tbody.append(tr);
  }
  table.append(thead, tbody);
}

/** The lines under the table: examined subset, scoring, preemption, in words. */
export function describeSubset(record) {
  const p = record.percentage ?? {};
  const examined = interpolate(gettext("Examined %(examined)s of %(total)s node(s), %(feasible)s feasible."), { examined: record.examined, total: record.total_nodes, feasible: record.feasible });
  return p.why ? `${examined} ${interpolate(gettext("Why: %(why)s."), { why: p.why })}` : examined;
}

export const SCORING_WORDS = {
  scored: gettext("every feasible node was scored; the highest total wins (ties: the seeded draw)"),
  "one feasible node": gettext("only one node passed the filters: no scoring needed, it wins"),
  "nominated node": gettext("the pod's nominated node (from an earlier preemption) was checked first and fits"),
  "no feasible node": gettext("no node passed the filters: nothing to score"),
  "not reached": gettext("the cycle stopped before scoring"),
};

/** Victims of preemption as clickable pods. */
export function victimsLine(record) {
  const p = el("p", "sched-preemption");
  p.append(el("span", "tag tag-nominated", gettext("⚑ preemption")), interpolate(gettext(" DefaultPreemption nominated %(node)s; victims (evicted through the API server): "), { node: record.nominated_node }));
  if (!record.victims?.length) p.append(gettext("none"));
  record.victims?.forEach((v, i) => {
    if (i) p.append(", ");
    p.append(podButton(v));
  });
  return p;
}
