// Requests drawn over the stage (issue 8): client -> the rules of the node it starts on -> the
// backend pod, and the answer back, placed in VIRTUAL time like every message dot.
//
//   client     the source pod ([data-pod="ns/name"] in its node card, issue 7) or, until pods
//              are drawn, its node card's title; an external client: a marker in the worker
//              nodes' head, its packet drawn to the node it was sent to (NodePort)
//   rules      the deciding node's kube-proxy box: it rings when a request is decided there,
//              with a label of the rule taken (KUBE-SVC-… #3 -> web-x, or IPVS rr -> 10.244.1.2:80)
//   backend    the pod's element, or its node's container runtime box
//
// The kernel decides a connection in no time (no message), so the dot is at the rules at the
// request's instant, then travels to the pod's node for the network's latency (the http.request
// message's `arrives`), waits while the pod serves it, and comes back as a ring. A request that
// went to a pod on its way out through old rules (stale) is drawn dashed, amber, with ⚠.
// Each kube-proxy box also carries a line of its own: its rules version, or "writing v4".
// Reduced motion: no dots; the paths in flight are drawn still, the labels stay.

import { trafficState } from "../../appliers/traffic.js";
import { gettext, interpolate } from "../../i18n.js";
import { svgEl } from "../../theme.js";
import { boxIn, scroll } from "../geometry.js";
import { shortChain } from "./rules.js";

const MAX_DRAWN = 60;
const LABEL_MS = 1600; // wall time a decision's label stays (paused or reduced motion: until the next one)
const DOT_R = 6;

// a box's centre on the stage, as measured at the frame's start (geometry.js: no forced layout)
function centre(stage, el) {
  const b = boxIn(stage, el) ?? { cx: 0, cy: 0, width: 0, height: 0, bottom: 0 };
  return { x: b.cx, y: b.cy, r: b };
}

function along(points, f) {
  // a point at fraction f of a polyline's length
  const seg = [];
  let total = 0;
  for (let i = 1; i < points.length; i++) {
    const l = Math.hypot(points[i].x - points[i - 1].x, points[i].y - points[i - 1].y);
    seg.push(l);
    total += l;
  }
  let d = Math.max(0, Math.min(1, f)) * total;
  for (let i = 1; i < points.length; i++) {
    if (d <= seg[i - 1] || i === points.length - 1) {
      const k = seg[i - 1] ? d / seg[i - 1] : 0;
      return { x: points[i - 1].x + (points[i].x - points[i - 1].x) * k, y: points[i - 1].y + (points[i].y - points[i - 1].y) * k };
    }
    d -= seg[i - 1];
  }
  return points[points.length - 1];
}

const CHAR_PX = 6.6; // the label's monospace advance at 11 px (a CJK character takes two)
const labelPx = (text) => [...text].reduce((px, ch) => px + (ch.charCodeAt(0) >= 0x2e80 ? 2 : 1) * CHAR_PX, 0);

/** What a decision says, longest first: the first that fits under the node card is drawn. */
function decisionLabels(r) {
  const mark = r.stale ? "⚠ " : "";
  if (r.verdict !== "dnat") {
    const what = r.verdict === "reject" ? gettext("REJECT (no endpoints)") : r.verdict === "drop" ? "DROP" : gettext("no rule");
    return [`${mark}${r.node}: ${what}`, `${mark}${what}`];
  }
  const pod = r.pod ?? r.to;
  if (r.mode === "ipvs") {
    const vs = r.chains?.[0]?.replace(/^IPVS\s+/, "") ?? "";
    return [`${mark}${r.node} IPVS v${r.version}: ${vs} → ${pod}`, `${mark}IPVS v${r.version} → ${pod}`, `${mark}v${r.version} → ${pod}`];
  }
  const svc = r.trace?.find((x) => /^KUBE-SV[CL]-/.test(x[1]));
  const rule = svc ? `${shortChain(svc[1])} #${svc[2]}` : "KUBE-SERVICES";
  return [mark + interpolate(gettext("%(node)s rules v%(version)s: %(rule)s → %(pod)s"), { node: r.node, version: r.version, rule, pod }), `${mark}v${r.version}: ${rule} → ${pod}`, `${mark}v${r.version} #${svc?.[2] ?? "?"} → ${pod}`];
}

export function createTrafficOverlay({ stage, locateBox, model }) {
  const svg = svgEl("svg", { class: "traffic-layer", "aria-hidden": "true", focusable: "false" });
  stage.append(svg);
  const labels = new Map(); // node -> {request, at (wall ms)}
  const liveLines = new Map(); // kube-proxy box -> its line
  let lastSeq = 0;

  function podElement(service, pod) {
    if (!pod) return null;
    const key = pod.includes("/") ? pod : `${String(service ?? "").split("/", 1)[0]}/${pod}`;
    const el = document.querySelector(`[data-pod="${CSS.escape(key)}"]`);
    return el?.querySelector(".pod-head") ?? el;
  }
  function nodeCard(node) {
    return node ? document.querySelector(`.node-card[data-node="${CSS.escape(node)}"]`) : null;
  }
  function clientAnchor(r) {
    if (r.external) return null;
    const el = podElement(r.service, r.from);
    if (el) return el;
    const card = nodeCard(r.node);
    return card?.querySelector(".node-head h3") ?? card;
  }
  function backendAnchor(r) {
    return podElement(r.service, r.pod) ?? locateBox(`${r.podNode}/containerd`) ?? nodeCard(r.podNode);
  }

  let liveSeen = "";
  function liveLine(model) {
    // only when something it shows may have moved (components redraw their boxes too)
    const sig = `${model.versions.traffic}/${model.versions.views}/${model.versions.components}`;
    if (sig === liveSeen) return;
    liveSeen = sig;
    const tr = trafficState(model);
    for (const node of model.extra?.proxy?.nodes ?? []) {
      const box = locateBox(`${node.node}/kube-proxy`);
      if (!box) continue;
      let line = liveLines.get(box);
      if (!line || !box.contains(line)) {
        line = document.createElement("div");
        line.className = "comp-live traffic-live";
        line.dataset.panel = "traffic";
        box.append(line);
        liveLines.set(box, line);
      }
      const ev = tr.proxies.get(node.node) ?? {};
      const version = Math.max(ev.version ?? 0, node.version ?? 0);
      const writing = ev.writing ?? null;
      const text = node.alive === false ? gettext("✕ rules frozen") : writing != null ? interpolate(gettext("✎ writing v%(version)s"), { version: writing }) : interpolate(gettext("rules v%(version)s"), { version });
      if (line.textContent !== text) line.textContent = text;
      line.dataset.state = writing != null ? "writing" : "ok";
    }
  }

  /** Where an external client stands: in the worker-nodes area's head, right of its note. */
  function externalAnchor() {
    const head = document.getElementById("nodes-note") ?? document.getElementById("nodes-title");
    const r = head ? boxIn(stage, head) : null;
    return r ? { x: r.right + 28, y: r.cy } : null;
  }

  return {
    update(m, t, { reduced, now }) {
      liveLine(model);
      const tr = trafficState(model);
      for (const r of tr.requests.values()) {
        if (r.seq > lastSeq && r.node) labels.set(r.node, { request: r, at: now });
      }
      lastSeq = model.seq;
      const { width: w, height: h, left: scrollLeft, clientWidth } = scroll(stage);
      if (svg.getAttribute("width") !== String(w)) svg.setAttribute("width", w);
      if (svg.getAttribute("height") !== String(h)) svg.setAttribute("height", h);
      const parts = [];
      let drawn = 0;
      const outside = externalAnchor();
      let outsideUsed = false;
      for (const r of [...tr.requests.values()].reverse()) {
        if (drawn >= MAX_DRAWN) break;
        if (r.external && outside && !r.node && r.entry && r.sentAt <= t + 1e-9) {
          // the packet on its way from outside to the NodePort of the node it was sent to
          const entryEl = locateBox(`${r.entry}/kube-proxy`);
          if (!entryEl) continue;
          const entry = centre(stage, entryEl);
          drawn += 1;
          outsideUsed = true;
          parts.push(svgEl("polyline", { class: "traffic-path", points: `${outside.x.toFixed(1)},${outside.y.toFixed(1)} ${entry.x.toFixed(1)},${entry.y.toFixed(1)}` }));
          if (!reduced) {
            const pos = along([outside, entry], (t - r.sentAt) / Math.max(1e-9, (r.packetArrives ?? r.sentAt) - r.sentAt));
            const g = svgEl("g", { class: "traffic-dot", transform: `translate(${pos.x.toFixed(1)} ${pos.y.toFixed(1)})` });
            g.append(svgEl("circle", { r: DOT_R }));
            parts.push(g);
          }
          continue;
        }
        if (!r.node || r.t > t + 1e-9) continue;
        const end = r.done ?? r.t + 10;
        if (t > end) continue;
        const rulesEl = locateBox(`${r.node}/kube-proxy`);
        if (!rulesEl) continue;
        const rules = centre(stage, rulesEl);
        const clientEl = clientAnchor(r);
        const client = clientEl ? centre(stage, clientEl) : (r.external && outside) || rules;
        if (r.external && outside) outsideUsed = true;
        const backEl = r.verdict === "dnat" ? backendAnchor(r) : null;
        const back = backEl ? centre(stage, backEl) : null;
        drawn += 1;
        const cls = `traffic-path${r.stale ? " is-stale" : ""}${r.error ? " is-error" : ""}`;
        const pts = back ? [client, rules, back] : [client, rules];
        parts.push(svgEl("polyline", { class: cls, points: pts.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ") }));
        if (reduced) continue;
        // where the request is now
        let pos = null;
        let ring = false;
        const arrives = r.arrives ?? r.t;
        if (!back) pos = rules;
        else if (t <= arrives) pos = along([rules, back], (t - r.t) / Math.max(1e-9, arrives - r.t));
        else {
          const flight = Math.max(0, arrives - r.t);
          const backStart = r.done != null ? r.done - flight : Infinity;
          if (t < backStart) pos = back;
          else {
            ring = true;
            // an external client's answer goes back through the node it came in by (SNAT)
            pos = along(r.external ? [back, rules, client] : [back, client], (t - backStart) / Math.max(1e-9, flight));
          }
        }
        const g = svgEl("g", { class: `traffic-dot${ring ? " is-response" : ""}${r.stale ? " is-stale" : ""}`, transform: `translate(${pos.x.toFixed(1)} ${pos.y.toFixed(1)})` });
        g.append(svgEl("circle", { r: DOT_R }));
        if (r.stale) g.append(Object.assign(svgEl("text", { class: "traffic-dot-mark", y: -DOT_R - 3, "text-anchor": "middle" }), { textContent: "⚠" }));
        parts.push(g);
      }
      // the decision labels under each kube-proxy box
      for (const [node, { request, at }] of labels) {
        const fresh = now - at < LABEL_MS;
        if (!fresh && !reduced && !model.clock.paused) {
          labels.delete(node);
          continue;
        }
        const box = locateBox(`${node}/kube-proxy`);
        if (!box) continue;
        const c = centre(stage, box);
        const card = nodeCard(node);
        const cardBox = card ? boxIn(stage, card) : null;
        const below = cardBox ? cardBox.bottom + 6 : c.y + c.r.height / 2 + 6;
        parts.push(svgEl("rect", { class: `traffic-ring${fresh ? " is-fresh" : ""}`, x: (c.x - c.r.width / 2 - 3).toFixed(1), y: (c.y - c.r.height / 2 - 3).toFixed(1), width: (c.r.width + 6).toFixed(1), height: (c.r.height + 6).toFixed(1), rx: 6 }));
        const room = cardBox ? cardBox.width : 300;
        const variants = decisionLabels(request);
        const text = variants.find((v) => labelPx(v) + 14 <= room) ?? variants[variants.length - 1];
        const label = svgEl("g", { class: `traffic-label${request.stale ? " is-stale" : ""}` });
        const width = Math.max(80, labelPx(text) + 14);
        const under = cardBox ? cardBox.cx : c.x; // centred under its own card: neighbours' labels never meet
        const x = Math.min(Math.max(under, scrollLeft + width / 2 + 4), scrollLeft + clientWidth - width / 2 - 4); // stays on the stage
        label.setAttribute("transform", `translate(${x.toFixed(1)} ${below.toFixed(1)})`);
        label.append(svgEl("rect", { x: (-width / 2).toFixed(1), y: 0, width: width.toFixed(1), height: 20, rx: 4 }));
        label.append(Object.assign(svgEl("text", { x: 0, y: 14, "text-anchor": "middle" }), { textContent: text }));
        parts.push(label);
      }
      if (outsideUsed) {
        const g = svgEl("g", { class: "traffic-outside", transform: `translate(${outside.x.toFixed(1)} ${outside.y.toFixed(1)})` });
        g.append(svgEl("circle", { r: 9 }), Object.assign(svgEl("text", { x: 14, y: 4 }), { textContent: "client outside the cluster (NodePort)" }));
        parts.push(g);
      }
      if (parts.length || svg.childElementCount) svg.replaceChildren(...parts);
    },
  };
}
