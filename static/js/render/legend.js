// The legend, generated from the tables in theme.js so it can never disagree with the drawing:
// one colour and one shape per kind of component, then the marks used for messages and faults.

import { gettext } from "../i18n.js";
import { COMPONENT_KINDS, kindIcon, svgEl } from "../theme.js";

function item(glyph, label) {
  const li = document.createElement("li");
  li.append(glyph, document.createTextNode(label));
  return li;
}

function glyph(build) {
  const svg = svgEl("svg", { class: "glyph", viewBox: "-16 -10 32 20", "aria-hidden": "true", focusable: "false" });
  build(svg);
  return svg;
}

const cross = (s) => `M ${-s} ${-s} L ${s} ${s} M ${s} ${-s} L ${-s} ${s}`;

export function renderLegend(container) {
  const kinds = document.createElement("ul");
  kinds.setAttribute("aria-label", gettext("Components"));
  for (const kind of COMPONENT_KINDS) kinds.appendChild(item(kindIcon(kind, 20), kind.label));

  const marks = document.createElement("ul");
  marks.setAttribute("aria-label", gettext("Messages and faults"));
  marks.append(
    item(
      glyph((svg) => {
        svg.append(svgEl("line", { class: "flight-line kind-etcd", x1: -15, y1: 0, x2: 15, y2: 0 }));
        const g = svgEl("g", { class: "msg kind-etcd" });
        g.appendChild(svgEl("circle", { class: "body", r: 6.5 }));
        svg.appendChild(g);
      }),
      gettext("request (sender's colour)"),
    ),
    item(
      glyph((svg) => {
        svg.append(svgEl("line", { class: "flight-line kind-etcd", x1: -15, y1: 0, x2: 15, y2: 0 }));
        const g = svgEl("g", { class: "msg response kind-etcd" });
        g.appendChild(svgEl("circle", { class: "body", r: 6 }));
        svg.appendChild(g);
      }),
      gettext("response"),
    ),
    item(
      glyph((svg) => {
        const g = svgEl("g", { class: "msg msg-drop kind-etcd", opacity: 0.9 });
        g.append(svgEl("circle", { class: "body", r: 6 }), svgEl("path", { class: "cross-halo", d: cross(7) }), svgEl("path", { class: "cross", d: cross(7) }));
        svg.appendChild(g);
      }),
      gettext("dropped"),
    ),
    item(
      glyph((svg) => {
        const mark = svgEl("g", { class: "cut-mark" });
        mark.append(svgEl("path", { class: "cross-halo", d: cross(5) }), svgEl("path", { class: "cross", d: cross(5) }));
        svg.append(svgEl("line", { class: "cut-line", x1: -16, y1: 0, x2: 16, y2: 0 }), mark);
      }),
      gettext("link cut by a partition"),
    ),
    item(
      glyph((svg) => {
        svg.append(
          svgEl("rect", { x: -14, y: -8, width: 28, height: 16, rx: 3, fill: "var(--hatch)", stroke: "var(--bad)", "stroke-width": 2, "stroke-dasharray": "4 3" }),
          svgEl("path", { d: cross(5), stroke: "var(--bad)", "stroke-width": 3, "stroke-linecap": "round" }),
        );
      }),
      gettext("crashed"),
    ),
  );
  const sep = document.createElement("span");
  sep.className = "legend-sep";
  sep.setAttribute("aria-hidden", "true");
  container.append(kinds, sep, marks);
}
