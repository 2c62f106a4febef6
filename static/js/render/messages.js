// Messages in flight, drawn from the model on every animation frame (RaftScope style):
// a message is a dot on the line from its sender's box to its receiver's box, at the
// fraction of its flight that has passed in VIRTUAL time (model.messageProgress). Nothing is
// tweened: pause the clock and every dot stops where the simulation says it is.
//
//   request  filled dot in the sender's colour        response  ring in the sender's colour
//   dropped  the dot stops where it was lost, falls a little and fades under a red ✕
//   cut link (partition): a dashed red line with a ✕ between the two sides
//
// Each direction of a link has its own lane (offset to its right), so a request and its
// reply never hide each other. With prefers-reduced-motion nothing moves: each link with
// messages in flight is drawn once as a static arrow labelled with what is on it, and drops
// are static crosses. The "Messages in flight" list says the same in words (screen readers).
//
// Panels may say more about their own messages through `describe(m)`, which returns null (a
// plain dot) or {shape: "circle" | "square" | "pill", label, text, response, outcome: "ok" |
// "bad" | null, variant, short}: the dot then wears that shape with its label inside (an
// AppendEntries square with its entry count, a vote reply ring with ✓ or ✕); `text` names the
// message in the list, `short` (or `text`) on the static arrows.
//
// More messages in flight than eyes can follow (sampling.js: over MAX_DRAWN): a sample of them
// is drawn, 1 in k by id, and a line over the stage says the rest: "1,240 watch events/s ·
// 3,100 messages/s in all · 150 of 1,390 in flight drawn (1 in 10)".

import { gettext, interpolate } from "../i18n.js";
import { connected, messagePhase, messageProgress } from "../model.js";
import { isResponse, kindInfo, svgEl } from "../theme.js";
import { boxIn, rem, scroll } from "./geometry.js";
import { createSampler } from "./sampling.js";

const MAX_DOTS = 400;
const LANE = 7; // px between the two directions of a link
const GAP = 5; // px between a box edge and where a message starts or ends
const DOT_R_EM = 0.5; // dots scale with the type: 8 px on a laptop, 9.5 px on a projector
const GLYPH_SCALE = 1.22; // a described message carries a label: a little larger, to be read
const DROP_FALL = 28; // px a dropped message falls while it fades
const LIST_EVERY_MS = 250;
const MAX_LISTED = 60;
const MAX_CUT_LINKS = 60;

/** How long (virtual seconds) a dropped message stays visible: about 1.5 s of wall time. */
export function lingerSeconds(speed) {
  return 1.5 * (Number(speed) > 0 ? speed : 1);
}

function edgePoint(rect, towardX, towardY) {
  const dx = towardX - rect.cx;
  const dy = towardY - rect.cy;
  if (dx === 0 && dy === 0) return [rect.cx, rect.cy];
  const tx = dx === 0 ? Infinity : (rect.hw + GAP) / Math.abs(dx);
  const ty = dy === 0 ? Infinity : (rect.hh + GAP) / Math.abs(dy);
  const t = Math.min(tx, ty, 1);
  return [rect.cx + dx * t, rect.cy + dy * t];
}

/** The lane a message travels: from the sender's edge to the receiver's edge, offset to its right. */
function lane(a, b, offset = LANE) {
  const [x1, y1] = edgePoint(a, b.cx, b.cy);
  const [x2, y2] = edgePoint(b, a.cx, a.cy);
  const len = Math.hypot(x2 - x1, y2 - y1) || 1;
  const nx = (-(y2 - y1) / len) * offset;
  const ny = ((x2 - x1) / len) * offset;
  return { x1: x1 + nx, y1: y1 + ny, x2: x2 + nx, y2: y2 + ny, len };
}

function crossPath(x, y, s) {
  return `M ${x - s} ${y - s} L ${x + s} ${y + s} M ${x + s} ${y - s} L ${x - s} ${y + s}`;
}

function fmt(n) {
  return n.toFixed(1);
}

/** The drawing of one dot: the body in the message's shape, and its label. */
function glyphParts(glyph, r) {
  const parts = [];
  if (glyph.shape === "square") {
    const s = r * 0.95;
    parts.push(svgEl("rect", { class: "body", x: (-s).toFixed(1), y: (-s).toFixed(1), width: (2 * s).toFixed(1), height: (2 * s).toFixed(1), rx: 2.5 }));
  } else if (glyph.shape === "pill") {
    const h = r * 0.95;
    const w = Math.max(h, (String(glyph.label ?? "").length * r * 0.62) / 2 + h * 0.6);
    parts.push(svgEl("rect", { class: "body", x: (-w).toFixed(1), y: (-h).toFixed(1), width: (2 * w).toFixed(1), height: (2 * h).toFixed(1), rx: h.toFixed(1) }));
  } else {
    parts.push(svgEl("circle", { class: "body", r: (glyph.small ? r * 0.85 : r).toFixed(1), cx: 0, cy: 0 }));
  }
  if (glyph.label) {
    const text = svgEl("text", { class: "msg-label", "text-anchor": "middle", "dominant-baseline": "central", "font-size": (r * (glyph.shape === "pill" ? 1.0 : 1.15)).toFixed(1) });
    text.textContent = String(glyph.label);
    parts.push(text);
  }
  return parts;
}

export function createMessagesView({ stage, linksSvg, dotsSvg, locateBox, kindOf, list, listSummary, listDetails, describe = () => null, hide = () => false }) {
  const dotEls = new Map(); // message id -> <g>
  const flightEls = new Map(); // message id -> <line> (faint guide, links layer)
  const staticEls = new Map(); // "a>b" -> {g, line, head, label} (reduced motion)
  const cutEls = new Map(); // "a|b" -> {g, line, cross}
  const staticDrops = new Map(); // message id -> <g> (reduced motion)
  const sampler = createSampler();
  const rateEl = document.createElement("p"); // the rates in words while only a sample is drawn
  rateEl.className = "msg-rates";
  rateEl.hidden = true;
  stage.append(rateEl);
  const linksGroup = svgEl("g", { class: "links" });
  const cutsGroup = svgEl("g", { class: "cuts" });
  linksSvg.append(cutsGroup, linksGroup);
  let lastList = 0;
  let listVersion = -1;
  let width = 0;
  let height = 0;
  let rects = new Map();
  let dotR = 8;

  function rectOf(name) {
    if (rects.has(name)) return rects.get(name);
    const el = locateBox(name);
    const rect = el ? boxIn(stage, el) : null; // measured at the frame's start (geometry.js)
    rects.set(name, rect);
    return rect;
  }

  function sizeLayers() {
    const { width: w, height: h } = scroll(stage);
    if (w !== width || h !== height) {
      width = w;
      height = h;
      for (const svg of [linksSvg, dotsSvg]) {
        svg.setAttribute("width", w);
        svg.setAttribute("height", h);
        svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
      }
    }
  }

  function kindClass(name) {
    return `kind-${kindInfo(kindOf(name)).id}`;
  }

  // --- partitions: cut links between components on different sides -----------------------
  function drawCuts(model) {
    const seen = new Set();
    const names = [...model.components.keys()].filter((n) => model.network.partitions.some((g) => g.includes(n)));
    outer: for (let i = 0; i < names.length; i += 1) {
      for (let j = i + 1; j < names.length; j += 1) {
        const a = names[i];
        const b = names[j];
        if (connected(model, a, b)) continue;
        const ra = rectOf(a);
        const rb = rectOf(b);
        if (!ra || !rb) continue;
        const key = `${a}|${b}`;
        seen.add(key);
        let el = cutEls.get(key);
        if (!el) {
          const g = svgEl("g", { class: "cut-link" });
          const line = svgEl("line", { class: "cut-line" });
          const mark = svgEl("g", { class: "cut-mark" });
          const halo = svgEl("path", { class: "cross-halo" });
          const cross = svgEl("path", { class: "cross" });
          mark.append(halo, cross);
          g.append(line, mark);
          cutsGroup.appendChild(g);
          el = { g, line, halo, cross };
          cutEls.set(key, el);
        }
        const l = lane(ra, rb, 0);
        el.line.setAttribute("x1", fmt(l.x1));
        el.line.setAttribute("y1", fmt(l.y1));
        el.line.setAttribute("x2", fmt(l.x2));
        el.line.setAttribute("y2", fmt(l.y2));
        const d = crossPath((l.x1 + l.x2) / 2, (l.y1 + l.y2) / 2, 7);
        el.halo.setAttribute("d", d);
        el.cross.setAttribute("d", d);
        if (seen.size >= MAX_CUT_LINKS) break outer;
      }
    }
    for (const [key, el] of cutEls) {
      if (!seen.has(key)) {
        el.g.remove();
        cutEls.delete(key);
      }
    }
  }

  // --- moving dots ---------------------------------------------------------------------------
  const glyphs = new WeakMap(); // message -> describe(m), asked once
  function glyphOf(m) {
    if (!glyphs.has(m)) glyphs.set(m, describe(m) ?? null);
    return glyphs.get(m);
  }

  function textOf(m) {
    return glyphOf(m)?.text ?? m.kind;
  }

  function dotClass(m) {
    const glyph = glyphOf(m);
    const response = glyph ? glyph.response : isResponse(m.kind);
    let cls = `msg msg-dot ${kindClass(m.source)}${response ? " response" : ""}`;
    if (glyph) cls += ` glyph-${glyph.shape ?? "circle"}${glyph.outcome ? ` outcome-${glyph.outcome}` : ""}${glyph.variant ? ` ${glyph.variant}` : ""}`;
    return cls;
  }

  function dotFor(m) {
    let g = dotEls.get(m.id);
    if (!g) {
      const glyph = glyphOf(m);
      g = svgEl("g", { class: dotClass(m) });
      g.dataset.msg = String(m.id);
      if (glyph) {
        g.dataset.rpc = glyph.rpc ?? "";
        g.append(...glyphParts(glyph, dotR * GLYPH_SCALE));
      } else {
        g.appendChild(svgEl("circle", { class: "body", r: dotR.toFixed(1), cx: 0, cy: 0 }));
      }
      const title = svgEl("title");
      title.textContent = `${m.source} → ${m.target}: ${textOf(m)}`;
      g.appendChild(title);
      dotsSvg.appendChild(g);
      dotEls.set(m.id, g);
    }
    return g;
  }

  function guideFor(m) {
    let line = flightEls.get(m.id);
    if (!line) {
      line = svgEl("line", { class: `flight-line ${kindClass(m.source)}` });
      linksGroup.appendChild(line);
      flightEls.set(m.id, line);
    }
    return line;
  }

  function drawMoving(model, t, linger, visible) {
    const seenDots = new Set();
    const seenGuides = new Set();
    for (const { m, phase, a, b } of visible) {
      const l = lane(a, b);
      const p = messageProgress(m, t);
      const x = l.x1 + (l.x2 - l.x1) * p;
      const y = l.y1 + (l.y2 - l.y1) * p;
      const g = dotFor(m);
      seenDots.add(m.id);
      if (phase === "dropped") {
        const fade = Math.min(1, Math.max(0, (t - m.droppedAt) / linger));
        if (!g.classList.contains("msg-drop")) {
          g.classList.add("msg-drop");
          g.append(svgEl("path", { class: "cross-halo", d: crossPath(0, 0, 9) }), svgEl("path", { class: "cross", d: crossPath(0, 0, 9) }));
        }
        g.setAttribute("transform", `translate(${fmt(x)} ${fmt(y + DROP_FALL * fade)})`);
        g.setAttribute("opacity", (1 - fade * fade).toFixed(3));
      } else {
        g.setAttribute("transform", `translate(${fmt(x)} ${fmt(y)})`);
        const guide = guideFor(m);
        seenGuides.add(m.id);
        guide.setAttribute("x1", fmt(l.x1));
        guide.setAttribute("y1", fmt(l.y1));
        guide.setAttribute("x2", fmt(l.x2));
        guide.setAttribute("y2", fmt(l.y2));
      }
    }
    for (const [id, g] of dotEls) {
      if (!seenDots.has(id)) {
        g.remove();
        dotEls.delete(id);
      }
    }
    for (const [id, line] of flightEls) {
      if (!seenGuides.has(id)) {
        line.remove();
        flightEls.delete(id);
      }
    }
  }

  // --- reduced motion: static arrows per directed link, static crosses -------------------------
  function drawStatic(model, t, visible) {
    const byLink = new Map();
    const drops = [];
    for (const item of visible) {
      if (item.phase === "dropped") {
        drops.push(item);
        continue;
      }
      const key = `${item.m.source}>${item.m.target}`;
      const entry = byLink.get(key) ?? { a: item.a, b: item.b, source: item.m.source, kinds: new Map(), response: true, bad: false };
      const glyph = glyphOf(item.m);
      const name = glyph?.short ?? textOf(item.m); // arrows are short: a few characters each
      entry.kinds.set(name, (entry.kinds.get(name) ?? 0) + 1);
      entry.response = entry.response && (glyph ? glyph.response : isResponse(item.m.kind));
      entry.bad = entry.bad || glyph?.outcome === "bad";
      byLink.set(key, entry);
    }
    for (const [key, e] of byLink) {
      let el = staticEls.get(key);
      if (!el) {
        const g = svgEl("g", { class: `msg-static ${kindClass(e.source)}` });
        const line = svgEl("line", { class: "msg-link" });
        const head = svgEl("path", { class: "arrowhead" });
        const label = svgEl("text", { class: "msg-link-label", "text-anchor": "middle" });
        g.append(line, head, label);
        linksGroup.appendChild(g);
        el = { g, line, head, label };
        staticEls.set(key, el);
      }
      const l = lane(e.a, e.b, LANE + 2);
      el.line.classList.toggle("response", e.response);
      el.g.classList.toggle("outcome-bad", e.bad);
      el.line.setAttribute("x1", fmt(l.x1));
      el.line.setAttribute("y1", fmt(l.y1));
      const ux = (l.x2 - l.x1) / l.len;
      const uy = (l.y2 - l.y1) / l.len;
      const hx = l.x2 - ux * 12;
      const hy = l.y2 - uy * 12;
      el.line.setAttribute("x2", fmt(hx));
      el.line.setAttribute("y2", fmt(hy));
      el.head.setAttribute("d", `M ${fmt(l.x2)} ${fmt(l.y2)} L ${fmt(hx - uy * 7)} ${fmt(hy + ux * 7)} L ${fmt(hx + uy * 7)} ${fmt(hy - ux * 7)} Z`);
      const text = [...e.kinds].map(([k, n]) => (n > 1 ? `${k} ×${n}` : k)).join(", ");
      if (el.label.textContent !== text) el.label.textContent = text;
      el.label.setAttribute("x", fmt((l.x1 + l.x2) / 2 - uy * 14));
      el.label.setAttribute("y", fmt((l.y1 + l.y2) / 2 + ux * 14 + 4));
    }
    for (const [key, el] of staticEls) {
      if (!byLink.has(key)) {
        el.g.remove();
        staticEls.delete(key);
      }
    }
    // drops: a cross where the message was lost, no movement
    const seen = new Set();
    for (const { m, a, b } of drops) {
      const l = lane(a, b);
      const p = messageProgress(m, t);
      let g = staticDrops.get(m.id);
      if (!g) {
        const glyph = glyphOf(m);
        g = svgEl("g", { class: `${dotClass(m).replace("msg-dot", "msg-drop")}` });
        g.dataset.msg = String(m.id);
        g.append(...(glyph ? glyphParts(glyph, dotR * GLYPH_SCALE) : [svgEl("circle", { class: "body", r: dotR.toFixed(1), cx: 0, cy: 0 })]), svgEl("path", { class: "cross-halo", d: crossPath(0, 0, 9) }), svgEl("path", { class: "cross", d: crossPath(0, 0, 9) }));
        dotsSvg.appendChild(g);
        staticDrops.set(m.id, g);
      }
      seen.add(m.id);
      g.setAttribute("transform", `translate(${fmt(l.x1 + (l.x2 - l.x1) * p)} ${fmt(l.y1 + (l.y2 - l.y1) * p)})`);
    }
    for (const [id, g] of staticDrops) {
      if (!seen.has(id)) {
        g.remove();
        staticDrops.delete(id);
      }
    }
  }

  function clear(map, key = "g") {
    for (const v of map.values()) (v instanceof Element ? v : v[key]).remove();
    map.clear();
  }

  // --- the words: "Messages in flight" -------------------------------------------------------
  function drawList(model, t, linger, now) {
    if (now - lastList < LIST_EVERY_MS && listVersion === model.versions.reset) return;
    lastList = now;
    listVersion = model.versions.reset;
    const items = [];
    for (const m of model.messages.values()) {
      const phase = messagePhase(m, t, linger);
      if (phase === "done") continue;
      items.push({ m, phase });
    }
    const rates = sampler.summary();
    listSummary.textContent = interpolate(gettext("Messages in flight: %(n)s"), { n: items.filter((i) => i.phase === "flight").length }) + (rates ? ` · ${rates}` : "");
    if (rateEl.textContent !== rates) rateEl.textContent = rates;
    rateEl.hidden = !rates;
    if (!listDetails.open) return;
    items.sort((x, y) => x.m.arrives - y.m.arrives);
    const rows = items.slice(0, MAX_LISTED).map(({ m, phase }) => {
      const li = document.createElement("li");
      li.textContent =
        phase === "dropped"
          ? interpolate(gettext("%(from)s → %(to)s: %(what)s, dropped (%(reason)s) at %(time)s s"), { from: m.source, to: m.target, what: textOf(m), reason: m.reason ?? gettext("lost"), time: Number(m.droppedAt).toFixed(3) })
          : interpolate(gettext("%(from)s → %(to)s: %(what)s, arrives at %(time)s s"), { from: m.source, to: m.target, what: textOf(m), time: Number(m.arrives).toFixed(3) });
      return li;
    });
    if (items.length > MAX_LISTED) {
      const li = document.createElement("li");
      li.textContent = interpolate(gettext("… and %(n)s more"), { n: items.length - MAX_LISTED });
      rows.push(li);
    }
    list.replaceChildren(...rows);
  }

  return {
    update(model, t, { reduced, now }) {
      dotR = DOT_R_EM * rem();
      rects = new Map();
      sizeLayers();
      drawCuts(model);
      const linger = lingerSeconds(model.clock.speed);
      let visible = [];
      sampler.observe(model.messages.values(), now);
      for (const m of model.messages.values()) {
        const phase = messagePhase(m, t, linger);
        if (phase === "done" || !m.target || hide(m)) continue;
        const a = rectOf(m.source);
        const b = rectOf(m.target);
        if (!a || !b) continue;
        visible.push({ m, phase, a, b });
      }
      if (!reduced) visible = sampler.sample(visible, now); // more than eyes can follow: a sample, and the rates in words
      if (visible.length > MAX_DOTS) {
        visible.sort((x, y) => y.m.sent - x.m.sent);
        visible.length = MAX_DOTS;
      }
      if (reduced) {
        clear(flightEls);
        clear(dotEls);
        drawStatic(model, t, visible);
      } else {
        clear(staticEls);
        clear(staticDrops);
        drawMoving(model, t, linger, visible);
      }
      drawList(model, t, linger, now);
    },
  };
}
