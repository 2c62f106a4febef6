// The worker-nodes area: one card per node (render/node/card.js) holding its kubelet, container
// runtime and kube-proxy as compact boxes (messages leave from them: data-component), its
// Ready condition and heartbeats, cpu and memory requested against allocatable, its pods with
// the kubelet's step for each, and its image store.
//
// Data: the component views (model.components, refreshed from GET /state about once a second)
// and, newer than them, the kubelet's and containerd's events (appliers/nodes.js): a step or a
// heartbeat shows the moment its event arrives. Density: up to FULL_MAX nodes every card is in
// full detail (containers' namespaces and cgroups, image layers); beyond, cards are compact and
// "Details" opens one across the area's width; beyond TINY_FROM, pods shrink to chips. A large
// cluster (render/nodemap/view.js: from 61 nodes or 3,000 pods) is a heat map instead, with the
// cards of the nodes it zoomed into under it.

import { gettext, interpolate, ngettext } from "../i18n.js";
import { COMPONENT_KINDS, NODE_LEVEL_KINDS, kindInfo } from "../theme.js";
import { nodeViewsSeq } from "../appliers/nodes.js";
import { connected, partitionSide } from "../model.js";
import { byName, placeholder, reconcileBoxes } from "./components.js";
import { createNodeCard, readiness, tickNodeCard, updateNodeCard } from "./node/card.js";
import { createNodeMap } from "./nodemap/view.js";

const MAX_NODES_DRAWN = 60; // beyond that the area says how many more there are
const FULL_MAX = 4;
const TINY_FROM = 13;
const kindById = (id) => COMPONENT_KINDS.find((k) => k.id === id);
const PART_ORDER = ["kubelet", "runtime", "proxy"];
const collator = new Intl.Collator("en", { numeric: true }); // one collator, not one per comparison
const natural = (a, b) => collator.compare(a, b);

/** The pods of one node: the kubelet's view, with newer events (appliers/nodes.js) on top. */
export function podsOfNode(model, node, kubelet) {
  const nodes = model.nodes;
  const since = nodeViewsSeq(model);
  const out = new Map();
  for (const pod of kubelet?.pods ?? []) {
    const key = `${pod.namespace}/${pod.name}`;
    const removed = nodes?.removed.get(key);
    if (removed != null && removed > since) continue;
    const ev = nodes?.steps.get(key);
    const newer = ev && ev.seq > since && ev.node === node;
    out.set(key, { pod, step: newer ? { step: ev.step, detail: ev.detail } : { step: pod.step, detail: null } });
  }
  if (kubelet?.alive !== false) {
    for (const [key, ev] of nodes?.steps ?? []) {
      if (ev.node !== node || ev.seq <= since || out.has(key)) continue;
      const [namespace, ...rest] = key.split("/");
      // bound a moment ago: the view will bring the rest
      out.set(key, { pod: { namespace, name: rest.join("/"), phase: "Pending", restarts: 0, containers: [], provisional: true }, step: { step: ev.step, detail: ev.detail } });
    }
  }
  return [...out.entries()].sort((a, b) => natural(a[0], b[0])).map(([, v]) => v);
}

/** The node lifecycle controller's entry for a node (the leading controller manager's, when several run). */
function lifecycleOf(model, node) {
  let found = null;
  for (const view of model.components.values()) {
    if (view.kind !== "controller-manager" || view.alive === false || !Array.isArray(view.nodes)) continue;
    const entry = view.nodes.find((n) => n.name === node);
    if (entry && (view.leading || !found)) found = entry;
  }
  return found;
}

export function createNodesView({ body, note, onDetail = () => {} }) {
  const cards = new Map(); // node name -> card element
  const expanded = new Set();
  let emptyState = null;
  let emptyFor;
  let seen = null;
  // a large cluster is a heat map (render/nodemap/); a zoomed small group or one node, cards again
  const map = createNodeMap({ onZoom: () => { seen = null; onDetail(); } });

  const toggle = (node) => {
    if (expanded.has(node)) expanded.delete(node);
    else expanded.add(node);
    seen = null;
  };

  return {
    boxFor(name) {
      for (const card of cards.values()) {
        const box = card._boxes.get(name);
        if (box) return box;
      }
      return null;
    },
    /** Where a node-level component drawn as a heat-map cell is (for messages: not an element). */
    anchorFor: (name) => map.anchorFor(name),
    /** Nodes whose whole views the cards under the heat map need (GET /state?detail=). */
    detailWanted: () => map.detailWanted(),
    /** The element of a pod ("ns/name"), for panels that point at it. */
    podElement(key) {
      return body.querySelector(`.pod[data-pod="${CSS.escape(key)}"]`);
    },
    update(model, t = model.clock?.time ?? 0, { reduced = false, now = performance.now() } = {}) {
      const configured = model.summary?.nodes;
      const v = model.versions;
      const mapped = map.update(model, now);
      const only = mapped ? map.cards() ?? [] : null;
      const version = `${v.components}/${v.network}/${v.views}/${v.nodes}/${configured}/${only?.join(",")}`;
      if (version !== seen) {
        seen = version;
        if (only) drawUnderMap(model, only);
        else draw(model, configured);
      }
      // the map takes its figures at its own pace: its note follows them, not only our redraws
      if (only) {
        const totals = map.totals();
        const text = interpolate(gettext("%(ready)s of %(nodes)s Ready · heat map"), { ready: totals.ready.toLocaleString("en"), nodes: totals.nodes.toLocaleString("en") });
        if (note.textContent !== text) note.textContent = text;
      }
      for (const card of cards.values()) tickNodeCard(card, t, now);
    },
  };

  /** The node-level views by node (only the nodes in `only`, when given). */
  function viewsByNode(model, only = null) {
    const groups = new Map();
    for (const view of model.components.values()) {
      if (!NODE_LEVEL_KINDS.has(view.kind)) continue;
      const node = String(view.node ?? view.name);
      if (only && !only.has(node)) continue;
      if (!groups.has(node)) groups.set(node, []);
      groups.get(node).push(view);
    }
    return groups;
  }

  /** A large cluster: the heat map first, then the cards of the nodes it zoomed into. */
  function drawUnderMap(model, only) {
    emptyState?.remove();
    if (body.firstChild !== map.element) body.prepend(map.element);
    const groups = viewsByNode(model, new Set(only));
    const names = only.filter((n) => groups.has(n));
    body.dataset.density = names.length <= FULL_MAX ? "full" : "compact";
    drawCards(model, names, groups, body.dataset.density, map.element);
  }

  function draw(model, configured) {
    map.element.remove();
    const groups = viewsByNode(model);
    if (!groups.size) {
      cards.clear();
      if (emptyFor !== configured || !emptyState) {
        emptyFor = configured;
        const lines = configured
          ? [interpolate(ngettext("This cluster is configured for %(n)s node: it appears here with its kubelet, container runtime and kube-proxy once it joins.", "This cluster is configured for %(n)s nodes: each appears here with its kubelet, container runtime and kube-proxy once it joins.", configured), { n: configured })]
          : [gettext("Nodes appear here with their kubelet, container runtime and kube-proxy once they join.")];
        emptyState = placeholder(gettext("No worker nodes running yet"), lines, ["kubelet", "runtime", "proxy"].map(kindById));
      }
      if (body.firstChild !== emptyState || body.childNodes.length !== 1) body.replaceChildren(emptyState);
      note.textContent = "";
      return;
    }
    emptyState?.remove();
    const names = [...groups.keys()].sort(natural);
    const drawn = names.slice(0, MAX_NODES_DRAWN);
    const density = names.length <= FULL_MAX ? "full" : names.length < TINY_FROM ? "compact" : "tiny";
    body.dataset.density = density;
    const ready = drawCards(model, drawn, groups, density, null);
    note.textContent = interpolate(gettext("%(ready)s of %(n)s Ready"), { ready, n: names.length }) + (names.length > drawn.length ? interpolate(gettext(" · first %(n)s drawn"), { n: drawn.length }) : "");
  }

  /** Cards for the nodes in `drawn` (in order, after `first` when given); returns how many are Ready. */
  function drawCards(model, drawn, groups, density, first) {
    for (const [node, card] of cards) {
      if (!drawn.includes(node)) {
        card.remove();
        cards.delete(node);
        expanded.delete(node);
      }
    }
    let previous = first;
    let ready = 0;
    for (const node of drawn) {
      let card = cards.get(node);
      if (!card) {
        card = createNodeCard(node, kindById("kubelet"), toggle);
        cards.set(node, card);
      }
      const views = groups.get(node).sort((a, b) => {
        const ra = PART_ORDER.indexOf(kindInfo(a.kind).id);
        const rb = PART_ORDER.indexOf(kindInfo(b.kind).id);
        return (ra === -1 ? 9 : ra) - (rb === -1 ? 9 : rb) || byName(a, b);
      });
      reconcileBoxes(card._parts, views, card._boxes, (name) => partitionSide(model, name), { compact: true, prefix: `${node}/` });
      card.classList.toggle("is-down", views.some((view) => view.alive === false));
      const kubelet = views.find((view) => kindInfo(view.kind).id === "kubelet") ?? null;
      const runtime = views.find((view) => kindInfo(view.kind).id === "runtime") ?? null;
      const lifecycle = lifecycleOf(model, node);
      const open = density !== "full" && expanded.has(node);
      updateNodeCard(card, {
        kubelet, runtime, lifecycle,
        pods: podsOfNode(model, node, kubelet),
        eventPulls: model.nodes?.pulls.get(node) ?? new Map(),
        heartbeat: model.nodes?.heartbeats.get(node) ?? null,
        side: connected(model, node, "kube-apiserver") ? null : partitionSide(model, node),
        full: density === "full" || open,
        expanded: open,
        compactable: density !== "full",
      });
      if (readiness(kubelet, lifecycle).status === "True") ready += 1;
      const expected = previous ? previous.nextSibling : body.firstChild;
      if (expected !== card) body.insertBefore(card, expected);
      previous = card;
    }
    return ready;
  }
}
