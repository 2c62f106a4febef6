// Kiosk links: URL options that fix how the cluster page looks, so a lab screen can show a
// cluster unattended and a writer (or `manage.py screenshot`) can link to an exact view.
//
//   /clusters/demo/?lang=zh-Hans&theme=dark&panel=etcd&scale=1.25&controls=0&freeze=1
//
//   lang      en | zh-Hans          the whole page's language, not remembered (the server renders the page
//                                   and the catalogue in it: dashboard/i18n.py, js/i18n.js)
//   theme     light | dark          wins over the stored choice and the system's (theme-init.js)
//   panel     etcd | scheduler | controllers | traffic | nodes | requests | controlplane
//             (or component=<name>, node=<name>): scrolled into view and marked data-kiosk-framed
//   scale     0.5 to 3              CSS zoom of the whole page (a projector far away)
//   controls  0                     hides the chrome: buttons, forms, the timeline (the time stays)
//   freeze    1                     no clock extrapolation and no animation: the picture is exactly
//                                   the server's time (what a reproducible screenshot needs)
//   present   1                     presentation mode (js/present.js): large type, high contrast,
//                                   no tool bars, event log or legend; clicker keys
//
// Imported first by main.js, so its top level runs before the page's first frame. An unknown
// value is ignored with a console warning (a kiosk should still show something).
// `<html data-kiosk-ready="true" data-kiosk-seq="<seq>">` says the page has drawn a settled
// picture of the cluster at that event seq: the snapshot, the component views at that seq and
// the event backfill are in, and a few frames have passed since (screenshot tools wait for it).

import { advanceDisplayTime } from "./model.js";

export const LANGS = ["en", "zh-Hans"];
export const THEMES = ["light", "dark"];
export const PANELS = {
  etcd: "#zone-etcd",
  scheduler: "#panel-scheduler",
  controllers: "#panel-controllers",
  traffic: "#panel-traffic",
  nodes: ".area.nodes",
  requests: ".req-panel",
  controlplane: ".area.controlplane",
};
const SETTLED_FRAMES = 3;

/** The options in a query string, checked: {lang, theme, panel, component, node, scale, controls, freeze, present, warnings}. */
export function parseKioskOptions(search) {
  const q = new URLSearchParams(search);
  const out = { lang: null, theme: null, panel: null, component: null, node: null, scale: 1, controls: true, freeze: false, present: false, warnings: [] };
  const pick = (key, allowed) => {
    const v = q.get(key);
    if (v === null || v === "") return null;
    if (allowed.includes(v)) return v;
    out.warnings.push(`${key}=${v}: expected one of ${allowed.join(", ")}`);
    return null;
  };
  out.lang = pick("lang", LANGS);
  out.theme = pick("theme", THEMES);
  out.panel = pick("panel", Object.keys(PANELS));
  out.component = q.get("component") || null;
  out.node = q.get("node") || null;
  if (q.has("scale")) {
    const s = Number(q.get("scale"));
    if (Number.isFinite(s) && s >= 0.5 && s <= 3) out.scale = s;
    else out.warnings.push(`scale=${q.get("scale")}: expected a number from 0.5 to 3`);
  }
  const flag = (key) => {
    const v = q.get(key);
    if (v === null) return null;
    if (["1", "true", "yes", "on"].includes(v)) return true;
    if (["0", "false", "no", "off"].includes(v)) return false;
    out.warnings.push(`${key}=${v}: expected 0 or 1`);
    return null;
  };
  out.controls = flag("controls") ?? true;
  out.freeze = flag("freeze") ?? false;
  out.present = flag("present") ?? false;
  return out;
}

/** The element a kiosk link frames, or null. */
export function framedElement(options, doc = document) {
  if (options.component) return doc.querySelector(`[data-component="${CSS.escape(options.component)}"]`);
  if (options.node) return doc.querySelector(`.node-card[data-node="${CSS.escape(options.node)}"], [data-node="${CSS.escape(options.node)}"]`);
  if (options.panel) return doc.querySelector(PANELS[options.panel]);
  return null;
}

function apply(options) {
  const root = document.documentElement;
  for (const w of options.warnings) console.warn(`kiosk link: ${w}`);
  if (options.theme) root.setAttribute("data-theme", options.theme); // theme-init.js did it already; harmless
  if (options.scale !== 1) root.style.zoom = String(options.scale);
  root.classList.toggle("kiosk-no-controls", !options.controls);
  root.classList.toggle("kiosk-freeze", options.freeze);
  root.classList.toggle("present-mode", options.present); // before the first paint: no flash of the normal page
  root.dataset.kioskReady = "false";
}

/** What the page needs to have before its picture is the cluster's state (not a half-loaded one). */
function settled(model) {
  if (!model.hasSnapshot || model.awaitingSnapshot || !model.live) return false;
  if ((model.viewsAppliedSeq ?? -1) < model.seq) return false; // the panels' views are older than the stream
  if (model.etcd?.wantRefresh) return false;
  if (model.seq > 0 && model.events.length === 0) return false; // the log's backfill is still coming
  if (document.fonts && document.fonts.status !== "loaded") return false;
  return true;
}

function createKiosk(options) {
  let calm = 0;
  let framed = false;
  return {
    options,
    /** The virtual time to draw: frozen means exactly the server's, never extrapolated. */
    displayTime(model, now) {
      if (!options.freeze) return advanceDisplayTime(model, now);
      model.shownTime = model.clock.time;
      return model.clock.time;
    },
    /** Frozen pictures are drawn as for reduced motion (no pulses that depend on wall time). */
    motion(pref) {
      if (options.freeze) pref.reduced = true;
      return pref;
    },
    /** Called after every frame: frame the asked-for part once the page settles, then say so. */
    afterFrame(model) {
      const root = document.documentElement;
      calm = settled(model) ? calm + 1 : 0;
      const ready = String(calm >= SETTLED_FRAMES);
      if (root.dataset.kioskReady !== ready) root.dataset.kioskReady = ready;
      if (calm < SETTLED_FRAMES) return;
      // what the settled picture shows: a tool that moved the clock waits for its seq
      const seq = String(model.seq);
      if (root.dataset.kioskSeq !== seq) root.dataset.kioskSeq = seq;
      if (!framed) {
        framed = true;
        const target = framedElement(options);
        if (target) {
          target.dataset.kioskFramed = "true";
          target.scrollIntoView({ block: "start", inline: "nearest", behavior: "instant" });
        } else if (options.panel || options.component || options.node) {
          console.warn("kiosk link: nothing to frame on this page for", options.panel ?? options.component ?? options.node);
        }
      }
    },
  };
}

const options = parseKioskOptions(location.search);
apply(options);
export const kiosk = createKiosk(options);
