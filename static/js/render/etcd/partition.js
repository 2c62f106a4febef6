// The partition tool: a dialog that puts each etcd member on side A, B or C, says which side
// keeps a majority (and so can still commit writes), and sends
// POST /faults {"action": "partition", "groups": [[...], [...]]}.
// Clients (etcdctl, the API server) are in no group, so they still reach every side: a write
// sent to the minority side shows what a minority can do (nothing).

import { gettext, interpolate } from "../../i18n.js";

const SIDES = ["A", "B", "C"];

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = String(text);
  return node;
}

export function createPartitionTool({ dialog, onApply }) {
  const form = el("form", "etcd-partition-form");
  form.method = "dialog";
  const title = el("h2", null, gettext("Partition the etcd members"));
  title.id = "etcd-partition-title";
  dialog.setAttribute("aria-labelledby", title.id);
  const lede = el("p", "dialog-lede", gettext("Put each member on a side. Members on different sides cannot reach each other; clients still reach every side."));
  const presets = el("div", "etcd-presets");
  presets.setAttribute("role", "group");
  presets.setAttribute("aria-label", gettext("Presets"));
  const table = el("table", "etcd-partition-table");
  const preview = el("p", "etcd-partition-preview");
  preview.setAttribute("aria-live", "polite");
  const error = el("p", "field-error");
  error.setAttribute("role", "alert");
  const actions = el("div", "dialog-actions");
  const cancel = el("button", "btn", gettext("Cancel"));
  cancel.type = "button";
  const apply = el("button", "btn btn-primary", gettext("Apply partition"));
  apply.type = "submit";
  apply.value = "apply";
  actions.append(cancel, apply);
  form.append(title, lede, presets, table, preview, error, actions);
  dialog.replaceChildren(form);

  let members = [];
  let leader = null;

  function assignment() {
    const groups = SIDES.map(() => []);
    for (const m of members) {
      const checked = form.querySelector(`input[name="side-${CSS.escape(m)}"]:checked`);
      groups[Number(checked?.value ?? 0)].push(m);
    }
    return groups;
  }

  function describe() {
    const groups = assignment();
    const quorum = Math.floor(members.length / 2) + 1;
    const parts = [];
    groups.forEach((g, i) => {
      if (!g.length) return;
      parts.push(interpolate(g.length >= quorum ? gettext("side %(side)s: %(members)s (a majority: it can elect a leader and commit)") : gettext("side %(side)s: %(members)s (a minority: it cannot commit)"), { side: SIDES[i], members: g.join(", ") }));
    });
    const used = groups.filter((g) => g.length).length;
    preview.textContent = used < 2 ? gettext("Everyone is on one side: choose at least two sides.") : parts.join(" · ");
    apply.disabled = used < 2;
    error.textContent = "";
  }

  function set(sides) {
    for (const m of members) {
      const input = form.querySelector(`input[name="side-${CSS.escape(m)}"][value="${sides(m)}"]`);
      if (input) input.checked = true;
    }
    describe();
  }

  function preset(label, sides) {
    const b = el("button", "btn btn-small", label);
    b.type = "button";
    b.addEventListener("click", () => set(sides));
    return b;
  }

  function build() {
    const head = el("tr");
    head.append(el("th", null, gettext("member")));
    for (const s of SIDES) head.append(el("th", null, interpolate(gettext("side %(side)s"), { side: s })));
    const rows = members.map((m, i) => {
      const tr = el("tr");
      const th = el("th", null, m);
      th.scope = "row";
      th.id = `partition-row-${i}`;
      tr.appendChild(th);
      SIDES.forEach((s, j) => {
        const td = el("td");
        const input = el("input");
        input.type = "radio";
        input.name = `side-${m}`;
        input.value = String(j);
        input.setAttribute("aria-label", interpolate(gettext("%(member)s on side %(side)s"), { member: m, side: s }));
        input.addEventListener("change", describe);
        td.appendChild(input);
        tr.appendChild(td);
      });
      return tr;
    });
    const thead = el("thead");
    thead.appendChild(head);
    const tbody = el("tbody");
    tbody.append(...rows);
    table.replaceChildren(thead, tbody);
    const minority = Math.floor((members.length - 1) / 2);
    presets.replaceChildren(
      ...(leader ? [preset(interpolate(gettext("Isolate the leader (%(leader)s)"), { leader }), (m) => (m === leader ? 1 : 0))] : []),
      preset(interpolate(gettext("Majority | minority (%(major)s | %(minor)s)"), { major: members.length - minority, minor: minority }), (m) => (members.indexOf(m) >= members.length - minority ? 1 : 0)),
      ...(members.length >= 3 ? [preset(gettext("Three ways"), (m) => members.indexOf(m) % 3)] : []),
    );
  }

  cancel.addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const groups = assignment().filter((g) => g.length);
    if (groups.length < 2) return;
    apply.setAttribute("aria-busy", "true");
    const problem = await onApply(groups);
    apply.removeAttribute("aria-busy");
    if (problem) error.textContent = problem;
    else dialog.close();
  });

  return {
    /** Open with the current members; `sideOf(name)` gives each member's current side (or null). */
    open(names, { leaderName = null, sideOf = () => null } = {}) {
      members = names;
      leader = leaderName;
      build();
      set((m) => {
        const side = sideOf(m);
        return side != null && side < SIDES.length ? side : m === leader ? 1 : 0;
      });
      dialog.showModal();
      form.querySelector("input:checked")?.focus();
    },
  };
}
