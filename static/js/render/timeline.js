// The timeline scrubber in the header: the cluster's whole virtual history, from 0 to the
// furthest point its timeline has run (the head), with the present marked on it.
//
//   const timeline = createTimeline({ root: $("timeline"), model, name, announce, showNotice });
//   timeline.update(model);              // every animation frame: follows the clock
//
// Dragging shows the target time; releasing asks the server to seek there
// (POST /api/clusters/<name>/seek: the nearest checkpoint, then replay); the stream then
// brings a fresh snapshot of that moment, so the whole view shows the cluster as it was.
// Playing forward from the past replays what was recorded. An action taken in the past
// forks the timeline: the old future is kept as a branch, listed here, to return to or
// discard (dashboard/history/README.md). Status is a glyph and a word, never colour alone.

import { keyHeaders } from "../api.js";
import { gettext, interpolate, ngettext } from "../i18n.js";

const POLL_MS = 1500; // the head and the branches (cheap: no state hash)

async function call(method, path, body) {
  const init = { method, headers: { Accept: "application/json", ...keyHeaders() }, credentials: "same-origin", cache: "no-store" }; // a class's key (api.js)
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new Error((data && typeof data.error === "string" && data.error) || interpolate(gettext("request failed (%(status)s)"), { status: response.status }));
  return data;
}

function seconds(value) {
  return `${Number(value).toFixed(1)} s`;
}

function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

export function createTimeline({ root, model, name, announce = () => {}, showNotice = () => {} }) {
  const base = `/api/clusters/${encodeURIComponent(name)}`;
  root.replaceChildren();
  const label = element("label", { for: "timeline-range", class: "timeline-label" }, gettext("History"));
  const range = element("input", { type: "range", id: "timeline-range", min: "0", max: "1", step: "0.1", value: "0", "aria-describedby": "timeline-status" });
  const time = element("output", { id: "timeline-time", for: "timeline-range", class: "timeline-time" });
  const status = element("span", { id: "timeline-status", class: "timeline-status", "data-live": "true" });
  const live = element("button", { type: "button", class: "btn timeline-live", id: "timeline-live", hidden: "" }, gettext("Back to the present"));
  const branches = element("div", { class: "timeline-branches", hidden: "" });
  const branchLabel = element("label", { for: "timeline-branch", class: "visually-hidden" }, gettext("Branches set aside"));
  const branchSelect = element("select", { id: "timeline-branch" });
  const branchGo = element("button", { type: "button", class: "btn", id: "timeline-branch-go" }, gettext("Return"));
  const branchDrop = element("button", { type: "button", class: "btn", id: "timeline-branch-drop" }, gettext("Discard"));
  branches.append(branchLabel, branchSelect, branchGo, branchDrop);
  root.append(label, range, time, status, live, branches);

  let history = { head: 0, live: true, ahead: 0 };
  let items = [];
  let dragging = false;
  let busy = false;
  let shown = "";

  async function refresh() {
    try {
      const data = await call("GET", `${base}/branches`);
      history = data.history;
      items = data.items;
      renderBranches();
    } catch {
      // the connection indicator tells about an unreachable server
    }
  }

  function renderBranches() {
    const key = JSON.stringify(items);
    if (key === branches.dataset.key) return;
    branches.dataset.key = key;
    branchSelect.replaceChildren(...items.map((b) => element("option", { value: String(b.id) }, interpolate(gettext("branch %(id)s: parts at %(fork)s, ran to %(head)s"), { id: b.id, fork: seconds(b.fork), head: seconds(b.head) }))));
    branches.hidden = items.length === 0;
  }

  async function act(what, method, path, body, done) {
    if (busy) return;
    busy = true;
    root.dataset.busy = "true";
    try {
      const result = await call(method, path, body);
      if (done) announce(done(result));
    } catch (error) {
      showNotice(`${what}: ${error.message}`);
    } finally {
      busy = false;
      delete root.dataset.busy;
      await refresh();
    }
  }

  range.addEventListener("pointerdown", () => (dragging = true));
  range.addEventListener("input", () => {
    dragging = true;
    time.textContent = `${seconds(range.value)} / ${seconds(history.head)}`;
  });
  range.addEventListener("change", () => {
    dragging = false;
    const target = Number(range.value);
    act(gettext("Could not go to that moment"), "POST", `${base}/seek`, { time: target }, (s) => interpolate(gettext("Now at %(time)s of %(head)s"), { time: seconds(s.time), head: seconds(s.history.head) }));
  });
  live.addEventListener("click", () => act("Could not return to the present", "POST", `${base}/seek`, { time: history.head }, () => "Back at the present"));
  branchGo.addEventListener("click", () => {
    const id = branchSelect.value;
    if (id) act(gettext("Could not return to the branch"), "POST", `${base}/branches/${encodeURIComponent(id)}/switch`, undefined, (s) => interpolate(gettext("Branch %(id)s restored; at %(time)s"), { id, time: seconds(s.time) }));
  });
  branchDrop.addEventListener("click", () => {
    const id = branchSelect.value;
    if (id) act(gettext("Could not discard the branch"), "DELETE", `${base}/branches/${encodeURIComponent(id)}`, undefined, () => interpolate(gettext("Branch %(id)s discarded"), { id }));
  });

  refresh();
  const timer = setInterval(refresh, POLL_MS);

  return {
    update(current = model) {
      const now = current.clock.time;
      const head = Math.max(history.head, history.live ? now : 0);
      const past = !history.live;
      const text = past ? (history.ahead ? interpolate(ngettext("◀ in the past: %(n)s recorded action ahead", "◀ in the past: %(n)s recorded actions ahead", history.ahead), { n: history.ahead }) : gettext("◀ in the past")) : gettext("● present");
      const key = `${now.toFixed(1)}|${head.toFixed(1)}|${text}|${dragging}`;
      if (key === shown) return;
      shown = key;
      range.max = String(Math.max(0.1, head));
      if (!dragging) {
        range.value = String(Math.min(now, head));
        time.textContent = `${seconds(now)} / ${seconds(head)}`;
      }
      range.setAttribute("aria-valuetext", interpolate(gettext("%(time)s of %(head)s"), { time: seconds(dragging ? range.value : now), head: seconds(head) }));
      status.textContent = text;
      status.dataset.live = String(!past);
      live.hidden = !past;
    },
    refresh,
    destroy() {
      clearInterval(timer);
    },
  };
}
