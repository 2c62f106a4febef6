// The API server part of the model (no DOM): every request the page has seen, the stages it
// passed, and the watches standing open.
//
//   net.send kind api.request   -> the client's side: method, path (the request id is "<client>#<n>")
//   api.request                 -> received: verb, group, resource, namespace, name
//   api.authn/authz/admission/validation/etcd/cache -> a stage passed (ok) or failed (ok: false)
//   api.response                -> code; `rejected_by` names the failing stage; key and rv on success
//   watch.start / watch.end     -> model.watches (watcher id -> {client, resource, namespace})
//   a snapshot                  -> the API server's view: the requests in flight (with the stages
//                                  passed so far) and the watches standing open
//
// model.requests: Map id -> {id, client, verb, group, resource, subresource, namespace, name,
//   method, path, user, stages: [{stage, time, ok, detail}], code, reason, rejectedBy, key, rv,
//   received, responded}. Kept to the newest MAX_REQUESTS; model.versions.requests bumps.

import { gettext } from "../i18n.js";
import { registerApplier } from "../model.js";

export const STAGES = ["authn", "authz", "admission", "validation", "etcd"];
export const STAGE_LABELS = { authn: gettext("authn"), authz: gettext("authz"), admission: gettext("admission"), validation: gettext("validation"), etcd: "etcd" };
const STAGE_EVENT = { "api.authn": "authn", "api.authz": "authz", "api.admission": "admission", "api.validation": "validation", "api.etcd": "etcd", "api.cache": "etcd" };
const MAX_REQUESTS = 300;
const GROUP_VERSIONS = { "": "v1", apps: "v1", batch: "v1", "coordination.k8s.io": "v1", "discovery.k8s.io": "v1", "rbac.authorization.k8s.io": "v1", "policy": "v1", "events.k8s.io": "v1" };

// Every HTTP request leaves from the cluster's "kubectl" endpoint (so its id is "kubectl#<n>");
// the server names the HTTP client by its User-Agent in the message's `agent`: the student's
// kubectl, their Python script, another HTTP client, or this page's inspector (own header).
export const OWN_CLIENT = "inspector";
const AGENT_CLIENTS = { kubectl: "kubectl", inspector: OWN_CLIENT, python: "python-client", http: "http-client" };
const CLIENT_LABELS = { kubectl: gettext("kubectl (you)"), [OWN_CLIENT]: gettext("this page (inspector)"), "python-client": gettext("Python client (you)"), "http-client": gettext("HTTP client (you)") };

function clientOf(endpoint, agent) {
  return endpoint === "kubectl" ? (AGENT_CLIENTS[agent] ?? "kubectl") : String(endpoint);
}

function ensure(model) {
  if (!model.requests) model.requests = new Map();
  if (!model.watches) model.watches = new Map();
  if (model.versions.requests == null) model.versions.requests = 0;
  if (model.versions.watches == null) model.versions.watches = 0;
}

function request(model, id, e) {
  let r = model.requests.get(id);
  if (!r) {
    const hash = id.lastIndexOf("#");
    r = { id, client: hash > 0 ? id.slice(0, hash) : (e?.target ?? ""), stages: [], code: null, sent: null, received: null, responded: null, seq: e?.seq ?? 0 };
    model.requests.set(id, r);
    if (model.requests.size > MAX_REQUESTS) {
      const oldest = model.requests.keys().next().value;
      model.requests.delete(oldest);
    }
  }
  return r;
}

/** True for the background noise: lease renewals and node status heartbeats. */
export function isNoise(r) {
  return r.resource === "leases" || (r.resource === "nodes" && r.subresource === "status") || /\/leases\//.test(r.path ?? "") || /\/nodes\/[^/]+\/status$/.test(r.path ?? "");
}

export function isKubectl(r) {
  return r.client === "kubectl";
}

/** The client as a student reads it: their own kubectl is "kubectl (you)". */
export function clientLabel(client) {
  return CLIENT_LABELS[client] ?? String(client ?? "");
}

/** The object's name: from the request, else the last part of the etcd key it wrote. */
export function objectName(r) {
  if (r.name) return r.name;
  if (r.key && !r.key.endsWith("/")) return r.key.split("/").pop();
  return null;
}

/** The REST path of the request (the client's own, when the page saw it leave). */
export function requestPath(r) {
  if (r.path) return r.path;
  if (!r.resource) return null;
  const group = r.group ?? "";
  const base = group ? `/apis/${group}/${GROUP_VERSIONS[group] ?? "v1"}` : "/api/v1";
  let path = base + (r.namespace ? `/namespaces/${r.namespace}` : "") + `/${r.resource}`;
  if (r.name) path += `/${r.name}`;
  if (r.subresource) path += `/${r.subresource}`;
  return path;
}

/** The path to GET the object the request was about (null when there is none). */
export function objectPath(r) {
  const name = objectName(r);
  if (!name) return null;
  let path = requestPath(r);
  if (!path) return null;
  path = path.split("?")[0];
  if (r.subresource && path.endsWith(`/${r.subresource}`)) path = path.slice(0, -(r.subresource.length + 1));
  if (!path.endsWith(`/${name}`)) path += `/${name}`;
  return path;
}

/** The furthest stage reached at virtual time t (or null before the first). */
export function stageAt(r, t) {
  let last = null;
  for (const s of r.stages) if (s.time <= t + 1e-9) last = s;
  return last;
}

function takeWatchers(model, view) {
  if (!view || !Array.isArray(view.watchers)) return;
  model.watches = new Map(view.watchers.map((w) => [String(w.watcher), { watcher: String(w.watcher), client: String(w.client), resource: w.resource, namespace: w.namespace ?? null }]));
  model.versions.watches += 1;
}

/** The requests in flight when the snapshot was taken, where they stand (the events that
 * brought them there came before the snapshot, so the page never saw them). */
function takeInFlight(model, view) {
  if (!Array.isArray(view?.requests)) return;
  for (const v of view.requests) {
    if (typeof v?.request !== "string") continue;
    const r = request(model, v.request, { target: v.client, seq: model.seq });
    if (r.code != null) continue; // answered since: the events say more than the snapshot
    const endpoint = String(v.client ?? r.client);
    Object.assign(r, { client: clientOf(endpoint, v.agent), verb: v.verb ?? r.verb, group: v.group ?? "", resource: v.resource ?? r.resource, subresource: v.subresource ?? null, namespace: v.namespace ?? null, name: v.name ?? null, received: v.since ?? r.received });
    if (v.user) r.user = v.user;
    for (const s of Array.isArray(v.stages) ? v.stages : []) {
      const stage = STAGE_EVENT[`api.${s.stage}`];
      if (!stage || r.stages.some((x) => x.stage === stage)) continue;
      r.stages.push({ stage, time: Number(s.time) || 0, ok: s.ok !== false, detail: "" });
    }
  }
  model.versions.requests += 1;
}

/** After a snapshot: the API server's view lists the requests in flight and the watches standing open. */
export function requestsAfterSnapshot(model) {
  ensure(model);
  for (const view of model.components.values()) {
    if (view.kind === "apiserver" || view.name === "kube-apiserver") {
      takeInFlight(model, view);
      takeWatchers(model, view);
    }
  }
}

export function registerRequestAppliers() {
  registerApplier("net.send", (model, e) => {
    const d = e.data ?? {};
    // tag the message with its API request, so a filter can hide its dots too
    const tag = d.kind === "api.request" && d.request != null ? `${d.client ?? e.source}#${d.request}` : (typeof d.request === "string" ? d.request : (typeof d.api_request === "string" ? d.api_request : null));
    const message = model.messages.get(d.msg);
    if (message && tag) message.request = tag;
    if (d.kind !== "api.request" || d.request == null) return;
    ensure(model);
    const r = request(model, `${d.client ?? e.source}#${d.request}`, e);
    r.client = clientOf(String(d.client ?? e.source), d.agent);
    r.method = d.method ?? r.method;
    r.path = d.path ?? r.path;
    r.verb = r.verb ?? d.verb;
    r.sent = e.time;
    r.msg = d.msg;
    model.versions.requests += 1;
  });
  registerApplier("api.", (model, e) => {
    const d = e.data ?? {};
    if (typeof d.request !== "string") return;
    ensure(model);
    const r = request(model, d.request, e);
    if (e.kind === "api.request") {
      Object.assign(r, { verb: d.verb, group: d.group ?? "", resource: d.resource, subresource: d.subresource ?? null, namespace: d.namespace ?? null, name: d.name ?? r.name ?? null, received: e.time });
      if (!r.client) r.client = String(e.target ?? "");
    } else if (STAGE_EVENT[e.kind]) {
      const stage = STAGE_EVENT[e.kind];
      if (e.kind === "api.authn" && d.user) r.user = d.user;
      if (d.key) r.key = d.key;
      const existing = r.stages.find((s) => s.stage === stage);
      if (existing) {
        existing.ok = d.ok !== false;
        existing.end = e.time;
      } else {
        r.stages.push({ stage, time: e.time, ok: d.ok !== false, detail: e.summary ?? "" });
      }
    } else if (e.kind === "api.response" || e.kind === "api.loopback") {
      r.code = d.code ?? null;
      r.reason = d.reason ?? null;
      r.rejectedBy = d.rejected_by ?? null;
      if (d.key) r.key = d.key;
      if (d.rv != null) r.rv = String(d.rv);
      r.responded = e.time;
      const failed = r.rejectedBy && r.stages.find((s) => s.stage === r.rejectedBy);
      if (failed) failed.ok = false;
      else if (r.rejectedBy && STAGES.includes(r.rejectedBy)) r.stages.push({ stage: r.rejectedBy, time: e.time, ok: false, detail: e.summary ?? "" });
    } else {
      return;
    }
    model.versions.requests += 1;
  });
  registerApplier("watch.start", (model, e) => {
    const d = e.data ?? {};
    if (!d.watcher) return;
    ensure(model);
    model.watches.set(String(d.watcher), { watcher: String(d.watcher), client: String(e.target ?? String(d.watcher).split("#")[0]), resource: d.resource, namespace: d.namespace ?? null });
    model.versions.watches += 1;
  });
  registerApplier("watch.end", (model, e) => {
    const d = e.data ?? {};
    ensure(model);
    if (d.watcher && model.watches.delete(String(d.watcher))) model.versions.watches += 1;
  });
}
