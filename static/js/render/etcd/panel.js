// The etcd panel: the control plane's etcd zone, RaftScope's picture and more.
//
//   ┌ etcd ─────────────────────────────── [Partition…] [Heal network] [Keys & client] ┐
//   │ ✓ 3 of 3 alive, quorum 2: writes can commit   leader etcd-2 (term 1) · …          │
//   │                  ╭──────────────╮                                                 │
//   │                  │◔ etcd-0  LEADER│   members on a ring: every pair has its own line,│
//   │                  ╰──────────────╯   messages fly on it (render/messages.js, with   │
//   │      ╭──────────────╮     ╭──────────────╮   the glyphs of ./glyphs.js)             │
//   │      │◑ etcd-1 FOLLOWER│  │◕ etcd-2 FOLLOWER│                                       │
//   │ Raft logs  index 1 2 3 …  (./logs.js)                                             │
//   └──────────────────────────────────────────────────────────────────────────────────┘
//
// A member card: its role in words and in form (leader: solid ring and a crown; candidate and
// pre-candidate: amber, dashed or dotted; follower: plain; down: hatched, red, crossed out), term,
// vote, commit, applied, store revision, and a dial: for a follower or candidate the election
// timer draining toward its deadline in virtual time, for the leader its heartbeat rhythm.
// Click a card, or focus it and press Enter, for its menu (./menu.js): crash, restart, force an
// election timeout, isolate. The tools: a partition dialog (./partition.js), heal, and the
// "Keys & client" drawer (./client.js).
//
// Everything drawn comes from the model (appliers/etcd.js); actions go to the server (REST) and
// come back as events. Server strings are set as text, never as markup.

import { etcdMembers, memberTimer, quorumStatus } from "../../appliers/etcd.js";
import { gettext, interpolate, ngettext } from "../../i18n.js";
import { readOnlyReason } from "../../api.js";
import { connected, partitionSide } from "../../model.js";
import { kindIcon, kindInfo, svgEl } from "../../theme.js";
import { box } from "../geometry.js";
import { sideLabel } from "../components.js";
import { ringPositions } from "../controlplane.js";
import { createClientDrawer } from "./client.js";
import { GLYPH_LEGEND } from "./glyphs.js";
import { createLogTable } from "./logs.js";
import { createMemberMenu } from "./menu.js";
import { createPartitionTool } from "./partition.js";

const ROLE_TEXT = { leader: gettext("leader"), candidate: gettext("candidate"), "pre-candidate": gettext("pre-candidate"), follower: gettext("follower"), down: gettext("down") };
const REDUCED_STEPS = 8; // reduced motion: the dial moves in eighths, not smoothly
const TIMEOUT_ACTION = "timeout"; // POST /faults {"action": "timeout", "target"}: see static/README.md

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = String(text);
  return node;
}

function fact(label, value, className = "") {
  const span = el("span", `fact ${className}`.trim());
  span.append(el("span", "k", `${label} `), el("b", null, value));
  return span;
}

function roleOf(view) {
  return view.alive === false ? "down" : (view.role ?? "follower");
}

const CROWN = "M -5.8 3.4 L -6.6 -3.6 L -2.8 -0.2 L 0 -5.4 L 2.8 -0.2 L 6.6 -3.6 L 5.8 3.4 Z";

/**
 * The dial: a ring drawn by CSS (a conic gradient masked to a ring) whose sweep is the custom
 * property --p in [0, 1], around a core in the member's colour (a crown for the leader, "?" for
 * a candidate). Changing --p repaints; it never moves anything else on the page.
 */
function dial() {
  const host = el("div", "etcd-dial");
  host.setAttribute("aria-hidden", "true");
  const svg = svgEl("svg", { class: "dial-inner", viewBox: "-20 -20 40 40", focusable: "false" });
  const core = svgEl("circle", { class: "dial-core", r: 12 });
  const crown = svgEl("path", { class: "dial-crown", d: CROWN });
  const mark = svgEl("text", { class: "dial-mark", "text-anchor": "middle", "dominant-baseline": "central", y: 0.5 });
  svg.append(core, crown, mark);
  host.appendChild(svg);
  return { svg: host, mark };
}

function crashMark() {
  const svg = svgEl("svg", { class: "crash-mark", viewBox: "-10 -10 20 20", "aria-hidden": "true", focusable: "false" });
  svg.appendChild(svgEl("path", { d: "M -7 -7 L 7 7 M 7 -7 L -7 7", stroke: "currentColor", "stroke-width": 3.2, "stroke-linecap": "round", fill: "none" }));
  return svg;
}

function memberCard(view) {
  const card = el("article", "comp etcd-member kind-etcd");
  card.dataset.component = view.name;
  card.dataset.kind = String(view.kind ?? "etcd");
  card.tabIndex = 0;
  card.setAttribute("role", "button");
  card.setAttribute("aria-haspopup", "menu");
  card.setAttribute("aria-expanded", "false");
  const d = dial();
  const name = el("div", "comp-name", view.name);
  const role = el("div", "comp-role");
  const facts = el("div", "comp-facts");
  const timer = el("div", "etcd-timer-text");
  const badges = el("div", "comp-badges");
  card.append(d.svg, name, role, facts, timer, badges, crashMark());
  card._dial = d;
  card._timer = timer;
  return card;
}

function cardSignature(view, side, faults) {
  return JSON.stringify([view.alive, view.role, view.term, view.vote, view.leader, view.commit, view.applied, view.revision, view.log_length, view.log_kept, view.snapshot_index, view.votes, side, faults]);
}

export function createEtcdPanel({ zone, body, tools, quorumEl, drawer, partitionDialog, model, name, api, announce, showNotice }) {
  const ring = el("div", "etcd-ring2");
  const linksSvg = svgEl("svg", { class: "etcd-links", "aria-hidden": "true", focusable: "false" });
  const linksGroup = svgEl("g");
  linksSvg.appendChild(linksGroup);
  const membersEl = el("div", "etcd-members");
  membersEl.setAttribute("role", "group");
  membersEl.setAttribute("aria-label", gettext("etcd members: press Enter on a member for its actions"));
  ring.append(linksSvg, membersEl);
  const empty = el("div", "placeholder");
  empty.append(kindIcon(kindInfo("etcd"), 22), el("p", "placeholder-title", "etcd"), el("p", null, gettext("The etcd members appear here: a majority of them must agree before anything is true.")));
  const logsHost = el("div", "etcd-logs-host");
  const logs = createLogTable(logsHost);

  const cards = new Map(); // name -> card
  const linkEls = new Map(); // "a|b" -> {line, label}
  let timeoutUnsupported = false;
  let seen = "";
  let layoutKey = "";
  let quorumSig = "";
  let members = []; // the member views and the quorum, recomputed when the model changes
  let q = quorumStatus(model);
  let dense = false; // narrow cards (many members, a small screen): shorter words, role under the name
  let compact = false; // not wide enough for commit, applied and revision on one line: applied only when behind

  // --- actions --------------------------------------------------------------------------------
  async function fault(body, what) {
    try {
      await api.fault(name, body);
      announce(what);
      return null;
    } catch (err) {
      if (body.action === TIMEOUT_ACTION && err.status === 400 && err.field === "action") {
        timeoutUnsupported = true;
        showNotice(gettext("This server cannot force an election timeout yet (it has no “timeout” fault action). Crash the leader or isolate it to start an election."));
        return err.message;
      }
      showNotice(interpolate(gettext("Could not do it (%(what)s): %(error)s"), { what, error: err.message }));
      return err.message;
    }
  }

  function isolated(memberName) {
    const groups = model.network.partitions;
    return groups.some((g) => g.length === 1 && g[0] === memberName);
  }

  function menuEntries(view) {
    const down = roleOf(view) === "down";
    const entries = [];
    if (down) {
      entries.push({ action: "restart", label: interpolate(gettext("Restart %(name)s"), { name: view.name }), hint: gettext("It comes back from its disk (term, vote, log) and rebuilds its store.") });
    } else {
      entries.push({ action: "crash", label: interpolate(gettext("Crash %(name)s"), { name: view.name }), hint: gettext("It stops at once; its disk survives."), danger: true });
      const leader = view.role === "leader";
      entries.push({
        action: "timeout",
        label: gettext("Force an election timeout"),
        hint: timeoutUnsupported ? gettext("Not supported by this server yet.") : leader ? gettext("A leader has no election timer.") : gettext("As if its timer ran out now: it starts a (pre-)vote."),
        disabled: leader || timeoutUnsupported,
      });
    }
    if (model.network.partitions.length) entries.push({ action: "heal", label: gettext("Heal the network"), hint: gettext("Every link restored; loss and latency cleared.") });
    if (!isolated(view.name)) entries.push({ action: "isolate", label: interpolate(gettext("Isolate %(name)s"), { name: view.name }), hint: gettext("Cut it off from every other endpoint, clients included.") });
    return entries;
  }

  const menu = createMemberMenu({
    onAction(action, target) {
      switch (action) {
        case "crash":
          return fault({ action: "crash", target }, interpolate(gettext("Crashed %(name)s"), { name: target }));
        case "restart":
          return fault({ action: "restart", target }, interpolate(gettext("Restarted %(name)s"), { name: target }));
        case "isolate":
          return fault({ action: "isolate", target }, interpolate(gettext("Isolated %(name)s"), { name: target }));
        case "heal":
          return fault({ action: "heal" }, gettext("Healed the network"));
        case "timeout":
          return fault({ action: TIMEOUT_ACTION, target }, interpolate(gettext("Forced an election timeout on %(name)s"), { name: target }));
        default:
          return null;
      }
    },
  });

  function openMenu(card) {
    const view = model.components.get(card.dataset.component);
    if (!view) return;
    const role = roleOf(view);
    // a read-only viewer sees what a teacher could do, each item disabled with the reason
    const reason = readOnlyReason(name);
    const entries = reason ? menuEntries(view).map((e) => ({ ...e, disabled: true, hint: reason })) : menuEntries(view);
    menu.toggle(card, view.name, interpolate(gettext("%(name)s · %(role)s, term %(term)s"), { name: view.name, role: ROLE_TEXT[role] ?? role, term: view.term ?? "?" }), entries);
  }

  membersEl.addEventListener("click", (e) => {
    const card = e.target.closest(".etcd-member");
    if (card) openMenu(card);
  });
  membersEl.addEventListener("keydown", (e) => {
    const card = e.target.closest(".etcd-member");
    if (!card || e.target !== card) return;
    if (e.key === "Enter" || e.key === " " || e.key === "ArrowDown") {
      e.preventDefault();
      openMenu(card);
    }
  });

  const partition = createPartitionTool({
    dialog: partitionDialog,
    onApply: (groups) => fault({ action: "partition", groups }, interpolate(gettext("Partitioned the members into %(groups)s"), { groups: groups.map((g) => g.join(", ")).join(" | ") })),
  });
  tools.partition.addEventListener("click", () => {
    const q = quorumStatus(model);
    partition.open(
      etcdMembers(model).map((m) => m.name),
      { leaderName: q.leader, sideOf: (n) => partitionSide(model, n) },
    );
  });
  tools.heal.addEventListener("click", () => fault({ action: "heal" }, "Healed the network"));

  const client = createClientDrawer({
    drawer,
    toggle: tools.data,
    model,
    name,
    api,
    members: () => etcdMembers(model),
    leaderRevision: () => {
      const q = quorumStatus(model);
      const leader = q.leader ? model.components.get(q.leader) : null;
      return typeof leader?.revision === "number" ? leader.revision : (model.extra.etcd?.revision ?? null);
    },
    announce,
  });

  // the key to the message marks, one line under the ring
  const key = el("ul", "etcd-key");
  key.setAttribute("aria-label", gettext("etcd messages: what the marks mean"));
  for (const g of GLYPH_LEGEND) {
    const svg = svgEl("svg", { class: "glyph", viewBox: g.shape === "pill" ? "-15 -9 30 18" : "-9 -9 18 18", "aria-hidden": "true", focusable: "false" });
    const grp = svgEl("g", { class: `msg kind-${g.client ? "client" : "etcd"} glyph-${g.shape}${g.response ? " response" : ""}${g.outcome ? ` outcome-${g.outcome}` : ""}${g.variant ? ` ${g.variant}` : ""}` });
    if (g.shape === "square") grp.appendChild(svgEl("rect", { class: "body", x: -7, y: -7, width: 14, height: 14, rx: 2 }));
    else if (g.shape === "pill") grp.appendChild(svgEl("rect", { class: "body", x: -13.5, y: -7, width: 27, height: 14, rx: 7 }));
    else grp.appendChild(svgEl("circle", { class: "body", r: g.small ? 5.6 : 7.4 }));
    const t = svgEl("text", { class: "msg-label", "text-anchor": "middle", "dominant-baseline": "central", "font-size": g.shape === "pill" ? 8.5 : 9 });
    t.textContent = g.label;
    grp.appendChild(t);
    svg.appendChild(grp);
    const li = el("li");
    li.append(svg, document.createTextNode(g.text));
    if (g.title) li.title = g.title;
    key.appendChild(li);
  }

  // --- drawing ----------------------------------------------------------------------------------
  function faultsOf(memberName) {
    const f = model.network.faults?.endpoints?.[memberName];
    if (!f) return null;
    const parts = [];
    if (f.loss) parts.push(interpolate(gettext("%(percent)s loss"), { percent: `${Math.round(f.loss * 100)}%` }));
    if (f.latency_ms) parts.push(`+${Math.round(f.latency_ms)} ms`);
    return parts.join(", ") || null;
  }

  function updateCard(card, view, side, q, dense) {
    const faults = faultsOf(view.name);
    const sig = cardSignature(view, side, faults) + dense + compact;
    if (card._sig === sig) return;
    card._sig = sig;
    const role = roleOf(view);
    const down = role === "down";
    card.dataset.role = role;
    card.classList.toggle("is-crashed", down);
    card.classList.toggle("partitioned", side != null);
    for (const r of ["leader", "follower", "candidate", "precandidate"]) card.classList.toggle(`role-${r}`, role.replace("-", "") === r);
    card.querySelector(".comp-role").replaceChildren(el("span", "role", down ? gettext("✕ down") : ROLE_TEXT[role] ?? role));
    // two lines: who it follows or votes for, then how far its log and store are
    const election = [fact(gettext("term"), view.term ?? "?")];
    if (!down && Array.isArray(view.votes) && (role === "candidate" || role === "pre-candidate")) {
      election.push(fact(role === "candidate" ? gettext("votes") : gettext("pre-votes"), `${view.votes.length}/${q.size}`, view.votes.length >= q.quorum ? "won" : ""));
    } else if (!down && view.role !== "leader") {
      election.push(fact(gettext("vote"), view.vote ?? gettext("none")));
    } else if (down) {
      election.push(fact(gettext("vote"), view.vote ?? gettext("none")));
    }
    let progress;
    if (down) progress = [fact(gettext("log on disk"), view.log_kept ?? view.log_length ?? (view.log ?? []).length)];
    else if ((dense || compact) && view.applied === view.commit) progress = [fact(gettext("commit"), view.commit ?? 0), fact(gettext("rev"), view.revision ?? "?")]; // applied = commit: the log table shows it
    else progress = [fact(gettext("commit"), view.commit ?? 0), fact(gettext("applied"), view.applied ?? 0, "applied"), fact(gettext("rev"), view.revision ?? "?")];
    // the newest snapshot of its store (raft.snapshot, raft.restore): its log starts near there.
    // Short, with the other log numbers; "applied" makes room when it equals commit (the log
    // table shows it), and a narrow card drops the word (the title and the card's label keep it).
    if (view.snapshot_index) {
      if (!down && view.applied === view.commit) progress = progress.filter((f) => !f.classList.contains("applied"));
      const snap = fact(dense || compact ? "" : gettext("snap"), `@${view.snapshot_index}`, "snapshot");
      snap.title = interpolate(gettext("snapshot at index %(n)s"), { n: view.snapshot_index });
      progress.push(snap);
    }
    const line1 = el("span", "facts-line");
    line1.append(...election);
    const line2 = el("span", "facts-line");
    line2.append(...progress);
    card.querySelector(".comp-facts").replaceChildren(line1, line2);
    const badges = [];
    if (side != null) badges.push(el("span", "badge badge-side", sideLabel(side)));
    if (faults) badges.push(el("span", "badge badge-fault", faults));
    card.querySelector(".comp-badges").replaceChildren(...badges);
    card._dial.mark.textContent = down ? "" : role === "candidate" || role === "pre-candidate" ? "?" : "";
    const label = [`${view.name}, ${down ? gettext("down (crashed)") : ROLE_TEXT[role] ?? role}`, interpolate(gettext("term %(term)s"), { term: view.term ?? gettext("unknown") })];
    if (!down) label.push(interpolate(gettext("commit %(n)s"), { n: view.commit ?? 0 }), interpolate(gettext("store revision %(rev)s"), { rev: view.revision ?? gettext("unknown") }));
    if (view.snapshot_index) label.push(interpolate(gettext("snapshot at index %(n)s"), { n: view.snapshot_index }));
    if (side != null) label.push(sideLabel(side));
    label.push(gettext("Enter for actions"));
    card.setAttribute("aria-label", label.join(", "));
  }

  const TEXT_EVERY_MS = 200; // the countdown in words: often enough to read, rarely enough to be cheap

  function updateDial(card, view, t, reduced, now) {
    const timer = memberTimer(view, t, model);
    const role = roleOf(view);
    let fraction = 0;
    let text = "";
    let state = "none";
    if (timer?.kind === "heartbeat") {
      // the leader's rhythm: the ring fills toward the next heartbeat
      fraction = 1 - timer.fraction;
      text = dense ? interpolate(gettext("♥ heartbeat in %(n)s s"), { n: timer.remaining.toFixed(1) }) : interpolate(gettext("♥ every %(every)s s · next in %(n)s s"), { every: timer.total.toFixed(1), n: timer.remaining.toFixed(1) });
      state = "heartbeat";
    } else if (timer?.kind === "election") {
      fraction = timer.fraction;
      const what = role === "follower" ? (dense ? gettext("election timer: %(n)s s") : gettext("election timeout in %(n)s s")) : gettext("new election in %(n)s s");
      text = interpolate(what, { n: timer.remaining.toFixed(1) }) + (timer.estimated ? " (≈)" : "");
      state = fraction < 0.25 ? "low" : "election";
    } else if (role === "down") {
      text = dense ? gettext("crashed") : gettext("crashed: commit, store and timers lost");
    }
    if (reduced) fraction = Math.ceil(fraction * REDUCED_STEPS) / REDUCED_STEPS;
    const p = fraction.toFixed(3);
    if (card._arc !== p) {
      card._arc = p;
      card._dial.svg.style.setProperty("--p", p);
    }
    // a new kind of timer (a crash, a new role) shows its words at once; only the countdown is throttled
    const kindChanged = card._dialState !== state;
    if (kindChanged) {
      card._dialState = state;
      card.dataset.timer = state;
    }
    if (card._timerText !== text && (kindChanged || !(now - card._textAt < TEXT_EVERY_MS) || !text || !card._timerText)) {
      card._timerText = text;
      card._textAt = now;
      card._timer.textContent = text;
    }
  }

  // The links move only when the layout does: measure after a resize or a change of members,
  // roles or network, never on every frame. Boxes are those of the frame's start (geometry.js),
  // so a change is measured in two frames: now, and once the browser has laid it out.
  const MEASURE_FRAMES = 2;
  let linksDirty = MEASURE_FRAMES;
  let densityFor = -1; // member count the density was measured for

  /** Dense cards (role under the name, fewer words) when a card is narrow: many members, a small screen. */
  function measureDensity() {
    densityFor = members.length;
    const width = membersEl.firstElementChild?.offsetWidth ?? 0;
    const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    const next = members.length >= 6 || (width > 0 && width < 12.5 * rem);
    const nextCompact = width > 0 && width < 15.5 * rem;
    if (next !== dense || nextCompact !== compact) {
      dense = next;
      compact = nextCompact;
      ring.classList.toggle("dense", dense);
      seen = ""; // redraw the cards
    }
  }
  new ResizeObserver(() => {
    linksDirty = MEASURE_FRAMES;
    measureDensity();
  }).observe(ring);

  function drawLinks(members) {
    if (!linksDirty) return;
    linksDirty -= 1;
    // boxes as measured at the frame's start (geometry.js): a read after this frame's writes would force a layout
    const base = box(ring);
    if (!base) return;
    const w = Math.round(base.width);
    const h = Math.round(base.height);
    const centers = new Map();
    for (const m of members) {
      const card = cards.get(m.name);
      const r = card ? box(card) : null;
      if (r) centers.set(m.name, [r.left - base.left + r.width / 2, r.top - base.top + r.height / 2]);
    }
    const key = JSON.stringify([w, h, [...centers.values()].map((c) => c.map(Math.round)), model.network.partitions, model.network.faults, members.map((m) => roleOf(m))]);
    if (key === layoutKey) return;
    layoutKey = key;
    linksSvg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    linksSvg.setAttribute("width", w);
    linksSvg.setAttribute("height", h);
    const wanted = new Set();
    for (let i = 0; i < members.length; i += 1) {
      for (let j = i + 1; j < members.length; j += 1) {
        const a = members[i];
        const b = members[j];
        const ca = centers.get(a.name);
        const cb = centers.get(b.name);
        if (!ca || !cb) continue;
        const id = `${a.name}|${b.name}`;
        wanted.add(id);
        let link = linkEls.get(id);
        if (!link) {
          link = { g: svgEl("g", { class: "etcd-link" }), line: svgEl("line"), label: svgEl("text", { class: "etcd-link-label", "text-anchor": "middle" }) };
          link.g.append(link.line, link.label);
          linksGroup.appendChild(link.g);
          linkEls.set(id, link);
        }
        const cut = !connected(model, a.name, b.name);
        const toDown = roleOf(a) === "down" || roleOf(b) === "down";
        link.g.classList.toggle("is-cut", cut);
        link.g.classList.toggle("to-down", toDown && !cut);
        link.line.setAttribute("x1", ca[0].toFixed(1));
        link.line.setAttribute("y1", ca[1].toFixed(1));
        link.line.setAttribute("x2", cb[0].toFixed(1));
        link.line.setAttribute("y2", cb[1].toFixed(1));
        const f = model.network.faults?.links?.[[a.name, b.name].sort().join("|")];
        const text = f ? [f.loss ? interpolate(gettext("%(percent)s loss"), { percent: `${Math.round(f.loss * 100)}%` }) : "", f.latency_ms ? `+${Math.round(f.latency_ms)} ms` : ""].filter(Boolean).join(", ") : "";
        link.label.textContent = text;
        link.label.setAttribute("x", ((ca[0] + cb[0]) / 2).toFixed(1));
        link.label.setAttribute("y", ((ca[1] + cb[1]) / 2 - 6).toFixed(1));
      }
    }
    for (const [id, link] of linkEls) {
      if (!wanted.has(id)) {
        link.g.remove();
        linkEls.delete(id);
      }
    }
  }

  function updateQuorum(q) {
    const sig = JSON.stringify(q);
    if (sig === quorumSig) return;
    quorumSig = sig;
    const ok = q.canCommit;
    quorumEl.dataset.ok = String(ok);
    quorumEl.hidden = q.size === 0;
    const headline = interpolate(ok ? gettext("%(alive)s of %(size)s alive, quorum %(quorum)s: writes can commit") : gettext("%(alive)s of %(size)s alive, quorum %(quorum)s: writes cannot commit"), { alive: q.alive, size: q.size, quorum: q.quorum });
    const details = [];
    if (q.partitioned && ok) details.push(interpolate(ngettext("only on the majority side (%(majority)s); %(cut)s is cut off from a majority", "only on the majority side (%(majority)s); %(cut)s are cut off from a majority", q.cutOff.length), { majority: q.majority.join(", "), cut: q.cutOff.join(", ") }));
    else if (q.partitioned) details.push(interpolate(gettext("partitioned: no side reaches a majority of %(quorum)s"), { quorum: q.quorum }));
    if (ok) {
      if (q.leader && q.leaderCanCommit) details.push(interpolate(gettext("leader %(leader)s (term %(term)s)"), { leader: q.leader, term: q.leaderTerm }));
      else if (q.leader) details.push(interpolate(gettext("%(leader)s still thinks it leads (term %(term)s) but cannot reach a majority"), { leader: q.leader, term: q.leaderTerm }));
      else details.push(gettext("no leader yet: an election is needed first"));
      details.push(q.tolerates ? interpolate(ngettext("survives %(n)s more failure", "survives %(n)s more failures", q.tolerates), { n: q.tolerates }) : gettext("one more failure stops writes"));
    } else if (!q.partitioned) {
      details.push(interpolate(gettext("a leader needs %(quorum)s members: restart %(n)s to recover"), { quorum: q.quorum, n: q.quorum - q.alive }));
    }
    quorumEl.querySelector(".quorum-glyph").textContent = ok ? "✓" : "✕";
    quorumEl.querySelector(".quorum-line").textContent = headline;
    quorumEl.querySelector(".quorum-detail").textContent = details.join(" · ");
    tools.heal.disabled = !model.network.partitions.length && !Object.keys(model.network.faults?.endpoints ?? {}).length && !Object.keys(model.network.faults?.links ?? {}).length;
  }

  return {
    /** The box drawn for a member, for the messages layer. */
    boxFor(memberName) {
      return cards.get(memberName) ?? null;
    },
    update(model_, t, { reduced, now }) {
      const version = `${model.versions.components}|${model.versions.network}|${model.versions.etcd ?? 0}`;
      if (version !== seen) {
        seen = version;
        members = etcdMembers(model);
        q = quorumStatus(model);
        const names = new Set(members.map((m) => m.name));
        for (const [n, card] of cards) {
          if (!names.has(n)) {
            card.remove();
            cards.delete(n);
          }
        }
        members.forEach((view, i) => {
          let card = cards.get(view.name);
          if (!card) {
            card = memberCard(view);
            cards.set(view.name, card);
          }
          if (membersEl.children[i] !== card) membersEl.insertBefore(card, membersEl.children[i] ?? null);
          updateCard(card, view, partitionSide(model, view.name), q, dense);
        });
        ringPositions(members.length).forEach(([x, y], i) => {
          const card = cards.get(members[i].name);
          card.style.setProperty("--x", x.toFixed(4));
          card.style.setProperty("--y", y.toFixed(4));
        });
        membersEl.dataset.members = String(members.length);
        ring.dataset.members = String(members.length);
        if (members.length) {
          if (body.firstChild !== ring) body.replaceChildren(ring, key, logsHost);
          logs.update(members);
        } else if (body.firstChild !== empty) {
          body.replaceChildren(empty);
        }
        updateQuorum(q);
        linksDirty = MEASURE_FRAMES;
        if (densityFor !== members.length) measureDensity(); // cards were added or removed
        const open = menu.openFor;
        if (open && !cards.has(open)) menu.close({ restoreFocus: false });
      }
      for (const view of members) updateDial(cards.get(view.name), view, t, reduced, now);
      drawLinks(members);
      if (menu.openFor) menu.follow();
      client.update();
      zone.dataset.quorum = String(q.canCommit);
    },
  };
}
