// One worker node's card: its name, the Ready condition as the API server has it (a word and a
// glyph), the heartbeats (Lease renewals and NodeStatus writes) pulsing toward the API server,
// the kubelet / containerd / kube-proxy boxes (messages leave from them), requested against
// allocatable for cpu and memory, its pods, and its image store.
//
// In full detail (few nodes, or a card opened with "Details") every container shows its
// namespaces and cgroup limits beside its usage and every image its layers; a compact card
// keeps the pods' phases and steps and the pulls in progress.

import { gettext, interpolate } from "../../i18n.js";
import { kindIcon } from "../../theme.js";
import { restartAnimation } from "../geometry.js";
import { ago, bar, cpu, el, mem, setBar } from "./format.js";
import { createImageStore, tickImageStore, updateImageStore } from "./images.js";
import { createPod, updatePod } from "./pod.js";

const BEAT_MS = 1200; // how long a heartbeat glows on the page (wall time)

export function createNodeCard(node, kubeletKind, onToggle) {
  const card = el("section", "node-card");
  card.dataset.node = node;
  card.setAttribute("aria-label", interpolate(gettext("node %(node)s"), { node }));

  const head = el("header", "node-head");
  const title = el("h3", "node-name", node);
  const ready = el("span", "node-ready");
  ready.setAttribute("role", "status");
  const pulse = el("span", "node-pulse");
  const heart = el("span", "node-heart", "♥");
  heart.setAttribute("aria-hidden", "true");
  const pulseText = el("span", "node-pulse-text");
  pulse.append(heart, pulseText);
  const toggle = el("button", "btn btn-small node-toggle", gettext("Details"));
  toggle.type = "button";
  toggle.setAttribute("aria-expanded", "false");
  toggle.addEventListener("click", () => onToggle(node));
  head.append(kindIcon(kubeletKind, 16), title, ready, pulse, toggle);

  const parts = el("div", "node-parts");
  const why = el("p", "node-why");
  why.hidden = true;
  const res = el("div", "node-res");
  const cpuBar = bar("res-cpu", "cpu");
  const memBar = bar("res-mem", "mem");
  res.append(cpuBar, memBar);
  const podsTitle = el("div", "node-pods-title");
  const pods = el("ol", "pods");
  pods.setAttribute("aria-label", interpolate(gettext("pods on %(node)s"), { node }));
  const images = createImageStore();
  card.append(head, parts, why, res, podsTitle, pods, images);
  Object.assign(card, {
    _parts: parts, _boxes: new Map(), _ready: ready, _heart: heart, _pulseText: pulseText, _toggle: toggle, _why: why,
    _cpu: cpuBar, _mem: memBar, _podsTitle: podsTitle, _pods: pods, _podEls: new Map(), _images: images,
    _lease: null, _status: null, _beatAt: -Infinity, _input: null,
  });
  return card;
}

/** The Ready condition to show: the API server's (node lifecycle controller's view) when known. */
export function readiness(kubelet, lifecycle) {
  if (kubelet && kubelet.registered === false && kubelet.alive !== false) return { status: "Joining", glyph: "…", word: gettext("joining"), cls: "is-joining" };
  const api = lifecycle?.ready ?? (kubelet?.ready ? "True" : "False");
  if (api === "True") return { status: "True", glyph: "✓", word: "Ready", cls: "is-ready" };
  if (api === "Unknown") return { status: "Unknown", glyph: "?", word: "NotReady (Unknown)", cls: "is-unknown" };
  return { status: "False", glyph: "✕", word: "NotReady", cls: "is-notready" };
}

/**
 * Bring the card up to date. input: {kubelet, runtime, lifecycle, pods: [{pod, step}], eventPulls,
 * full, expanded, compactable, side}. Cheap when the same input comes again (signatures).
 */
export function updateNodeCard(card, input) {
  card._input = input;
  // the same input again (another component moved): nothing to redraw. Views are replaced, not
  // changed in place, when they are refreshed, so they compare by identity.
  const refs = [input.kubelet, input.runtime, input.lifecycle, ...input.pods.map((p) => p.pod)];
  const sig = JSON.stringify([input.pods.map((p) => p.step), [...input.eventPulls], input.heartbeat, input.side, input.full, input.expanded, input.compactable]);
  if (sig === card._sig && refs.length === card._refs?.length && refs.every((r, i) => r === card._refs[i])) return;
  card._sig = sig;
  card._refs = refs;
  const { kubelet, runtime, lifecycle, full } = input;
  card.classList.toggle("is-full", full);
  card.classList.toggle("is-expanded", input.expanded);
  card._toggle.hidden = !input.compactable;
  card._toggle.textContent = input.expanded ? gettext("Less") : gettext("Details");
  card._toggle.setAttribute("aria-expanded", String(input.expanded));

  const r = readiness(kubelet, lifecycle);
  card.dataset.ready = r.status;
  card._ready.className = `node-ready ${r.cls}`;
  const readyText = `${r.glyph} ${r.word}`;
  if (card._ready.textContent !== readyText) card._ready.textContent = readyText; // a live region: say it once
  card.classList.toggle("is-notready", r.status !== "True" && r.status !== "Joining");

  // allocatable against requested, usage as a marker
  const alloc = kubelet?.allocatable ?? {};
  const req = kubelet?.requested ?? {};
  const use = kubelet?.usage ?? {};
  const cpuF = alloc.cpu_m ? (req.cpu_m ?? 0) / alloc.cpu_m : 0;
  card._cpu.title = interpolate(gettext("cpu: %(req)s requested by its pods of %(alloc)s allocatable (bar); %(use)s in use (marker)"), { req: cpu(req.cpu_m), alloc: cpu(alloc.cpu_m), use: cpu(use.cpu_m) });
  card._mem.title = interpolate(gettext("memory: %(req)s requested by its pods of %(alloc)s allocatable (bar); %(use)s in use (marker)"), { req: mem(req.memory), alloc: mem(alloc.memory), use: mem(use.memory) });
  setBar(card._cpu, cpuF, interpolate(gettext("%(req)s / %(alloc)s requested"), { req: cpu(req.cpu_m), alloc: cpu(alloc.cpu_m) }), {
    marker: alloc.cpu_m ? (use.cpu_m ?? 0) / alloc.cpu_m : null,
    aria: interpolate(gettext("cpu: %(req)s requested of %(alloc)s allocatable, %(use)s in use"), { req: cpu(req.cpu_m), alloc: cpu(alloc.cpu_m), use: cpu(use.cpu_m) }),
  });
  const memF = alloc.memory ? (req.memory ?? 0) / alloc.memory : 0;
  setBar(card._mem, memF, interpolate(gettext("%(req)s / %(alloc)s requested"), { req: mem(req.memory), alloc: mem(alloc.memory) }), {
    marker: alloc.memory ? (use.memory ?? 0) / alloc.memory : null,
    over: kubelet?.memory_pressure,
    aria: interpolate(gettext("memory: %(req)s requested of %(alloc)s allocatable, %(use)s in use"), { req: mem(req.memory), alloc: mem(alloc.memory), use: mem(use.memory) }) + (kubelet?.memory_pressure ? gettext(", memory pressure") : ""),
  });

  // pods, reused by key
  const wanted = new Set(input.pods.map((p) => `${p.pod.namespace}/${p.pod.name}`));
  for (const [key, li] of card._podEls) {
    if (!wanted.has(key)) {
      li.remove();
      card._podEls.delete(key);
    }
  }
  let previous = null;
  for (const { pod, step } of input.pods) {
    const key = `${pod.namespace}/${pod.name}`;
    let li = card._podEls.get(key);
    if (!li) {
      li = createPod(key, card.dataset.node);
      card._podEls.set(key, li);
    }
    const containers = (runtime?.containers ?? []).filter((c) => c.pod === key && (!pod.uid || c.pod_uid === pod.uid));
    updatePod(li, pod, step, containers, full);
    const expected = previous ? previous.nextSibling : card._pods.firstChild;
    if (expected !== li) card._pods.insertBefore(li, expected);
    previous = li;
  }
  // a large cluster's compact view has no pods: the whole one is on its way (cluster/compact.py)
  card._podsTitle.textContent = input.pods.length ? "" : kubelet?.compact ? gettext("pods: loading the node's detail…") : gettext("no pods");
  updateImageStore(card._images, runtime, input.eventPulls, full);

  // the last renewal seen stays known when a crashed kubelet's view forgets it
  card._lease = Math.max(card._lease ?? -Infinity, kubelet?.last_heartbeat ?? -Infinity, input.heartbeat?.lease ?? -Infinity);
  card._status = Math.max(card._status ?? -Infinity, kubelet?.last_status ?? -Infinity, input.heartbeat?.status ?? -Infinity);
  card._whySig = null; // the "why" line is redrawn at the next tick
}

/** Every frame: heartbeat ages and glow, the countdown to Unknown, pull bars. */
export function tickNodeCard(card, t, now) {
  const input = card._input;
  if (!input) return;
  const lease = Number.isFinite(card._lease) ? card._lease : null;
  if (lease != null && lease !== card._lastBeat) {
    if (card._lastBeat !== undefined && lease > (card._lastBeat ?? -Infinity)) {
      card._beatAt = now;
      restartAnimation(card._heart, "beat"); // at the next frame: restarting it now would force a layout
    }
    card._lastBeat = lease;
  }
  if (now - card._beatAt > BEAT_MS && card._heart.classList.contains("beat")) card._heart.classList.remove("beat");
  const alive = input.kubelet?.alive !== false;
  const text = lease == null ? gettext("no heartbeat yet") : interpolate(gettext("lease %(ago)s"), { ago: ago(t - lease) });
  if (card._pulseText.textContent !== text) {
    card._pulseText.textContent = text;
    const status = Number.isFinite(card._status) ? interpolate(gettext("; node status written %(ago)s"), { ago: ago(t - card._status) }) : "";
    card._pulseText.parentElement.title = interpolate(gettext("Heartbeats to the API server: Lease renewed %(ago)s%(status)s. The kubelet renews its Lease (kube-node-lease) every 10 s and writes NodeStatus when it changes or once a minute"), { ago: lease == null ? gettext("never") : ago(t - lease), status });
  }
  card._heart.classList.toggle("is-silent", !alive);

  // why the node is (or will be) not ready, counted down with the page's clock
  const parts = [];
  const lc = input.lifecycle;
  if (!alive) parts.push(lease != null ? interpolate(gettext("kubelet down: no heartbeat since %(time)s s"), { time: lease.toFixed(1) }) : gettext("kubelet down: no heartbeat"));
  else if (input.side != null) parts.push(gettext("cut off from the control plane: its status goes stale"));
  else if (input.runtime && input.runtime.alive === false) parts.push(gettext("containerd down: the runtime is not ready"));
  if (lc && lc.ready === "True" && lc.unknown_at != null && (!alive || input.side != null)) {
    parts.push(interpolate(gettext("the node lifecycle controller marks it Unknown in %(n)s s"), { n: Math.max(0, Math.ceil(lc.unknown_at - t)) }));
  }
  for (const ev of lc?.evictions ?? []) parts.push(ev.at != null && ev.at > t ? interpolate(gettext("evicts %(pod)s in %(n)s s"), { pod: ev.pod, n: Math.ceil(ev.at - t) }) : interpolate(gettext("evicts %(pod)s now"), { pod: ev.pod }));
  if ((lc?.taints ?? []).length) parts.push(interpolate(gettext("taints %(taints)s"), { taints: lc.taints.join(", ") }));
  if (input.kubelet?.memory_pressure) parts.push(gettext("MemoryPressure: evicting pods above their request"));
  const why = parts.join(" · ");
  if (why !== card._whySig) {
    card._whySig = why;
    card._why.textContent = why;
    card._why.hidden = !why;
  }
  tickImageStore(card._images, t);
}
