// Where boxes are, read once a frame before anything is written (issue 12: the frame rate).
//
// Asking where a box is (getBoundingClientRect, scrollHeight, offsetParent) after a renderer has
// written to the page makes the browser lay the whole page out again before it answers: about
// 10 ms on the classroom page, and five renderers asking after each other's writes took most of
// every frame. So the boxes renderers ask for are measured here, together, at the start of each
// frame (main.js calls beginFrame first), when the browser has just laid the page out to paint
// it and the reads cost nothing. A renderer gets where a box was in the frame just painted: at
// most one frame late, which no eye can tell. A box asked for the first time is measured on the
// spot, then kept current at each frame start for as long as someone asks for it.
//
// Writes that need a fresh frame (restarting a CSS animation, following the end of a scrolled
// list) wait for the next frame start too: `nextFrame(fn)`.

const KEEP_FRAMES = 120; // a box not asked for this long is forgotten (a pod a request reaches now and then stays measured)
const boxes = new Map(); // element -> {rect, shown, asked}
const scrolls = new Map(); // element -> {left, top, width, height, clientWidth, clientHeight, asked}
const waiting = [];
let frameNo = 0;
let rootFont = 16;

function measureBox(el) {
  // offsetParent is null for an element not rendered (display: none, or inside one)
  const shown = el.isConnected !== false && el.offsetParent !== null;
  return { rect: shown ? el.getBoundingClientRect() : null, shown };
}

function measureScroll(el) {
  return { left: el.scrollLeft, top: el.scrollTop, width: el.scrollWidth, height: el.scrollHeight, clientWidth: el.clientWidth, clientHeight: el.clientHeight };
}

/** The start of an animation frame, before any renderer writes: every box asked for lately, measured at once. */
export function beginFrame() {
  frameNo += 1;
  for (const [el, entry] of boxes) {
    // a stand-in that is not an element (a heat-map cell: nodemap/view.js anchorFor) is kept one frame only
    const keep = el instanceof Element ? KEEP_FRAMES : 1;
    if (entry.asked < frameNo - keep || el.isConnected === false) boxes.delete(el);
    else Object.assign(entry, measureBox(el));
  }
  for (const [el, entry] of scrolls) {
    if (entry.asked < frameNo - KEEP_FRAMES || el.isConnected === false) scrolls.delete(el);
    else Object.assign(entry, measureScroll(el));
  }
  rootFont = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
  for (const fn of waiting.splice(0)) fn();
}

/** The element's box in viewport coordinates (a DOMRect) as of this frame's start, or null if it is not rendered. */
export function box(el) {
  let entry = boxes.get(el);
  if (!entry) {
    entry = measureBox(el);
    boxes.set(el, entry);
  }
  entry.asked = frameNo;
  return entry.rect;
}

/** The element's scroll offsets and sizes as of this frame's start. */
export function scroll(el) {
  let entry = scrolls.get(el);
  if (!entry) {
    entry = measureScroll(el);
    scrolls.set(el, entry);
  }
  entry.asked = frameNo;
  return entry;
}

/** The root font size in px (rem), as of this frame's start. */
export function rem() {
  return rootFont;
}

/** The element's box in the coordinates of a scrolling container's content (the stage's SVG layers): centre, half sizes, edges. */
export function boxIn(container, el) {
  const r = box(el);
  if (!r) return null;
  const base = box(container);
  if (!base) return null;
  const s = scroll(container);
  const left = r.left - base.left + s.left;
  const top = r.top - base.top + s.top;
  return { cx: left + r.width / 2, cy: top + r.height / 2, hw: r.width / 2, hh: r.height / 2, left, top, right: left + r.width, bottom: top + r.height, width: r.width, height: r.height };
}

/** Run fn at the start of the next frame, after the boxes are measured (a write that needs the page laid out first). */
export function nextFrame(fn) {
  waiting.push(fn);
}

/** Play a CSS animation (a class) from its start again, without forcing a layout: off now, on at the next frame. */
export function restartAnimation(el, cls) {
  el.classList.remove(cls);
  nextFrame(() => el.classList.add(cls));
}
