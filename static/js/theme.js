// The visual language of Clusterscope, in one place. Every panel draws components,
// messages and events through these tables, so a colour or a shape means the same
// thing everywhere:
//
//   one kind of component = one colour + one shape
//     colour: the Okabe–Ito palette (safe for the common colour-vision deficiencies),
//             defined as CSS custom properties --k-<id> in static/css/clusterscope.css
//             (light and dark values live there; JS never hard-codes a colour)
//     shape:  drawn by shapePath(), so colour is never the only cue
//   a message in flight = a dot in its SENDER's colour: filled for a request,
//     a ring for a response, a cross when it is dropped
//   status (crashed, cut link, no quorum) = --bad, always with a ✕ glyph or a text label too
//
// A component's `kind` (from the server) maps to a kind id through KIND_ALIASES; an event's
// kind ("raft.send") maps to a filter group by its first dotted part, and each group
// borrows the colour and shape of the component kind that produces it.

import { gettext } from "./i18n.js";

const SVG_NS = "http://www.w3.org/2000/svg";

/** Component kinds, in the order the legend lists them. */
export const COMPONENT_KINDS = [
  { id: "etcd", label: gettext("etcd member"), shape: "circle" },
  { id: "apiserver", label: gettext("API server"), shape: "hexagon" },
  { id: "controller", label: gettext("controller manager"), shape: "diamond" },
  { id: "scheduler", label: gettext("scheduler"), shape: "triangle" },
  { id: "kubelet", label: gettext("kubelet / node"), shape: "square" },
  { id: "runtime", label: gettext("container runtime"), shape: "pentagon" },
  { id: "proxy", label: "kube-proxy", shape: "plus" },
  { id: "client", label: gettext("client / kubectl"), shape: "star" },
];

export const OTHER_KIND = { id: "other", label: gettext("other component"), shape: "octagon" };
export const NETWORK_KIND = { id: "net", label: gettext("network"), shape: "ring" };

const KINDS_BY_ID = new Map([...COMPONENT_KINDS, OTHER_KIND, NETWORK_KIND].map((k) => [k.id, k]));

/** Server-side component kinds (Component.kind) and the visual kind they use. */
const KIND_ALIASES = {
  etcd: "etcd",
  "etcd-member": "etcd",
  "etcd-server": "etcd",
  apiserver: "apiserver",
  "kube-apiserver": "apiserver",
  "api-server": "apiserver",
  "controller-manager": "controller",
  "kube-controller-manager": "controller",
  controller: "controller",
  scheduler: "scheduler",
  "kube-scheduler": "scheduler",
  kubelet: "kubelet",
  node: "kubelet",
  runtime: "runtime",
  "container-runtime": "runtime",
  containerd: "runtime",
  "kube-proxy": "proxy",
  proxy: "proxy",
  client: "client",
  kubectl: "client",
  etcdctl: "client",
  traffic: "client",
  "traffic-source": "client",
  user: "client",
  network: "net",
};

/** Component kinds that live on a worker node (drawn in the nodes area, not the control plane). */
export const NODE_LEVEL_KINDS = new Set(["kubelet", "node", "runtime", "container-runtime", "containerd", "kube-proxy", "proxy", "pod", "container"]);

/** The visual kind ({id, label, shape}) for a server component kind. */
export function kindInfo(serverKind) {
  return KINDS_BY_ID.get(KIND_ALIASES[serverKind] ?? "other") ?? OTHER_KIND;
}

/** Event filter groups (the first dotted part of an event kind) and the kind whose colour they wear. */
export const EVENT_GROUPS = [
  { id: "net", label: "net", kind: "net", title: gettext("network: sends, deliveries, drops, crashes, partitions") },
  { id: "raft", label: "raft", kind: "etcd", title: gettext("Raft consensus between etcd members") },
  { id: "etcd", label: "etcd", kind: "etcd", title: gettext("etcd key-value store") },
  { id: "api", label: "api", kind: "apiserver", title: gettext("API server requests") },
  { id: "watch", label: "watch", kind: "apiserver", title: gettext("watches streamed by the API server") },
  { id: "controller", label: "controller", kind: "controller", title: gettext("controllers reconciling") },
  { id: "scheduler", label: "scheduler", kind: "scheduler", title: gettext("the scheduler placing pods") },
  { id: "kubelet", label: "kubelet", kind: "kubelet", title: gettext("kubelets running pods") },
  { id: "runtime", label: "runtime", kind: "runtime", title: gettext("container runtimes") },
  { id: "proxy", label: "proxy", kind: "proxy", title: gettext("kube-proxy rules") },
  { id: "traffic", label: "traffic", kind: "client", title: gettext("client traffic") },
  { id: "other", label: "other", kind: "other", title: gettext("everything else (cluster lifecycle, …)") },
];
const GROUP_IDS = new Set(EVENT_GROUPS.map((g) => g.id));
const GROUPS_BY_ID = new Map(EVENT_GROUPS.map((g) => [g.id, g]));

/** The filter group of an event kind: "raft.send" -> "raft"; unknown prefixes -> "other". */
export function eventGroup(eventKind) {
  const prefix = String(eventKind ?? "").split(".", 1)[0];
  return GROUP_IDS.has(prefix) ? prefix : "other";
}

/** The visual kind an event wears (its group's kind). */
export function eventKindInfo(eventKind) {
  return KINDS_BY_ID.get(GROUPS_BY_ID.get(eventGroup(eventKind)).kind) ?? OTHER_KIND;
}

/** True when a network message kind is a reply (drawn as a ring rather than a filled dot). */
export function isResponse(messageKind) {
  return /(resp|response|reply|result|ack)$/i.test(String(messageKind ?? "").replace(/[^a-z]/gi, ""));
}

// --- shapes ------------------------------------------------------------------------------

function polygon(points) {
  return "M " + points.map(([x, y]) => `${x.toFixed(2)} ${y.toFixed(2)}`).join(" L ") + " Z";
}

function regular(n, r, rotation = -Math.PI / 2) {
  return Array.from({ length: n }, (_, i) => {
    const a = rotation + (i * 2 * Math.PI) / n;
    return [r * Math.cos(a), r * Math.sin(a)];
  });
}

/** An SVG path for a shape of "radius" r centred on (0, 0); shapes have similar visual weight. */
export function shapePath(shape, r) {
  switch (shape) {
    case "circle":
      return `M ${-r * 0.9} 0 A ${r * 0.9} ${r * 0.9} 0 1 0 ${r * 0.9} 0 A ${r * 0.9} ${r * 0.9} 0 1 0 ${-r * 0.9} 0 Z`;
    case "ring": {
      const o = r * 0.85;
      const i = r * 0.45;
      return `M ${-o} 0 A ${o} ${o} 0 1 0 ${o} 0 A ${o} ${o} 0 1 0 ${-o} 0 Z M ${-i} 0 A ${i} ${i} 0 1 1 ${i} 0 A ${i} ${i} 0 1 1 ${-i} 0 Z`;
    }
    case "square": {
      const s = r * 0.78;
      return polygon([[-s, -s], [s, -s], [s, s], [-s, s]]);
    }
    case "diamond":
      return polygon([[0, -r], [r, 0], [0, r], [-r, 0]]);
    case "triangle":
      return polygon([[0, -r], [r * 0.95, r * 0.72], [-r * 0.95, r * 0.72]]);
    case "hexagon":
      return polygon(regular(6, r, 0));
    case "pentagon":
      return polygon(regular(5, r * 0.95));
    case "octagon":
      return polygon(regular(8, r * 0.92, Math.PI / 8));
    case "plus": {
      const a = r * 0.36;
      const b = r * 0.95;
      return polygon([[-a, -b], [a, -b], [a, -a], [b, -a], [b, a], [a, a], [a, b], [-a, b], [-a, a], [-b, a], [-b, -a], [-a, -a]]);
    }
    case "star": {
      const pts = [];
      for (let i = 0; i < 10; i += 1) {
        const rr = i % 2 === 0 ? r : r * 0.45;
        const a = -Math.PI / 2 + (i * Math.PI) / 5;
        pts.push([rr * Math.cos(a), rr * Math.sin(a) + r * 0.08]);
      }
      return polygon(pts);
    }
    case "cross": {
      const a = r * 0.3;
      const b = r * 0.9;
      return polygon([[-b, -b + a], [-b + a, -b], [0, -a], [b - a, -b], [b, -b + a], [a, 0], [b, b - a], [b - a, b], [0, a], [-b + a, b], [-b, b - a], [-a, 0]]);
    }
    default:
      return shapePath("circle", r);
  }
}

export function svgEl(name, attrs = {}) {
  const el = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  return el;
}

/** A small inline icon of a kind's shape, filled with that kind's colour (via CSS: .kind-<id>). */
export function kindIcon(kind, size = 18) {
  const svg = svgEl("svg", { viewBox: "-10 -10 20 20", width: size, height: size, "aria-hidden": "true", focusable: "false", class: `shape-icon kind-${kind.id}` });
  svg.appendChild(svgEl("path", { d: shapePath(kind.shape, 8.6), class: "shape", "fill-rule": "evenodd" }));
  return svg;
}

// --- light and dark themes, reduced motion -----------------------------------------------

const THEME_KEY = "clusterscope.theme";

export function currentTheme() {
  return document.documentElement.getAttribute("data-theme") === "dark" ? "dark" : "light";
}

export function setTheme(theme, { remember = true } = {}) {
  document.documentElement.setAttribute("data-theme", theme);
  if (remember) {
    try {
      localStorage.setItem(THEME_KEY, theme);
    } catch {
      // storage may be disabled (private mode): the choice lasts for this page only
    }
  }
  document.dispatchEvent(new CustomEvent("clusterscope:theme", { detail: { theme } }));
}

export function toggleTheme() {
  setTheme(currentTheme() === "dark" ? "light" : "dark");
}

function storedTheme() {
  try {
    return localStorage.getItem(THEME_KEY);
  } catch {
    return null;
  }
}

/** Wire a theme toggle button (aria-pressed = dark) and follow the system until the user chooses. */
export function bindThemeToggle(button) {
  const sync = () => {
    const dark = currentTheme() === "dark";
    button.setAttribute("aria-pressed", String(dark));
    button.setAttribute("aria-label", dark ? gettext("Dark theme on: switch to light theme") : gettext("Light theme on: switch to dark theme"));
    button.title = dark ? "Switch to light theme" : "Switch to dark theme";
  };
  button.addEventListener("click", () => {
    toggleTheme();
    sync();
  });
  const media = window.matchMedia("(prefers-color-scheme: dark)");
  media.addEventListener("change", (e) => {
    if (!storedTheme()) {
      setTheme(e.matches ? "dark" : "light", { remember: false });
      sync();
    }
  });
  sync();
}

/** The reduced-motion preference, live: {reduced: bool}, updated when the system setting changes. */
export function motionPreference() {
  const media = window.matchMedia("(prefers-reduced-motion: reduce)");
  const pref = { reduced: media.matches };
  media.addEventListener("change", (e) => {
    pref.reduced = e.matches;
    document.documentElement.classList.toggle("reduced-motion", e.matches);
  });
  document.documentElement.classList.toggle("reduced-motion", pref.reduced);
  return pref;
}

// --- numbers as people read them -----------------------------------------------------------

/** Virtual seconds with millisecond precision: "12.345 s". */
export function formatTime(seconds) {
  return `${(Number(seconds) || 0).toFixed(3)} s`;
}

/** A speed as a short factor: 0.01×, 0.25×, 1×, 2.5×, 100×. */
export function formatSpeed(speed) {
  const s = Number(speed) || 0;
  return `${Number(s.toPrecision(2))}×`;
}
