// The "Keys & client" drawer: an etcdctl form (get, put, delete, cas against a chosen member,
// linearizable or serializable) and the key-space browser.
//
// The form sends POST /api/clusters/<name>/etcd and shows what came back, in words a student
// can act on: the revision of a write, the value and revisions of a read, and for a read from
// a member that is behind "stale: etcd-2 has applied revision 4, the leader is at 6". Errors
// show the server's text and what its outcome means ("failed": it certainly did not happen;
// "unknown": it may still commit).
//
// The key space lists what this page knows (appliers/etcd.js): keys written or read while it
// was open, their value when known, create and mod revisions, version, and the watches open
// on them. The snapshot does not list keys yet, so a key written before the page opened shows
// up only when read or written again; "Read" sends a get for one key.

import { readOnlyReason } from "../../api.js";
import { etcdState, noteClientAnswer, quorumStatus, watchesOn } from "../../appliers/etcd.js";
import { gettext, interpolate, ngettext } from "../../i18n.js";

const MAX_HISTORY = 6;
const MAX_ROWS = 200;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = String(text);
  return node;
}

const OUTCOME_TEXT = {
  failed: gettext("outcome: failed — it certainly did not take effect"),
  unknown: gettext("outcome: unknown — it was proposed and may still commit"),
};

function show(value) {
  return value === null || value === undefined ? "—" : String(value);
}

export function createClientDrawer({ drawer, toggle, model, name, api, members, leaderRevision, announce }) {
  const $ = (sel) => drawer.querySelector(sel);
  const form = $("#etcd-client-form");
  const op = $("#etcd-op");
  const key = $("#etcd-key");
  const value = $("#etcd-value");
  const expected = $("#etcd-expected");
  const absent = $("#etcd-expect-absent");
  const memberSelect = $("#etcd-member");
  const timeout = $("#etcd-timeout");
  const send = $("#etcd-send");
  const result = $("#etcd-result");
  const history = $("#etcd-history");
  const keysBody = $("#etcd-keys tbody");
  const keysNote = $("#etcd-keys-note");
  const watchesList = $("#etcd-watches");
  const close = $("#etcd-drawer-close");
  let memberNames = "";
  let readOnly = null; // the reason this page may not send requests (a class's audience), shown above the form
  const readOnlyNote = el("p", "etcd-readonly-note");
  readOnlyNote.hidden = true;
  form.prepend(readOnlyNote);
  let keysVersion = "";
  let busy = 0;

  function consistency() {
    return form.querySelector("input[name=consistency]:checked")?.value ?? "linearizable";
  }

  function syncFields() {
    const o = op.value;
    value.closest(".field").hidden = !(o === "put" || o === "cas");
    expected.closest(".field").hidden = o !== "cas";
    expected.disabled = absent.checked;
    const reads = o === "get";
    for (const input of form.querySelectorAll("input[name=consistency]")) input.disabled = !reads;
    form.querySelector(".consistency").classList.toggle("is-disabled", !reads);
    form.querySelector(".consistency-note").textContent = reads
      ? consistency() === "serializable"
        ? gettext("The member answers from its own store: fast, maybe stale.")
        : gettext("The leader confirms it still leads (ReadIndex) before the member answers.")
      : gettext("Writes always go through the leader and a majority.");
  }
  op.addEventListener("change", syncFields);
  absent.addEventListener("change", syncFields);
  for (const input of form.querySelectorAll("input[name=consistency]")) input.addEventListener("change", syncFields);
  syncFields();

  function setOpen(open) {
    drawer.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    toggle.classList.toggle("is-on", open);
    try {
      localStorage.setItem("clusterscope.etcdDrawer", open ? "open" : "closed");
    } catch {
      // storage disabled: the choice lasts for this page
    }
    if (open) key.focus({ preventScroll: true });
  }
  toggle.addEventListener("click", () => setOpen(drawer.hidden));
  close.addEventListener("click", () => {
    setOpen(false);
    toggle.focus();
  });
  drawer.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.preventDefault();
      setOpen(false);
      toggle.focus();
    }
  });
  try {
    if (localStorage.getItem("clusterscope.etcdDrawer") === "open") setOpen(true);
  } catch {
    // no storage: closed
  }

  // --- results ------------------------------------------------------------------------------
  function line(className, text) {
    return el("span", className, text);
  }

  function describeSuccess(request, answer) {
    const by = answer.member ? interpolate(gettext(" (sent to %(member)s)"), { member: answer.member }) : "";
    const lines = [];
    let stale = null;
    if (request.op === "get") {
      const found = answer.value !== null && answer.value !== undefined;
      lines.push(line("result-head ok", found ? `✓ ${request.key} = ${answer.value}` : interpolate(gettext("✓ %(key)s is absent"), { key: request.key })));
      const facts = [interpolate(gettext("read at revision %(rev)s"), { rev: answer.revision }), request.consistency === "serializable" ? gettext("serializable") : gettext("linearizable")];
      if (found) facts.push(interpolate(gettext("created at %(rev)s"), { rev: show(answer.create_revision) }), interpolate(gettext("modified at %(rev)s"), { rev: show(answer.mod_revision) }), interpolate(gettext("version %(n)s"), { n: show(answer.version) }));
      lines.push(line("result-facts", facts.join(" · ") + by));
      const newest = leaderRevision();
      if (request.consistency === "serializable" && typeof newest === "number" && typeof answer.revision === "number" && answer.revision < newest) {
        stale = interpolate(gettext("Stale: %(member)s has applied revision %(rev)s, the leader is at %(newest)s. A serializable read answers from the member's own store."), { member: answer.member, rev: answer.revision, newest });
        lines.push(line("result-stale", `⚠ ${stale}`));
      }
    } else if (request.op === "cas") {
      lines.push(line(`result-head ${answer.succeeded ? "ok" : "warn"}`, interpolate(answer.succeeded ? gettext("✓ cas %(key)s: swapped to %(value)s") : gettext("≠ cas %(key)s: compare failed, nothing written"), { key: request.key, value: request.value })));
      lines.push(line("result-facts", interpolate(gettext("revision %(rev)s"), { rev: answer.revision }) + by));
    } else if (request.op === "delete") {
      const n = answer.deleted;
      lines.push(line("result-head ok", typeof n === "number" ? interpolate(ngettext("✓ deleted %(key)s (%(n)s key)", "✓ deleted %(key)s (%(n)s keys)", n), { key: request.key, n }) : interpolate(gettext("✓ deleted %(key)s"), { key: request.key })));
      lines.push(line("result-facts", interpolate(gettext("revision %(rev)s"), { rev: answer.revision }) + by));
    } else {
      lines.push(line("result-head ok", `✓ put ${request.key} = ${request.value}`));
      lines.push(line("result-facts", interpolate(gettext("committed by a majority · revision %(rev)s"), { rev: answer.revision }) + by));
    }
    return { lines, summary: lines.map((l) => l.textContent).join(". "), stale: Boolean(stale) };
  }

  function describeFailure(request, err) {
    const body = err.body && typeof err.body === "object" ? err.body : {};
    const status = err.status ? `${err.status} ` : "";
    const lines = [line("result-head bad", `✕ ${request.op} ${request.key}: ${status}${err.message}`)];
    if (body.outcome) lines.push(line("result-facts", OUTCOME_TEXT[body.outcome] ?? interpolate(gettext("outcome: %(outcome)s"), { outcome: body.outcome })));
    const q = quorumStatus(model);
    if (!q.canCommit && request.op !== "get") lines.push(line("result-why", interpolate(gettext("No quorum: %(alive)s of %(size)s alive, quorum %(quorum)s. A write needs a leader and a majority."), { alive: q.alive, size: q.size, quorum: q.quorum })));
    else if (!q.canCommit && request.consistency === "linearizable") lines.push(line("result-why", gettext("No quorum: a linearizable read needs the leader to hear from a majority. A serializable read would answer.")));
    return { lines, summary: lines.map((l) => l.textContent).join(". ") };
  }

  function record(kind, request, lines) {
    result.dataset.state = kind;
    result.replaceChildren(...lines.map((l) => l.cloneNode(true)));
    const li = el("li", `history-${kind}`);
    li.append(...lines.slice(0, 1).map((l) => l.cloneNode(true)));
    history.prepend(li);
    while (history.childElementCount > MAX_HISTORY) history.lastElementChild.remove();
  }

  async function submit(request) {
    busy += 1;
    send.setAttribute("aria-busy", "true");
    result.dataset.state = "pending";
    const target = request.member ? request.member : gettext("a member the client picks");
    result.replaceChildren(line("result-head", `… ${request.op} ${request.key}: ` + interpolate(gettext("waiting for %(target)s"), { target })));
    try {
      const answer = await api.etcd(name, request);
      noteClientAnswer(model, request, answer);
      const { lines, summary, stale } = describeSuccess(request, answer);
      record(stale ? "stale" : "ok", request, lines);
      announce(summary);
      return answer;
    } catch (err) {
      const { lines, summary } = describeFailure(request, err);
      record("error", request, lines);
      announce(summary);
      return null;
    } finally {
      busy -= 1;
      if (!busy) send.removeAttribute("aria-busy");
    }
  }

  function fieldError(input, message) {
    input.setAttribute("aria-invalid", "true");
    result.dataset.state = "error";
    result.replaceChildren(line("result-head bad", message));
    input.focus();
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
    const o = op.value;
    const k = key.value;
    if (!k) return fieldError(key, gettext("Type a key first, e.g. /lesson/x"));
    const request = { op: o, key: k };
    if (o === "put" || o === "cas") request.value = value.value;
    if (o === "cas") request.expected = absent.checked ? null : expected.value;
    if (memberSelect.value) request.member = memberSelect.value;
    if (o === "get") request.consistency = consistency();
    const wait = Number(timeout.value);
    if (!(wait > 0 && wait <= 120)) return fieldError(timeout, gettext("Wait between 0.1 and 120 seconds."));
    request.timeout = wait;
    submit(request);
  });

  // --- the key space --------------------------------------------------------------------------
  keysBody.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-read]");
    if (!b) return;
    const request = { op: "get", key: b.dataset.read, consistency: consistency(), timeout: Number(timeout.value) || 10 };
    if (memberSelect.value) request.member = memberSelect.value;
    submit(request);
  });

  function keyRow(k) {
    const tr = el("tr");
    tr.dataset.key = k.key;
    if (k.deleted) tr.classList.add("is-deleted");
    const keyCell = el("th", "kv-key", k.key);
    keyCell.scope = "row";
    const valueCell = el("td", "kv-value");
    if (k.deleted) valueCell.append(el("span", "kv-deleted", k.mod_revision ? interpolate(gettext("deleted at %(rev)s"), { rev: k.mod_revision }) : gettext("absent")));
    else if (k.valueKnown) valueCell.textContent = show(k.value);
    else valueCell.append(el("span", "kv-unknown", gettext("not read yet")));
    const watches = watchesOn(model, k.key);
    const watchCell = el("td", "kv-watches", watches.length ? String(watches.length) : "");
    if (watches.length) watchCell.title = watches.map((w) => interpolate(gettext("%(client)s on %(member)s (watch %(id)s)"), { client: w.client, member: w.member, id: w.watch_id })).join("\n");
    const readCell = el("td", "kv-read");
    const read = el("button", "btn btn-small", gettext("Read"));
    read.type = "button";
    read.disabled = Boolean(readOnly); // a read is a request of the cluster's own client too
    read.dataset.read = k.key;
    read.setAttribute("aria-label", interpolate(gettext("Read %(key)s"), { key: k.key }));
    readCell.appendChild(read);
    tr.append(keyCell, valueCell, el("td", "num", k.deleted ? "" : show(k.create_revision)), el("td", "num", show(k.mod_revision)), el("td", "num", k.deleted ? "" : show(k.version)), watchCell, readCell);
    return tr;
  }

  function renderKeys() {
    const etcd = etcdState(model);
    // rows are rebuilt: keep the keyboard focus on the same Read button
    const focused = keysBody.contains(document.activeElement) ? document.activeElement.dataset.read : null;
    const keys = [...etcd.keys.values()].sort((a, b) => a.key.localeCompare(b.key)).slice(0, MAX_ROWS);
    keysBody.replaceChildren(...keys.map(keyRow));
    if (!keys.length) {
      const tr = el("tr", "kv-empty");
      const td = el("td", null, gettext("No keys seen yet: put one with the client, or read a key by name."));
      td.colSpan = 7;
      tr.appendChild(td);
      keysBody.appendChild(tr);
    }
    if (focused != null) keysBody.querySelector(`button[data-read="${CSS.escape(focused)}"]`)?.focus();
    keysNote.textContent = interpolate(ngettext("%(n)s key seen from this page · the leader is at revision %(rev)s", "%(n)s keys seen from this page · the leader is at revision %(rev)s", etcd.keys.size), { n: etcd.keys.size, rev: show(leaderRevision()) });
    const watches = [...etcd.watches.values()];
    const items = watches.map((w) => el("li", null, interpolate(w.start_revision ? gettext("%(client)s watches %(key)s on %(member)s from revision %(rev)s (watch %(id)s)") : gettext("%(client)s watches %(key)s on %(member)s (watch %(id)s)"), { client: w.client, key: `${w.key}${w.prefix ? "*" : ""}`, member: w.member, rev: w.start_revision, id: w.watch_id })));
    // members count the watches they serve; those opened before this page are not in any event we saw
    for (const m of members()) {
      const known = watches.filter((w) => w.member === m.name).length;
      const more = (Number(m.watches) || 0) - known;
      if (more > 0) items.push(el("li", "kv-unknown", interpolate(ngettext("%(name)s serves %(n)s more watch, opened before this page (the keys are not in the snapshot)", "%(name)s serves %(n)s more watches, opened before this page (the keys are not in the snapshot)", more), { name: m.name, n: more })));
    }
    watchesList.replaceChildren(...(items.length ? items : [el("li", "kv-unknown", gettext("No watches open."))]));
  }

  return {
    open: () => setOpen(true),
    get isOpen() {
      return !drawer.hidden;
    },
    update() {
      const names = members().map((m) => m.name);
      const joined = names.join("|");
      if (joined !== memberNames) {
        memberNames = joined;
        const chosen = memberSelect.value;
        const options = [new Option(gettext("any member (client picks)"), "")].concat(names.map((n) => new Option(n, n)));
        memberSelect.replaceChildren(...options);
        if (names.includes(chosen)) memberSelect.value = chosen;
      }
      const reason = readOnlyReason(name);
      if (reason !== readOnly) {
        readOnly = reason;
        readOnlyNote.textContent = reason ?? "";
        readOnlyNote.hidden = !reason;
        for (const control of form.querySelectorAll("select, input, button")) control.disabled = Boolean(reason);
        if (!reason) syncFields(); // the fields each operation uses
        keysVersion = ""; // the Read buttons follow
      }
      if (drawer.hidden) return;
      const version = `${model.versions.etcd ?? 0}|${leaderRevision()}`;
      if (version !== keysVersion) {
        keysVersion = version;
        renderKeys();
      }
    },
  };
}
