// The control-plane area: every component whose kind is not node-level, in two zones:
//   "Kubernetes"  laid out like the architecture diagram: clients on top, the API server in the
//                 middle, controller manager and scheduler below it (anything else at the bottom),
//                 with room between them for the messages to fly
//   "etcd"        the members on a ring (RaftScope), so every pair has its own straight line;
//                 when an etcd panel is given (render/etcd/panel.js) it owns this zone and its
//                 boxes, and this view draws only the Kubernetes zone
// Boxes are keyed by component name and reused, so the messages layer can find them.

import { gettext, interpolate, ngettext } from "../i18n.js";
import { COMPONENT_KINDS, NODE_LEVEL_KINDS, kindInfo } from "../theme.js";
import { partitionSide } from "../model.js";
import { byName, placeholder, reconcileBoxes } from "./components.js";

const SLOTS = ["client", "apiserver", "controller", "scheduler", "other"];
const kindById = (id) => COMPONENT_KINDS.find((k) => k.id === id);

/** Angles (degrees, 0 = right, clockwise) for n members on the ring: one on top when n is odd, a flat top when even. */
export function ringAngles(n) {
  const start = n % 2 === 1 ? -90 : -90 + 180 / n;
  return Array.from({ length: n }, (_, i) => start + (i * 360) / n);
}

/**
 * Ring positions normalised to [-1, 1] on both axes, so the ring fills its zone whatever n is:
 * CSS places a member at 50% + x * (50% - half a box) (and the same for y).
 */
export function ringPositions(n) {
  if (n <= 1) return n === 1 ? [[0, 0]] : [];
  const points = ringAngles(n).map((deg) => [Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)]);
  const norm = (values) => {
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    const half = (hi - lo) / 2;
    return values.map((v) => (half < 1e-9 ? 0 : (v - (lo + hi) / 2) / half));
  };
  const xs = norm(points.map((p) => p[0]));
  const ys = norm(points.map((p) => p[1]));
  return points.map((_, i) => [xs[i], ys[i]]);
}

export function createControlPlaneView({ k8sZone, etcdZone, note, etcdPanel = null }) {
  const slotEls = new Map();
  const slotBoxes = new Map();
  const slotsRoot = document.createElement("div");
  slotsRoot.className = "k8s-slots";
  for (const id of SLOTS) {
    const slot = document.createElement("div");
    slot.className = `slot slot-${id}`;
    slotEls.set(id, slot);
    slotBoxes.set(id, new Map());
    slotsRoot.appendChild(slot);
  }
  const ring = document.createElement("div");
  ring.className = "etcd-ring";
  const etcdBoxes = new Map();
  const empty = {
    k8s: placeholder(gettext("API server, controller manager, scheduler"), [gettext("They appear here as the simulation starts them.")], ["apiserver", "controller", "scheduler"].map(kindById)),
    etcd: placeholder("etcd", [gettext("The etcd members appear here: a majority of them must agree before anything is true.")], [kindById("etcd")]),
  };
  let seen = -1;

  function mount(zone, content, show, emptyState) {
    const wanted = show ? content : emptyState;
    if (zone.firstChild !== wanted || zone.childNodes.length !== 1) zone.replaceChildren(wanted);
  }

  return {
    /** The box drawn for a component, if this area shows it. */
    boxFor(name) {
      for (const boxes of slotBoxes.values()) {
        const box = boxes.get(name);
        if (box) return box;
      }
      return etcdPanel ? etcdPanel.boxFor(name) : (etcdBoxes.get(name) ?? null);
    },
    update(model) {
      const version = model.versions.components + model.versions.network * 1e6;
      if (version === seen) return;
      seen = version;
      const bySlot = new Map(SLOTS.map((id) => [id, []]));
      const etcd = [];
      for (const view of model.components.values()) {
        if (NODE_LEVEL_KINDS.has(view.kind)) continue;
        const id = kindInfo(view.kind).id;
        if (id === "etcd") etcd.push(view);
        else bySlot.get(SLOTS.includes(id) ? id : "other").push(view);
      }
      const side = (name) => partitionSide(model, name);
      let k8sCount = 0;
      for (const [id, views] of bySlot) {
        views.sort(byName);
        k8sCount += views.length;
        reconcileBoxes(slotEls.get(id), views, slotBoxes.get(id), side);
        slotEls.get(id).hidden = views.length === 0;
      }
      mount(k8sZone, slotsRoot, k8sCount > 0, empty.k8s);
      if (etcdPanel) return; // the etcd panel draws its zone, quorum included

      etcd.sort(byName);
      reconcileBoxes(ring, etcd, etcdBoxes, side);
      ringPositions(etcd.length).forEach(([x, y], i) => {
        const box = etcdBoxes.get(etcd[i].name);
        box.style.setProperty("--x", x.toFixed(4));
        box.style.setProperty("--y", y.toFixed(4));
      });
      ring.dataset.members = String(etcd.length);
      ring.classList.toggle("dense", etcd.length >= 6);
      mount(etcdZone, ring, etcd.length > 0, empty.etcd);

      const alive = etcd.filter((v) => v.alive !== false).length;
      note.textContent = etcd.length ? interpolate(ngettext("%(alive)s of %(n)s etcd member up", "%(alive)s of %(n)s etcd members up", etcd.length), { alive, n: etcd.length }) : "";
    },
  };
}
