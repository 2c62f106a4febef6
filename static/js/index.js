// The cluster list: a table refreshed from GET /api/clusters every second, delete buttons that
// ask once for confirmation, and the create form posting JSON to POST /api/clusters. The API's
// {"error", "field"} is shown next to that field (or under the form when no field matches).

import { api } from "./api.js";
import { gettext, interpolate } from "./i18n.js";
import { bindThemeToggle, formatSpeed, formatTime } from "./theme.js";
import { mountLessonPicker } from "./render/lesson/picker.js";

const $ = (id) => document.getElementById(id);
const rows = $("cluster-rows");
const emptyNote = $("cluster-empty");
const listStatus = $("list-status");
const form = $("create-form");
const formStatus = $("form-status");
const REFRESH_MS = 1000;
const PROFILE_WORDS = { teaching: gettext("teaching"), realistic: gettext("realistic") };
const CONFIRM_MS = 4000;

bindThemeToggle($("btn-theme"));
mountLessonPicker($("lesson-picker"), { headingLevel: "h3" });

// --- the list ------------------------------------------------------------------------------------
function cell(className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  return td;
}

function buildRow(name) {
  const tr = document.createElement("tr");
  tr.dataset.name = name;
  const link = document.createElement("a");
  link.className = "cluster-link";
  link.href = `/clusters/${encodeURIComponent(name)}/`;
  link.textContent = name;
  const nameCell = cell();
  nameCell.appendChild(link);
  const del = document.createElement("button");
  del.type = "button";
  del.className = "btn btn-danger";
  del.dataset.action = "delete";
  del.textContent = gettext("Delete");
  del.setAttribute("aria-label", interpolate(gettext("Delete cluster %(name)s"), { name }));
  const actions = cell("actions");
  actions.appendChild(del);
  tr.append(nameCell, cell("num"), cell(), cell("num"), cell("num"), cell(), actions);
  return tr;
}

function fillRow(tr, c) {
  const [, time, clock, members, nodeCount, profile] = tr.children;
  time.textContent = formatTime(c.time);
  const pill = clock.firstChild ?? clock.appendChild(document.createElement("span"));
  pill.className = `state-pill${c.paused ? " paused" : ""}`;
  pill.textContent = c.paused ? gettext("paused") : interpolate(gettext("running at %(speed)s"), { speed: formatSpeed(c.speed) });
  members.textContent = String(c.etcd_members);
  nodeCount.textContent = String(c.nodes);
  profile.textContent = PROFILE_WORDS[c.profile] ?? c.profile;
}

function render(items) {
  const existing = new Map([...rows.children].map((tr) => [tr.dataset.name, tr]));
  let previous = null;
  for (const c of items) {
    let tr = existing.get(c.name);
    existing.delete(c.name);
    if (!tr || !tr.querySelector("button[data-action=delete]")) {
      const fresh = buildRow(c.name);
      tr?.replaceWith(fresh);
      tr = fresh;
    }
    fillRow(tr, c);
    const expected = previous ? previous.nextSibling : rows.firstChild;
    if (expected !== tr) rows.insertBefore(tr, expected);
    previous = tr;
  }
  for (const tr of existing.values()) {
    if (!tr.contains(document.activeElement)) tr.remove();
  }
  emptyNote.hidden = items.length > 0;
}

let refreshing = false;
async function refresh() {
  if (refreshing) return;
  refreshing = true;
  try {
    const data = await api.listClusters();
    render(data.items ?? []);
    if (listStatus.textContent) listStatus.textContent = "";
  } catch (err) {
    listStatus.textContent = interpolate(gettext("Cannot load the clusters: %(error)s. Retrying…"), { error: err.message });
  } finally {
    refreshing = false;
  }
}

rows.addEventListener("click", async (e) => {
  const button = e.target.closest("button[data-action=delete]");
  if (!button) return;
  const name = button.closest("tr").dataset.name;
  if (!button.classList.contains("confirming")) {
    button.classList.add("confirming");
    button.textContent = gettext("Confirm delete");
    button.setAttribute("aria-label", interpolate(gettext("Confirm: delete cluster %(name)s"), { name }));
    setTimeout(() => {
      if (!button.isConnected) return;
      button.classList.remove("confirming");
      button.textContent = gettext("Delete");
      button.setAttribute("aria-label", interpolate(gettext("Delete cluster %(name)s"), { name }));
    }, CONFIRM_MS);
    return;
  }
  button.disabled = true;
  try {
    await api.deleteCluster(name);
    listStatus.textContent = interpolate(gettext("Deleted %(name)s."), { name });
    const row = button.closest("tr");
    const next = row.nextElementSibling ?? row.previousElementSibling;
    row.remove();
    (next?.querySelector("button") ?? $("f-name")).focus();
  } catch (err) {
    listStatus.textContent = interpolate(gettext("Could not delete %(name)s: %(error)s"), { name, error: err.message });
    button.disabled = false;
  }
  refresh();
});

// --- the form --------------------------------------------------------------------------------------
const FIELDS = ["name", "etcd_members", "nodes", "seed", "profile", "speed", "paused"];

function clearErrors() {
  for (const field of FIELDS) {
    $(`f-${field}-error`).textContent = "";
    $(`f-${field}`).removeAttribute("aria-invalid");
  }
  formStatus.textContent = "";
  formStatus.className = "form-status";
}

function showError(err) {
  const field = err.field && FIELDS.includes(err.field) ? err.field : null;
  if (field) {
    $(`f-${field}-error`).textContent = err.message;
    const input = $(`f-${field}`);
    input.setAttribute("aria-invalid", "true");
    input.focus();
    formStatus.textContent = gettext("Please correct the highlighted field.");
  } else {
    formStatus.textContent = err.message;
  }
  formStatus.className = "form-status error";
}

function number(id) {
  const raw = $(id).value.trim();
  return raw === "" ? undefined : Number(raw);
}

function spec() {
  const body = {
    name: $("f-name").value.trim(),
    etcd_members: number("f-etcd_members"),
    nodes: number("f-nodes"),
    seed: number("f-seed"),
    profile: $("f-profile").value,
    speed: number("f-speed"),
    paused: $("f-paused").checked,
  };
  for (const key of Object.keys(body)) if (body[key] === undefined) delete body[key];
  return body;
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  clearErrors();
  const submit = $("create-submit");
  submit.disabled = true;
  submit.setAttribute("aria-busy", "true");
  try {
    const created = await api.createCluster(spec());
    formStatus.className = "form-status ok";
    formStatus.textContent = "";
    const link = document.createElement("a");
    link.href = `/clusters/${encodeURIComponent(created.name)}/`;
    link.textContent = interpolate(gettext("open %(name)s"), { name: created.name });
    formStatus.append(document.createTextNode(interpolate(gettext("Created %(name)s: "), { name: created.name })), link);
    $("f-name").value = "";
    await refresh();
  } catch (err) {
    showError(err);
  } finally {
    submit.disabled = false;
    submit.removeAttribute("aria-busy");
  }
});

refresh();
setInterval(refresh, REFRESH_MS);
