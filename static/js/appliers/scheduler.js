// The scheduler part of the model (no DOM), from kube-scheduler's events
// (cluster/scheduler/README.md, "Events"):
//
//   scheduler.attempt      -> model.scheduler.latest: the newest attempt (pod, attempt number,
//                             result, node, counts, victims and a compact table of its best rows)
//   scheduler.bind         -> model.scheduler.bindings: pod -> {node, state: "sent", sent}
//   scheduler.bound        -> state "bound" (at); scheduler.bind_failed -> state "failed" (code)
//   scheduler.preempt      -> model.scheduler.preemptions (newest last)
//
// The queue and the full decision records come from the scheduler's view (refreshed from
// GET /state) and from GET …/scheduler/pods/<ns>/<pod>; events make the table open at once.
// model.versions.scheduler bumps on every change.

import { gettext, interpolate } from "../i18n.js";
import { registerApplier } from "../model.js";

const MAX_BINDINGS = 200;
const MAX_PREEMPTIONS = 50;

function ensure(model) {
  if (!model.scheduler) model.scheduler = { latest: null, attempts: 0, bindings: new Map(), preemptions: [] };
  if (model.versions.scheduler == null) model.versions.scheduler = 0;
  return model.scheduler;
}

function applySchedulerEvent(model, e) {
  const s = ensure(model);
  const d = e.data ?? {};
  switch (e.kind) {
    case "scheduler.attempt":
      s.latest = {
        pod: String(d.pod ?? ""), attempt: d.attempt, time: e.time, seq: e.seq, result: d.result, node: d.node ?? null,
        examined: d.examined, total_nodes: d.total_nodes, feasible: d.feasible, nominated_node: d.nominated_node ?? null,
        victims: Array.isArray(d.victims) ? d.victims : [], table: Array.isArray(d.table) ? d.table : [], queue: d.queue ?? null,
      };
      s.attempts += 1;
      break;
    case "scheduler.bind":
      s.bindings.delete(d.pod); // re-insert: the map stays in sending order
      s.bindings.set(d.pod, { pod: d.pod, node: d.node, state: "sent", sent: e.time, at: null, code: null });
      if (s.bindings.size > MAX_BINDINGS) s.bindings.delete(s.bindings.keys().next().value);
      break;
    case "scheduler.bound":
    case "scheduler.bind_failed": {
      const b = s.bindings.get(d.pod) ?? { pod: d.pod, node: d.node, sent: null };
      s.bindings.set(d.pod, { ...b, state: e.kind === "scheduler.bound" ? "bound" : "failed", at: e.time, code: d.code ?? null });
      break;
    }
    case "scheduler.preempt":
      s.preemptions.push({ pod: d.pod, victim: d.victim, node: d.node, time: e.time });
      if (s.preemptions.length > MAX_PREEMPTIONS) s.preemptions.shift();
      break;
    default:
      return;
  }
  model.versions.scheduler += 1;
}

export function registerSchedulerAppliers() {
  registerApplier("scheduler.", applySchedulerEvent);
}

export function schedulerState(model) {
  return ensure(model);
}

/**
 * How the Binding request looks in flight: a pill "bind" from the scheduler to the API server,
 * told apart from the scheduler's other requests (status patches, Events) by leaving at the
 * virtual instant of a scheduler.bind event. null for any other message.
 */
export function describeBinding(model, m) {
  if (m.kind !== "api.request" || m.source !== "kube-scheduler" || !model.scheduler) return null;
  for (const b of model.scheduler.bindings.values()) {
    if (b.sent === m.sent) return { shape: "pill", response: false, label: gettext("bind"), text: interpolate(gettext("Binding %(pod)s → %(node)s: POST pods/binding to kube-apiserver"), { pod: b.pod, node: b.node }), short: gettext("bind →"), variant: "is-binding" };
  }
  return null;
}
