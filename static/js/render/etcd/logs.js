// The members' Raft logs, one row per member, aligned by index (RaftScope's log table), so
// "log matching" can be read down a column:
//
//   index      41  42  43  44  45
//   etcd-0 ★   3   3   4   4┃  4        a cell = one entry, its term written in it and
//   etcd-1     3   3   4   4┃            coloured by term (a cycle of six colour-blind-safe tints)
//   etcd-2 ✕   3   3                     ┃ = the member's commit index; an underlined cell is
//                                          applied to its store; dashed cells are not committed
//
// Only the newest indexes that fit the width are drawn; a down member's row shows its disk (the
// log survives a crash; commit and applied do not). Cells are reused: an update rewrites only
// the text and classes that changed.

import { gettext, interpolate, ngettext } from "../../i18n.js";
import { roleLabel } from "../components.js";

const TERM_TINTS = 6;
const MIN_CELLS = 6;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = String(text);
  return node;
}

const ROLE_MARK = { leader: "★", candidate: "?", "pre-candidate": "?", down: "✕" };

export function createLogTable(container) {
  const root = el("div", "etcd-logs");
  root.setAttribute("role", "table");
  root.setAttribute("aria-label", gettext("Raft logs, one row per member, aligned by index"));
  const caption = el("div", "etcd-logs-caption");
  caption.append(el("span", "etcd-logs-title", gettext("Raft logs")), el("span", "etcd-logs-key", gettext("n = term · ┃ commit · underline = applied · dashed = uncommitted")));
  const grid = el("div", "etcd-logs-grid");
  root.append(caption, grid);
  container.appendChild(root);

  let signature = "";
  let fits = 0; // columns that fit, measured when the table is resized (never on every update)
  let lastMembers = null;
  const resize = new ResizeObserver(() => {
    const style = getComputedStyle(root);
    const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    const cell = parseFloat(style.getPropertyValue("--cell")) * rem || 1.6 * rem;
    const nameCol = parseFloat(style.getPropertyValue("--name-col")) * rem || 5.6 * rem;
    const next = Math.max(MIN_CELLS, Math.floor((root.clientWidth - nameCol) / cell));
    if (next !== fits) {
      fits = next;
      if (lastMembers) api.update(lastMembers);
    }
  });
  resize.observe(root);

  function capacity() {
    return fits || 12;
  }

  function row(label, role, name) {
    const r = el("div", "log-row");
    r.setAttribute("role", "row");
    const head = el("div", "log-name");
    head.setAttribute("role", "rowheader");
    if (name) head.dataset.member = name;
    head.append(el("span", "log-name-text", label));
    if (role && ROLE_MARK[role]) {
      const mark = el("span", `log-role log-role-${role}`, ROLE_MARK[role]);
      mark.title = role === "down" ? gettext("down") : roleLabel(role);
      mark.setAttribute("aria-label", mark.title);
      head.appendChild(mark);
    }
    r.appendChild(head);
    return r;
  }

  const api = {
    root,
    update(members) {
      lastMembers = members;
      const n = capacity();
      let last = 0;
      for (const m of members) last = Math.max(last, Number(m.log_length) || (Array.isArray(m.log) && m.log.length ? m.log[m.log.length - 1].index : 0));
      const first = Math.max(1, last - n + 1);
      const sig = JSON.stringify([n, first, last, members.map((m) => [m.name, m.role, m.alive, m.commit, m.applied, m.log_length, m.log_offset, m.snapshot_index, (m.log ?? []).slice(-n).map((e) => e.term)])]);
      if (sig === signature) return;
      signature = sig;
      root.style.setProperty("--cells", String(n));

      const rows = [];
      const header = row(gettext("index"), null, null);
      if (first > 1) header.title = interpolate(gettext("entries 1 to %(n)s are not shown: only the newest fit"), { n: first - 1 });
      header.classList.add("log-index-row");
      for (let i = 0; i < n; i += 1) {
        const index = first + i;
        const show = index <= last && (n <= 24 || index === first || index % 5 === 0 || index === last);
        const c = el("span", "log-index", show ? index : "");
        c.setAttribute("role", "columnheader");
        header.appendChild(c);
      }
      rows.push(header);

      for (const m of members) {
        const down = m.alive === false || m.role === "down";
        const r = row(m.name, down ? "down" : m.role, m.name);
        r.classList.toggle("is-down", down);
        r.classList.toggle("is-leader", m.role === "leader" && !down);
        const byIndex = new Map((m.log ?? []).map((e) => [e.index, e.term]));
        const length = Number(m.log_length) || 0;
        const commit = Number(m.commit) || 0;
        const applied = Number(m.applied) || 0;
        const offset = Number(m.log_offset) || 0; // entries up to here are compacted into the snapshot
        const snapshot = Number(m.snapshot_index) || 0;
        const described = [];
        for (let i = 0; i < n; i += 1) {
          const index = first + i;
          const term = byIndex.get(index);
          const c = el("span", "log-cell");
          c.setAttribute("role", "cell");
          if (i === 0 && length > 0 && length < first) {
            // the whole log is left of the window: say where it ends
            c.classList.add("ends-before");
            c.textContent = `◂${length}`;
            c.title = interpolate(gettext("%(name)s's log ends at index %(n)s"), { name: m.name, n: length });
          } else if (term === undefined && index <= offset) {
            c.classList.add("compacted");
          } else if (term === undefined) {
            c.classList.add(index <= length ? "unknown" : "empty");
            if (index <= length) c.textContent = "·";
          } else {
            c.textContent = String(term);
            c.classList.add(`t${term % TERM_TINTS}`);
            // a down member's commit index is gone with its memory: its log is just on disk
            c.classList.add(down ? "on-disk" : index <= commit ? "committed" : "uncommitted");
            if (index <= applied) c.classList.add("applied");
            if (index === commit && !down) c.classList.add("commit-edge");
          }
          if (snapshot && index === snapshot) {
            c.classList.add("snapshot-edge");
            c.title = interpolate(gettext("%(name)s's snapshot: its store after entry %(n)s; entries up to %(offset)s are compacted away"), { name: m.name, n: snapshot, offset });
          }
          r.appendChild(c);
        }
        if (commit > 0 && commit < first && !down) r.classList.add("commit-before");
        if (snapshot) described.push(interpolate(gettext("snapshot at index %(n)s"), { n: snapshot }));
        described.push(interpolate(ngettext("%(n)s entry", "%(n)s entries", length), { n: length }), down ? gettext("down: its log is on disk") : interpolate(gettext("commit %(commit)s, applied %(applied)s"), { commit, applied }));
        r.setAttribute("aria-label", `${m.name}: ${described.join(", ")}`);
        rows.push(r);
      }
      grid.replaceChildren(...rows);
    },
  };
  return api;
}
