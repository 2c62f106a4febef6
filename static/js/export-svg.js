// The current view as one standalone SVG file (issue 10, item 2): for slides and print.
//
//   exportSvg(root) -> "<svg …>…</svg>"   what `root` shows on screen now (default: the framed
//                                         part of a kiosk link, else the stage), clipped to it
//
// The page is read as drawn, not re-rendered: each visible element's box becomes a <rect>
// (its background, border and rounded corners, a thick left accent as its own bar), its text
// a <text> per line at the place the browser laid it out, and the SVG layers already on the
// page (links, message dots, icons, rings) are copied with their computed styles inlined. No
// external reference remains: no stylesheet, no font file, no image, colours resolved to
// rgb()/rgba(). Each component's box is a <g data-component="<name>">, so a script can find them.
// The "Export SVG" button downloads it; `window.clusterscopeExport.svg()` returns it (the REST
// export and `manage.py screenshot --svg` call that through Playwright).

const SVG_NS = "http://www.w3.org/2000/svg";
const SVG_PROPS = ["fill", "fill-opacity", "stroke", "stroke-width", "stroke-dasharray", "stroke-opacity", "stroke-linecap", "stroke-linejoin", "opacity",
  "font-size", "font-family", "font-weight", "text-anchor", "dominant-baseline", "visibility"];
const COLOR_PROPS = new Set(["fill", "stroke"]);

// --- colours: whatever CSS computed (oklch, color-mix, color(srgb …)) as plain rgb()/rgba() ----
const colorCache = new Map();
let colorCtx = null;
function plainColor(value) {
  if (!value || value === "none" || value.startsWith("url(")) return value === "none" ? "none" : null;
  if (/^(rgb|rgba)\(/.test(value) || /^#[0-9a-f]{3,8}$/i.test(value)) return value;
  if (colorCache.has(value)) return colorCache.get(value);
  colorCtx ??= Object.assign(document.createElement("canvas"), { width: 1, height: 1 }).getContext("2d", { willReadFrequently: true });
  colorCtx.clearRect(0, 0, 1, 1);
  colorCtx.fillStyle = "rgba(0,0,0,0)";
  colorCtx.fillStyle = value;
  colorCtx.fillRect(0, 0, 1, 1);
  const [r, g, b, a] = colorCtx.getImageData(0, 0, 1, 1).data;
  const out = a === 255 ? `rgb(${r},${g},${b})` : `rgba(${r},${g},${b},${(a / 255).toFixed(3)})`;
  colorCache.set(value, out);
  return out;
}

function visibleColor(value) {
  const c = plainColor(value);
  return c && c !== "none" && !/rgba\([^)]*,0(\.0+)?\)$/.test(c.replace(/\s/g, "")) && value !== "transparent" ? c : null;
}

// --- text --------------------------------------------------------------------------------------
function xml(text) {
  // eslint-disable-next-line no-control-regex
  return String(text).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const num = (n) => (Math.round(n * 10) / 10).toString();

function transformed(text, how) {
  if (how === "uppercase") return text.toUpperCase();
  if (how === "lowercase") return text.toLowerCase();
  return text;
}

/** The lines of a text node as laid out: [{text, left, top, height}] (words grouped by line). */
function textLines(node) {
  const out = [];
  const range = document.createRange();
  const re = /[^\s-]+-*|-+/g; // words, split after hyphens too: "kube-controller-manager" may wrap there
  const s = node.data;
  let m;
  let line = null;
  let end = 0;
  while ((m = re.exec(s)) !== null) {
    range.setStart(node, m.index);
    range.setEnd(node, m.index + m[0].length);
    const r = range.getBoundingClientRect();
    const spaced = m.index > end;
    end = m.index + m[0].length;
    if (r.width === 0 && r.height === 0) continue;
    if (line && Math.abs(r.top - line.top) < r.height / 2) {
      line.text += (spaced ? " " : "") + m[0];
    } else {
      line = { text: m[0], left: r.left, top: r.top, height: r.height };
      out.push(line);
    }
  }
  return out;
}

// --- the walk ----------------------------------------------------------------------------------
function hiddenEl(el, cs) {
  if (el.hidden || cs.display === "none" || cs.visibility === "hidden" || Number(cs.opacity) === 0) return true;
  if (el.matches(".visually-hidden, .skip-link, dialog:not([open]), template, script, style")) return true;
  return false;
}

function intersects(r, clip) {
  return r.right > clip.left && r.left < clip.right && r.bottom > clip.top && r.top < clip.bottom && r.width > 1 && r.height > 1;
}

function boxShapes(el, cs, r, o, out) {
  const fill = visibleColor(cs.backgroundColor);
  const bw = parseFloat(cs.borderTopWidth) || 0;
  const stroke = bw > 0 && cs.borderTopStyle !== "none" ? visibleColor(cs.borderTopColor) : null;
  const radius = Math.min(parseFloat(cs.borderTopLeftRadius) || 0, r.width / 2, r.height / 2);
  if (fill || stroke) {
    const dash = cs.borderTopStyle === "dashed" ? ` stroke-dasharray="${num(bw * 3)} ${num(bw * 2)}"` : "";
    out.push(`<rect x="${num(r.left - o.x + bw / 2)}" y="${num(r.top - o.y + bw / 2)}" width="${num(Math.max(0, r.width - bw))}" height="${num(Math.max(0, r.height - bw))}"` +
      (radius ? ` rx="${num(radius)}"` : "") + ` fill="${fill ?? "none"}"` + (stroke ? ` stroke="${stroke}" stroke-width="${num(bw)}"${dash}` : "") + "/>");
  }
  const lw = parseFloat(cs.borderLeftWidth) || 0;
  if (lw > bw + 1 && cs.borderLeftStyle !== "none") {
    const accent = visibleColor(cs.borderLeftColor);
    if (accent) out.push(`<rect x="${num(r.left - o.x)}" y="${num(r.top - o.y)}" width="${num(lw)}" height="${num(r.height)}" fill="${accent}"` + (radius ? ` rx="${num(Math.min(radius, lw))}"` : "") + "/>");
  }
}

function textShapes(node, cs, clip, o, out) {
  const color = visibleColor(cs.color);
  if (!color) return;
  const size = parseFloat(cs.fontSize) || 14;
  const family = cs.fontFamily.replace(/"/g, "'");
  const weight = cs.fontWeight;
  const italic = cs.fontStyle === "italic" ? ' font-style="italic"' : "";
  for (const line of textLines(node)) {
    if (line.top > clip.bottom || line.top + line.height < clip.top || line.left > clip.right) continue;
    const baseline = line.top + line.height / 2 + size * 0.35; // the middle of the line box, down to the baseline
    out.push(`<text x="${num(line.left - o.x)}" y="${num(baseline - o.y)}" font-family="${xml(family)}" font-size="${num(size)}" font-weight="${weight}"${italic} fill="${color}">${xml(transformed(line.text, cs.textTransform))}</text>`);
  }
}

/** An <svg> already on the page, copied with its computed styles as attributes. */
function svgShape(svg, r, o, out) {
  const copy = svg.cloneNode(true);
  const originals = [svg, ...svg.querySelectorAll("*")];
  const copies = [copy, ...copy.querySelectorAll("*")];
  const styles = new Map(originals.map((el) => [el, getComputedStyle(el)]));
  originals.forEach((el, i) => {
    const c = copies[i];
    const cs = styles.get(el);
    const parent = el === svg ? null : styles.get(el.parentElement); // inherited values need not be repeated
    for (const prop of SVG_PROPS) {
      let v = cs.getPropertyValue(prop);
      if (!v || v === "normal" || v === "auto" || (parent && parent.getPropertyValue(prop) === v)) continue;
      if (COLOR_PROPS.has(prop)) v = plainColor(v);
      if (v) c.setAttribute(prop, v);
    }
    c.removeAttribute("class");
    c.removeAttribute("style");
    for (const attr of [...c.attributes]) {
      if (/^on/i.test(attr.name) || ((attr.name === "href" || attr.name === "xlink:href") && !attr.value.startsWith("#"))) c.removeAttribute(attr.name);
    }
  });
  copy.setAttribute("x", num(r.left - o.x));
  copy.setAttribute("y", num(r.top - o.y));
  copy.setAttribute("width", num(r.width));
  copy.setAttribute("height", num(r.height));
  if (!copy.hasAttribute("viewBox")) copy.setAttribute("viewBox", `0 0 ${num(r.width)} ${num(r.height)}`);
  copy.setAttribute("overflow", "visible");
  out.push(new XMLSerializer().serializeToString(copy));
}

/** Paint order as the page stacks it: a positioned element with a z-index above 0 (the links
 *  layer 2, component boxes 4, message dots 5) and its insides go to that layer, drawn later. */
function layerFor(el, cs, out, layers) {
  const z = Number(cs.zIndex);
  if (cs.position === "static" || !Number.isFinite(z) || z <= 0) return out;
  if (!layers.has(z)) layers.set(z, []);
  return layers.get(z);
}

function walk(el, clip, o, parentOut, layers) {
  const cs = getComputedStyle(el);
  if (hiddenEl(el, cs)) return;
  const r = el.getBoundingClientRect();
  const out = layerFor(el, cs, parentOut, layers);
  if (el instanceof SVGSVGElement) {
    if (intersects(r, clip)) svgShape(el, r, o, out);
    return;
  }
  if (el instanceof SVGElement) return; // an svg's insides are copied with it
  const component = el.dataset?.component;
  if (component) out.push(`<g data-component="${xml(component)}">`);
  if (intersects(r, clip)) boxShapes(el, cs, r, o, out);
  if (el.matches("input, select, textarea")) {
    // a form field shows its value (a select its chosen option)
    const value = el.matches("select") ? el.selectedOptions[0]?.textContent ?? "" : el.type === "checkbox" || el.type === "radio" ? (el.checked ? "☑" : "☐") : el.value;
    if (value && intersects(r, clip)) {
      out.push(`<text x="${num(r.left - o.x + 6)}" y="${num(r.top - o.y + r.height / 2 + (parseFloat(cs.fontSize) || 14) * 0.35)}" font-family="${xml(cs.fontFamily.replace(/"/g, "'"))}" font-size="${num(parseFloat(cs.fontSize) || 14)}" fill="${visibleColor(cs.color) ?? "black"}">${xml(value)}</text>`);
    }
  } else {
    for (const child of el.childNodes) {
      if (child.nodeType === Node.TEXT_NODE && child.data.trim()) textShapes(child, cs, clip, o, out);
      else if (child.nodeType === Node.ELEMENT_NODE) walk(child, clip, o, out, layers);
    }
  }
  if (component) out.push("</g>");
}

function defaultRoot() {
  return document.querySelector("[data-kiosk-framed='true']") ?? document.getElementById("stage") ?? document.body;
}

/** `root` as it shows now, as standalone SVG text. */
export function exportSvg(root = defaultRoot(), { title = document.title } = {}) {
  const box = root.getBoundingClientRect();
  // a scrolling root is cut to what it shows; a framed panel to its box inside the viewport
  const clip = { left: box.left, top: box.top, right: box.left + root.clientWidth || box.right, bottom: box.top + root.clientHeight || box.bottom };
  clip.right = Math.min(clip.right, box.right);
  clip.bottom = Math.min(clip.bottom, box.bottom);
  const o = { x: clip.left, y: clip.top };
  const width = clip.right - clip.left;
  const height = clip.bottom - clip.top;
  const page = visibleColor(getComputedStyle(document.body).backgroundColor) ?? "rgb(255,255,255)";
  const out = [];
  const layers = new Map();
  walk(root, clip, o, out, layers);
  const above = [...layers.keys()].sort((a, b) => a - b).flatMap((z) => layers.get(z));
  return [
    `<svg xmlns="${SVG_NS}" width="${num(width)}" height="${num(height)}" viewBox="0 0 ${num(width)} ${num(height)}" data-theme="${xml(document.documentElement.dataset.theme ?? "light")}">`,
    `<title>${xml(title)}</title>`,
    `<defs><clipPath id="view"><rect x="0" y="0" width="${num(width)}" height="${num(height)}"/></clipPath></defs>`,
    `<rect x="0" y="0" width="${num(width)}" height="${num(height)}" fill="${page}"/>`,
    `<g clip-path="url(#view)">`,
    ...out,
    ...above,
    "</g></svg>",
  ].join("\n");
}

/** The header's "Export SVG" button: downloads the view as <cluster>-<time>.svg. */
export function bindExportButton(button, { name, time }) {
  if (!button) return;
  button.addEventListener("click", () => {
    const text = exportSvg();
    const url = URL.createObjectURL(new Blob([text], { type: "image/svg+xml" }));
    const a = Object.assign(document.createElement("a"), { href: url, download: `${name}-${Number(time()).toFixed(3)}s.svg` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });
}

window.clusterscopeExport = { svg: (selector) => exportSvg(selector ? document.querySelector(selector) : undefined) };
