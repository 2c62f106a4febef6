// The event log: one sentence per event, oldest first, newest at the bottom:
//   [virtual time] [kind badge in its group's colour and shape] summary
// Filter chips per group (net raft etcd api watch controller scheduler kubelet runtime proxy
// traffic other). The log follows new events while the reader is at the bottom; scrolling up
// holds it still (nothing is added or removed above the reader) and a button offers the
// latest. The DOM never holds more than MAX_ROWS rows.

import { gettext, interpolate, ngettext } from "../i18n.js";
import { EVENT_GROUPS, eventGroup, eventKindInfo, formatTime, kindIcon } from "../theme.js";
import { nextFrame } from "./geometry.js";

export const MAX_ROWS = 500;
const APPEND_EVERY_MS = 200;
const BOTTOM_SLACK_PX = 24;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = String(text);
  return node;
}

function row(event) {
  if (event.local) {
    const li = el("li", "ev ev-mark", event.summary);
    return li;
  }
  const kind = eventKindInfo(event.kind);
  const li = el("li", `ev kind-${kind.id}`);
  li.dataset.group = eventGroup(event.kind);
  li.dataset.seq = String(event.seq);
  if (event.kind === "net.drop") li.classList.add("is-drop");
  if (event.kind === "net.crash") li.classList.add("is-crash");
  if (typeof event.data?.request === "string" && String(event.kind).startsWith("api.")) {
    // an API request's event: opens the request inspector (click, Enter or Space)
    li.dataset.request = event.data.request;
    li.classList.add("ev-inspectable");
    li.tabIndex = 0;
    li.setAttribute("role", "button");
    li.setAttribute("aria-haspopup", "dialog");
  }
  const badge = el("span", "ev-badge");
  badge.append(kindIcon(kind, 12), document.createTextNode(event.kind));
  badge.title = [event.source, event.target].filter(Boolean).join(" → ");
  const text = el("span", "ev-text");
  text.append(badge, el("span", "ev-summary", event.summary ?? ""));
  li.append(el("span", "ev-time", formatTime(event.time)), text);
  return li;
}

export function createEventLog({ list, filters, count, jump }) {
  const enabled = new Set(EVENT_GROUPS.map((g) => g.id));
  const chips = new Map();
  let renderedTotal = 0;
  let resetSeen = -1;
  let following = true;
  let scrollQueued = false; // a scroll to the end waits for the next frame
  let pending = 0;
  let lastModel = null;
  let appendedAt = -Infinity;

  const matches = (e) => e.local || enabled.has(eventGroup(e.kind));

  // filter chips
  const allChip = el("button", "chip chip-all", gettext("all"));
  allChip.type = "button";
  allChip.setAttribute("aria-pressed", "true");
  allChip.title = gettext("Show every group (Alt+click a group to show only that one)");
  filters.appendChild(allChip);
  for (const group of EVENT_GROUPS) {
    const chip = el("button", `chip kind-${group.kind}`);
    chip.type = "button";
    chip.dataset.group = group.id;
    chip.setAttribute("aria-pressed", "true");
    chip.title = group.title;
    chip.append(kindIcon(eventKindInfo(`${group.id}.x`), 14), document.createTextNode(group.label));
    chips.set(group.id, chip);
    filters.appendChild(chip);
  }
  function syncChips() {
    for (const [id, chip] of chips) chip.setAttribute("aria-pressed", String(enabled.has(id)));
    allChip.setAttribute("aria-pressed", String(enabled.size === chips.size));
  }
  filters.addEventListener("click", (e) => {
    const chip = e.target.closest("button.chip");
    if (!chip) return;
    if (chip === allChip) {
      for (const id of chips.keys()) enabled.add(id);
    } else if (e.altKey) {
      enabled.clear();
      enabled.add(chip.dataset.group);
    } else if (enabled.has(chip.dataset.group)) {
      enabled.delete(chip.dataset.group);
    } else {
      enabled.add(chip.dataset.group);
    }
    syncChips();
    if (lastModel) rebuild(lastModel);
  });

  function atBottom() {
    return list.scrollHeight - list.scrollTop - list.clientHeight <= BOTTOM_SLACK_PX;
  }
  function scrollToEnd() {
    // at the next frame's start, when the page is laid out: reading scrollHeight right after
    // appending rows would force a layout of the whole page
    if (scrollQueued) return;
    scrollQueued = true;
    nextFrame(() => {
      scrollQueued = false;
      if (following) list.scrollTop = list.scrollHeight;
    });
  }
  list.addEventListener("scroll", () => {
    if (scrollQueued) return; // rows were appended and the scroll to them is on its way
    const bottom = atBottom();
    if (bottom && !following) {
      following = true;
      if (pending && lastModel) rebuild(lastModel);
    } else if (!bottom && following) {
      following = false;
    }
    syncJump();
  });
  jump.addEventListener("click", () => {
    following = true;
    if (lastModel) rebuild(lastModel);
    list.focus({ preventScroll: true });
  });
  function syncJump() {
    jump.hidden = following;
    jump.textContent = pending ? interpolate(ngettext("↓ %(n)s new event", "↓ %(n)s new events", pending), { n: pending.toLocaleString("en") }) : gettext("↓ Latest events");
  }

  function rebuild(model) {
    const rows = [];
    for (let i = model.events.length - 1; i >= 0 && rows.length < MAX_ROWS; i -= 1) {
      if (matches(model.events[i])) rows.push(model.events[i]);
    }
    rows.reverse();
    list.replaceChildren(...rows.map(row));
    if (!rows.length) list.appendChild(el("li", "log-empty", model.events.length ? gettext("No events in the selected groups.") : gettext("No events yet.")));
    renderedTotal = model.eventsTotal;
    resetSeen = model.versions.reset;
    pending = 0;
    following = true;
    scrollToEnd();
    syncJump();
  }

  return {
    update(model) {
      lastModel = model;
      count.textContent = model.seq ? interpolate(gettext("last seq %(seq)s"), { seq: model.seq.toLocaleString("en") }) : "";
      if (resetSeen !== model.versions.reset) {
        rebuild(model);
        return;
      }
      const fresh = model.eventsTotal - renderedTotal;
      if (fresh <= 0) return;
      // new rows at most APPEND_EVERY_MS apart: each append lays the list out again and scrolls it
      const now = performance.now();
      if (now - appendedAt < APPEND_EVERY_MS) return;
      appendedAt = now;
      renderedTotal = model.eventsTotal;
      const start = Math.max(0, model.events.length - fresh);
      const incoming = model.events.slice(start).filter(matches);
      if (!incoming.length) return;
      if (!following) {
        pending += incoming.length; // hold still while the reader is scrolled up
        syncJump();
        return;
      }
      list.querySelector(".log-empty")?.remove();
      const fragment = document.createDocumentFragment();
      for (const event of incoming.slice(-MAX_ROWS)) fragment.appendChild(row(event));
      list.appendChild(fragment);
      let excess = list.childElementCount - MAX_ROWS;
      while (excess > 0) {
        list.firstElementChild.remove();
        excess -= 1;
      }
      scrollToEnd();
    },
  };
}
