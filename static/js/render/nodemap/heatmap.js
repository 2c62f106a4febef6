// The heat map's canvas: a grid of cells (a group of nodes, or one node), each filled with its
// metric's colour on a colour-blind-safe scale (viridis), its words inside when there is room,
// and trouble never by colour alone: a cell with nodes not Ready gets a dashed red outline, a
// hatch and "✕ n" (a node cell a ✕). Drawn only when asked (the data or the focus changed), not
// every animation frame.
//
//   const map = createHeatmap(canvas);
//   map.draw(cells, { focus, kind: "group" | "node" });   cells: [{label, sub, value, bad, failing}]
//   map.cellAt(clientX, clientY) -> index | -1;  map.clientRect(index) -> DOMRect

import { box } from "../geometry.js";

const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
const GROUP_W_EM = 10.5;
const GROUP_H_EM = 4.1;
const GAP = 3;
const NODE_MAX_HEIGHT = 440; // px a node grid may take before its cells shrink

/** The scale's colour at v in [0, 1], as [r, g, b]. */
export function scaleColour(v) {
  const x = Math.min(1, Math.max(0, Number(v) || 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  return VIRIDIS[i].map((c, k) => Math.round(c + (VIRIDIS[i + 1][k] - c) * f));
}

const rgb = (c) => `rgb(${c[0]} ${c[1]} ${c[2]})`;
const light = (c) => 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2] > 140;

export function createHeatmap(canvas) {
  let layout = { cols: 1, w: 0, h: 0, n: 0 };

  function measure(n, kind) {
    const em = parseFloat(getComputedStyle(canvas).fontSize) || 16;
    const width = Math.max(120, canvas.parentElement?.clientWidth || canvas.clientWidth || 600);
    let w;
    let h;
    if (kind === "group") {
      const cols = Math.max(1, Math.min(n, Math.floor((width + GAP) / (GROUP_W_EM * em + GAP))));
      w = Math.floor((width + GAP) / cols) - GAP;
      h = Math.round(GROUP_H_EM * em);
    } else {
      const side = Math.max(14, Math.min(Math.round(3.2 * em), Math.floor(Math.sqrt((width * NODE_MAX_HEIGHT) / Math.max(1, n)))));
      w = h = side - GAP;
    }
    const cols = Math.max(1, Math.floor((width + GAP) / (w + GAP)));
    return { cols, w, h, n, width, em };
  }

  function hatch(ctx, x, y, w, h, colour) {
    ctx.save();
    ctx.beginPath();
    ctx.rect(x, y, w, h);
    ctx.clip();
    ctx.strokeStyle = colour;
    ctx.globalAlpha = 0.45;
    ctx.lineWidth = 1.5;
    for (let d = -h; d < w; d += 7) {
      ctx.moveTo(x + d, y + h);
      ctx.lineTo(x + d + h, y);
    }
    ctx.stroke();
    ctx.restore();
  }

  return {
    draw(cells, { focus = -1, kind = "group", focused = false } = {}) {
      layout = measure(cells.length, kind);
      const { cols, w, h, em } = layout;
      const rows = Math.max(1, Math.ceil(cells.length / cols));
      const cssW = layout.width;
      const cssH = rows * (h + GAP);
      const dpr = window.devicePixelRatio || 1;
      if (canvas.width !== Math.round(cssW * dpr) || canvas.height !== Math.round(cssH * dpr)) {
        canvas.width = Math.round(cssW * dpr);
        canvas.height = Math.round(cssH * dpr);
        canvas.style.height = `${cssH}px`;
      }
      const css = getComputedStyle(document.documentElement);
      const bad = css.getPropertyValue("--bad").trim() || "#d00";
      const fg = css.getPropertyValue("--fg").trim() || "#111";
      const ctx = canvas.getContext("2d");
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, cssW, cssH);
      ctx.textBaseline = "top";
      const font = (size, weight = 600) => `${weight} ${size}px system-ui, sans-serif`;
      cells.forEach((cell, i) => {
        const x = (i % cols) * (w + GAP);
        const y = Math.floor(i / cols) * (h + GAP);
        const colour = scaleColour(cell.value);
        ctx.fillStyle = rgb(colour);
        ctx.fillRect(x, y, w, h);
        const ink = light(colour) ? "#111" : "#fff";
        if (cell.bad > 0) {
          hatch(ctx, x, y, w, h, ink);
          ctx.save();
          ctx.setLineDash([5, 3]);
          ctx.lineWidth = 3;
          ctx.strokeStyle = bad;
          ctx.strokeRect(x + 1.5, y + 1.5, w - 3, h - 3);
          ctx.restore();
        }
        ctx.fillStyle = ink;
        if (kind === "group") {
          const pad = 0.4 * em;
          ctx.font = font(0.8 * em, 700);
          ctx.fillText(fit(ctx, cell.label, w - 2 * pad), x + pad, y + pad);
          ctx.font = font(0.72 * em, 500);
          ctx.fillText(fit(ctx, cell.sub, w - 2 * pad), x + pad, y + pad + 1.05 * em);
          if (cell.bad > 0 || cell.failing > 0) {
            const words = [cell.bad > 0 ? `✕ ${cell.bad.toLocaleString("en")}` : "", cell.failing > 0 ? `↻ ${cell.failing.toLocaleString("en")}` : ""].filter(Boolean).join("  ");
            ctx.font = font(0.78 * em, 800);
            ctx.fillText(fit(ctx, words, w - 2 * pad), x + pad, y + pad + 2.15 * em);
          }
        } else {
          if (cell.bad > 0) {
            ctx.font = font(Math.min(h * 0.7, 1.1 * em), 900);
            ctx.fillText("✕", x + 2, y + 1);
          } else if (cell.failing > 0 && w >= 16) {
            ctx.font = font(Math.min(h * 0.6, 0.9 * em), 800);
            ctx.fillText("↻", x + 2, y + 1);
          }
          if (w >= 30) {
            ctx.font = font(Math.min(0.7 * em, h * 0.32), 600);
            const short = cell.short ?? cell.label;
            ctx.fillText(fit(ctx, short, w - 4), x + 2, y + h - Math.min(0.7 * em, h * 0.32) - 3);
          }
        }
        if (i === focus) {
          // two rings, the page's ink outside and the cell's contrast inside: seen on any colour
          ctx.save();
          ctx.lineWidth = focused ? 4 : 2;
          ctx.strokeStyle = fg;
          ctx.strokeRect(x - 1, y - 1, w + 2, h + 2);
          if (focused) {
            ctx.lineWidth = 2;
            ctx.strokeStyle = ink === "#fff" ? "#fff" : "#111";
            ctx.strokeRect(x + 2, y + 2, w - 4, h - 4);
          }
          ctx.restore();
        }
      });
    },
    /** The cell under a point (client coordinates), or -1. */
    cellAt(clientX, clientY) {
      const r = canvas.getBoundingClientRect();
      const x = clientX - r.left;
      const y = clientY - r.top;
      const { cols, w, h, n } = layout;
      const col = Math.floor(x / (w + GAP));
      const row = Math.floor(y / (h + GAP));
      if (col < 0 || col >= cols || row < 0 || x - col * (w + GAP) > w || y - row * (h + GAP) > h) return -1;
      const i = row * cols + col;
      return i < n ? i : -1;
    },
    /** A cell's rectangle on the page (messages fly to it). */
    clientRect(i) {
      const r = box(canvas) ?? canvas.getBoundingClientRect(); // the frame's start (geometry.js): many messages fly to cells
      const { cols, w, h } = layout;
      return new DOMRect(r.left + (i % cols) * (w + GAP), r.top + Math.floor(i / cols) * (h + GAP), w, h);
    },
    columns: () => layout.cols,
  };
}

function fit(ctx, text, width) {
  let s = String(text ?? "");
  if (ctx.measureText(s).width <= width) return s;
  while (s.length > 1 && ctx.measureText(`${s}…`).width > width) s = s.slice(0, -1);
  return `${s}…`;
}
