// The REST API (shared/DESIGN.md section 4), as small async functions.
// Every failure becomes an ApiError carrying the server's {"error", "field"} and the status,
// so forms can put the message next to the right field.

import { gettext } from "./i18n.js";

export class ApiError extends Error {
  constructor(status, body, fallback) {
    super((body && typeof body.error === "string" && body.error) || fallback || `request failed (${status})`);
    this.name = "ApiError";
    this.status = status; // 0 when the server could not be reached
    this.field = body && typeof body.field === "string" ? body.field : null;
    this.body = body;
  }
}

// The key this page acts with (keys.js): sent as X-Clusterscope-Key on every call. A page that
// watches a shared cluster read-only refuses its own writes at once, with the reason, rather
// than asking the server to refuse them.
let pageKey = null;
let readOnly = null; // {cluster, reason} or null

/** Act with this key from now on (null: none). */
export function useKey(key) {
  pageKey = key || null;
}

/** Refuse writes to this cluster with this reason (null: allow them again). */
export function setReadOnly(cluster, reason) {
  readOnly = reason ? { cluster, reason } : null;
}

/** Why this page may not change `cluster` (null: it may): panels offer no action they would refuse. */
export function readOnlyReason(cluster) {
  return readOnly && readOnly.cluster === cluster ? readOnly.reason : null;
}

/** Headers for a fetch made outside this module (the timeline). */
export function keyHeaders() {
  return pageKey ? { "X-Clusterscope-Key": pageKey } : {};
}

function refused(method, path) {
  if (!readOnly || method === "GET") return null;
  const own = `/api/clusters/${encodeURIComponent(readOnly.cluster)}`;
  return path === own || path.startsWith(`${own}/`) || path.includes("/runs/") ? new ApiError(403, { error: readOnly.reason, field: "X-Clusterscope-Key" }) : null;
}

async function request(method, path, body, key = pageKey) {
  const no = refused(method, path);
  if (no) throw no;
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" };
  if (key) init.headers["X-Clusterscope-Key"] = key;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, null, gettext("the server cannot be reached"));
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

const cluster = (name) => `/api/clusters/${encodeURIComponent(name)}`;

export const api = {
  listClusters: () => request("GET", "/api/clusters"),
  createCluster: (spec) => request("POST", "/api/clusters", spec),
  getCluster: (name) => request("GET", cluster(name)),
  deleteCluster: (name) => request("DELETE", cluster(name)),
  /** patch: {paused?: bool, speed?: number} */
  setClock: (name, patch) => request("PATCH", `${cluster(name)}/clock`, patch),
  step: (name) => request("POST", `${cluster(name)}/step`, {}),
  advance: (name, seconds) => request("POST", `${cluster(name)}/advance`, { seconds }),
  /** detail: a large cluster's nodes to get in full (cluster/compact.py) */
  state: (name, detail = []) => request("GET", `${cluster(name)}/state${detail.length ? `?detail=${encodeURIComponent(detail.join(","))}` : ""}`),
  events: (name, after, limit) => request("GET", `${cluster(name)}/events?after=${Math.max(0, after | 0)}&limit=${limit | 0}`),
  /** body: {action: crash|restart|isolate|partition|heal|loss|latency, target?, peer?, groups?, percent?, ms?} */
  fault: (name, body) => request("POST", `${cluster(name)}/faults`, body),
  /** body: {op: get|put|delete|cas, key, value?, expected?, member?, consistency?, timeout?}; a 503/504 is an ApiError whose body has {error, outcome} */
  etcd: (name, body) => request("POST", `${cluster(name)}/etcd`, body),
  /** every scheduling attempt of a pod, oldest first: {pod, uid, attempts: [decision record, ...]} */
  schedulerPod: (name, namespace, pod) => request("GET", `${cluster(name)}/scheduler/pods/${encodeURIComponent(namespace)}/${encodeURIComponent(pod)}`),
  /** body: {namespace?, service, rate, seconds, source: pod | "ns/pod" | "external", port?, path?} -> 202 {generator, requests, src_ip, ...} */
  startTraffic: (name, body) => request("POST", `${cluster(name)}/traffic`, body),
  traffic: (name) => request("GET", `${cluster(name)}/traffic`),
  /** nothing more is sent; what is in flight finishes -> {generator, stopped, state, sent} */
  stopTraffic: (name, generator) => request("DELETE", `${cluster(name)}/traffic/${encodeURIComponent(generator)}`),
  /** a node's rules as text (`iptables-save` or `ipvsadm -Ln`) */
  proxyRules: (name, node) => text(`${cluster(name)}/proxy/${encodeURIComponent(node)}/rules`),
  // lessons (scenarios; dashboard/views/scenarios.py)
  scenarios: (lang) => request("GET", `/api/scenarios?lang=${encodeURIComponent(lang)}`),
  /** the whole scenario, every text in both languages */
  scenario: (id) => request("GET", lesson(id)),
  /** body: {mode: "live" | "fast", lang, profile?, speed?, name?} -> 201 the run's report */
  startLessonRun: (id, body) => request("POST", `${lesson(id)}/runs`, body),
  lessonRun: (id, run, lang) => request("GET", `${lesson(id)}/runs/${encodeURIComponent(run)}?lang=${encodeURIComponent(lang)}`),
  /** body: {choice?: n}: start a live run's next step -> the report */
  nextLessonStep: (id, run, body) => request("POST", `${lesson(id)}/runs/${encodeURIComponent(run)}/next`, body),
  // classrooms (dashboard/views/classrooms.py; the contract in README "Classrooms")
  /** body: {cluster?, scenario?, lang?} -> 201 {code, cluster, presenter_key, join_url, presenter_url, qr_url} */
  createClassroom: (body) => request("POST", "/api/classrooms", body),
  classroom: (code) => request("GET", room(code)),
  /** presenter: {locked?, forks_allowed?, controller?: viewer id | null} */
  patchClassroom: (code, patch) => request("PATCH", room(code), patch),
  endClassroom: (code) => request("DELETE", room(code)),
  /** {name?} -> 201 {viewer, key, name} (sent without a key: joining gives one) */
  joinClassroom: (code, body) => request("POST", `${room(code)}/viewers`, body, null),
  viewers: (code) => request("GET", `${room(code)}/viewers`),
  /** a viewer's key -> 201 {cluster}: their sandbox */
  forkClassroom: (code, key) => request("POST", `${room(code)}/forks`, {}, key),
  /** presenter or controller; body {choice?} -> the lesson run's report */
  classroomStep: (code, body) => request("POST", `${room(code)}/step`, body),
};

const room = (code) => `/api/classrooms/${encodeURIComponent(code)}`;

const lesson = (id) => `/api/scenarios/${encodeURIComponent(id)}`;

async function text(path) {
  let response;
  try {
    response = await fetch(path, { headers: { Accept: "text/plain, application/json" }, credentials: "same-origin", cache: "no-store" });
  } catch {
    throw new ApiError(0, null, gettext("the server cannot be reached"));
  }
  if (response.ok) return response.text();
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  throw new ApiError(response.status, data);
}
