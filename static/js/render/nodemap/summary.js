// What the heat map draws, as plain data (no DOM): one summary per node from the kubelets' views
// (whole or compact: cluster/compact.py) and the node lifecycle controller's Ready condition, the
// nodes in groups, and the totals of a set of nodes.
//
//   node   {name, ready: "True"|"False"|"Unknown"|"Joining", alive, zone, cpuReq, cpuAlloc, pods, podsCap, podsReady, podsFailing}
//   group  {id, label, nodes: [node…], by: "zone" | "name"}
//   totals {nodes, ready, notReady, joining, pods, podsReady, podsFailing, cpuReq, cpuAlloc, podsCap}

import { readiness } from "../node/card.js";

export const GROUP_SIZE = 100; // nodes per block when the nodes carry no zone label
export const ZONE_LABELS = ["topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone"];
const FAILING_STEPS = new Set(["backoff", "rejected"]);
// one collator: localeCompare with options builds its collator at every call (at 5,000 nodes the
// sort every half second was the heat map's largest cost); the same order
const collator = new Intl.Collator("en", { numeric: true });
export const natural = (a, b) => collator.compare(a, b);

/** node -> the node lifecycle controller's entry (the leading controller manager's). */
function lifecycles(model) {
  const out = new Map();
  for (const view of model.components.values()) {
    if (view.kind !== "controller-manager" || view.alive === false || !Array.isArray(view.nodes)) continue;
    for (const entry of view.nodes) if (view.leading || !out.has(entry.name)) out.set(entry.name, entry);
  }
  return out;
}

function podCounts(kubelet) {
  if (Array.isArray(kubelet.pods)) {
    let ready = 0;
    let failing = 0;
    for (const p of kubelet.pods) {
      if (p.step === "ready") ready += 1;
      else if (FAILING_STEPS.has(p.step)) failing += 1;
    }
    return { pods: kubelet.pods.length, ready, failing };
  }
  const steps = kubelet.pod_steps ?? {};
  let pods = 0;
  for (const n of Object.values(steps)) pods += n;
  return { pods, ready: steps.ready ?? 0, failing: (steps.backoff ?? 0) + (steps.rejected ?? 0) };
}

/** Every node of the model, in natural name order. */
export function nodeSummaries(model) {
  const lc = lifecycles(model);
  const out = [];
  for (const view of model.components.values()) {
    if (view.kind !== "kubelet" || view.removed) continue;
    const name = String(view.node ?? view.name);
    const counts = podCounts(view);
    const labels = view.labels ?? {};
    out.push({
      name,
      ready: readiness(view, lc.get(name) ?? null).status,
      alive: view.alive !== false,
      zone: ZONE_LABELS.map((l) => labels[l]).find((z) => z) ?? null,
      cpuReq: view.requested?.cpu_m ?? 0,
      cpuAlloc: view.allocatable?.cpu_m ?? 0,
      podsCap: view.allocatable?.pods ?? view.capacity?.pods ?? 0,
      pods: counts.pods,
      podsReady: counts.ready,
      podsFailing: counts.failing,
    });
  }
  return out.sort((a, b) => natural(a.name, b.name));
}

/** Zones when the nodes carry a zone label (the others in blocks), else blocks of GROUP_SIZE by name. */
export function groupNodes(nodes) {
  const zones = new Map();
  const rest = [];
  for (const n of nodes) {
    if (n.zone) {
      if (!zones.has(n.zone)) zones.set(n.zone, []);
      zones.get(n.zone).push(n);
    } else rest.push(n);
  }
  const groups = [...zones.keys()].sort(natural).map((zone) => ({ id: `zone:${zone}`, label: zone, nodes: zones.get(zone), by: "zone" }));
  for (let i = 0; i < rest.length; i += GROUP_SIZE) {
    const block = rest.slice(i, i + GROUP_SIZE);
    const label = block.length === 1 ? block[0].name : `${block[0].name} … ${block[block.length - 1].name}`;
    groups.push({ id: `name:${block[0].name}`, label, nodes: block, by: "name" });
  }
  return groups;
}

export function totals(nodes) {
  const t = { nodes: nodes.length, ready: 0, notReady: 0, joining: 0, pods: 0, podsReady: 0, podsFailing: 0, cpuReq: 0, cpuAlloc: 0, podsCap: 0 };
  for (const n of nodes) {
    if (n.ready === "True") t.ready += 1;
    else if (n.ready === "Joining") t.joining += 1;
    else t.notReady += 1;
    t.pods += n.pods;
    t.podsReady += n.podsReady;
    t.podsFailing += n.podsFailing;
    t.cpuReq += n.cpuReq;
    t.cpuAlloc += n.cpuAlloc;
    t.podsCap += n.podsCap;
  }
  return t;
}

/** The value (0..1) a metric colours a set of nodes with. */
export function metricValue(metric, t) {
  if (metric === "cpu") return t.cpuAlloc ? Math.min(1, t.cpuReq / t.cpuAlloc) : 0;
  if (metric === "pods") return t.podsCap ? Math.min(1, t.pods / t.podsCap) : 0;
  return t.nodes ? t.ready / t.nodes : 0; // "ready"
}
