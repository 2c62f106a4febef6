// One pod in a node card: its phase (colour AND a glyph and a word), restarts and their reason,
// the kubelet's current step for it on a step track (bound → sandbox → pull → create → start →
// probes → ready), and, in full detail, each container with its namespaces and its cgroup
// limits beside its current usage. The element carries data-pod="<ns>/<name>" and
// data-node="<node>" so other panels (scheduler, traffic) can find it.

import { gettext, interpolate, ngettext } from "../../i18n.js";
import { cpu, el, mem } from "./format.js";

export const TRACK = ["bound", "sandbox", "pull", "create", "start", "probes", "ready"];
// the kubelet's steps in words (the step ids stay in data-step)
const STEP_WORDS = { bound: gettext("bound"), sandbox: gettext("sandbox"), pull: gettext("pull"), create: gettext("create"), start: gettext("start"), probes: gettext("probes"), ready: gettext("ready"),
  admission: gettext("admission"), terminating: gettext("terminating"), terminated: gettext("terminated"), init: gettext("init") };
const SHORT_LABELS = { sandbox: gettext("sbox"), create: gettext("creat"), probes: gettext("probe") };
const stepWord = (step) => STEP_WORDS[step] ?? step;
const LAST = gettext("last: "); // before the reason of a container's previous exit

// where each kubelet step sits on the track (admission is the first thing after binding;
// init containers run between the sandbox and the app containers' start)
const STEP_INDEX = { bound: 0, admission: 0, rejected: 0, sandbox: 1, pull: 2, create: 3, start: 4, init: 4, probes: 5, ready: 6 };
// a back-off stops the track at the step that failed
const BACKOFF_INDEX = { ImagePullBackOff: 2, ErrImagePull: 2, ErrImageNeverPull: 2, InvalidImageName: 2, CreateContainerError: 3, CrashLoopBackOff: 4, RunContainerError: 4 };

export const PHASES = {
  Pending: { glyph: "◔", word: "Pending" },
  Running: { glyph: "▶", word: "Running" },
  Succeeded: { glyph: "✓", word: "Succeeded" },
  Failed: { glyph: "✕", word: "Failed" },
  Unknown: { glyph: "?", word: "Unknown" },
};
// reasons that are trouble: drawn red with ✕/↻ and the word, whatever the phase says
const BAD_REASONS = new Set(["CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "OOMKilled", "Error", "CreateContainerError", "RunContainerError",
  "Evicted", "OutOfcpu", "OutOfmemory", "OutOfpods", "NodeAffinity", "StartError", "ErrImageNeverPull", "InvalidImageName"]);

/** Where the track stands: {index, failed, label} for a step (and its detail or reason). */
export function trackPosition(step, detail, reason) {
  if (step === "backoff") {
    const why = detail || reason;
    return { index: BACKOFF_INDEX[why] ?? 4, failed: true, label: why || gettext("back-off") };
  }
  if (step === "rejected") return { index: 0, failed: true, label: detail || reason ? interpolate(gettext("rejected: %(why)s"), { why: detail || reason }) : gettext("rejected") };
  if (step === "terminating" || step === "terminated") return { index: -1, failed: false, label: step === "terminated" && detail ? interpolate(gettext("terminated (%(why)s)"), { why: detail }) : stepWord(step) };
  const index = STEP_INDEX[step] ?? 0;
  const label = step === "admission" ? stepWord("admission") : detail && step !== "ready" ? `${stepWord(step)}: ${detail}` : stepWord(step);
  return { index, failed: false, label };
}

function stepTrack(position, busy) {
  const track = el("ol", "step-track");
  track.setAttribute("aria-label", interpolate(gettext("kubelet step: %(step)s"), { step: position.label }) + (busy ? interpolate(gettext(", %(call)s in progress"), { call: busy }) : ""));
  TRACK.forEach((name, i) => {
    const cell = el("li", "step");
    // a narrow card shows the short word (css/nodes.css container query)
    cell.append(el("span", "step-long", stepWord(name)), el("span", "step-short", SHORT_LABELS[name] ?? stepWord(name)));
    cell.dataset.step = name;
    if (position.index < 0) cell.classList.add("is-off");
    else if (i < position.index || (name === "ready" && position.index === 6)) cell.classList.add("is-done");
    if (i === position.index) {
      cell.classList.add(position.failed ? "is-failed" : "is-current");
      cell.setAttribute("aria-current", "step");
    }
    track.append(cell);
  });
  return track;
}

function phaseOf(pod, step) {
  if (pod.terminating || step === "terminating") return "Terminating";
  return pod.phase in PHASES ? pod.phase : "Unknown";
}

/** The words a pod row shows for trouble: the waiting reason, else the last run's. */
function troubleOf(pod) {
  const reasons = [];
  if (pod.reason) reasons.push(pod.reason);
  for (const c of pod.containers ?? []) {
    if (c.reason && !reasons.includes(c.reason) && BAD_REASONS.has(c.reason)) reasons.push(c.reason);
    if (c.last_reason && c.last_reason !== "Completed" && !reasons.includes(c.last_reason)) reasons.push(c.restarts > 0 ? `${LAST}${c.last_reason}` : c.last_reason);
  }
  return reasons;
}

function nsChips(namespaces) {
  const wrap = el("span", "ns-chips");
  const shared = new Set(["net", "ipc", "uts"]); // the pod's: made for the sandbox (pause), joined by every container
  for (const kind of ["net", "ipc", "uts", "pid", "mnt"]) {
    const value = namespaces?.[kind];
    if (!value) continue;
    const id = String(value).match(/\d+/)?.[0] ?? String(value);
    const chip = el("span", `ns-chip${shared.has(kind) ? " is-shared" : ""}`);
    chip.append(el("b", null, kind), document.createTextNode(` ${id.slice(-4)}`));
    chip.title = interpolate(shared.has(kind) ? gettext("%(kind)s namespace %(id)s: the pod's, shared with its sandbox (pause) and every container") : gettext("%(kind)s namespace %(id)s: this container's own"), { kind, id: value });
    wrap.append(chip);
  }
  return wrap;
}

function usageLine(label, used, limit, format, limitWords) {
  const row = el("div", "usage");
  const fraction = limit ? Math.min(1, used / limit) : 0;
  row.append(el("span", "usage-k", label));
  const track = el("span", "usage-track");
  const fill = el("span", "usage-fill");
  fill.style.width = `${(fraction * 100).toFixed(1)}%`;
  if (limit && used / limit > 0.9) row.classList.add("is-high");
  track.append(fill);
  track.setAttribute("role", "meter");
  track.setAttribute("aria-valuenow", String(Math.round(fraction * 100)));
  track.setAttribute("aria-valuemin", "0");
  track.setAttribute("aria-valuemax", "100");
  track.setAttribute("aria-label", interpolate(gettext("%(what)s %(used)s of %(limit)s"), { what: label, used: format(used), limit: limit ? format(limit) : gettext("no limit") }));
  row.append(track, el("span", "usage-v", interpolate(limit ? gettext("%(used)s of %(limit)s limit") : gettext("%(used)s, no limit"), { used: format(used), limit: limit ? format(limit) : "" })));
  row.title = limitWords;
  return row;
}

function containerRow(spec, runtime) {
  const row = el("li", "ctr");
  row.dataset.container = spec.name;
  const head = el("div", "ctr-head");
  const state = spec.state === "running" ? "running" : spec.state === "terminated" ? "exited" : "waiting";
  head.append(el("span", `ctr-state is-${state}`, state === "running" ? "▶" : state === "exited" ? "■" : "…"), el("b", "ctr-name", `${spec.init ? "init " : ""}${spec.name}`), el("span", "ctr-image", spec.image ?? ""));
  if (spec.restarts) head.append(el("span", "ctr-restarts", `↻ ${spec.restarts}`));
  if (spec.reason && spec.state !== "running") head.append(el("span", `ctr-reason${BAD_REASONS.has(spec.reason) ? " is-bad" : ""}`, spec.reason));
  const probes = Object.entries(spec.probes ?? {});
  if (probes.length) {
    const p = el("span", "ctr-probes");
    for (const [kind, result] of probes) {
      const r = result?.result;
      p.append(el("span", `probe is-${r ?? "unknown"}`, `${kind} ${r === "success" ? "✓" : r === "failure" ? "✕" : "…"}`));
    }
    head.append(p);
  }
  row.append(head);
  if (runtime) {
    const detail = el("div", "ctr-detail");
    const cg = runtime.cgroup ?? {};
    const ns = el("div", "ctr-ns");
    ns.append(el("span", "ctr-k", gettext("namespaces")), nsChips(runtime.namespaces));
    if (runtime.pid != null) ns.append(el("span", "ctr-pid", `pid ${runtime.pid}`));
    detail.append(ns);
    const limits = el("div", "ctr-cg");
    limits.title = `cgroup ${cg.path ?? ""}: cpu.max ${cg["cpu.max"] ?? "max"}, memory.max ${cg["memory.max"] ?? "max"}`;
    limits.append(
      usageLine("cpu", runtime.usage?.cpu_m ?? 0, cg.cpu_limit_m, cpu, `cpu.max ${cg["cpu.max"] ?? "max"} · cpu.weight ${cg["cpu.weight"] ?? ""}`),
      usageLine("mem", runtime.usage?.memory ?? 0, cg.memory_limit, mem, `memory.max ${cg["memory.max"] ?? "max"}`),
    );
    detail.append(limits);
    row.append(detail);
  }
  return row;
}

/** Long names keep their ends: a ReplicaSet's pods differ only in their last characters. */
export function shortName(name) {
  return name.length > 22 ? `${name.slice(0, 10)}…${name.slice(-10)}` : name;
}

/** A pod element (reused by key); update(pod, step entry, runtime containers, full) redraws it when its inputs changed. */
export function createPod(key, node) {
  const li = el("li", "pod");
  li.dataset.pod = key;
  li.dataset.node = node;
  li.tabIndex = -1;
  return li;
}

export function updatePod(li, pod, step, runtimeContainers, full) {
  const sig = JSON.stringify([pod, step, full ? runtimeContainers : null, full]);
  if (li._sig === sig) return;
  li._sig = sig;
  const phase = phaseOf(pod, step.step);
  const trouble = troubleOf(pod);
  const bad = trouble.some((r) => BAD_REASONS.has(r.replace(LAST, ""))) && phase !== "Succeeded";
  li.dataset.phase = phase;
  li.dataset.step = step.step;
  li.className = `pod phase-${phase.toLowerCase()}${bad ? " is-trouble" : ""}${pod.ready ? " is-ready" : ""}`;
  // the same head element across redraws: the traffic overlay and messages anchor to it, and a
  // new element would be measured (a forced layout) on the frame it appears (render/geometry.js)
  const head = li._head ?? el("div", "pod-head");
  li._head = head;
  head.replaceChildren();
  const info = PHASES[phase] ?? { glyph: "⏻", word: "Terminating" };
  const badge = el("span", "pod-phase");
  badge.append(el("span", "pod-glyph", info.glyph), document.createTextNode(` ${info.word}`));
  badge.setAttribute("aria-label", interpolate(gettext("phase %(phase)s"), { phase: info.word }));
  const fullName = pod.namespace === "default" ? pod.name : `${pod.namespace}/${pod.name}`;
  const name = el("span", "pod-name", shortName(fullName));
  name.title = `${pod.namespace}/${pod.name}`;
  head.append(badge, name);
  const ready = (pod.containers ?? []).filter((c) => !c.init);
  if (ready.length) head.append(el("span", "pod-ready", `${ready.filter((c) => c.ready).length}/${ready.length}`));
  const restarts = el("span", `pod-restarts${pod.restarts ? " has-restarts" : ""}`, `↻ ${pod.restarts ?? 0}`);
  const restartWords = interpolate(ngettext("%(n)s restart", "%(n)s restarts", pod.restarts ?? 0), { n: pod.restarts ?? 0 });
  restarts.title = restartWords;
  restarts.setAttribute("aria-label", restartWords);
  head.append(restarts);
  li.replaceChildren(head);
  if (trouble.length) {
    const why = el("div", "pod-reasons");
    for (const r of trouble) why.append(el("span", `pod-reason${BAD_REASONS.has(r.replace(LAST, "")) ? " is-bad" : ""}`, `${r.startsWith(LAST) ? "" : "✕ "}${r}`));
    li.append(why);
  }
  const position = trackPosition(step.step, step.detail, pod.reason);
  const track = stepTrack(position, pod.busy);
  const where = el("div", "pod-step");
  where.append(el("span", "pod-step-label", position.label));
  if (pod.busy) where.append(el("span", "pod-busy", `⋯ ${pod.busy}`));
  if (pod.ip) where.append(el("span", "pod-ip", pod.ip));
  li.append(track, where);
  if (full && (pod.containers ?? []).length) {
    const list = el("ul", "ctrs");
    for (const c of pod.containers) {
      const latest = runtimeContainers.filter((r) => r.name === c.name).sort((a, b) => (b.attempt ?? 0) - (a.attempt ?? 0))[0];
      list.append(containerRow(c, latest && latest.state !== "CONTAINER_EXITED" ? latest : null));
    }
    li.append(list);
  }
  li.setAttribute("aria-label", interpolate(gettext("pod %(pod)s: %(phase)s, %(restarts)s%(trouble)s; kubelet step %(step)s"), { pod: `${pod.namespace}/${pod.name}`, phase: info.word, restarts: restartWords, trouble: trouble.length ? `, ${trouble.join(", ")}` : "", step: position.label }));
}
