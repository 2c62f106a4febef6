// A node's image store, as its containerd has it: each image with its layers (a block per
// layer; a layer two images share is drawn the same and marked ⇄), and each pull in progress as
// a bar that fills in virtual time (the missing layers come down back to back at the node's
// bandwidth: fraction(t) = (t - downloading_since) × bandwidth / bytes).

import { gettext, interpolate, ngettext } from "../../i18n.js";
import { el, size } from "./format.js";

/** The fraction of a pull done at virtual time t (the view's own figure while it resolves). */
export function pullFraction(pull, t) {
  if (!pull || pull.state === "resolving" || pull.downloading_since == null) return 0;
  if (!(pull.bytes > 0)) return 1;
  const done = (t - pull.downloading_since) * (pull.bandwidth ?? 0);
  return Math.max(pull.fraction ?? 0, Math.min(1, done / pull.bytes));
}

function layerHue(digest) {
  // digests are hex: spread them round the colour wheel by the golden angle
  const n = Number.parseInt(String(digest).replace(/^sha256:/, "").slice(0, 6), 16) || 0;
  return Math.round((n * 137.508) % 360);
}

function layerBlock(digest, info) {
  const block = el("span", `layer${info?.images?.length > 1 ? " is-shared" : ""}`);
  block.style.setProperty("--hue", String(layerHue(digest)));
  const bytes = info?.size ?? 0;
  block.style.setProperty("--w", String(Math.max(0.45, Math.min(2.2, Math.log10(Math.max(bytes, 1e3)) - 4.4)).toFixed(2)));
  block.title = interpolate(gettext("layer %(digest)s"), { digest }) + (info?.name ? ` (${info.name})` : "") + `, ${size(bytes)}` + (info?.images?.length > 1 ? interpolate(gettext(", shared by %(images)s"), { images: info.images.join(", ") }) : "");
  if (info?.images?.length > 1) block.textContent = "⇄";
  return block;
}

function pullRow(pull) {
  const row = el("li", "pull");
  row.dataset.image = pull.image;
  const head = el("div", "pull-head");
  head.append(el("span", "pull-glyph", "⤓"), el("b", "pull-image", pull.image), el("span", "pull-value"));
  const track = el("div", "pull-track");
  track.setAttribute("role", "progressbar");
  track.setAttribute("aria-valuemin", "0");
  track.setAttribute("aria-valuemax", "100");
  track.setAttribute("aria-label", interpolate(gettext("pulling %(image)s"), { image: pull.image }));
  const fill = el("div", "pull-fill");
  track.append(fill);
  row.append(head, track);
  row._fill = fill;
  row._value = head.querySelector(".pull-value");
  row._track = track;
  row._pull = pull;
  return row;
}

export function createImageStore() {
  const root = el("section", "images");
  const head = el("div", "images-head");
  head.append(el("span", "images-title", gettext("images")), el("span", "images-summary"));
  const pulls = el("ul", "pulls");
  const list = el("ul", "image-list");
  root.append(head, pulls, list);
  root._summary = head.querySelector(".images-summary");
  root._pulls = pulls;
  root._list = list;
  root._rows = [];
  return root;
}

/** Redraw the store from a runtime view and the pulls known from events (newer than it). */
export function updateImageStore(root, runtime, eventPulls, full) {
  const images = runtime?.images ?? [];
  const layers = new Map((runtime?.layers ?? []).map((l) => [l.digest, l]));
  const viewPulls = runtime?.pulls ?? [];
  // a pull the events started after the view, or finished since: the events know better
  const pulls = viewPulls.filter((p) => !["done", "failed"].includes(eventPulls.get(p.image)?.state));
  for (const [image, p] of eventPulls) if (p.state === "resolving" && !pulls.some((v) => v.image === image)) pulls.push({ image, state: "resolving", bytes: 0, fraction: 0, layers: [] });
  const sig = JSON.stringify([images, runtime?.layers, pulls.map((p) => [p.image, p.state, p.bytes, p.downloading_since, p.layers?.length]), full]);
  if (root._sig !== sig) {
    root._sig = sig;
    const shared = [...layers.values()].filter((l) => (l.images ?? []).length > 1).length;
    root._summary.textContent = interpolate(ngettext("%(n)s image", "%(n)s images", images.length), { n: images.length }) + " · " + interpolate(ngettext("%(n)s layer", "%(n)s layers", layers.size), { n: layers.size }) + (shared ? interpolate(gettext(" (%(n)s shared)"), { n: shared }) : "");
    root._rows = pulls.map(pullRow);
    root._pulls.replaceChildren(...root._rows);
    const items = [];
    if (full) {
      for (const image of images) {
        const li = el("li", "image");
        li.dataset.image = (image.refs ?? [])[0] ?? image.id;
        const name = el("span", "image-name", (image.refs ?? []).join(", ") || image.id);
        const blocks = el("span", "image-layers");
        for (const digest of image.layers ?? []) blocks.append(layerBlock(digest, layers.get(digest)));
        li.append(name, blocks, el("span", "image-size", size(image.size)));
        items.push(li);
      }
    }
    root._list.replaceChildren(...items);
  }
}

/** Every frame: the pull bars at virtual time t. */
export function tickImageStore(root, t) {
  for (const row of root._rows) {
    const pull = row._pull;
    const f = pullFraction(pull, t);
    row._fill.style.width = `${(f * 100).toFixed(2)}%`;
    const text = pull.state === "resolving" || pull.downloading_since == null ? gettext("resolving at the registry…") : interpolate(gettext("%(done)s of %(total)s · %(percent)s"), { done: size(f * pull.bytes), total: size(pull.bytes), percent: `${Math.floor(f * 100)}%` });
    if (row._value.textContent !== text) {
      row._value.textContent = text;
      row._track.setAttribute("aria-valuenow", String(Math.floor(f * 100)));
      row._track.setAttribute("aria-valuetext", text);
    }
  }
}
