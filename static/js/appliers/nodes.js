// The nodes part of the model (no DOM): what the kubelets and container runtimes say in their
// events, exact and at once, between two refreshes of their views (GET /state, about once a
// second, appliers/views.js). The node cards draw the views and let a newer event win:
//
//   model.nodes.steps       "ns/pod" -> {node, step, detail, seq, time}   kubelet.pod / kubelet.step
//   model.nodes.removed     "ns/pod" -> seq                                kubelet.pod_removed
//   model.nodes.heartbeats  node -> {lease, status}                        kubelet.heartbeat / node_status
//   model.nodes.pulls       node -> Map image -> {state, started, seq}     runtime.pull_start / pulled / pull_failed
//
// An entry counts only if its seq is after the views' (nodeViewsSeq): older ones are already in
// the views.

import { registerApplier } from "../model.js";
import { askForViews } from "./views.js";

export function createNodesState() {
  return { steps: new Map(), removed: new Map(), heartbeats: new Map(), pulls: new Map() };
}

const nodeOf = (e) => String(e.data?.node ?? String(e.source ?? "").split("/")[0]);

function state(model) {
  if (!model.nodes) model.nodes = createNodesState();
  if (model.versions.nodes == null) model.versions.nodes = 0;
  return model.nodes;
}

function heartbeat(model, node) {
  const s = state(model);
  if (!s.heartbeats.has(node)) s.heartbeats.set(node, { lease: null, status: null });
  return s.heartbeats.get(node);
}

function applyKubelet(model, e) {
  const s = state(model);
  const d = e.data ?? {};
  const node = nodeOf(e);
  switch (e.kind) {
    case "kubelet.pod":
    case "kubelet.step":
      if (!d.pod) return;
      s.steps.set(String(d.pod), { node, step: String(d.step ?? "bound"), detail: d.detail ?? null, seq: e.seq, time: e.time });
      s.removed.delete(String(d.pod));
      break;
    case "kubelet.pod_removed":
      if (!d.pod) return;
      s.removed.set(String(d.pod), e.seq);
      s.steps.delete(String(d.pod));
      break;
    case "kubelet.heartbeat":
      heartbeat(model, node).lease = e.time;
      break;
    case "kubelet.node_status":
      heartbeat(model, node).status = e.time;
      break;
    default:
      return;
  }
  model.versions.nodes += 1;
}

function applyRuntime(model, e) {
  const s = state(model);
  const image = e.data?.image;
  if (!image) return;
  const node = nodeOf(e);
  if (!s.pulls.has(node)) s.pulls.set(node, new Map());
  const pulls = s.pulls.get(node);
  if (e.kind === "runtime.pull_start") pulls.set(String(image), { image: String(image), state: "resolving", started: e.time, seq: e.seq });
  else if (e.kind === "runtime.pulled" || e.kind === "runtime.pull_failed") pulls.set(String(image), { image: String(image), state: e.kind === "runtime.pulled" ? "done" : "failed", seq: e.seq, time: e.time });
  else return;
  model.versions.nodes += 1;
}

export function registerNodeAppliers() {
  registerApplier("kubelet.", applyKubelet);
  registerApplier("runtime.", applyRuntime);
}

/** After a snapshot: its views hold everything up to its seq. */
export function nodesAfterSnapshot(model) {
  if (model.extra?.scale?.stream === "partial") askForViews(model); // the node views come by GET /state
  model.nodes = createNodesState();
  model.nodeSnapshotSeq = model.seq;
  model.versions.nodes = (model.versions.nodes ?? 0) + 1;
}

/** The seq the component views were taken at: events after it are newer than the views. */
export function nodeViewsSeq(model) {
  return Math.max(model.viewsAppliedSeq ?? -1, model.nodeSnapshotSeq ?? -1);
}

/** Forget steps and removals the views already hold (after each refresh: no growth over a long run). */
export function pruneNodeEvents(model) {
  const s = model.nodes;
  if (!s) return;
  const since = nodeViewsSeq(model);
  for (const [key, ev] of s.steps) if (ev.seq <= since) s.steps.delete(key);
  for (const [key, seq] of s.removed) if (seq <= since) s.removed.delete(key);
}
