// The browser's model of one cluster: plain data, updated only from server frames.
// No DOM here (RaftScope's split): renderers read this object on every animation frame and
// draw what it says; nothing on screen is scripted.
//
//   const model = createModel("demo");
//   applySnapshot(model, frame.state, performance.now());      // {"type": "snapshot"}
//   applyEvents(model, frame.events);                          // -> "ok" | "gap" | "ignored"
//   applyClock(model, frame.clock, performance.now());         // -> "ok" | "regressed"
//   const t = advanceDisplayTime(model, performance.now());    // the virtual time to draw
//   pruneMessages(model, t, lingerSeconds);
//
// Messages are data, as in RaftScope: {id, source, target, kind, sent, arrives, status,
// deliveredAt, droppedAt, reason}. A renderer places each one at
// messageProgress(message, t) = the fraction of its flight that has passed at virtual time t.
//
// Time: the server sends its clock {time, paused, speed, lagging} with every batch and at
// least every 250 ms while running. Between frames the display time is extrapolated with
// `speed`, but by at most MAX_LEAD_SECONDS of wall time (about one frame), so the picture
// never runs ahead of what the server has simulated; while running it never goes backwards.
//
// Later panels teach the model their events with registerApplier("raft.", fn) (an exact kind
// or a "group." prefix); fn(model, event) changes plain data and bumps model.versions.
// Optionally an event whose data carries a whole component view ({"view": {"name": ...}})
// replaces that component's view.

export const MAX_EVENTS_KEPT = 2000;
export const MAX_MESSAGES_KEPT = 20000;
export const MAX_LEAD_SECONDS = 0.3;
const TIME_EPSILON = 1e-9;

const SNAPSHOT_KEYS = new Set(["name", "time", "seq", "clock", "profile", "network", "components"]);

export function createModel(name) {
  return {
    name,
    seq: 0, // last event applied (or the snapshot's seq)
    hasSnapshot: false,
    awaitingSnapshot: true, // events are ignored until a snapshot arrives
    live: false, // connected: the display clock may extrapolate
    snapshots: 0,
    clock: { time: 0, paused: true, speed: 1, lagging: false },
    clockAt: 0, // wall ms (performance.now) when `clock` arrived
    shownTime: 0,
    profile: null,
    components: new Map(), // name -> view (plain object)
    network: { partitions: [], faults: { endpoints: {}, links: {} } },
    messages: new Map(), // id -> message
    extra: {}, // other snapshot keys (etcd, nodes, pods, ...) for later panels
    events: [], // the newest MAX_EVENTS_KEPT events (and local marks), oldest first
    eventsTotal: 0, // events ever pushed: renderers diff against it
    versions: { components: 0, network: 0, messages: 0, clock: 0, events: 0, reset: 0, views: 0 },
  };
}

// --- snapshot ------------------------------------------------------------------------------

function componentName(view) {
  return String(view.name ?? view.id ?? "");
}

export function applySnapshot(model, state, now) {
  const previousSeq = model.seq;
  const first = !model.hasSnapshot;
  model.seq = Number(state.seq) || 0;
  model.hasSnapshot = true;
  model.awaitingSnapshot = false;
  model.snapshots += 1;
  model.profile = state.profile ?? model.profile;

  const components = new Map();
  for (const view of Array.isArray(state.components) ? state.components : []) {
    const name = componentName(view);
    if (name) components.set(name, { ...view, name });
  }
  // DESIGN.md: etcd members may also come as state.etcd.members[] (id, role, term, ...).
  const members = state.etcd && Array.isArray(state.etcd.members) ? state.etcd.members : [];
  for (const member of members) {
    const name = componentName(member);
    if (!name) continue;
    components.set(name, { kind: "etcd-member", alive: true, ...components.get(name), ...member, name });
  }
  // A large cluster's WebSocket snapshot leaves the node-level views out (cluster/compact.py):
  // the ones we hold stay until GET /state brings fresh ones (appliers/views.js).
  if (state.scale?.stream === "partial") for (const [name, view] of model.components) if (!components.has(name) && view.node != null) components.set(name, view);
  model.components = components;

  const network = state.network ?? {};
  model.network = {
    partitions: Array.isArray(network.partitions) ? network.partitions.map((g) => g.map(String)) : [],
    faults: network.faults ?? { endpoints: {}, links: {} },
  };

  model.messages = new Map();
  for (const m of Array.isArray(network.in_flight) ? network.in_flight : []) {
    model.messages.set(m.id, { id: m.id, source: m.source, target: m.target, kind: m.kind, sent: m.sent, arrives: m.arrives, status: "flight" });
  }

  model.extra = {};
  for (const [key, value] of Object.entries(state)) if (!SNAPSHOT_KEYS.has(key)) model.extra[key] = value;

  const clock = state.clock ?? { time: state.time, paused: model.clock.paused, speed: model.clock.speed, lagging: false };
  applyClock(model, clock, now, { reset: true });

  if (!first) {
    const resumed = model.seq >= previousSeq;
    pushEvent(model, {
      local: true,
      seq: null,
      time: model.clock.time,
      kind: "clusterscope.snapshot",
      summary: resumed
        ? `fresh snapshot at ${model.clock.time.toFixed(3)} s: events in between are not listed`
        : `the cluster went back in its history (a seek on the timeline, or a server restart): a fresh snapshot at ${model.clock.time.toFixed(3)} s`,
    });
  }
  bumpAll(model);
}

function bumpAll(model) {
  for (const key of Object.keys(model.versions)) model.versions[key] += 1;
}

// --- events --------------------------------------------------------------------------------

const appliers = new Map(); // kind or "prefix." -> fn(model, event)

const namesOfKind = new WeakMap(); // model.components -> {test -> {size, names}}

/** The names of the components a test picks (by kind), in the components' order. Remembered while
 * the map is the same and holds as many components: no component changes kind and none is
 * deleted, so only an added one (a bigger map) or a snapshot (a new map) can change the answer.
 * A large cluster has thousands of components and several panels ask every frame. */
export function componentNames(model, test) {
  let byTest = namesOfKind.get(model.components);
  if (!byTest) namesOfKind.set(model.components, (byTest = new Map()));
  let known = byTest.get(test);
  if (!known || known.size !== model.components.size) {
    known = { size: model.components.size, names: [] };
    for (const [name, view] of model.components) if (test(view)) known.names.push(name);
    byTest.set(test, known);
  }
  return known.names;
}

export function registerApplier(kindOrPrefix, fn) {
  const list = appliers.get(kindOrPrefix) ?? [];
  list.push(fn);
  appliers.set(kindOrPrefix, list);
}

/**
 * Apply a batch in seq order. Returns "ok", "gap" (a seq is missing: ask for a resync;
 * nothing after the gap was applied) or "ignored" (no snapshot yet).
 */
export function applyEvents(model, events) {
  if (!model.hasSnapshot || model.awaitingSnapshot) return "ignored";
  for (const event of events) {
    if (typeof event.seq !== "number" || event.seq <= model.seq) continue; // duplicate after a resume
    if (event.seq !== model.seq + 1) return "gap";
    applyEvent(model, event);
    model.seq = event.seq;
    pushEvent(model, event);
  }
  return "ok";
}

export function applyEvent(model, event) {
  const builtin = BUILTIN[event.kind];
  if (builtin) builtin(model, event);
  const data = event.data ?? {};
  if (data.view && typeof data.view === "object" && data.view.name) {
    const name = String(data.view.name);
    model.components.set(name, { ...model.components.get(name), ...data.view, name });
    model.versions.components += 1;
  }
  const exact = appliers.get(event.kind);
  if (exact) for (const fn of exact) fn(model, event);
  const prefix = appliers.get(`${String(event.kind).split(".", 1)[0]}.`);
  if (prefix) for (const fn of prefix) fn(model, event);
}

function setAlive(model, name, alive) {
  const view = model.components.get(name);
  if (view) {
    model.components.set(name, { ...view, alive });
    model.versions.components += 1;
  }
}

const BUILTIN = {
  "net.send"(model, e) {
    const d = e.data ?? {};
    if (d.msg == null) return;
    model.messages.set(d.msg, {
      id: d.msg,
      source: e.source,
      target: e.target ?? d.target,
      kind: d.kind ?? "message",
      sent: e.time,
      arrives: typeof d.arrives === "number" ? d.arrives : e.time,
      status: "flight",
    });
    model.versions.messages += 1;
  },
  "net.deliver"(model, e) {
    const m = model.messages.get(e.data?.msg);
    if (m) {
      m.status = "delivered";
      m.deliveredAt = e.time;
      model.versions.messages += 1;
    }
  },
  "net.drop"(model, e) {
    const d = e.data ?? {};
    let m = model.messages.get(d.msg);
    if (!m) {
      // dropped before it was ever in flight (e.g. unknown endpoint): a cross at the sender
      m = { id: d.msg ?? `drop-${e.seq}`, source: e.source, target: e.target ?? d.target, kind: d.kind ?? "message", sent: e.time, arrives: e.time };
      model.messages.set(m.id, m);
    }
    m.status = "dropped";
    m.droppedAt = e.time;
    m.reason = d.reason ?? "dropped";
    model.versions.messages += 1;
  },
  "net.crash"(model, e) {
    setAlive(model, e.source, false);
  },
  "net.restart"(model, e) {
    setAlive(model, e.source, true);
  },
  "net.partition"(model, e) {
    const groups = e.data?.groups;
    model.network = { ...model.network, partitions: Array.isArray(groups) ? groups.map((g) => g.map(String)) : [] };
    model.versions.network += 1;
  },
  "net.heal"(model) {
    model.network = { partitions: [], faults: { endpoints: {}, links: {} } };
    model.versions.network += 1;
  },
  "net.fault"(model, e) {
    const d = e.data ?? {};
    const faults = { endpoints: { ...model.network.faults?.endpoints }, links: { ...model.network.faults?.links } };
    const value = { loss: d.loss ?? 0, latency_ms: d.latency_ms ?? 0 };
    const clear = !value.loss && !value.latency_ms;
    if (d.peer) {
      const key = [d.target, d.peer].sort().join("|");
      if (clear) delete faults.links[key];
      else faults.links[key] = value;
    } else if (d.target) {
      if (clear) delete faults.endpoints[d.target];
      else faults.endpoints[d.target] = value;
    }
    model.network = { ...model.network, faults };
    model.versions.network += 1;
  },
};

export function pushEvent(model, event) {
  model.events.push(event);
  if (model.events.length > MAX_EVENTS_KEPT * 1.5) model.events.splice(0, model.events.length - MAX_EVENTS_KEPT);
  model.eventsTotal += 1;
  model.versions.events += 1;
}

/** Put already-applied history (older than anything held) in front of the kept events. */
export function prependHistory(model, events) {
  const oldest = model.events.find((e) => !e.local && typeof e.seq === "number");
  const cutoff = oldest ? oldest.seq : model.seq + 1;
  const older = events.filter((e) => typeof e.seq === "number" && e.seq < cutoff);
  if (!older.length) return;
  model.events = older.concat(model.events).slice(-MAX_EVENTS_KEPT);
  model.versions.reset += 1; // renderers rebuild their lists
  model.versions.events += 1;
}

/** The event with this seq, if we still hold it (in the current history: marks end the search). */
export function eventAt(model, seq) {
  for (let i = model.events.length - 1; i >= 0; i -= 1) {
    const e = model.events[i];
    if (e.local) break;
    if (e.seq === seq) return e;
    if (typeof e.seq === "number" && e.seq < seq) break;
  }
  return null;
}

// --- clock ---------------------------------------------------------------------------------

/**
 * Take the server's clock. Returns "regressed" (and changes nothing) when virtual time went
 * backwards without a snapshot: the server restarted or the history changed; ask for a resync.
 */
export function applyClock(model, clock, now, { reset = false } = {}) {
  const previous = model.clock;
  const time = Number(clock.time);
  if (!Number.isFinite(time)) return "ok";
  if (!reset && model.hasSnapshot && time < previous.time - TIME_EPSILON) return "regressed";
  const next = {
    time,
    paused: Boolean(clock.paused),
    speed: Number(clock.speed) > 0 ? Number(clock.speed) : previous.speed,
    lagging: Boolean(clock.lagging),
  };
  if (reset || next.paused !== previous.paused || next.speed !== previous.speed || next.lagging !== previous.lagging) model.versions.clock += 1;
  model.clock = next;
  model.clockAt = now;
  if (reset) model.shownTime = time;
  return "ok";
}

/** The virtual time to draw now (wall ms from performance.now()). */
export function advanceDisplayTime(model, now) {
  const c = model.clock;
  if (c.paused) {
    model.shownTime = c.time; // exactly the server's time: paused means still
    return c.time;
  }
  if (!model.live) return model.shownTime; // disconnected: hold still, never guess
  const elapsed = Math.min(Math.max(0, (now - model.clockAt) / 1000), MAX_LEAD_SECONDS);
  let t = c.time + elapsed * c.speed;
  // Running: never step backwards because a frame came in a little behind our estimate,
  // but never stay more than one frame ahead of the server either.
  if (t < model.shownTime && model.shownTime <= c.time + MAX_LEAD_SECONDS * c.speed) t = model.shownTime;
  model.shownTime = t;
  return t;
}

// --- messages ------------------------------------------------------------------------------

/** Fraction of a message's flight that has passed at virtual time t, in [0, 1]. */
export function messageProgress(m, t) {
  const end = m.status === "dropped" ? Math.min(m.droppedAt ?? t, t) : t;
  const span = m.arrives - m.sent;
  if (!(span > 0)) return end >= m.arrives ? 1 : 0;
  return Math.min(1, Math.max(0, (end - m.sent) / span));
}

/** What a message is doing at virtual time t: "flight", "dropped" (shown as a cross) or "done". */
export function messagePhase(m, t, lingerSeconds) {
  if (m.status === "delivered" && t >= m.deliveredAt) return "done";
  if (m.status === "dropped" && t >= m.droppedAt) return t > m.droppedAt + lingerSeconds ? "done" : "dropped";
  return "flight";
}

/** Forget messages that have finished by virtual time t (delivered, or dropped and faded). */
export function pruneMessages(model, t, lingerSeconds) {
  let removed = false;
  for (const [id, m] of model.messages) {
    if (messagePhase(m, t, lingerSeconds) === "done") {
      model.messages.delete(id);
      removed = true;
    }
  }
  // A bound whatever the server sends: a message whose delivery never reaches us (a snapshot in
  // between, a huge cluster's flood) must not stay forever. The oldest sent go first.
  if (model.messages.size > MAX_MESSAGES_KEPT) {
    for (const id of model.messages.keys()) {
      model.messages.delete(id);
      if (model.messages.size <= MAX_MESSAGES_KEPT) break;
    }
    removed = true;
  }
  if (removed) model.versions.messages += 1;
}

// --- partitions ----------------------------------------------------------------------------

/** The partition group index of a component (null: not mentioned, reachable by everyone). */
export function partitionSide(model, name) {
  const groups = model.network.partitions;
  for (let i = 0; i < groups.length; i += 1) if (groups[i].includes(name)) return i;
  return null;
}

/** Same rule as cluster/net/network.py `connected`. */
export function connected(model, a, b) {
  if (!model.network.partitions.length || a === b) return true;
  const ga = partitionSide(model, a);
  const gb = partitionSide(model, b);
  return ga === null || gb === null || ga === gb;
}
