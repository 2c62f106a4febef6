// The traffic part of the model (no DOM): requests to Services, per-pod counters, each node's
// kube-proxy rules version, and the propagation of an endpoint change (issue 8).
//
//   traffic.start / .tick / .stop / .done -> model.traffic.generators (state, counters, expected share)
//   traffic.request / .response     -> model.traffic.requests (sampled ones: the deciding node,
//                                      its rules version, the chains and rules that fired, the pod)
//   net.send with data.request      -> when a request's packet reaches the pod's node (`arrives`)
//   proxy.program / proxy.sync      -> model.traffic.proxies (node -> version, writing, programmed at)
//   api.request delete pods, controller.reconcile (endpointslice), api.cache_update and
//   watch.event of endpointslices   -> model.traffic.episodes: one per Service, the latest change
//                                      as it travels controller -> API server -> each kube-proxy
//
// A request is "stale" when it went to a pod on its way out (being deleted, or removed from the
// EndpointSlice) through rules that still listed it: decided by a node whose kube-proxy had not
// yet written the removal. It is marked as soon as the page can know: at once when the pod's
// deletion was seen, or when the first node's rules drop the pod (the others are then behind).
//
// Counters: the views refresh (GET /state, model.extra.traffic) is exact at its seq; answered
// requests after that seq are added from traffic.response events (each counts `sampled`), so
// the page matches GET /traffic whenever it has caught up.

import { gettext, interpolate } from "../i18n.js";
import { registerApplier } from "../model.js";

const MAX_REQUESTS = 400;
const MAX_RESPONSES = 4000;
const MAX_STEPS = 40;
export const TRAFFIC_MESSAGE_KINDS = new Set(["http.request", "http.response", "traffic.packet", "traffic.reply"]);

/** Requests and answers are drawn by the traffic overlay (client -> rules -> pod), not as plain dots. */
export function hidesTrafficMessage(m) {
  return TRAFFIC_MESSAGE_KINDS.has(m.kind);
}

/** "default/web:http" -> "default/web" (the panel works per Service). */
export function serviceOf(key) {
  const s = String(key ?? "");
  const colon = s.indexOf(":");
  return colon === -1 ? s : s.slice(0, colon);
}

export function trafficState(model) {
  if (!model.traffic) {
    model.traffic = {
      requests: new Map(), // id -> request
      responses: [], // {seq, service, pod, n, error}: answered after the last views refresh
      generators: new Map(), // name -> generator
      proxies: new Map(), // node -> {node, version, writing, programmedAt, rules, mode}
      episodes: new Map(), // service -> the latest endpoint change
      podServices: new Map(), // "ns/pod" -> Set(service): pods seen behind a Service
    };
  }
  if (model.versions.traffic == null) model.versions.traffic = 0;
  return model.traffic;
}

function bump(model) {
  model.versions.traffic += 1;
}

function podKey(service, pod) {
  return `${service.split("/", 1)[0]}/${pod}`;
}

function request(tr, id, e) {
  let r = tr.requests.get(id);
  if (!r) {
    r = { id, seq: e.seq, t: e.time, arrives: null, done: null, stale: null };
    tr.requests.set(id, r);
    if (tr.requests.size > MAX_REQUESTS) tr.requests.delete(tr.requests.keys().next().value);
  }
  return r;
}

// --- the latest endpoint change of a Service ------------------------------------------------------

function episode(tr, service, e, cause) {
  let ep = tr.episodes.get(service);
  if (!ep || ep.done) {
    ep = { service, start: e.time, seq: e.seq, cause, steps: [], nodes: new Map(), leaving: new Set(), stale: 0, staleBy: {}, done: false, doneAt: null };
    tr.episodes.set(service, ep);
  }
  return ep;
}

function step(ep, e, what, text, extra = {}) {
  if (ep.steps.length >= MAX_STEPS) return;
  ep.steps.push({ what, time: e.time, seq: e.seq, text, ...extra });
}

function nodeOf(component) {
  const s = String(component ?? "");
  return s.endsWith("/kube-proxy") ? s.slice(0, -"/kube-proxy".length) : null;
}

/** The Service an EndpointSlice belongs to: its name is the Service's name and 5 random characters. */
function sliceService(tr, namespace, slice) {
  for (const service of tr.episodes.keys()) {
    const [ns, name] = service.split("/");
    if (ns === namespace && slice.startsWith(`${name}-`) && slice.length === name.length + 6) return service;
  }
  return null;
}

function markStale(tr, ep, r, why) {
  if (r.stale) return;
  r.stale = why;
  ep.stale += r.sampled || 1;
  ep.staleBy[r.node] = (ep.staleBy[r.node] ?? 0) + (r.sampled || 1);
}

// --- appliers ----------------------------------------------------------------------------------------

const ON = {
  "traffic.start"(model, e) {
    const d = e.data ?? {};
    const tr = trafficState(model);
    tr.generators.set(d.generator, {
      name: d.generator, service: d.service, source: d.source, sourceNode: d.source_node, rate: d.rate, seconds: d.seconds, requests: d.requests,
      started: e.time, state: "running", sent: 0, done: 0, errors: 0, pods: {}, expected: {}, sampleEvery: d.sample_every ?? 1, nodePort: d.node_port,
    });
  },
  "traffic.tick"(model, e) {
    const d = e.data ?? {};
    const g = trafficState(model).generators.get(d.generator);
    if (!g) return;
    Object.assign(g, { sent: d.sent, done: d.done, errors: d.errors, expected: d.expected ?? g.expected, second: d.second, tickSeq: e.seq });
  },
  "traffic.stop"(model, e) {
    const d = e.data ?? {};
    const g = trafficState(model).generators.get(d.generator);
    if (g) Object.assign(g, { state: "draining", requests: d.sent, sent: d.sent, stoppedAt: e.time });
  },
  "traffic.done"(model, e) {
    const d = e.data ?? {};
    const g = trafficState(model).generators.get(d.generator);
    if (g) Object.assign(g, { state: "done", done: d.requests, errors: d.errors, sent: d.requests });
  },
  "traffic.request"(model, e) {
    const d = e.data ?? {};
    const tr = trafficState(model);
    const r = request(tr, d.id, e);
    Object.assign(r, {
      t: e.time, seq: e.seq, generator: d.generator, service: d.service, from: d.from, src: d.src, node: d.node, mode: d.mode, version: d.version,
      verdict: d.verdict, to: d.to, pod: d.pod, podNode: d.pod_node, chains: d.chains ?? [], trace: d.trace ?? [], why: d.why, sampled: d.sampled ?? 1, masq: d.masq,
    });
    if (d.pod) {
      const key = podKey(d.service, d.pod);
      if (!tr.podServices.has(key)) tr.podServices.set(key, new Set());
      tr.podServices.get(key).add(d.service);
    }
    const ep = tr.episodes.get(d.service);
    if (ep && !ep.done && d.pod && ep.leaving.has(d.pod) && !(ep.nodes.get(d.node)?.removed ?? []).includes(d.pod)) {
      markStale(tr, ep, r, interpolate(gettext("%(node)s's rules v%(version)s still listed %(pod)s"), { node: d.node, version: d.version, pod: d.pod }));
    }
  },
  "traffic.response"(model, e) {
    const d = e.data ?? {};
    const tr = trafficState(model);
    const r = tr.requests.get(d.id);
    if (r) Object.assign(r, { done: e.time, code: d.code, error: d.error, latency: d.latency_ms, pod: r.pod ?? d.pod, podNode: r.podNode ?? d.pod_node, via: d.via });
    const g = tr.generators.get(d.generator);
    const n = g?.sampleEvery ?? r?.sampled ?? 1;
    tr.responses.push({ seq: e.seq, service: d.service, pod: d.pod, n, error: Boolean(d.error) });
    if (tr.responses.length > MAX_RESPONSES) tr.responses.splice(0, tr.responses.length - MAX_RESPONSES);
  },
  "net.send"(model, e) {
    const d = e.data ?? {};
    if (!TRAFFIC_MESSAGE_KINDS.has(d.kind) || typeof d.request !== "string") return;
    const tr = trafficState(model);
    const r = tr.requests.get(d.request) ?? (d.kind === "traffic.packet" ? request(tr, d.request, e) : null);
    if (!r) return;
    if (d.kind === "traffic.packet") Object.assign(r, { external: true, sentAt: e.time, packetArrives: d.arrives, entry: nodeOf(e.target) });
    else if (d.kind === "http.request") r.arrives = d.arrives;
  },
  "proxy.program"(model, e) {
    const d = e.data ?? {};
    const tr = trafficState(model);
    const p = tr.proxies.get(d.node) ?? { node: d.node };
    Object.assign(p, { writing: d.version, writingSince: e.time, mode: d.mode, duration: d.duration_ms });
    tr.proxies.set(d.node, p);
    for (const ep of tr.episodes.values()) {
      const n = ep.nodes.get(d.node);
      if (!ep.done && n && n.watch != null && n.program == null) Object.assign(n, { program: e.time, writing: d.version });
    }
  },
  "proxy.sync"(model, e) {
    const d = e.data ?? {};
    const tr = trafficState(model);
    const p = tr.proxies.get(d.node) ?? { node: d.node };
    Object.assign(p, { version: d.version, writing: null, programmedAt: e.time, rules: d.rules, mode: d.mode });
    tr.proxies.set(d.node, p);
    for (const change of d.changes ?? []) {
      const service = serviceOf(change.service);
      const removed = (change.removed ?? []).map((x) => x.pod).filter(Boolean);
      const ep = tr.episodes.get(service) ?? (removed.length ? episode(tr, service, e, interpolate(gettext("%(node)s's kube-proxy removed %(pods)s"), { node: d.node, pods: removed.join(", ") })) : null);
      if (!ep || ep.done) continue;
      const n = ep.nodes.get(d.node) ?? { node: d.node };
      Object.assign(n, { sync: e.time, version: d.version, removed: [...(n.removed ?? []), ...removed], added: (change.added ?? []).map((x) => x.pod).filter(Boolean), endpoints: change.endpoints ?? [] });
      ep.nodes.set(d.node, n);
      for (const pod of removed) {
        ep.leaving.add(pod);
        // retroactively: requests this node decided with older rules since the change began
        for (const r of tr.requests.values()) {
          if (r.service === service && r.node === d.node && r.pod === pod && r.t >= ep.start && r.version < d.version) markStale(tr, ep, r, interpolate(gettext("%(node)s's rules v%(version)s still listed %(pod)s"), { node: d.node, version: r.version, pod }));
        }
      }
    }
  },
  "api.request"(model, e) {
    const d = e.data ?? {};
    if (d.verb !== "delete" || d.resource !== "pods" || !d.name) return;
    const tr = trafficState(model);
    const services = new Set(tr.podServices.get(`${d.namespace}/${d.name}`) ?? []);
    for (const node of model.extra?.proxy?.nodes ?? []) {
      for (const [key, s] of Object.entries(node.services ?? {})) if ((s.pods ?? []).includes(d.name) && key.startsWith(`${d.namespace}/`)) services.add(serviceOf(key));
    }
    for (const service of services) {
      const ep = episode(tr, service, e, interpolate(gettext("%(client)s deletes pod %(pod)s"), { client: e.target ?? gettext("a client"), pod: d.name }));
      ep.leaving.add(d.name);
      step(ep, e, "delete", interpolate(gettext("%(client)s deletes pod %(pod)s: the API server marks it terminating"), { client: e.target ?? gettext("a client"), pod: d.name }));
    }
  },
  "controller.reconcile"(model, e) {
    const d = e.data ?? {};
    if (d.controller !== "endpointslice" || !d.key || d.action === "none") return;
    const tr = trafficState(model);
    const ep = episode(tr, d.key, e, gettext("the EndpointSlice controller updates the Service's endpoints"));
    step(ep, e, "controller", interpolate(gettext("EndpointSlice controller: %(summary)s"), { summary: e.summary }));
  },
  "api.cache_update"(model, e) {
    const d = e.data ?? {};
    if (d.resource !== "endpointslices" || typeof d.key !== "string") return;
    const [, , , ns, slice] = d.key.split("/");
    const tr = trafficState(model);
    const service = ns && slice ? sliceService(tr, ns, slice) : null;
    const ep = service && tr.episodes.get(service);
    if (!ep || ep.done || !ep.steps.some((s) => s.what === "controller")) return;
    step(ep, e, "api", interpolate(gettext("API server stores EndpointSlice %(slice)s (revision %(rv)s) and tells its watchers"), { slice, rv: d.rv }), { rv: d.rv });
    ep.rv = d.rv;
  },
  "watch.event"(model, e) {
    const d = e.data ?? {};
    const node = nodeOf(e.target);
    if (d.resource !== "endpointslices" || !node || !d.name) return;
    const tr = trafficState(model);
    for (const ep of tr.episodes.values()) {
      if (ep.done || ep.rv == null || Number(d.rv) < Number(ep.rv)) continue;
      const [, name] = ep.service.split("/");
      if (!(d.name.startsWith(`${name}-`) && d.name.length === name.length + 6)) continue;
      const n = ep.nodes.get(node) ?? { node };
      if (n.watch == null) n.watch = e.time;
      ep.nodes.set(node, n);
    }
  },
};

export function registerTrafficAppliers() {
  for (const [kind, fn] of Object.entries(ON)) {
    registerApplier(kind, (model, e) => {
      trafficState(model);
      fn(model, e);
      bump(model);
    });
  }
}

/** After a snapshot (model.extra.traffic is exact at model.seq): count answers from here on. */
export function trafficAfterSnapshot(model) {
  trafficState(model).baseSeq = model.seq;
  bump(model);
}

const byName = new Intl.Collator("en", { numeric: true });
const sortedNames = new WeakMap(); // the snapshot's nodes array -> its names, sorted

/** The nodes whose kube-proxy should take a change (alive ones, from the last snapshot). Sorted
 * once per snapshot: the traffic panel asks several times a frame, and sorting 1,000 names with
 * localeCompare each time was a tenth of the 1,000-node page's main thread. Do not modify the answer. */
export function proxyNodes(model) {
  const nodes = model.extra?.proxy?.nodes ?? [];
  let names = sortedNames.get(nodes);
  if (!names) {
    names = nodes.map((n) => n.node).sort(byName.compare);
    sortedNames.set(nodes, names);
  }
  return names;
}

// A node that got the watch event but wrote nothing within this long had no rule to change.
export const NO_CHANGE_AFTER = 3;

/** Whether a node's kube-proxy is through with an episode (virtual time t). */
export function nodeSettled(n, t) {
  return n != null && (n.sync != null || (n.watch != null && n.program == null && t - n.watch > NO_CHANGE_AFTER));
}

/** Close an episode once every live node's kube-proxy has written it. */
export function settleEpisodes(model, t) {
  const tr = trafficState(model);
  const alive = new Set((model.extra?.proxy?.nodes ?? []).filter((n) => n.alive !== false).map((n) => n.node));
  for (const ep of tr.episodes.values()) {
    if (ep.done || !alive.size) continue;
    const synced = [...alive].every((node) => nodeSettled(ep.nodes.get(node), t));
    if (synced) {
      ep.done = true;
      ep.doneAt = Math.max(...[...ep.nodes.values()].map((n) => n.sync ?? n.watch ?? 0));
      bump(model);
    }
  }
}

/**
 * Counters per Service: {service: {requests, errors, pods: {pod: n}}}. Exact at the last views
 * refresh (GET /state), plus the answers seen since.
 */
export function trafficCounters(model) {
  const tr = trafficState(model);
  const base = model.extra?.traffic?.services ?? [];
  const at = Math.max(model.viewsAppliedSeq ?? -1, tr.baseSeq ?? -1);
  const out = {};
  for (const s of base) out[`${s.namespace}/${s.name}`] = { requests: s.requests ?? 0, errors: s.errors ?? 0, pods: { ...(s.pods ?? {}) } };
  for (const r of tr.responses) {
    if (r.seq <= at) continue;
    const c = (out[r.service] ??= { requests: 0, errors: 0, pods: {} });
    c.requests += r.n;
    if (r.error) c.errors += r.n;
    if (r.pod) c.pods[r.pod] = (c.pods[r.pod] ?? 0) + r.n;
  }
  return out;
}
