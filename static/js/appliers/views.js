// Fresh views of the components that events do not describe in full (controller manager,
// scheduler, kubelets, container runtimes, kube-proxies) and of the snapshot's other parts
// (`nodes`, `proxy`, `traffic`, …), from GET /api/clusters/<name>/state.
//
// Panels read these views (model.components, model.extra) and redraw when
// model.versions.views changes. The etcd members are left to appliers/etcd.js, whose refresh
// replays the events after the state's seq; the views here are replaced as they come: a
// refresh fetched at seq N is at most the events after N behind, and the next one catches up.

import { pruneNodeEvents } from "./nodes.js";

const ETCD_KINDS = new Set(["etcd", "etcd-member"]);

/** Whether the events since the last refresh call for another one (the cluster moved). */
export function viewsWanted(model) {
  return model.seq !== (model.viewsSeq ?? -1);
}

export function markViewsFetched(model) {
  model.viewsSeq = model.seq;
}

/** Fetch fresh views soon even if the cluster did not move (the heat map zoomed: other nodes in full). */
export function askForViews(model) {
  model.viewsSeq = -1;
}

/** Take a state from GET /state: "applied", "stale" (an older state than the model's) or "wait". */
export function applyViewsRefresh(model, state) {
  const seq = Number(state?.seq);
  if (!Number.isFinite(seq) || !Array.isArray(state?.components)) return "stale";
  // the stream has not brought us there yet: wait for it, except for a large cluster's compact
  // views (cluster/compact.py), whose events may run far ahead of what a page can apply
  if (seq > model.seq && !state.scale?.compact) return "wait";
  if (seq < (model.viewsAppliedSeq ?? -1)) return "stale";
  model.viewsAppliedSeq = seq;
  for (const view of state.components) {
    const name = String(view?.name ?? view?.id ?? "");
    if (!name || ETCD_KINDS.has(view.kind)) continue;
    model.components.set(name, { ...view, name });
  }
  for (const [key, value] of Object.entries(state)) {
    if (["components", "etcd", "network", "clock", "seq", "time", "name", "profile"].includes(key)) continue;
    model.extra[key] = value;
  }
  model.versions.components += 1;
  model.versions.views = (model.versions.views ?? 0) + 1;
  pruneNodeEvents(model); // the kubelets' events up to this seq are in the views now
  return "applied";
}
