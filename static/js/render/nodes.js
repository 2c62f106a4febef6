// The worker-nodes area: node-level components (kubelet, container runtime, kube-proxy, …)
// grouped in one card per node (view.node, or the component's own name when it has none).
// Inside a card each component is a compact box (the kind's shape and colour, and its role),
// so a message from a kubelet leaves from that kubelet's box. Until kubelets exist, it says
// what will appear.

import { COMPONENT_KINDS, NODE_LEVEL_KINDS, kindIcon, kindInfo } from "../theme.js";
import { partitionSide } from "../model.js";
import { byName, placeholder, reconcileBoxes } from "./components.js";

const MAX_NODES_DRAWN = 60; // beyond that the area says how many more there are
const kindById = (id) => COMPONENT_KINDS.find((k) => k.id === id);
const PART_ORDER = ["kubelet", "runtime", "proxy"];

function nodeCard(node) {
  const card = document.createElement("section");
  card.className = "node-card";
  card.dataset.node = node;
  const head = document.createElement("header");
  head.className = "node-head";
  const title = document.createElement("h3");
  title.textContent = node;
  head.append(kindIcon(kindById("kubelet"), 16), title);
  const parts = document.createElement("div");
  parts.className = "node-parts";
  card.append(head, parts);
  card._parts = parts;
  card._boxes = new Map();
  card.setAttribute("aria-label", `node ${node}`);
  return card;
}

export function createNodesView({ body, note }) {
  const cards = new Map(); // node name -> card element
  let emptyState = null;
  let emptyFor;
  let seen = -1;

  return {
    boxFor(name) {
      for (const card of cards.values()) {
        const box = card._boxes.get(name);
        if (box) return box;
      }
      return null;
    },
    update(model) {
      const configured = model.summary?.nodes;
      const version = `${model.versions.components}/${model.versions.network}/${configured}`;
      if (version === seen) return;
      seen = version;
      const groups = new Map();
      for (const view of model.components.values()) {
        if (!NODE_LEVEL_KINDS.has(view.kind)) continue;
        const node = String(view.node ?? view.name);
        if (!groups.has(node)) groups.set(node, []);
        groups.get(node).push(view);
      }
      if (!groups.size) {
        cards.clear();
        if (emptyFor !== configured || !emptyState) {
          emptyFor = configured;
          const lines = configured
            ? [`This cluster is configured for ${configured} node${configured === 1 ? "" : "s"}: each appears here with its kubelet, container runtime and kube-proxy once it joins.`]
            : ["Nodes appear here with their kubelet, container runtime and kube-proxy once they join."];
          emptyState = placeholder("No worker nodes running yet", lines, ["kubelet", "runtime", "proxy"].map(kindById));
        }
        if (body.firstChild !== emptyState || body.childNodes.length !== 1) body.replaceChildren(emptyState);
        note.textContent = "";
        return;
      }
      emptyState?.remove();
      const names = [...groups.keys()].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
      const drawn = names.slice(0, MAX_NODES_DRAWN);
      for (const [node, card] of cards) {
        if (!drawn.includes(node)) {
          card.remove();
          cards.delete(node);
        }
      }
      let previous = null;
      let up = 0;
      for (const node of names) {
        const views = groups.get(node);
        if (views.every((v) => v.alive !== false)) up += 1;
      }
      for (const node of drawn) {
        let card = cards.get(node);
        if (!card) {
          card = nodeCard(node);
          cards.set(node, card);
        }
        const views = groups.get(node).sort((a, b) => {
          const ra = PART_ORDER.indexOf(kindInfo(a.kind).id);
          const rb = PART_ORDER.indexOf(kindInfo(b.kind).id);
          return (ra === -1 ? 9 : ra) - (rb === -1 ? 9 : rb) || byName(a, b);
        });
        reconcileBoxes(card._parts, views, card._boxes, (name) => partitionSide(model, name), { compact: true, prefix: `${node}/` });
        card.classList.toggle("is-down", views.some((v) => v.alive === false));
        const expected = previous ? previous.nextSibling : body.firstChild;
        if (expected !== card) body.insertBefore(card, expected);
        previous = card;
      }
      note.textContent = `${up} of ${names.length} fully up` + (names.length > drawn.length ? ` · first ${drawn.length} drawn` : "");
    },
  };
}
