// The owner graph (the garbage collector's view), drawn as indented trees from owner to
// dependents: Deployment → ReplicaSet → Pods, Service → EndpointSlice. Lines are CSS (nested
// lists), so nothing is measured and it fits any width. How a deletion propagates is read from the objects themselves:
//   deleting with the foregroundDeletion finalizer   "Foreground: waits for its dependents"
//   deleting with the orphan finalizer              "Orphan: releases its dependents"
//   an owner already gone, its dependents left      a dotted ghost "gone (Background)"
// and each object the garbage collector just acted on carries what it did, for a few seconds.
// Node → Lease (the heartbeat Leases in kube-node-lease) is left out: always there, never taught here.

import { gettext } from "../../i18n.js";

const SHORT = { Deployment: "deploy", ReplicaSet: "rs", Pod: "pod", Service: "svc", EndpointSlice: "slice", DaemonSet: "ds", Job: "job", StatefulSet: "sts", ControllerRevision: "rev" };

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = String(text);
  return node;
}

const hiddenFamily = (node) => node.namespace === "kube-node-lease" || node.kind === "Node";

/**
 * Trees from the view's {nodes, edges}: [{node, children: [...]}], roots sorted by kind then
 * name. An owner missing from the nodes (deleted in the background) becomes a ghost root.
 */
export function ownerTrees(graph) {
  const nodes = new Map((graph?.nodes ?? []).map((n) => [n.uid, { ...n }]));
  const children = new Map();
  const hasOwner = new Set();
  for (const edge of graph?.edges ?? []) {
    if (!nodes.has(edge.dependent)) continue;
    if (!nodes.has(edge.owner)) {
      const dep = nodes.get(edge.dependent);
      nodes.set(edge.owner, { uid: edge.owner, kind: edge.owner_kind ?? "owner", name: edge.owner_name ?? "?", namespace: dep.namespace, ghost: true, finalizers: [] });
    }
    if (hasOwner.has(edge.dependent)) continue; // drawn under its first owner only
    hasOwner.add(edge.dependent);
    if (!children.has(edge.owner)) children.set(edge.owner, []);
    children.get(edge.owner).push(edge.dependent);
  }
  const order = (a, b) => String(a.kind).localeCompare(String(b.kind)) || String(a.name).localeCompare(String(b.name), "en", { numeric: true });
  const seen = new Set();
  const build = (uid) => {
    seen.add(uid);
    const kids = (children.get(uid) ?? []).filter((k) => !seen.has(k)).map((k) => nodes.get(k)).sort(order);
    return { node: nodes.get(uid), children: kids.map((k) => build(k.uid)) };
  };
  const roots = [...nodes.values()].filter((n) => !hasOwner.has(n.uid) && !hiddenFamily(n)).sort(order);
  return roots.map((r) => build(r.uid));
}

/** How an object stands in a deletion, in words (status never by colour alone). */
export function deletionState(node) {
  if (node.ghost) return { state: "gone", text: gettext("✕ gone: deleted in the background; the garbage collector deletes what it owned") };
  if (!node.deleting) return null;
  const finalizers = node.finalizers ?? [];
  if (finalizers.includes("foregroundDeletion")) return { state: "foreground", text: gettext("◴ deleting (Foreground): waits until its dependents are gone") };
  if (finalizers.includes("orphan")) return { state: "orphan", text: gettext("✂ deleting (Orphan): releases its dependents first") };
  return { state: "deleting", text: gettext("✕ deleting") };
}

const GC_WORDS = { delete: gettext("GC deletes it"), patch: gettext("GC drops its owner ref"), wait: gettext("GC waits for its dependents"), finalize: gettext("GC removes the finalizer"), orphan: gettext("GC releases its dependents") };

/**
 * Draw the trees into `root`. `gc` is model.controllers.gc (uid -> the collector's last action);
 * `lit(entry)` says whether that action is recent enough to show.
 */
export function renderOwnerGraph(root, graph, gc, lit) {
  const trees = ownerTrees(graph);
  if (!trees.length) {
    root.replaceChildren(el("p", "cm-empty", gettext("No owner references yet: create a Deployment and its ReplicaSet and Pods appear here.")));
    return;
  }
  const draw = (tree) => {
    const li = el("li", "og-item");
    const n = tree.node;
    const box = el("div", "og-node");
    box.dataset.uid = n.uid;
    box.dataset.kind = n.kind;
    box.dataset.name = n.name;
    const deletion = deletionState(n);
    box.dataset.state = deletion ? deletion.state : "live";
    const head = el("span", "og-kind", SHORT[n.kind] ?? n.kind);
    head.title = n.kind;
    box.append(head, el("span", "og-name", n.name));
    if (deletion) box.append(el("span", "og-state", deletion.text));
    const acted = gc.get(n.uid);
    if (acted && lit(acted) && GC_WORDS[acted.action]) {
      box.classList.add("is-lit");
      box.append(el("span", "og-gc", `⟳ ${GC_WORDS[acted.action]}${acted.policy ? ` (${acted.policy})` : ""}`));
    }
    li.append(box);
    if (tree.children.length) {
      const ul = el("ul", "og-children");
      if (n.ghost) ul.classList.add("from-ghost");
      for (const child of tree.children) ul.append(draw(child));
      li.append(ul);
    }
    return li;
  };
  const list = el("ul", "og-forest");
  for (const tree of trees) {
    const family = draw(tree);
    family.classList.add("og-family");
    list.append(family);
  }
  root.replaceChildren(list);
}

/** A signature of what the graph shows, so it is redrawn only when something changed. */
export function graphSignature(graph, gc, lit) {
  const marks = [];
  for (const [uid, entry] of gc) if (lit(entry)) marks.push(`${uid}:${entry.action}`);
  const nodes = (graph?.nodes ?? []).map((n) => `${n.uid}|${n.deleting}|${(n.finalizers ?? []).join(",")}`);
  const edges = (graph?.edges ?? []).map((e) => `${e.dependent}>${e.owner}`);
  return `${nodes.join(";")}#${edges.join(";")}#${marks.join(";")}`;
}
