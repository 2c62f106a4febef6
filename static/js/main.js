// The cluster page: wires the stream, the model and the renderers together.
//
//   WebSocket frame -> model.js (plain data) -> ack
//   requestAnimationFrame -> every renderer draws from the model at the display time
//   user input -> REST call -> the server changes -> its next frame shows the change
//
// Module map: api.js (REST), stream.js (WebSocket: reconnect, resume, ack, resync),
// model.js (state, no DOM), appliers/*.js (a panel's events -> model), refresh.js (fresh views
// from REST), theme.js (visual language, themes), render/*.js (one per area; render/etcd/ is
// the etcd panel).

import { kiosk } from "./kiosk.js"; // first: a kiosk link's options apply before anything draws
import { api } from "./api.js";
import { controllersAfterSnapshot, registerControllerAppliers } from "./appliers/controllers.js";
import { applyEtcdRefresh, etcdAfterSnapshot, registerEtcdAppliers } from "./appliers/etcd.js";
import { nodesAfterSnapshot, registerNodeAppliers } from "./appliers/nodes.js";
import { registerRequestAppliers, requestsAfterSnapshot } from "./appliers/requests.js";
import { describeBinding, registerSchedulerAppliers } from "./appliers/scheduler.js";
import { hidesTrafficMessage, registerTrafficAppliers, trafficAfterSnapshot } from "./appliers/traffic.js";
import { applyViewsRefresh, askForViews, markViewsFetched, viewsWanted } from "./appliers/views.js";
import * as M from "./model.js";
import { VIEWS_INTERVAL_MS, createRefresher } from "./refresh.js";
import { createClockView, nextSpeed } from "./render/clock.js";
import { createConnectionView } from "./render/connection.js";
import { createControlPlaneView } from "./render/controlplane.js";
import { createControllersPanel } from "./render/controllers/panel.js";
import { describeMessage } from "./render/etcd/glyphs.js";
import { createEtcdPanel } from "./render/etcd/panel.js";
import { createEventLog } from "./render/eventlog.js";
import { beginFrame } from "./render/geometry.js";
import { bindExportButton } from "./export-svg.js";
import { renderLegend } from "./render/legend.js";
import { createMessagesView, lingerSeconds } from "./render/messages.js";
import { createNodesView } from "./render/nodes.js";
import { createRequestsView } from "./render/requests.js";
import { createSchedulerPanel } from "./render/scheduler/panel.js";
import { createLessonPanel } from "./render/lesson/panel.js";
import { bindLessonDialog } from "./render/lesson/picker.js";
import { createTimeline } from "./render/timeline.js";
import { createTrafficPanel } from "./render/traffic/panel.js";
import { createPresentation } from "./present.js";
import { createClassroom } from "./render/classroom/classroom.js";
import { ClusterStream } from "./stream.js";
import { gettext, interpolate } from "./i18n.js";
import { bindThemeToggle, formatSpeed, formatTime, motionPreference } from "./theme.js";

const $ = (id) => document.getElementById(id);
const name = JSON.parse($("cluster-name").textContent);
const model = M.createModel(name);
registerEtcdAppliers();
registerRequestAppliers();
registerNodeAppliers();
registerControllerAppliers();
registerSchedulerAppliers();
registerTrafficAppliers();
const motion = kiosk.motion(motionPreference());

// --- messages to the user ----------------------------------------------------------------------
const announcer = $("announcer");
let announceTimer = null;
function announce(text) {
  clearTimeout(announceTimer);
  announcer.textContent = "";
  announceTimer = setTimeout(() => {
    announcer.textContent = text;
  }, 60);
}

const notice = $("notice");
let noticeTimer = null;
function showNotice(text, { sticky = false } = {}) {
  clearTimeout(noticeTimer);
  notice.textContent = text;
  notice.hidden = false;
  if (!sticky) noticeTimer = setTimeout(() => (notice.hidden = true), 7000);
}

async function act(failure, call) {
  try {
    return await call();
  } catch (err) {
    showNotice(`${failure}: ${err.message}`);
    return null;
  }
}

/** How API messages look in flight: kubectl's own wear "you"; watch events are small dots. */
function describeApiMessage(m) {
  if (m.kind === "api.request" && m.source === "kubectl") return { shape: "pill", response: false, label: gettext("you"), text: gettext("kubectl (you): API request"), short: gettext("you →"), variant: "is-kubectl" };
  if (m.kind === "api.response" && m.target === "kubectl") return { shape: "pill", response: true, label: gettext("you"), text: gettext("API response to kubectl (you)"), short: gettext("→ you"), variant: "is-kubectl" };
  if (m.kind === "api.watch_event") return { shape: "circle", small: true, response: false, label: "w", text: gettext("watch event"), short: "watch" };
  return null;
}

// --- views -------------------------------------------------------------------------------------
// first: the classroom chooses the key every REST call and the stream carry (render/classroom/)
const classroom = createClassroom({ name, tools: document.querySelector(".topbar .tools"), announce, showNotice });
bindThemeToggle($("btn-theme"));
bindLessonDialog($("btn-lesson"), $("lesson-dialog"));
bindExportButton($("btn-export-svg"), { name, time: () => model.clock.time });
renderLegend($("legend"));
const connection = createConnectionView({ root: $("conn"), text: $("conn-text"), detail: $("conn-detail") });
const etcdPanel = createEtcdPanel({
  zone: $("zone-etcd"),
  body: $("cp-etcd"),
  tools: { partition: $("etcd-partition"), heal: $("etcd-heal"), data: $("etcd-data-toggle") },
  quorumEl: $("etcd-quorum"),
  drawer: $("etcd-drawer"),
  partitionDialog: $("etcd-partition-dialog"),
  model,
  name,
  api,
  announce: (text) => announce(text),
  showNotice: (text) => showNotice(text),
});
const controlPlane = createControlPlaneView({ k8sZone: $("cp-k8s"), etcdZone: $("cp-etcd"), note: $("cp-note"), etcdPanel });
const refresher = createRefresher({ model, fetchState: () => api.state(name), apply: applyEtcdRefresh });
// the panels' component views (controller manager, scheduler, kubelets, kube-proxies), fresh
// from GET /state about once a second while the cluster moves
const viewsRefresher = createRefresher({
  model,
  fetchState: () => api.state(name, nodes.detailWanted()), // a heat map's zoomed nodes in full
  apply: applyViewsRefresh,
  wanted: viewsWanted,
  lazily: () => false,
  clear: markViewsFetched,
  interval: VIEWS_INTERVAL_MS,
});
const nodes = createNodesView({ body: $("nodes-body"), note: $("nodes-note"), onDetail: () => askForViews(model) });
const inFlight = $("in-flight");
if (motion.reduced) inFlight.open = true;
const messages = createMessagesView({
  stage: $("stage"),
  linksSvg: $("links-layer"),
  dotsSvg: $("dots-layer"),
  locateBox: (n) => controlPlane.boxFor(n) ?? nodes.boxFor(n) ?? nodes.anchorFor(n), // a heat-map cell for a large cluster's nodes
  kindOf: (n) => model.components.get(n)?.kind,
  describe: (m) => describeBinding(model, m) ?? describeApiMessage(m) ?? describeMessage(m),
  hide: (m) => requests.hides(m, model) || hidesTrafficMessage(m), // the traffic panel draws requests client -> rules -> pod
  list: $("in-flight-list"),
  listSummary: $("in-flight-summary"),
  listDetails: inFlight,
});
const requests = createRequestsView({
  stage: $("stage"),
  linksSvg: $("links-layer"),
  locateBox: (n) => controlPlane.boxFor(n) ?? nodes.boxFor(n),
  list: $("req-list"),
  watchSummary: $("req-watches"),
  onlyKubectl: $("req-only-kubectl"),
  showNoise: $("req-show-noise"),
  inspector: $("req-inspector"),
  clusterName: name,
  announce: (text) => announce(text),
});
// a request token, a request in the list or an api.* event-log row opens the inspector
function openRequestFrom(e) {
  const target = e.target instanceof Element ? e.target.closest("[data-request]") : null;
  if (!target || !target.matches(".req-token, .req-open, .ev-inspectable")) return;
  if (e.type === "keydown") {
    if (!target.matches(".ev-inspectable") || (e.key !== "Enter" && e.key !== " ")) return;
    e.preventDefault();
  }
  requests.open(target.dataset.request, target, model);
}
for (const root of [$("stage"), $("req-list"), $("event-log")]) {
  root.addEventListener("click", openRequestFrom);
  root.addEventListener("keydown", openRequestFrom);
}
// The panels below the architecture (templates: #panels). Each is { update(model, t, options) },
// drawn every animation frame like the areas above, and cheap when its versions did not move.
const panels = [
  // one line per panel: createXPanel({ root: $("…-body"), note: $("…-note"), model, name, api, announce, showNotice })
  createControllersPanel({ root: $("controllers-body"), note: $("controllers-note"), model, name, api, announce, showNotice }),
  createSchedulerPanel({ root: $("scheduler-body"), note: $("scheduler-note"), model, name, api, announce, showNotice }),
  createTimeline({ root: $("timeline"), model, name, announce, showNotice }), // the history scrubber in the header
  createLessonPanel({ root: $("lesson-panel"), name, announce, showNotice, classroom: classroom.lesson }), // a live lesson's narration (hidden without one)
  createTrafficPanel({ root: $("traffic-body"), note: $("traffic-note"), model, name, api, announce, showNotice, stage: $("stage"), locateBox: (n) => controlPlane.boxFor(n) ?? nodes.boxFor(n) }),
];
const eventLog = createEventLog({ list: $("event-log"), filters: $("log-filters"), count: $("log-count"), jump: $("jump-latest") });

const clock = createClockView({
  onTogglePause: () => togglePause(),
  onStep: () => step(),
  onSpeed: (speed) => act(gettext("Could not change the speed"), () => api.setClock(name, { speed })),
  onAdvance: (seconds) => advance(seconds),
});

function togglePause() {
  if (!model.live) return;
  const paused = !model.clock.paused;
  return act(paused ? gettext("Could not pause") : gettext("Could not resume"), () => api.setClock(name, { paused }));
}

async function step() {
  if (!model.live || !model.clock.paused) return;
  const before = { seq: model.seq, time: model.clock.time };
  const result = await act(gettext("Could not step"), () => api.step(name));
  if (!result) return;
  if (result.last_seq === before.seq && result.time === before.time) {
    showNotice(gettext("Nothing to step: no action is scheduled in this cluster."));
  } else {
    announce(interpolate(gettext("Stepped to %(time)s"), { time: formatTime(result.time) }));
  }
}

async function advance(seconds) {
  if (!model.live || !model.clock.paused) return;
  if (!(seconds > 0 && seconds <= 3600)) {
    showNotice(gettext("Advance by more than 0 and at most 3600 seconds."));
    return;
  }
  const button = $("btn-advance");
  button.setAttribute("aria-busy", "true");
  const result = await act(gettext("Could not advance"), () => api.advance(name, seconds));
  button.removeAttribute("aria-busy");
  if (result) announce(interpolate(gettext("Advanced to %(time)s"), { time: formatTime(result.time) }));
}

function changeSpeed(direction) {
  if (!model.live) return;
  clock.setSpeed(nextSpeed(clock.requestedSpeed(), direction)); // repeated presses step from the last request
}

// --- the stream --------------------------------------------------------------------------------
function requestResync() {
  if (model.awaitingSnapshot) return;
  model.awaitingSnapshot = true;
  stream.resync();
}

function takeClock(c, now) {
  if (M.applyClock(model, c, now) === "regressed") requestResync();
}

async function backfill() {
  // The snapshot carries state, not history: fetch the recent events so the log is not empty.
  const upTo = model.seq;
  if (upTo <= 0) return;
  try {
    const page = await api.events(name, Math.max(0, upTo - 200), 200);
    M.prependHistory(model, page.events.filter((e) => e.seq <= upTo));
  } catch {
    // the log simply starts at the snapshot
  }
}

function onFrame(frame) {
  const now = performance.now();
  switch (frame.type) {
    case "snapshot": {
      const first = !model.hasSnapshot;
      M.applySnapshot(model, frame.state, now);
      etcdAfterSnapshot(model);
      requestsAfterSnapshot(model);
      nodesAfterSnapshot(model);
      controllersAfterSnapshot(model);
      trafficAfterSnapshot(model);
      if (first) backfill();
      break;
    }
    case "events": {
      const result = M.applyEvents(model, Array.isArray(frame.events) ? frame.events : []);
      if (result === "gap") requestResync();
      else if (result === "ok" && frame.clock) takeClock(frame.clock, now);
      break;
    }
    case "clock":
      if (model.hasSnapshot && !model.awaitingSnapshot && frame.clock) takeClock(frame.clock, now);
      break;
    case "error":
      showNotice(String(frame.error ?? gettext("the server reported an error")), { sticky: true });
      break;
    case "classroom":
      classroom.take(frame);
      break;
    default:
      break;
  }
  if (ClusterStream.isDataFrame(frame)) stream.ack(model.seq);
}

async function verifyHistory(summary) {
  // Resume only if the server still has our history: after a restart the same seq numbers
  // may mean different events. Compare our last event with the server's event at that seq.
  model.summary = summary;
  if (summary.last_seq < model.seq || model.seq <= 0) return false;
  const mine = M.eventAt(model, model.seq);
  if (!mine) return false;
  const page = await api.events(name, model.seq - 1, 1);
  const theirs = page.events[0];
  return Boolean(theirs) && theirs.seq === mine.seq && theirs.time === mine.time && theirs.kind === mine.kind && theirs.summary === mine.summary;
}

const stream = new ClusterStream({
  name,
  resumeFrom: () => (model.hasSnapshot && !model.awaitingSnapshot ? model.seq : null),
  verify: verifyHistory,
  wire: new URLSearchParams(location.search).get("wire") === "json" ? "json" : "compact", // ?wire=json: the plain frames, to compare
  onFrame,
  params: () => classroom.streamParams(),
  onStatus(status) {
    model.live = status.state === "connected";
    connection.show(status);
    if (status.state === "disconnected") {
      showNotice(interpolate(gettext("%(why)s. Go back to the cluster list to pick another one."), { why: status.detail || gettext("The cluster is gone") }), { sticky: true });
    }
  },
});

api
  .getCluster(name)
  .then((summary) => {
    model.summary = summary;
  })
  .catch(() => {});
classroom.ready.then(() => stream.start()); // a viewer joins first: the stream counts it

// --- the animation loop ------------------------------------------------------------------------
let clockVersion = -1;
let clockAnnounced = null;
function announceClock() {
  const c = model.clock;
  const text = c.paused ? interpolate(gettext("Paused at %(time)s"), { time: formatTime(c.time) }) : interpolate(gettext("Running at %(speed)s speed"), { speed: formatSpeed(c.speed) });
  if (clockAnnounced !== null && text !== clockAnnounced) announce(text);
  clockAnnounced = text;
}

function frame(now) {
  try {
    beginFrame(); // every box renderers ask for, measured before anyone writes (geometry.js)
    const t = kiosk.displayTime(model, now); // M.advanceDisplayTime, or exactly the server's time when frozen
    M.pruneMessages(model, t, lingerSeconds(model.clock.speed));
    clock.update(model, t, now, model.live);
    controlPlane.update(model);
    etcdPanel.update(model, t, { reduced: motion.reduced, now });
    nodes.update(model, t, { reduced: motion.reduced, now });
    messages.update(model, t, { reduced: motion.reduced, now });
    requests.update(model, t, { reduced: motion.reduced, now });
    for (const panel of panels) panel.update(model, t, { reduced: motion.reduced, now });
    eventLog.update(model);
    refresher.tick(now);
    viewsRefresher.tick(now);
    if (model.versions.clock !== clockVersion && model.hasSnapshot) {
      clockVersion = model.versions.clock;
      announceClock();
    }
    kiosk.afterFrame(model);
  } finally {
    requestAnimationFrame(frame);
  }
}
requestAnimationFrame(frame);

// --- presentation mode (present.js): a clicker's keys drive the lesson and the clock -----------
function nextLessonStep() {
  const next = document.querySelector(".lesson-next");
  if (next && !next.disabled) next.click();
  else if (classroom.canStep()) classroom.next();
  else if (document.querySelector(".lesson-now.is-running")) showNotice(gettext("The step is still running."));
  else showNotice(gettext("No lesson step to run here: start a lesson (▶ Lessons) to step through one."));
}
const presentation = createPresentation({
  tools: document.querySelector(".topbar .tools"),
  announce,
  onAction(action) {
    if (action === "next") nextLessonStep();
    else if (action === "pause") togglePause();
    else if (action === "faster") changeSpeed(+1);
    else if (action === "slower") changeSpeed(-1);
  },
});

// --- keyboard ----------------------------------------------------------------------------------
const help = $("help-dialog");
function toggleHelp() {
  if (help.open) help.close();
  else help.showModal();
}
$("btn-help").addEventListener("click", toggleHelp);

document.addEventListener("keydown", (e) => {
  if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
  if (presentation.handleKey(e)) return; // p, and every key while presenting
  const target = e.target instanceof Element ? e.target : document.body;
  if (target.closest("input:not([type=range]):not([type=checkbox]), textarea, select, [contenteditable='true']")) return;
  if (help.open && e.key !== "?") return;
  switch (e.key) {
    case " ":
    case "Spacebar":
      if (target.closest("button, a, summary, [role=button], input, details")) return; // their own Space
      e.preventDefault();
      togglePause();
      break;
    case ".":
      e.preventDefault();
      step();
      break;
    case "+":
    case "=":
      e.preventDefault();
      changeSpeed(+1);
      break;
    case "-":
    case "_":
      e.preventDefault();
      changeSpeed(-1);
      break;
    case "?":
      e.preventDefault();
      toggleHelp();
      break;
    default:
      break;
  }
});

// For tests and the curious: the live model and stream (read-only by convention).
window.clusterscope = { model, stream, presentation };
