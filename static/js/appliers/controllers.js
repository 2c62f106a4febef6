// The controller-manager part of the model (no DOM): what its events say, exactly and at once,
// between the views that appliers/views.js refreshes about once a second.
//
//   model.controllers = {
//     loops:    Map loop name -> {time, seenAt, summary, action, key, source}   (controller.reconcile)
//     activity: newest last, informer re-lists and resyncs of a controller-manager
//               {kind: "relist" | "relisted" | "resync" | "backoff", time, seenAt, resource, text, source}
//     gc:       Map uid -> {time, seenAt, action, policy, summary}              (the garbage collector's reconciles)
//     cascade:  newest last, the garbage collector's sentences {time, seenAt, action, summary}
//     evicted:  Map "namespace/pod" -> {time, node}                             (controller.evict)
//     leader:   the last controller.leader event {time, seenAt, source, summary, leading, holder}
//   }
// `seenAt` is the wall time (performance.now) the page applied the event: a loop stays lit a
// little while in wall time too, so a reconcile at 100× speed is still seen.

import { componentNames, registerApplier } from "../model.js";

const KEEP_ACTIVITY = 12;
const KEEP_CASCADE = 8;
const MANAGER_PREFIX = "kube-controller-manager";

export function controllersOf(model) {
  if (!model.controllers) {
    model.controllers = { loops: new Map(), activity: [], gc: new Map(), cascade: [], evicted: new Map(), leader: null };
  }
  return model.controllers;
}

/** Whether an event comes from a controller-manager replica (kubelets and the scheduler run informers too). */
export function fromManager(model, event) {
  const view = model.components.get(event.source);
  if (view) return view.kind === "controller-manager";
  return String(event.source ?? "").startsWith(MANAGER_PREFIX);
}

function wallNow() {
  return typeof performance !== "undefined" ? performance.now() : 0;
}

function bump(model) {
  model.versions.controllers = (model.versions.controllers ?? 0) + 1;
}

function keepLast(list, item, limit) {
  list.push(item);
  if (list.length > limit) list.splice(0, list.length - limit);
}

function onReconcile(model, e) {
  if (!fromManager(model, e)) return;
  const d = e.data ?? {};
  const state = controllersOf(model);
  const entry = { time: e.time, seenAt: wallNow(), summary: String(e.summary ?? ""), action: String(d.action ?? ""), key: String(d.key ?? ""), source: e.source };
  state.loops.set(String(d.controller ?? "?"), entry);
  if (d.controller === "garbagecollector") {
    const uid = d.uid ?? String(d.key ?? "").split(":")[1];
    if (uid) state.gc.set(String(uid), { ...entry, policy: d.policy ?? null });
    if (entry.action !== "none") keepLast(state.cascade, entry, KEEP_CASCADE);
  }
  bump(model);
}

function onInformer(kind) {
  return (model, e) => {
    if (!fromManager(model, e)) return;
    const d = e.data ?? {};
    keepLast(controllersOf(model).activity, { kind, time: e.time, seenAt: wallNow(), resource: String(d.resource ?? ""), text: String(e.summary ?? ""), source: e.source }, KEEP_ACTIVITY);
    bump(model);
  };
}

function onEvict(model, e) {
  const d = e.data ?? {};
  controllersOf(model).evicted.set(String(d.key ?? ""), { time: e.time, node: String(d.node ?? "") });
  bump(model);
}

function onLeader(model, e) {
  const d = e.data ?? {};
  controllersOf(model).leader = { time: e.time, seenAt: wallNow(), source: e.source, summary: String(e.summary ?? ""), leading: Boolean(d.leading), holder: d.holder ?? null };
  bump(model);
}

export function registerControllerAppliers() {
  registerApplier("controller.reconcile", onReconcile);
  registerApplier("controller.resync", onInformer("resync"));
  registerApplier("watch.relist", onInformer("relist"));
  registerApplier("watch.relisted", onInformer("relisted"));
  registerApplier("watch.backoff", onInformer("backoff"));
  registerApplier("controller.evict", onEvict);
  registerApplier("controller.leader", onLeader);
}

/** A fresh snapshot replaces the history the events built: forget what no longer follows. */
export function controllersAfterSnapshot(model) {
  model.controllers = null;
  controllersOf(model);
  bump(model);
}

const isManager = (v) => v?.kind === "controller-manager";

/** The controller-manager replicas' views, leader first (then by name). */
export function managerViews(model) {
  const views = componentNames(model, isManager).map((name) => model.components.get(name)).filter(isManager);
  return views.sort((a, b) => Number(Boolean(b.leading && b.alive !== false)) - Number(Boolean(a.leading && a.alive !== false)) || a.name.localeCompare(b.name, "en", { numeric: true }));
}
