// The "Services and traffic" panel (#traffic-body, issue 8): send traffic to a Service, watch it
// spread over the pods against the share the rules promise, read each node's rules for the
// Service (the rule each request took lights up), and follow an endpoint change as it travels
// EndpointSlice controller -> API server -> each kube-proxy, with the requests that still went
// to the old endpoint meanwhile.
//
//   form       Service, client (a running pod, grouped by node: its node's rules decide; its
//              address is the client IP session affinity keys on; or outside through a
//              NodePort), rate and duration -> POST /api/clusters/<name>/traffic
//   clients    each generator: state, sent / answered / errors; Stop (DELETE …/traffic/<generator>)
//   pods       per pod: requests, a bar of its share with a mark at the expected share
//   rules      per node: mode, rules version, programmed at; the Service's chain (iptables:
//              KUBE-SERVICES -> KUBE-SVC-… -> KUBE-SEP-… with each jump's probability; ipvs:
//              the virtual server and its real servers); "Show rules" opens the node's full text
//   change     the latest endpoint change, step by step and node by node; stale requests counted
//   requests   the newest requests, stale ones marked ⚠
//
// Every server string is set with textContent. Status is carried by words and glyphs too.

import { nodeSettled, proxyNodes, serviceOf, settleEpisodes, trafficCounters, trafficState } from "../../appliers/traffic.js";
import { gettext, interpolate, ngettext } from "../../i18n.js";
import { nextFrame } from "../geometry.js";
import { createTrafficOverlay } from "./overlay.js";
import { effectiveShares, formatShare, parseIpvs, parseIptables, serviceChain, shortChain } from "./rules.js";

const RECENT_ROWS = 10;
const FLASH_MS = 1400;
const FLASH_AGAIN_MS = 300;
const TEXT_EVERY_MS = 250;
const MAX_NODE_CARDS = 8; // nodes with their chain drawn (and their rules fetched)
const NO_SOURCE = gettext("No running pod to send from yet: traffic starts from inside a pod (or from outside, for a NodePort Service).");
const STATE_WORDS = { running: gettext("running"), starting: gettext("starting"), draining: gettext("draining"), done: gettext("done"), stopped: gettext("stopped") };

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = String(text);
  return node;
}

function secs(t) {
  return t == null ? "—" : `${Number(t).toFixed(3)} s`;
}

function podOf(model, ip) {
  for (const node of model.extra?.nodes ?? []) for (const p of node.pods ?? []) if (p.ip && ip.startsWith(`${p.ip}:`)) return p.name;
  return null;
}

/** Running pods that can send (they have an address), grouped by node. */
function clientPods(model) {
  const out = [];
  for (const node of model.extra?.nodes ?? []) {
    for (const p of node.pods ?? []) {
      if (p.phase === "Running" && p.ip && !p.terminating) out.push({ node: node.node, namespace: p.namespace, name: p.name, ip: p.ip });
    }
  }
  return out.sort((a, b) => a.node.localeCompare(b.node, "en", { numeric: true }) || a.name.localeCompare(b.name));
}

/** Services kube-proxy knows (by "ns/name"), with the first port's addresses. */
function knownServices(model) {
  const out = new Map();
  for (const node of model.extra?.proxy?.nodes ?? []) {
    for (const [key, s] of Object.entries(node.services ?? {})) {
      const service = serviceOf(key);
      if (!out.has(service)) out.set(service, { service, key, clusterIp: s.cluster_ip, port: s.port, nodePort: s.node_port || null });
    }
  }
  return out;
}

export function createTrafficPanel({ root, note, model, name, api, announce, showNotice, stage, locateBox }) {
  const overlay = stage && locateBox ? createTrafficOverlay({ stage, locateBox, model }) : null;
  const state = { service: null, rules: new Map(), fetching: new Set(), openNode: null, seen: "", flashes: new Map(), lastSeq: 0, formSig: "", textAt: -Infinity, viewerOf: null };
  root.classList.add("traffic-panel");

  // --- the form -------------------------------------------------------------------------------------
  const form = el("form", "traffic-form");
  form.setAttribute("aria-label", gettext("Send traffic to a Service"));
  form.noValidate = true;
  const field = (label, control, hint) => {
    const wrap = el("label", "field");
    wrap.append(el("span", "field-label", label), control);
    if (hint) wrap.append(hint);
    return wrap;
  };
  const serviceSelect = el("select");
  serviceSelect.name = "service";
  serviceSelect.id = "traffic-service";
  const sourceSelect = el("select");
  sourceSelect.name = "source";
  sourceSelect.id = "traffic-source";
  const rate = el("input");
  Object.assign(rate, { type: "number", name: "rate", id: "traffic-rate", min: "0.1", max: "1000", step: "any", value: "10", inputMode: "decimal" });
  const seconds = el("input");
  Object.assign(seconds, { type: "number", name: "seconds", id: "traffic-seconds", min: "0.1", max: "3600", step: "any", value: "30", inputMode: "decimal" });
  const send = el("button", "btn btn-primary", gettext("Send traffic"));
  send.type = "submit";
  send.id = "traffic-send";
  const formNote = el("p", "hint traffic-form-note");
  formNote.id = "traffic-form-note";
  formNote.setAttribute("aria-live", "polite");
  form.append(field(gettext("Service"), serviceSelect), field(gettext("From (client)"), sourceSelect), field(gettext("Rate (req/s)"), rate), field(gettext("For (s)"), seconds), send, formNote);

  const clients = el("ul", "traffic-clients");
  clients.setAttribute("aria-label", gettext("Traffic clients"));

  // --- the picture --------------------------------------------------------------------------------
  const grid = el("div", "traffic-grid");
  const podsBox = el("section", "traffic-pods");
  const podsTitle = el("h3", null, gettext("Requests per pod"));
  const podsSummary = el("p", "hint traffic-summary");
  const podsTable = el("table", "traffic-dist");
  podsTable.setAttribute("aria-label", gettext("Requests per pod and their share against the expected share"));
  const head = el("thead");
  const hr = el("tr");
  for (const [text, cls] of [[gettext("pod"), ""], [gettext("node"), ""], [gettext("requests"), "num"], [gettext("share · ▏expected"), "bar-col"]]) {
    const th = el("th", cls, text);
    th.scope = "col";
    hr.append(th);
  }
  head.append(hr);
  const podsBody = el("tbody");
  podsTable.append(head, podsBody);
  podsBox.append(podsTitle, podsSummary, podsTable);

  const rulesBox = el("section", "traffic-rules");
  rulesBox.append(el("h3", null, gettext("Rules on each node")), el("p", "hint", gettext("Each node's kube-proxy writes the same rules; a request is decided by the rules of the node it starts on. The rule the last request took is marked ◀.")));
  const nodesList = el("div", "traffic-nodes");
  rulesBox.append(nodesList);
  grid.append(podsBox, rulesBox);

  const change = el("section", "traffic-change");
  change.setAttribute("aria-live", "polite");
  const recent = el("section", "traffic-recent");
  const recentList = el("ol", "traffic-requests");
  recentList.setAttribute("aria-label", gettext("Newest requests first"));
  recent.append(el("h3", null, gettext("Latest requests")), recentList);

  const viewer = el("section", "traffic-viewer");
  viewer.hidden = true;
  viewer.id = "traffic-viewer";
  const viewerHead = el("div", "traffic-viewer-head");
  const viewerTitle = el("h3");
  const viewerClose = el("button", "btn btn-small", gettext("Close"));
  viewerClose.type = "button";
  viewerHead.append(viewerTitle, viewerClose);
  const viewerText = el("pre", "traffic-rules-text");
  viewerText.tabIndex = 0;
  viewer.append(viewerHead, viewerText);

  root.replaceChildren(form, clients, grid, change, viewer, recent);

  // --- actions ------------------------------------------------------------------------------------
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { namespace: state.service?.split("/")[0] ?? "default", service: state.service?.split("/")[1] ?? "", rate: Number(rate.value), seconds: Number(seconds.value), source: sourceSelect.value };
    if (!body.service) return void (formNote.textContent = gettext("No Service to send to yet."));
    send.setAttribute("aria-busy", "true");
    try {
      const r = await api.startTraffic(name, body);
      formNote.textContent = interpolate(gettext("%(generator)s: %(n)s requests to %(address)s"), { generator: r.generator, n: r.requests, address: `${r.cluster_ip}:${r.port}` }) + (r.source_node ? interpolate(gettext(" from %(ip)s, decided by %(node)s's rules"), { ip: r.src_ip, node: r.source_node }) : interpolate(gettext(" from %(ip)s through NodePort %(port)s"), { ip: r.src_ip, port: r.node_port }));
      announce(interpolate(gettext("Traffic started: %(generator)s"), { generator: r.generator }));
    } catch (err) {
      formNote.textContent = interpolate(gettext("Could not send traffic: %(error)s"), { error: err.message });
      const bad = { rate, seconds, source: sourceSelect, service: serviceSelect }[err.field];
      bad?.focus();
    } finally {
      send.removeAttribute("aria-busy");
    }
  });
  serviceSelect.addEventListener("change", () => {
    state.service = serviceSelect.value;
    state.seen = "";
    state.formSig = "";
  });

  async function openRules(node) {
    state.openNode = node;
    viewer.hidden = false;
    viewerTitle.textContent = interpolate(gettext("Rules on %(node)s"), { node });
    viewerText.textContent = gettext("loading…");
    state.viewerOf = null;
    await fetchRules(node, true);
    renderViewer();
    // start the text at the Service's first line (KUBE-SERVICES' jump or its virtual server)
    const first = viewerText.querySelector(".is-service");
    viewerText.scrollTop = first ? Math.max(0, first.offsetTop - viewerText.offsetTop - 40) : 0;
    viewer.scrollIntoView({ block: "nearest" });
    viewerText.focus({ preventScroll: true });
  }
  viewerClose.addEventListener("click", () => {
    viewer.hidden = true;
    state.openNode = null;
  });
  root.addEventListener("click", async (e) => {
    const b = e.target instanceof Element ? e.target.closest("[data-show-rules]") : null;
    if (b) openRules(b.dataset.showRules);
    const stop = e.target instanceof Element ? e.target.closest("[data-stop-generator]") : null;
    if (!stop) return;
    stop.disabled = true;
    try {
      const r = await api.stopTraffic(name, stop.dataset.stopGenerator);
      formNote.textContent = interpolate(gettext("%(generator)s stopped after %(n)s requests; the ones in flight finish."), { generator: r.generator, n: r.sent });
      announce(interpolate(gettext("%(generator)s stopped"), { generator: r.generator }));
    } catch (err) {
      stop.disabled = false;
      formNote.textContent = interpolate(gettext("Could not stop %(generator)s: %(error)s"), { generator: stop.dataset.stopGenerator, error: err.message });
    }
  });
  // clicking a node card (or its kube-proxy box) shows its rules here
  const nodesArea = document.getElementById("nodes-body");
  nodesArea?.addEventListener("click", (e) => {
    const target = e.target instanceof Element ? e.target : null;
    const card = target?.closest(".node-card[data-node]");
    // the card's title or its kube-proxy box: the pods below have their own clicks
    if (!card || !target.closest(".node-head, .comp[data-kind='kube-proxy']") || target.closest("button, a, input, select, summary")) return;
    openRules(card.dataset.node);
    document.getElementById("panel-traffic")?.scrollIntoView({ block: "start", behavior: "smooth" });
  });

  async function fetchRules(node, force = false) {
    const version = nodeInfo(node).version;
    const have = state.rules.get(node);
    if (!force && have && have.version === version) return;
    if (state.fetching.has(node)) return;
    state.fetching.add(node);
    try {
      const text = await api.proxyRules(name, node);
      const mode = text.startsWith("IP Virtual Server") ? "ipvs" : "iptables";
      state.rules.set(node, { version, text, mode, parsed: mode === "ipvs" ? parseIpvs(text) : parseIptables(text) });
      state.seen = "";
    } catch (err) {
      if (force) showNotice(interpolate(gettext("Could not read %(node)s's rules: %(error)s"), { node, error: err.message }));
    } finally {
      state.fetching.delete(node);
    }
  }

  // --- reading the model --------------------------------------------------------------------------
  const proxyIndex = new WeakMap(); // the snapshot's nodes array -> Map node -> its entry
  function proxySnap(node) {
    const nodes = model.extra?.proxy?.nodes ?? [];
    let index = proxyIndex.get(nodes);
    if (!index) {
      index = new Map(nodes.map((n) => [n.node, n]));
      proxyIndex.set(nodes, index);
    }
    return index.get(node);
  }

  function nodeInfo(node) {
    const snap = proxySnap(node) ?? {}; // indexed: renderPods asks for every node (a find each was N² at 1,000 nodes)
    const ev = trafficState(model).proxies.get(node) ?? {};
    const eventNewer = (ev.version ?? -1) >= (snap.version ?? -1);
    return {
      node,
      mode: ev.mode ?? snap.mode,
      version: Math.max(ev.version ?? 0, snap.version ?? 0),
      programmedAt: eventNewer && ev.programmedAt != null ? ev.programmedAt : snap.programmed_at,
      writing: ev.writing ?? (snap.programming ? (snap.version ?? 0) + 1 : null),
      alive: snap.alive !== false,
      services: snap.services ?? {},
      rules: ev.rules ?? snap.rules,
    };
  }

  function serviceEntry(info) {
    for (const [key, s] of Object.entries(info.services)) if (serviceOf(key) === state.service) return { key, ...s };
    return null;
  }

  // --- drawing -------------------------------------------------------------------------------------
  let formFor = null;
  let services = new Map();
  function renderForm() {
    if (formFor === model.versions.views && state.formSig) return services;
    formFor = model.versions.views;
    services = knownServices(model);
    const pods = clientPods(model);
    const sig = JSON.stringify([[...services.keys()], pods.map((p) => p.name + p.ip), state.service]);
    if (sig === state.formSig) return services;
    state.formSig = sig;
    if (!state.service || !services.has(state.service)) state.service = services.has("default/web") ? "default/web" : ([...services.keys()].find((s) => s !== "default/kubernetes") ?? [...services.keys()][0] ?? null);
    serviceSelect.replaceChildren(...[...services.values()].map((s) => {
      const o = el("option", null, `${s.service} (${s.clusterIp}:${s.port}${s.nodePort ? `, NodePort ${s.nodePort}` : ""})`);
      o.value = s.service;
      o.selected = s.service === state.service;
      return o;
    }));
    const keep = sourceSelect.value;
    const groups = new Map();
    for (const p of pods) {
      if (!groups.has(p.node)) {
        const g = el("optgroup");
        g.label = interpolate(gettext("on %(node)s (its rules decide)"), { node: p.node });
        groups.set(p.node, g);
      }
      const o = el("option", null, `${p.namespace === "default" ? "" : `${p.namespace}/`}${p.name} · client IP ${p.ip}`);
      o.value = `${p.namespace}/${p.name}`;
      groups.get(p.node).append(o);
    }
    const options = [...groups.values()];
    const svc = services.get(state.service);
    if (svc?.nodePort) {
      const o = el("option", null, interpolate(gettext("outside the cluster, through NodePort %(port)s (a node drawn at random)"), { port: svc.nodePort }));
      o.value = "external";
      options.push(o);
    }
    sourceSelect.replaceChildren(...options);
    if ([...sourceSelect.options].some((o) => o.value === keep)) sourceSelect.value = keep;
    send.disabled = !state.service || !sourceSelect.options.length;
    if (!sourceSelect.options.length) formNote.textContent = NO_SOURCE;
    else if (formNote.textContent === NO_SOURCE) formNote.textContent = "";
    return services;
  }

  function renderClients() {
    const gens = generators().slice(-4).reverse();
    clients.replaceChildren(...gens.map((g) => {
      const st = g.state;
      const li = el("li", `traffic-client is-${st}`);
      li.dataset.generator = g.name;
      li.dataset.state = st;
      const glyph = { running: "▶", starting: "▶", draining: "…", done: "✓", stopped: "✕" }[st] ?? "•";
      li.append(el("span", "glyph", glyph), el("b", null, g.name), el("span", null, ` ${interpolate(gettext("from %(source)s at %(rate)s/s for %(seconds)s s"), { source: g.source === "external" ? gettext("outside (NodePort)") : interpolate(gettext("%(pod)s on %(node)s"), { pod: g.source, node: g.sourceNode }), rate: g.rate, seconds: g.seconds })} · `),
        el("span", "client-counts", interpolate(ngettext("%(sent)s of %(n)s sent, %(done)s answered or failed, %(errors)s error · %(state)s", "%(sent)s of %(n)s sent, %(done)s answered or failed, %(errors)s errors · %(state)s", g.errors ?? 0), { sent: g.sent ?? 0, n: g.requests, done: g.done ?? 0, errors: g.errors ?? 0, state: STATE_WORDS[st] ?? st })));
      if (st === "running" || st === "starting") {
        const stop = el("button", "btn btn-small", gettext("Stop"));
        stop.type = "button";
        stop.dataset.stopGenerator = g.name;
        stop.setAttribute("aria-label", interpolate(gettext("Stop %(name)s"), { name: g.name }));
        li.append(stop);
      }
      return li;
    }));
  }

  /** Generators of the selected Service: the snapshot's views, overlaid by the events since. */
  function generators() {
    const out = new Map();
    for (const v of model.extra?.traffic?.generators ?? []) {
      out.set(v.name, { name: v.name, service: v.service, source: v.source, sourceNode: v.source_node, rate: v.rate, seconds: v.seconds, requests: v.requests, state: v.state, sent: v.sent, done: v.done, errors: v.errors, expected: v.expected ?? {}, started: v.started });
    }
    for (const g of trafficState(model).generators.values()) {
      const v = out.get(g.name);
      // an event newer than the snapshot's view wins (ticks every virtual second, done at the end)
      if (!v || g.state === "done" || (g.tickSeq ?? -1) > (model.viewsAppliedSeq ?? -1)) out.set(g.name, { ...v, ...g, state: g.state === "done" ? "done" : (v?.state ?? g.state) });
    }
    return [...out.values()].filter((g) => g.service === state.service).sort((a, b) => Number(a.name.split("-").pop()) - Number(b.name.split("-").pop()));
  }

  function expectedShare() {
    const all = generators();
    const running = all.filter((g) => !["done", "stopped"].includes(g.state));
    const pick = running.length ? running : all.slice(-1);
    const share = {};
    let total = 0;
    for (const g of pick) {
      total += g.rate;
      for (const [pod, p] of Object.entries(g.expected ?? {})) share[pod] = (share[pod] ?? 0) + p * g.rate;
    }
    for (const pod of Object.keys(share)) share[pod] /= total || 1;
    return share;
  }

  function renderPods(counters) {
    const c = counters[state.service] ?? { requests: 0, errors: 0, pods: {} };
    const expected = expectedShare();
    const nodeOfPod = new Map();
    for (const node of model.extra?.nodes ?? []) for (const p of node.pods ?? []) nodeOfPod.set(p.name, { node: node.node, ready: p.ready, terminating: p.terminating, phase: p.phase });
    const inRules = new Set();
    for (const node of proxyNodes(model)) for (const p of serviceEntry(nodeInfo(node))?.pods ?? []) inRules.add(p);
    const pods = [...new Set([...Object.keys(c.pods), ...Object.keys(expected)])].sort();
    const answered = Object.values(c.pods).reduce((a, b) => a + b, 0);
    const svcStats = (model.extra?.traffic?.services ?? []).find((s) => `${s.namespace}/${s.name}` === state.service);
    const lat = svcStats?.latency_ms;
    podsSummary.textContent = pods.length
      ? interpolate(ngettext("%(n)s request", "%(n)s requests", c.requests), { n: c.requests }) + ", " + interpolate(ngettext("%(n)s error", "%(n)s errors", c.errors), { n: c.errors })
        + (lat?.p50 != null ? interpolate(gettext(" · latency p50 %(p50)s ms, p99 %(p99)s ms"), { p50: lat.p50, p99: lat.p99 }) : "") + gettext(" · expected share from the rules of the client's node")
        + (sticky() ? gettext(" (over many clients: with session affinity one client IP stays on one pod)") : "")
      : gettext("No traffic to this Service yet: send some with the form above.");
    podsBody.replaceChildren(...pods.map((pod) => {
      const n = c.pods[pod] ?? 0;
      const share = answered ? n / answered : 0;
      const exp = expected[pod];
      const where = nodeOfPod.get(pod);
      const tr = el("tr");
      tr.dataset.pod = pod;
      tr.dataset.count = String(n);
      const status = !where ? gettext("✕ gone") : where.terminating ? gettext("… terminating") : where.ready === false ? gettext("✕ not ready") : !inRules.has(pod) ? gettext("– not in the rules") : "";
      if (status) tr.classList.add("is-out");
      const nameCell = el("th", "pod-name", pod);
      nameCell.scope = "row";
      if (status) nameCell.append(el("span", "pod-status", ` ${status}`));
      const bar = el("div", "dist-bar");
      const fill = el("div", "dist-fill");
      fill.style.width = `${(share * 100).toFixed(2)}%`;
      bar.append(fill);
      if (exp != null) {
        const mark = el("div", "dist-expected");
        mark.style.left = `${(exp * 100).toFixed(2)}%`;
        bar.append(mark);
      }
      const barCell = el("td", "bar-col");
      barCell.append(bar, el("span", "dist-text", formatShare(share) + (exp != null ? interpolate(gettext(" (expected %(share)s)"), { share: formatShare(exp) }) : "")));
      tr.append(nameCell, el("td", null, where?.node ?? "—"), el("td", "num count", n), barCell);
      return tr;
    }));
  }

  /** Whether the Service keeps a client on one pod (iptables `recent` checks, ipvs persistence). */
  function sticky() {
    for (const node of proxyNodes(model)) {
      const rules = state.rules.get(node);
      const entry = serviceEntry(nodeInfo(node));
      if (!rules || !entry) continue;
      if (rules.mode === "ipvs") return Boolean((rules.parsed ?? []).find((v) => v.vip === `${entry.cluster_ip}:${entry.port}`)?.persistent);
      return serviceChain(rules.parsed, entry.chain).some((r) => r.affinity != null);
    }
    return false;
  }

  function chainRows(node, info, entry) {
    const rules = state.rules.get(node);
    const list = el("ol", "chain");
    if (!entry) {
      list.append(el("li", "hint", gettext("no rules for this Service")));
      return list;
    }
    if ((rules?.mode ?? info.mode) === "ipvs") {
      const vip = `${entry.cluster_ip}:${entry.port}`;
      const vs = (rules?.parsed ?? []).find((v) => v.vip === vip);
      const head = el("li", "chain-head", vs ? `IPVS ${vs.proto} ${vs.vip} ${vs.scheduler}${vs.persistent ? ` persistent ${vs.persistent} s` : ""}` : rules ? interpolate(gettext("IPVS %(vip)s: no virtual server"), { vip }) : `IPVS ${vip}`);
      list.append(head);
      if (!rules) list.append(el("li", "hint", gettext("reading the rules…")));
      for (const real of vs?.reals ?? []) {
        const li = el("li", "chain-rule");
        li.dataset.endpoint = real.addr;
        li.append(el("span", "rule-num", "→"), el("span", "rule-p", real.weight === 0 ? gettext("weight 0: draining") : interpolate(gettext("weight %(weight)s, %(n)s active"), { weight: real.weight, n: real.active })), el("span", "rule-target", `${real.addr} (${podOf(model, real.addr) ?? gettext("pod")})`));
        list.append(li);
      }
      return list;
    }
    if (!entry.chain && entry.verdict) {
      list.append(el("li", "chain-head", `KUBE-SERVICES: ${entry.cluster_ip}:${entry.port} → ${entry.verdict === "drop" ? "DROP (no local endpoint)" : "REJECT (no endpoints)"}`));
      return list;
    }
    list.append(el("li", "chain-head", `KUBE-SERVICES → ${shortChain(entry.chain)} (${entry.cluster_ip}:${entry.port})`));
    if (entry.node_port) {
      // from outside: KUBE-NODEPORTS matches the port and jumps to the Service's KUBE-EXT chain, which jumps to the same KUBE-SVC
      const ext = (rules?.parsed?.nat?.["KUBE-NODEPORTS"] ?? []).find((r) => r.text.includes(`--dport ${entry.node_port} `))?.target;
      list.append(el("li", "chain-head", `KUBE-NODEPORTS (:${entry.node_port}) → ${ext ? shortChain(ext) : "KUBE-EXT-…"} → ${shortChain(entry.chain)}`));
    }
    const chain = serviceChain(rules?.parsed, entry.chain);
    const shares = effectiveShares(chain);
    const affinity = chain.find((r) => r.affinity != null)?.affinity;
    if (affinity != null) list.append(el("li", "chain-head", interpolate(gettext("sessionAffinity ClientIP: a client IP seen in the last %(n)s s goes back to its pod (rules marked ↺); a new one is drawn by the dice"), { n: affinity })));
    for (const r of chain) {
      if (!r.endpoint) continue;
      const li = el("li", `chain-rule${r.affinity != null ? " is-affinity" : ""}`);
      li.dataset.rule = String(r.num);
      li.dataset.endpoint = r.endpoint;
      const p = r.affinity != null ? gettext("↺ seen before") : `${r.probability == null ? gettext("always") : `p ${r.probability.toFixed(3)}`} → ${formatShare(shares.get(r.num))}`;
      li.append(el("span", "rule-num", `#${r.num}`), el("span", "rule-p", p), el("span", "rule-target", `${shortChain(r.target)} → ${r.endpoint} (${podOf(model, r.endpoint) ?? gettext("pod")})`));
      list.append(li);
    }
    if (!rules) list.append(el("li", "hint", gettext("reading the rules…")));
    else if (rules.version !== info.version) list.append(el("li", "hint", interpolate(gettext("showing v%(shown)s; v%(version)s is being read…"), { shown: rules.version, version: info.version })));
    return list;
  }

  /** The nodes that get a card with their chain: each card needs the node's rules (one request
   * per node), so a large cluster shows MAX_NODE_CARDS of them, the node whose rules are open among them. */
  function shownNodes() {
    const all = proxyNodes(model);
    if (all.length <= MAX_NODE_CARDS) return all;
    const shown = all.slice(0, MAX_NODE_CARDS);
    if (state.openNode && !shown.includes(state.openNode) && all.includes(state.openNode)) shown[MAX_NODE_CARDS - 1] = state.openNode;
    return shown;
  }

  function renderNodes(t) {
    const ep = trafficState(model).episodes.get(state.service);
    const shown = shownNodes();
    const hidden = proxyNodes(model).length - shown.length;
    const more = hidden > 0 ? [el("p", "hint traffic-more-nodes", interpolate(ngettext("… and %(n)s more node: its card in the worker nodes opens its rules here.", "… and %(n)s more nodes: a node's card in the worker nodes opens its rules here.", hidden), { n: hidden.toLocaleString("en") }))] : [];
    nodesList.replaceChildren(...shown.map((node) => {
      const info = nodeInfo(node);
      fetchRules(node);
      const card = el("article", "traffic-node");
      card.dataset.node = node;
      const top = el("header", "traffic-node-head");
      const n = ep && !ep.done ? ep.nodes.get(node) : null;
      const writing = info.writing != null;
      const status = !info.alive ? gettext("✕ kube-proxy down: rules stay as they were") : writing ? interpolate(gettext("✎ writing v%(version)s…"), { version: info.writing }) : interpolate(gettext("✓ v%(version)s in place since %(time)s"), { version: info.version, time: secs(info.programmedAt) });
      top.append(el("b", null, node), el("span", "mode", info.mode ?? ""), el("span", `node-status${writing ? " is-writing" : ""}${!info.alive ? " is-down" : ""}`, status));
      if (ep && !ep.done) top.append(el("span", "node-behind", nodeSettled(n, t) ? gettext("✓ has the change") : gettext("⏳ behind: old rules")));
      const show = el("button", "btn btn-small", gettext("Show rules"));
      show.type = "button";
      show.dataset.showRules = node;
      show.setAttribute("aria-controls", "traffic-viewer");
      top.append(show);
      card.append(top, chainRows(node, info, serviceEntry(info)));
      return card;
    }), ...more);
    state.flashes.clear();
    // keep the mark on the rule each node's last request took
    const last = new Map();
    for (const r of trafficState(model).requests.values()) if (r.service === state.service && r.node) last.set(r.node, r);
    for (const r of last.values()) flash(r, -Infinity);
  }

  function renderChange(t) {
    const ep = trafficState(model).episodes.get(state.service);
    if (!ep) {
      change.replaceChildren(el("h3", null, gettext("Endpoint changes")), el("p", "hint", gettext("Delete a pod of this Service (kubectl delete pod …) or make one unready: its removal travels EndpointSlice controller → API server → each kube-proxy, shown here node by node.")));
      return;
    }
    const title = el("h3", null, ep.done ? interpolate(gettext("Endpoint change: every node has it (%(start)s → %(end)s)"), { start: secs(ep.start), end: secs(ep.doneAt) }) : interpolate(gettext("Endpoint change on its way (since %(start)s)"), { start: secs(ep.start) }));
    const steps = el("ol", "change-steps");
    for (const s of ep.steps) {
      const li = el("li", `change-step step-${s.what}`);
      li.append(el("span", "step-time", secs(s.time)), el("span", "step-text", s.text));
      steps.append(li);
    }
    const nodes = el("ol", "change-nodes");
    for (const node of proxyNodes(model)) {
      const n = ep.nodes.get(node) ?? {};
      const settled = nodeSettled(n, t);
      const li = el("li", `change-node${settled ? " is-done" : ""}`);
      li.dataset.node = node;
      li.dataset.settled = String(settled);
      const parts = [
        n.watch != null ? interpolate(gettext("watch event %(time)s"), { time: secs(n.watch) }) : gettext("waiting for the watch event"),
        n.program != null ? interpolate(gettext("writing v%(version)s %(time)s"), { version: n.writing, time: secs(n.program) }) : null,
        n.sync != null ? interpolate(gettext("v%(version)s in place %(time)s"), { version: n.version, time: secs(n.sync) }) + (n.removed?.length ? ` (− ${n.removed.join(", ")})` : "") + (n.added?.length ? ` (+ ${n.added.join(", ")})` : "") : settled ? gettext("no rule to change") : null,
      ].filter(Boolean);
      li.append(el("span", "glyph", settled ? "✓" : "⏳"), el("b", null, node), el("span", null, ` ${parts.join(" → ")}`));
      nodes.append(li);
    }
    const staleText = ep.stale
      ? interpolate(ngettext("⚠ %(n)s request still went to %(pods)s through old rules (%(by)s)", "⚠ %(n)s requests still went to %(pods)s through old rules (%(by)s)", ep.stale), { n: ep.stale, pods: [...ep.leaving].join(", "), by: Object.entries(ep.staleBy).map(([k, v]) => `${k}: ${v}`).join(", ") })
      : ep.leaving.size ? interpolate(gettext("no request went to %(pods)s through old rules"), { pods: [...ep.leaving].join(", ") }) : "";
    const stale = el("p", `change-stale${ep.stale ? " has-stale" : ""}`, staleText);
    stale.dataset.stale = String(ep.stale);
    change.replaceChildren(title, steps, nodes, stale);
  }

  function renderRecent() {
    const rows = [...trafficState(model).requests.values()].filter((r) => r.service === state.service && r.node).slice(-RECENT_ROWS).reverse();
    recentList.replaceChildren(...rows.map((r) => {
      const li = el("li", `traffic-request${r.stale ? " is-stale" : ""}${r.error ? " is-error" : ""}`);
      li.dataset.request = r.id;
      li.dataset.stale = String(Boolean(r.stale));
      const outcome = r.done == null ? "…" : r.error ? `✕ ${r.error}` : interpolate(gettext("✓ %(code)s in %(ms)s ms"), { code: r.code, ms: r.latency });
      const decided = interpolate(r.mode === "ipvs" ? gettext("%(node)s's IPVS (v%(version)s)") : gettext("%(node)s's rules v%(version)s"), { node: r.node, version: r.version });
      li.append(el("span", "step-time", secs(r.t)), el("b", null, r.id), el("span", null, ` ${decided} → ${r.pod ?? r.verdict} `), el("span", "outcome", outcome));
      if (r.stale) li.append(el("span", "stale-mark", ` ${interpolate(gettext("⚠ stale: %(why)s"), { why: r.stale })}`));
      return li;
    }));
  }

  function renderViewer() {
    if (!state.openNode) return;
    const rules = state.rules.get(state.openNode);
    const info = nodeInfo(state.openNode);
    const entry = serviceEntry(info);
    // the text is long (every chain of the node): redrawn only when what it shows changed
    const shows = [state.openNode, state.service, info.programmedAt, entry?.chain, entry?.cluster_ip];
    if (rules && state.viewerOf?.rules === rules && shows.every((x, i) => x === state.viewerOf.shows[i])) return;
    state.viewerOf = { rules, shows };
    viewerTitle.textContent = `Rules on ${state.openNode} (${rules?.mode === "ipvs" ? "ipvsadm -Ln" : "iptables-save"}, v${rules?.version ?? "?"}, programmed at ${secs(info.programmedAt)})`;
    // the Service's chains share one hash (KUBE-SVC-, KUBE-EXT-, KUBE-SVL-, KUBE-FW-): mark them all
    const marks = new Set([entry?.chain?.replace(/^KUBE-SV[CL]-/, ""), entry?.cluster_ip].filter(Boolean));
    const text = rules?.text ?? gettext("loading…");
    const frag = document.createDocumentFragment();
    const lines = text.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    const vip = entry ? `${entry.cluster_ip}:${entry.port}` : null;
    let inVirtualServer = false; // ipvs: the Service's virtual server and the real servers under it
    for (const line of lines) {
      if (rules?.mode === "ipvs") inVirtualServer = /^\S/.test(line) ? /^(TCP|UDP|SCTP)\s/.test(line) && line.split(/\s+/)[1] === vip : inVirtualServer && line.startsWith("  ->");
      const mine = rules?.mode === "ipvs" ? inVirtualServer : [...marks].some((m) => line.includes(m)) || (state.service && line.includes(`"${state.service}`));
      const span = el("span", mine ? "rule-line is-service" : "rule-line", `${line}\n`);
      frag.append(span);
    }
    viewerText.replaceChildren(frag);
  }

  // --- the chosen rule lights up -----------------------------------------------------------------------
  function flash(r, now) {
    const card = nodesList.querySelector(`.traffic-node[data-node="${CSS.escape(r.node ?? "")}"]`);
    if (!card) return;
    const svcRule = r.trace?.find((x) => x[0] === "nat" && /^KUBE-SV[CL]-/.test(x[1]) && card.querySelector(`.chain-rule[data-rule="${x[2]}"]`));
    const li = svcRule ? card.querySelector(`.chain-rule[data-rule="${svcRule[2]}"]`) : r.to ? card.querySelector(`.chain-rule[data-endpoint="${CSS.escape(r.to)}"]`) : null;
    for (const other of card.querySelectorAll(".chain-rule.is-last")) if (other !== li) other.classList.remove("is-last", "is-flash");
    if (!li) return;
    li.classList.add("is-last");
    li.dataset.request = r.id;
    li.dataset.stale = String(Boolean(r.stale));
    if (now === -Infinity) return;
    // the animation starts again at the next frame (restarting it now would force a layout); a
    // rule taken again within FLASH_AGAIN_MS simply stays lit
    if (now - (state.flashes.get(li) ?? -Infinity) < FLASH_AGAIN_MS && li.classList.contains("is-flash")) return;
    li.classList.remove("is-flash");
    nextFrame(() => {
      if (li.classList.contains("is-last")) li.classList.add("is-flash");
    });
    state.flashes.set(li, now);
  }

  return {
    update(m, t, options) {
      const { now } = options;
      overlay?.update(m, t, options);
      const tr = trafficState(model);
      settleEpisodes(model, t);
      const services = renderForm();
      const sig = `${model.versions.traffic}/${model.versions.views}/${state.service}/${state.rules.size}/${Math.floor(t)}`;
      const structural = sig !== state.seen && (state.seen.split("/").slice(1, 4).join("/") !== sig.split("/").slice(1, 4).join("/") || !nodesList.childElementCount);
      // every request bumps the traffic version: the counters and lists follow it at most every
      // TEXT_EVERY_MS (rebuilding them every frame laid the page out again); a new Service, new
      // views or new rules at once
      if (sig !== state.seen && (structural || now - state.textAt >= TEXT_EVERY_MS)) {
        state.seen = sig;
        state.textAt = now;
        renderClients();
        renderPods(trafficCounters(model));
        if (structural || nodesList.dataset.rulesSig !== rulesSignature()) {
          renderNodes(t);
          nodesList.dataset.rulesSig = rulesSignature();
        } else {
          updateNodeStatus(t);
        }
        renderChange(t);
        renderRecent();
        renderViewer();
        const svc = services.get(state.service);
        note.textContent = svc ? `${state.service} · ${svc.clusterIp}:${svc.port} · ` + interpolate(gettext("%(mode)s mode"), { mode: model.extra?.proxy?.mode ?? "" }) : "";
      }
      // light the rules the newest requests took: the newest per node only (a slow frame must not
      // pay for every request it missed)
      const newest = new Map();
      for (const r of tr.requests.values()) {
        if (r.seq <= state.lastSeq || !r.node) continue;
        if (r.service === state.service) newest.set(r.node, r);
      }
      for (const r of newest.values()) flash(r, now);
      state.lastSeq = model.seq;
      for (const [li, at] of state.flashes) {
        if (now - at > FLASH_MS) {
          li.classList.remove("is-flash");
          state.flashes.delete(li);
        }
      }
    },
    /** For the overlay: the selected Service. */
    selectedService: () => state.service,
  };

  function rulesSignature() {
    return shownNodes().map((node) => {
      const info = nodeInfo(node);
      const e = serviceEntry(info);
      return `${node}:${info.version}:${info.writing}:${info.alive}:${state.rules.get(node)?.version}:${e?.chain}:${(e?.endpoints ?? []).join(",")}`;
    }).join("|") + `|${Boolean(trafficState(model).episodes.get(state.service)?.done)}`;
  }

  function updateNodeStatus(t) {
    const ep = trafficState(model).episodes.get(state.service);
    for (const card of nodesList.querySelectorAll(".traffic-node")) {
      const behind = card.querySelector(".node-behind");
      if (!behind || !ep || ep.done) continue;
      behind.textContent = nodeSettled(ep.nodes.get(card.dataset.node), t) ? gettext("✓ has the change") : gettext("⏳ behind: old rules");
    }
  }
}
