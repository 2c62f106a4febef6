// The scheduling queue from the scheduler's view (queue: active, backoff, unschedulable,
// gated, in_flight; first 20 of each): every pod a button (data-pod) with why it is there.
// And the one live line the panel adds to the scheduler's box in the control plane.

import { gettext, interpolate } from "../../i18n.js";
import { el, podButton, seconds } from "./dom.js";

export const QUEUES = [
  { key: "in_flight", glyph: "●", title: gettext("Being scheduled"), hint: gettext("the pod taken in this cycle") },
  { key: "active", glyph: "▶", title: gettext("Active"), hint: gettext("ready to be tried: priority first, then age") },
  { key: "backoff", glyph: "◔", title: gettext("Back-off"), hint: gettext("failed lately: waits 1 s, doubling to 10 s, before the next try") },
  { key: "unschedulable", glyph: "⊘", title: gettext("Unschedulable"), hint: gettext("no node fits: waits for a cluster change (a node added or changed, a pod deleted) or 5 minutes") },
  { key: "gated", glyph: "‖", title: gettext("Gated"), hint: gettext("schedulingGates: not queued until they are removed") },
];

/** The last FailedScheduling message the view recorded for each pod (decisions: last 10). */
function lastMessages(view) {
  const out = new Map();
  for (const d of view?.decisions ?? []) if (d.message) out.set(d.pod, d.message);
  return out;
}

function detail(key, entry) {
  switch (key) {
    case "active":
      return interpolate(gettext("priority %(n)s"), { n: entry.priority ?? 0 }) + (entry.attempts ? interpolate(gettext(", %(n)s attempt(s)"), { n: entry.attempts }) : "");
    case "backoff":
      return interpolate(gettext("until %(time)s"), { time: seconds(entry.until) }) + (entry.attempts ? interpolate(gettext(", after %(n)s attempt(s)"), { n: entry.attempts }) : "");
    case "unschedulable": {
      const plugins = entry.plugins?.length ? interpolate(gettext("rejected by %(plugins)s"), { plugins: entry.plugins.join(", ") }) : gettext("rejected");
      return plugins + (entry.since != null ? interpolate(gettext(" since %(time)s"), { time: seconds(entry.since) }) : "");
    }
    default:
      return "";
  }
}

/** Render the queue into `root`; `signature` lets the caller skip unchanged views. */
export function renderQueue(root, view) {
  root.replaceChildren();
  const q = view?.queue;
  const h = el("h3", "sched-h", gettext("Scheduling queue"));
  root.append(h);
  if (!q) {
    root.append(el("p", "hint", view ? gettext("The scheduler has not reported its queue yet.") : gettext("No kube-scheduler in this cluster.")));
    return;
  }
  const messages = lastMessages(view);
  const counts = q.counts ?? {};
  for (const { key, glyph, title, hint } of QUEUES) {
    const items = (q[key] ?? []).map((x) => (typeof x === "string" ? { pod: x } : x));
    const count = counts[key] ?? items.length;
    if ((key === "gated" || key === "in_flight") && !count) continue;
    const section = el("section", "sched-q");
    section.dataset.queue = key;
    section.dataset.count = String(count);
    const head = el("h4", "sched-q-head");
    head.append(el("span", "q-glyph", glyph), ` ${title} `, el("span", "q-count", String(count)));
    head.title = hint;
    section.append(head);
    if (!items.length) {
      section.append(el("p", "q-empty", gettext("empty")));
    } else {
      const list = el("ul", "sched-q-list");
      for (const entry of items) {
        const li = el("li");
        li.append(podButton(entry.pod));
        const text = detail(key, entry);
        if (text) li.append(el("span", "q-why", text));
        const message = key === "unschedulable" || key === "backoff" ? messages.get(entry.pod) : null;
        if (message) li.append(el("span", "q-msg", message));
        list.append(li);
      }
      section.append(list);
      if (count > items.length) section.append(el("p", "q-more", interpolate(gettext("and %(n)s more"), { n: count - items.length })));
    }
    root.append(section);
  }
}

/** "queue: 2 active · 1 back-off · ⊘ 3 unschedulable" for the scheduler's box. */
export function queueCountsText(view) {
  const c = view?.queue?.counts;
  if (!c) return gettext("queue: …");
  const parts = [interpolate(gettext("%(n)s active"), { n: c.active ?? 0 }), interpolate(gettext("%(n)s back-off"), { n: c.backoff ?? 0 }), `${c.unschedulable ? "⊘ " : ""}` + interpolate(gettext("%(n)s unschedulable"), { n: c.unschedulable ?? 0 })];
  if (c.gated) parts.push(interpolate(gettext("%(n)s gated"), { n: c.gated }));
  return interpolate(gettext("queue: %(parts)s"), { parts: parts.join(" · ") });
}
