// The etcd part of the model: plain data, no DOM. Keeps every etcd member's view current
// between snapshots from the events cluster/etcd/member.py and cluster/net/network.py emit,
// and keeps what the page has learnt about the key space and the watches.
//
//   registerEtcdAppliers();                 // once, before the first frame
//   etcdAfterSnapshot(model);               // after every model.applySnapshot
//   etcdMembers(model)                      // the member views, in natural name order
//   quorumStatus(model)                     // alive, quorum, who can reach a majority
//   memberTimer(member, t, model)           // the election-timer arc (or the leader's heartbeat)
//   applyEtcdRefresh(model, state)          // merge a REST /state snapshot (see below)
//
// Members live in model.components (kind "etcd"), like every component, so the generic parts
// of the page (message lanes, the event log) keep working; the events patch those views:
//
//   raft.role {role, term, leader}   raft.leader {leader, term}   raft.vote {term}, target
//   raft.append {first, last, term}  raft.truncate {index}        raft.commit {commit}
//   raft.restart {term, snapshot_index?}                           etcd.put|delete|txn|read
//   raft.snapshot {index, term, compacted, kept}: the member's log now starts after `compacted`
//   raft.restore {index, term, revision}: log and store replaced by the leader's snapshot
//   net.crash / net.restart
//   net.send: the leader's heartbeat rhythm; the RPC's fields are kept on the message (m.info)
//   net.deliver: a follower hears its leader (election timer reset), a candidate collects votes
//
// What the events cannot say (the random election timeout drawn at each role change, the
// store revision of members that did not answer the client, the terms of a catch-up batch) is
// refreshed from GET /api/clusters/<name>/state. A refresh is exact: its member views are the
// state after event `state.seq`; when the model is already further, the events after that
// seq (still held in model.events) are applied again on top of those views, and when the
// model is behind, the refresh waits until the stream has caught up.

import { componentNames, connected, registerApplier } from "../model.js";
import { kindInfo } from "../theme.js";

export const ETCD_KIND = "etcd";
const MAX_WATCHES = 500;
const MAX_KEYS = 2000;

// --- the etcd part of the model ------------------------------------------------------------

/** model.etcd: created on first use. */
export function etcdState(model) {
  if (!model.etcd) {
    model.etcd = {
      keys: new Map(), // key -> what the page knows about it (see noteKey)
      watches: new Map(), // "member|client|watch_id" -> {member, client, watch_id, key, prefix, start_revision}
      wantRefresh: true, // a refresh is needed (a new random election timeout): soon
      wantLazyRefresh: false, // a refresh would confirm what the events said: within seconds
      highestRevision: 0,
      // [log index, store revision after applying it], from the write events: a member that has
      // applied index i has at least that revision (every member applies the same log)
      revisions: [],
    };
    if (model.versions.etcd === undefined) model.versions.etcd = 0;
  }
  return model.etcd;
}

function bumpEtcd(model) {
  model.versions.etcd = (model.versions.etcd ?? 0) + 1;
}

export function isEtcdMember(view) {
  return Boolean(view) && kindInfo(view.kind).id === ETCD_KIND;
}

const byName = (a, b) => a.name.localeCompare(b.name, "en", { numeric: true });

/** The etcd members' views, in natural name order (etcd-2 before etcd-10). */
export function etcdMembers(model) {
  const out = [];
  for (const name of componentNames(model, isEtcdMember)) {
    const view = model.components.get(name);
    if (isEtcdMember(view)) out.push(view);
  }
  return out.sort(byName);
}

function member(model, name) {
  const view = model.components.get(name);
  return isEtcdMember(view) ? view : null;
}

function patch(model, name, fields) {
  const view = member(model, name);
  if (!view) return null;
  let next = null;
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || view[key] === value) continue;
    next ??= { ...view };
    next[key] = value;
  }
  if (next) {
    model.components.set(name, next);
    model.versions.components += 1;
    return next;
  }
  return view;
}

// --- timing --------------------------------------------------------------------------------

/** The leader's heartbeat interval in seconds (the profile gives milliseconds). */
export function heartbeatSeconds(model) {
  const ms = Number(model.profile?.raft_heartbeat_ms ?? model.profile?.raft_heartbeat_us);
  return ms > 0 ? ms / 1000 : null;
}

/**
 * The member's timer at virtual time t:
 *   {kind: "election", remaining, total, fraction, estimated}   followers and candidates
 *   {kind: "heartbeat", remaining, total, fraction}             the leader's rhythm
 *   null when unknown (down, or nothing heard yet)
 * fraction is what is left: 1 just after a reset, 0 when it fires.
 */
export function memberTimer(view, t, model) {
  if (!view || view.alive === false || view.role === "down") return null;
  if (view.role === "leader") {
    const total = heartbeatSeconds(model);
    let deadline = view.heartbeat_deadline;
    if (!(total > 0) || typeof deadline !== "number") return null;
    // The leader beats every `total` seconds: past a deadline the next one follows.
    if (t > deadline) deadline += Math.ceil((t - deadline) / total) * total;
    const remaining = Math.max(0, deadline - t);
    return { kind: "heartbeat", remaining, total, fraction: Math.min(1, remaining / total) };
  }
  const deadline = view.election_deadline;
  const total = view.election_timeout;
  if (typeof deadline !== "number" || !(total > 0)) return null;
  const remaining = Math.max(0, deadline - t);
  return { kind: "election", remaining, total, fraction: Math.min(1, remaining / total), estimated: Boolean(view.timer_estimated) };
}

// --- quorum --------------------------------------------------------------------------------

/**
 * Who can commit writes. A leader needs a quorum (a majority of ALL members) of live members it
 * can reach directly, itself included; partitions decide who reaches whom (model.connected,
 * the server's rule). Returns
 *   {size, alive, quorum, canCommit, majority: [names that reach a quorum], cutOff: [live names
 *    that do not], leader, leaderTerm, tolerates (further failures the majority survives)}
 */
export function quorumStatus(model) {
  const members = etcdMembers(model);
  const size = members.length;
  const quorum = Math.floor(size / 2) + 1;
  const live = members.filter((m) => m.alive !== false && m.role !== "down");
  const majority = [];
  const cutOff = [];
  let largest = 0;
  for (const m of live) {
    const reach = live.filter((n) => connected(model, m.name, n.name)).length;
    largest = Math.max(largest, reach);
    (reach >= quorum ? majority : cutOff).push(m.name);
  }
  let leader = null;
  for (const m of live) if (m.role === "leader" && (!leader || m.term > leader.term)) leader = m;
  return {
    size,
    alive: live.length,
    quorum,
    canCommit: size > 0 && majority.length > 0,
    majority,
    cutOff,
    partitioned: model.network.partitions.length > 0 && cutOff.length > 0,
    leader: leader ? leader.name : null,
    leaderTerm: leader ? leader.term : null,
    leaderCanCommit: Boolean(leader) && majority.includes(leader.name),
    tolerates: Math.max(0, largest - quorum),
  };
}

// --- the log -------------------------------------------------------------------------------

const LOG_KEPT = 100; // as many entries as member.view() sends (the newest)

function appendEntries(view, first, last, term) {
  const log = (Array.isArray(view.log) ? view.log : []).filter((e) => e.index < first);
  for (let i = first; i <= last; i += 1) log.push({ index: i, term });
  return log.slice(-LOG_KEPT);
}

// --- the key space -------------------------------------------------------------------------

/**
 * Record what is known of a key. `fields` may hold value (with valueKnown), create_revision,
 * mod_revision, version, deleted, and a note of the last operation seen
 * ({lastOp, lastBy, lastRevision, lastConsistency, stale}).
 */
export function noteKey(model, key, fields) {
  if (typeof key !== "string" || !key) return;
  const etcd = etcdState(model);
  const known = etcd.keys.get(key) ?? { key, value: null, valueKnown: false, create_revision: null, mod_revision: null, version: null, deleted: false };
  // Never let an older observation overwrite a newer one (reads may come back out of order).
  const older = typeof fields.mod_revision === "number" && typeof known.mod_revision === "number" && fields.mod_revision < known.mod_revision;
  const next = { ...known };
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    if (older && ["value", "valueKnown", "create_revision", "mod_revision", "version", "deleted"].includes(k)) continue;
    next[k] = v;
  }
  etcd.keys.delete(key);
  etcd.keys.set(key, next); // most recent last
  if (etcd.keys.size > MAX_KEYS) etcd.keys.delete(etcd.keys.keys().next().value);
  noteRevision(model, fields.mod_revision);
  bumpEtcd(model);
}

function noteRevision(model, revision) {
  const etcd = etcdState(model);
  if (typeof revision === "number" && revision > etcd.highestRevision) etcd.highestRevision = revision;
}

/** Version and create revision after a put at `revision`, from what was known before. */
function afterPut(known, revision) {
  if (!known) return { version: null, create_revision: null }; // it may predate this page: unknown
  if (known.deleted) return { version: 1, create_revision: revision };
  return { version: typeof known.version === "number" ? known.version + 1 : null, create_revision: known.create_revision };
}

/** Already recorded at this revision or later (the stream and the HTTP answer both report a write). */
function alreadySeen(known, revision) {
  return Boolean(known) && typeof known.mod_revision === "number" && typeof revision === "number" && known.mod_revision >= revision;
}

const MAX_REVISION_MARKS = 1000;

function noteIndexRevision(model, index, revision) {
  if (typeof index !== "number" || typeof revision !== "number") return;
  const marks = etcdState(model).revisions;
  // sorted by index; answers come from different members, so not always in index order
  let at = marks.length;
  while (at > 0 && marks[at - 1][0] > index) at -= 1;
  if (at > 0 && marks[at - 1][0] === index) return;
  marks.splice(at, 0, [index, revision]);
  if (marks.length > MAX_REVISION_MARKS) marks.splice(0, marks.length - MAX_REVISION_MARKS);
}

/** The store revision a member has once it has applied `applied` entries (null: not known here). */
export function revisionAt(model, applied) {
  const marks = etcdState(model).revisions;
  let found = null;
  for (let i = marks.length - 1; i >= 0; i -= 1) {
    if (marks[i][0] <= applied) {
      found = marks[i][1];
      break;
    }
  }
  return found;
}

function onWrite(model, e) {
  const d = e.data ?? {};
  const revision = typeof d.revision === "number" ? d.revision : undefined;
  noteIndexRevision(model, d.index, revision);
  // members that applied this entry before the one answering the client told us its revision
  if (typeof d.index === "number" && revision !== undefined) {
    for (const m of etcdMembers(model)) {
      if (m.alive !== false && m.applied >= d.index && !(m.revision >= revision)) patch(model, m.name, { revision });
    }
  }
  const view = member(model, e.source);
  if (view && revision !== undefined && !(view.revision >= revision)) patch(model, e.source, { revision });
  if (typeof d.key !== "string") return;
  const known = etcdState(model).keys.get(d.key);
  const last = { lastOp: d.op, lastBy: e.source, lastRevision: revision };
  if (alreadySeen(known, revision)) {
    noteKey(model, d.key, last);
  } else if (d.op === "delete") {
    noteKey(model, d.key, { ...last, deleted: true, value: null, valueKnown: true, version: 0, create_revision: null, mod_revision: revision });
  } else if ((d.op === "cas" || d.op === "txn") && d.succeeded === false) {
    noteKey(model, d.key, { ...last, lastOp: `${d.op} (compare failed)` });
  } else {
    // the event does not carry the value: unknown until read (or written from this page)
    noteKey(model, d.key, { ...last, ...afterPut(known, revision), deleted: false, mod_revision: revision, value: null, valueKnown: false });
  }
}

/**
 * What the client form learnt from an answer (POST /etcd): request {op, key, value,
 * consistency}, answer {revision, value, mod_revision, create_revision, version, succeeded, member}.
 */
export function noteClientAnswer(model, request, answer) {
  const key = request.key;
  const known = etcdState(model).keys.get(key);
  const revision = answer.revision;
  const last = { lastOp: request.op, lastBy: answer.member, lastRevision: revision };
  if (request.op === "get") {
    const absent = answer.value === null || answer.value === undefined;
    // a stale (serializable) read that misses a newer write says nothing about the key now
    if (absent && known && typeof known.mod_revision === "number" && known.mod_revision > revision) {
      noteKey(model, key, { ...last, lastConsistency: request.consistency });
      return;
    }
    noteKey(model, key, {
      ...last,
      lastConsistency: request.consistency,
      value: absent ? null : answer.value,
      valueKnown: true,
      deleted: absent,
      mod_revision: absent ? undefined : answer.mod_revision,
      create_revision: absent ? null : answer.create_revision,
      version: absent ? 0 : answer.version,
    });
    return;
  }
  if (request.op === "delete") {
    if (!alreadySeen(known, revision)) noteKey(model, key, { ...last, deleted: true, value: null, valueKnown: true, version: 0, create_revision: null, mod_revision: revision });
    return;
  }
  if (request.op === "cas" && answer.succeeded === false) {
    noteKey(model, key, { ...last, lastOp: "cas (compare failed)" });
    return;
  }
  // put, or a cas that succeeded: the value is the one sent
  const seen = alreadySeen(known, revision);
  noteKey(model, key, { ...last, ...(seen ? {} : afterPut(known, revision)), deleted: false, mod_revision: revision, value: request.value, valueKnown: true });
}

function onRead(model, e) {
  const d = e.data ?? {};
  const view = member(model, e.source);
  if (view && typeof d.revision === "number" && !(view.revision >= d.revision)) patch(model, e.source, { revision: d.revision });
}

// --- watches -------------------------------------------------------------------------------

const watchId = (memberName, client, id) => `${memberName}|${client}|${id}`;

function addWatch(model, e) {
  const d = e.data ?? {};
  const etcd = etcdState(model);
  if (etcd.watches.size >= MAX_WATCHES) return;
  etcd.watches.set(watchId(e.source, e.target, d.watch_id), {
    member: e.source,
    client: e.target,
    watch_id: d.watch_id,
    key: d.key,
    prefix: Boolean(d.prefix),
    start_revision: d.start_revision ?? 0,
  });
  bumpEtcd(model);
}

function endWatch(model, e) {
  if (etcdState(model).watches.delete(watchId(e.source, e.target, e.data?.watch_id))) bumpEtcd(model);
}

function dropWatchesOf(model, memberName) {
  const etcd = etcdState(model);
  let changed = false;
  for (const [id, w] of etcd.watches) {
    if (w.member === memberName) {
      etcd.watches.delete(id);
      changed = true;
    }
  }
  if (changed) bumpEtcd(model);
}

/** The watches (known to this page) that see changes of `key`. */
export function watchesOn(model, key) {
  const out = [];
  for (const w of etcdState(model).watches.values()) {
    if (w.prefix ? String(key).startsWith(w.key ?? "") : w.key === key) out.push(w);
  }
  return out;
}

// --- messages: the RPC's fields, for the drawing ---------------------------------------------

const INFO_FIELDS = ["rpc", "term", "entries", "granted", "success", "ok", "op", "key", "outcome", "commit", "index", "events"];

function keepInfo(model, e) {
  const d = e.data ?? {};
  const m = model.messages.get(d.msg);
  if (!m) return;
  const info = {};
  for (const k of INFO_FIELDS) if (d[k] !== undefined) info[k] = d[k];
  m.info = info;
}

// --- the appliers ----------------------------------------------------------------------------

function requestRefresh(model) {
  etcdState(model).wantRefresh = true;
}

/** A role change draws a new random election timeout: estimate with the last one until refreshed. */
function resetTimerEstimated(model, name, t) {
  const view = member(model, name);
  if (!view) return;
  patch(model, name, {
    election_deadline: typeof view.election_timeout === "number" ? t + view.election_timeout : null,
    timer_estimated: true,
  });
  requestRefresh(model);
}

const HANDLERS = {
  "raft.role"(model, e) {
    const d = e.data ?? {};
    const view = member(model, e.source);
    if (!view) return;
    const termChanged = typeof d.term === "number" && d.term !== view.term;
    const fields = { role: d.role, term: d.term, leader: d.leader ?? null };
    if (d.role === "candidate") {
      fields.vote = e.source; // a candidate votes for itself
      fields.votes = [e.source];
    } else if (d.role === "pre-candidate") {
      fields.votes = [e.source];
    } else {
      fields.votes = null;
      if (termChanged && d.role === "follower") fields.vote = null;
    }
    if (d.role === "leader") {
      const hb = heartbeatSeconds(model);
      fields.heartbeat_deadline = hb ? e.time + hb : null;
      fields.election_deadline = null;
    } else {
      fields.heartbeat_deadline = null;
    }
    patch(model, e.source, fields);
    if (d.role !== "leader") resetTimerEstimated(model, e.source, e.time);
    requestRefresh(model);
  },
  "raft.leader"(model, e) {
    const d = e.data ?? {};
    patch(model, e.source, { leader: d.leader, term: d.term });
  },
  "raft.vote"(model, e) {
    const view = member(model, e.source);
    if (!view) return;
    const fields = { vote: e.target ?? undefined, term: e.data?.term };
    // granting a vote restarts the election timer (with the timeout drawn at the last role change)
    if (typeof view.election_timeout === "number") fields.election_deadline = e.time + view.election_timeout;
    patch(model, e.source, fields);
  },
  "raft.append"(model, e) {
    const d = e.data ?? {};
    const view = member(model, e.source);
    if (!view || typeof d.first !== "number" || typeof d.last !== "number") return;
    patch(model, e.source, { log: appendEntries(view, d.first, d.last, d.term), log_length: d.last, log_kept: d.last - (view.log_offset ?? 0) });
    // the event gives the last entry's term only: a batch may hold older terms
    if (d.last > d.first) requestRefresh(model);
  },
  "raft.truncate"(model, e) {
    const index = e.data?.index;
    const view = member(model, e.source);
    if (!view || typeof index !== "number") return;
    patch(model, e.source, { log: (view.log ?? []).filter((x) => x.index < index), log_length: index - 1, log_kept: index - 1 - (view.log_offset ?? 0) });
  },
  "raft.snapshot"(model, e) {
    const d = e.data ?? {};
    const view = member(model, e.source);
    if (!view || typeof d.compacted !== "number") return;
    patch(model, e.source, { snapshot_index: d.index, snapshot_term: d.term, log_offset: d.compacted, log_kept: d.kept, log: (view.log ?? []).filter((x) => x.index > d.compacted) });
  },
  "raft.restore"(model, e) {
    const d = e.data ?? {};
    if (!member(model, e.source) || typeof d.index !== "number") return;
    // the whole log is replaced: it starts after the snapshot, which is committed and applied
    patch(model, e.source, {
      snapshot_index: d.index,
      snapshot_term: d.term,
      log_offset: d.index,
      log_kept: 0,
      log: [],
      log_length: d.index,
      commit: d.index,
      applied: d.index,
      revision: d.revision,
    });
  },
  "raft.commit"(model, e) {
    const d = e.data ?? {};
    const view = member(model, e.source);
    if (!view) return;
    // the member applies what is committed in the same step that learns it, and its store
    // reaches the revision of the last write applied
    const revision = typeof d.commit === "number" ? revisionAt(model, d.commit) : null;
    patch(model, e.source, { commit: d.commit, applied: d.commit, term: d.term, revision: revision !== null && !(view.revision >= revision) ? revision : undefined });
    // a write whose client was never answered (it timed out, then committed) changes a store
    // revision without an event: check now and then, not on every commit
    etcdState(model).wantLazyRefresh = true;
  },
  "raft.restart"(model, e) {
    const d = e.data ?? {};
    // a member restarts from its snapshot (committed and applied), or from nothing
    const from = typeof d.snapshot_index === "number" ? d.snapshot_index : 0;
    patch(model, e.source, { alive: true, role: "follower", term: d.term, commit: from, applied: from, leader: null, revision: null, votes: null, heartbeat_deadline: null });
    resetTimerEstimated(model, e.source, e.time);
  },
  "net.crash"(model, e) {
    if (!member(model, e.source)) return;
    patch(model, e.source, {
      alive: false,
      role: "down",
      commit: 0,
      applied: 0,
      leader: null,
      votes: null,
      election_deadline: null,
      heartbeat_deadline: null,
      revision: null,
      watches: 0,
      pending: 0,
    });
    dropWatchesOf(model, e.source);
    requestRefresh(model);
  },
  "net.restart"(model, e) {
    if (member(model, e.source)) requestRefresh(model);
  },
  "net.send"(model, e) {
    keepInfo(model, e);
    const d = e.data ?? {};
    if (d.rpc === "Heartbeat" || d.kind === "raft.Heartbeat") {
      // the leader's beat, when it is due; a heartbeat sent earlier confirms a linearizable
      // read (ReadIndex) and leaves the rhythm alone
      const hb = heartbeatSeconds(model);
      const view = member(model, e.source);
      const due = typeof view?.heartbeat_deadline !== "number" || e.time >= view.heartbeat_deadline - 1e-6;
      if (hb && view && view.role === "leader" && due && view.heartbeat_deadline !== e.time + hb) patch(model, e.source, { heartbeat_deadline: e.time + hb });
    }
  },
  "net.deliver"(model, e) {
    const d = e.data ?? {};
    const to = member(model, e.target);
    if (!to || to.alive === false) return;
    const kind = String(d.kind ?? "");
    const info = model.messages.get(d.msg)?.info ?? {};
    if (kind === "raft.Heartbeat" || kind === "raft.AppendEntries") {
      // a follower that hears its leader (this term or newer) restarts its election timer
      if (to.role === "follower" && !(typeof info.term === "number" && info.term < to.term) && typeof to.election_timeout === "number") {
        patch(model, e.target, { election_deadline: e.time + to.election_timeout });
      }
    } else if ((kind === "raft.RequestVoteResponse" && to.role === "candidate") || (kind === "raft.PreVoteResponse" && to.role === "pre-candidate")) {
      if (info.granted && Array.isArray(to.votes) && !to.votes.includes(e.source)) patch(model, e.target, { votes: [...to.votes, e.source] });
    }
  },
  "etcd.put": onWrite,
  "etcd.delete": onWrite,
  "etcd.txn": onWrite,
  "etcd.read": onRead,
  "etcd.compact"(model, e) {
    const d = e.data ?? {};
    if (typeof d.revision === "number") patch(model, e.source, { revision: Math.max(member(model, e.source)?.revision ?? 0, d.revision) });
    requestRefresh(model);
  },
  "etcd.watch": addWatch,
  "etcd.watch_cancel": endWatch,
  "etcd.watch_broken": endWatch,
};

/** Apply one event to the etcd part of the model (also used to replay events over a refresh). */
export function applyEtcdEvent(model, event) {
  const handler = HANDLERS[event.kind];
  if (handler) handler(model, event);
}

let registered = false;
export function registerEtcdAppliers() {
  if (registered) return;
  registered = true;
  for (const kind of Object.keys(HANDLERS)) registerApplier(kind, applyEtcdEvent);
}

// --- snapshots and refreshes ---------------------------------------------------------------------

/**
 * Where the server lists the key space and the watches (an optional part of the snapshot's
 * "etcd": keyspace [{key, value, create_revision, mod_revision, version}], watches [{member,
 * client, watch_id, key, prefix, next_revision}]), take them as they are: they are complete.
 */
function takeListings(model, part) {
  const etcd = etcdState(model);
  if (Array.isArray(part?.keyspace)) {
    const previous = etcd.keys;
    etcd.keys = new Map();
    for (const kv of part.keyspace) {
      if (typeof kv?.key !== "string") continue;
      etcd.keys.set(kv.key, { ...previous.get(kv.key), key: kv.key, value: kv.value ?? null, valueKnown: true, create_revision: kv.create_revision ?? null, mod_revision: kv.mod_revision ?? null, version: kv.version ?? null, deleted: false });
    }
  }
  if (Array.isArray(part?.watches)) {
    etcd.watches = new Map();
    for (const w of part.watches) {
      if (w && typeof w === "object") etcd.watches.set(watchId(w.member, w.client, w.watch_id), { ...w, prefix: Boolean(w.prefix), start_revision: w.start_revision ?? w.next_revision ?? 0 });
    }
  }
}

/** After a snapshot from the stream: member views came with it; forget what belongs to another history. */
export function etcdAfterSnapshot(model) {
  const etcd = etcdState(model);
  const revision = model.extra.etcd?.revision;
  if (typeof revision === "number" && revision < etcd.highestRevision) {
    // the server's history is not the one we learnt the keys from (it restarted)
    etcd.keys.clear();
    etcd.highestRevision = 0;
  }
  etcd.watches.clear(); // unless the snapshot lists them, they are learnt again from events
  takeListings(model, model.extra.etcd);
  etcd.wantRefresh = true;
  for (const view of etcdMembers(model)) {
    if (view.alive === false) model.components.set(view.name, { ...view, role: "down" });
  }
  bumpEtcd(model);
}

/**
 * Merge a REST snapshot's member views. Returns "applied", "wait" (the stream has not reached
 * state.seq yet: call again later) or "stale" (its seq is older than the events we still hold:
 * drop it).
 */
export function applyEtcdRefresh(model, state) {
  const seq = Number(state?.seq);
  const members = state?.etcd?.members;
  if (!Number.isFinite(seq) || !Array.isArray(members)) return "stale";
  if (seq > model.seq) return "wait";
  // the events after seq, which the refreshed views do not include yet
  const later = [];
  for (let i = model.events.length - 1; i >= 0; i -= 1) {
    const e = model.events[i];
    if (e.local) break;
    if (typeof e.seq !== "number" || e.seq <= seq) break;
    later.push(e);
  }
  later.reverse();
  const firstLater = later.length ? later[0].seq : model.seq + 1;
  if (firstLater !== seq + 1) return "stale"; // we no longer hold every event after seq
  // the same history? (a server that restarted numbers its events from 1 again): the state's
  // time lies between its last event and the next one we hold
  const time = Number(state.time);
  const at = model.events.findLast?.((e) => !e.local && e.seq === seq);
  if (Number.isFinite(time) && ((at && at.time > time + 1e-9) || (later.length && later[0].time < time - 1e-9))) return "stale";
  for (const view of members) {
    const name = String(view.name ?? view.id ?? "");
    const current = model.components.get(name);
    if (!name || !current) continue;
    model.components.set(name, { ...current, ...view, name, role: view.alive === false ? "down" : view.role, timer_estimated: false });
  }
  model.versions.components += 1;
  const { members: _members, ...rest } = state.etcd;
  model.extra.etcd = { ...model.extra.etcd, ...rest };
  noteRevision(model, rest.revision);
  takeListings(model, rest);
  for (const e of later) applyEtcdEvent(model, e);
  bumpEtcd(model);
  return "applied";
}
