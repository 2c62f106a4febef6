// How an etcd message looks in flight (the messages layer asks describeMessage(m) once per
// message). Shape says what the RPC is, the label inside says what it carries, a ring (white
// body) is a reply, and a reply's ✓ / ✕ says granted or refused, accepted or rejected:
//
//   ● V   RequestVote               ○ ✓/✕  its reply: vote granted / refused
//   ● P   PreVote                   ○ ✓/✕  pre-vote granted / refused
//   ■ 3   AppendEntries, 3 entries  □ ✓/✕  accepted (logs match) / rejected (back off)
//   • ♥   Heartbeat                 ◦ ✓    heartbeat ack
//   ▣ S   InstallSnapshot: the leader's whole store, for a follower whose next entry the
//         leader has compacted away (a thick-edged square; answered like AppendEntries)
//   ● +   a proposal a follower forwards to its leader
//   ● R   ReadIndex (a linearizable read asks the leader)        ○ R its answer
//   ⬭ put a client request (etcdctl, the API server)            ⬭ ok / err its answer
//
// The colour stays the sender's (theme.js); ✓ and ✕ also differ in shape, never only in colour.
// m.info holds the fields the server put on the net.send event (rpc, term, entries, granted,
// success, ok, op, key); messages already in flight in a snapshot carry only their kind.


import { gettext, interpolate, ngettext } from "../../i18n.js";

/** "raft.AppendEntries" (the server) or "AppendEntries" (older frames) -> "AppendEntries". */
function rpcOf(m) {
  if (m.info?.rpc && m.info.rpc !== "Client" && m.info.rpc !== "ClientResponse") return m.info.rpc;
  const kind = String(m.kind ?? "");
  return kind.startsWith("raft.") ? kind.slice(5) : kind;
}

function termSuffix(info) {
  return typeof info.term === "number" ? interpolate(gettext(" (term %(term)s)"), { term: info.term }) : "";
}

function reply(granted, shape, rpc, yes, no, unknown, info, short, extra = {}) {
  if (granted === true) return { shape, rpc, response: true, label: "✓", outcome: "ok", text: `${yes}${termSuffix(info)}`, short: `${short} ✓`, ...extra };
  if (granted === false) return { shape, rpc, response: true, label: "✕", outcome: "bad", text: `${no}${termSuffix(info)}`, short: `${short} ✕`, ...extra };
  return { shape, rpc, response: true, label: "", outcome: null, text: unknown, short, ...extra };
}

export function describeMessage(m) {
  const info = m.info ?? {};
  const kind = String(m.kind ?? "");
  const rpc = rpcOf(m);
  switch (rpc) {
    case "RequestVote":
      return { shape: "circle", rpc, response: false, label: "V", text: `RequestVote${termSuffix(info)}`, short: gettext("vote?") };
    case "PreVote":
      return { shape: "circle", rpc, response: false, label: "P", variant: "pre", text: `PreVote${termSuffix(info)}`, short: gettext("pre-vote?") };
    case "RequestVoteResponse":
      return reply(info.granted, "circle", rpc, gettext("vote granted"), gettext("vote refused"), gettext("vote reply"), info, gettext("vote"));
    case "PreVoteResponse":
      return reply(info.granted, "circle", rpc, gettext("pre-vote granted"), gettext("pre-vote refused"), gettext("pre-vote reply"), info, gettext("pre-vote"), { variant: "pre" });
    case "AppendEntries": {
      const n = info.entries;
      const what = typeof n === "number" ? (n === 0 ? gettext("AppendEntries, no entries (commit update)") : interpolate(ngettext("AppendEntries, %(n)s entry", "AppendEntries, %(n)s entries", n), { n })) : "AppendEntries";
      return { shape: "square", rpc, response: false, label: typeof n === "number" ? String(n) : "", text: `${what}${termSuffix(info)}`, short: typeof n === "number" ? interpolate(gettext("append %(n)s"), { n }) : gettext("append") };
    }
    case "AppendEntriesResponse":
      return reply(info.success, "square", rpc, gettext("AppendEntries accepted"), gettext("AppendEntries rejected"), gettext("AppendEntries reply"), info, gettext("append"));
    case "InstallSnapshot": {
      const at = typeof info.index === "number" ? interpolate(gettext("InstallSnapshot at index %(index)s"), { index: info.index }) : "InstallSnapshot";
      const rev = typeof info.revision === "number" ? interpolate(gettext(", store at revision %(rev)s"), { rev: info.revision }) : "";
      return { shape: "square", rpc, response: false, label: "S", variant: "snapshot", text: `${at}${rev}${termSuffix(info)}`, short: gettext("snapshot") };
    }
    case "Heartbeat":
      return { shape: "circle", rpc, small: true, response: false, label: "♥", text: `${gettext("heartbeat")}${termSuffix(info)}`, short: "♥" };
    case "HeartbeatResponse":
      return { shape: "circle", rpc, small: true, response: true, label: "✓", outcome: "ok", text: `${gettext("heartbeat ack")}${termSuffix(info)}`, short: "♥ ✓" };
    case "Propose":
      return { shape: "circle", rpc, response: false, label: "+", text: gettext("forwarded proposal"), short: gettext("propose") };
    case "ReadIndex":
      return { shape: "circle", rpc, response: false, label: "R", text: gettext("ReadIndex: is the leader still the leader?"), short: gettext("read?") };
    case "ReadIndexResponse":
      return { shape: "circle", rpc, response: true, label: "R", outcome: "ok", text: gettext("read index confirmed"), short: gettext("read ✓") };
    default:
      break;
  }
  if (kind === "etcd.request") {
    const op = String(info.op ?? gettext("request"));
    const key = info.key ? ` ${info.key}` : "";
    return { shape: "pill", rpc: "Client", response: false, label: op === "delete" ? "del" : op.slice(0, 5), text: interpolate(gettext("client %(op)s"), { op }) + key };
  }
  if (kind === "etcd.response") {
    if (info.ok === false) return { shape: "pill", rpc: "ClientResponse", response: true, label: "err", outcome: "bad", text: info.outcome ? interpolate(gettext("client answer: error (outcome %(outcome)s)"), { outcome: info.outcome }) : gettext("client answer: error") };
    if (info.ok === true) return { shape: "pill", rpc: "ClientResponse", response: true, label: "ok", outcome: "ok", text: interpolate(gettext("client answer: %(op)s ok"), { op: info.op ?? "" }).replace("  ", " ") };
    return { shape: "pill", rpc: "ClientResponse", response: true, label: "ans", text: gettext("client answer") };
  }
  if (kind === "etcd.watch") return { shape: "pill", rpc: "Watch", response: false, label: "watch", text: gettext("watch request") };
  if (kind === "etcd.watch_progress") return { shape: "pill", rpc: "WatchProgress", response: false, label: "prog", text: gettext("watch progress request: is my watch still there?") };
  if (kind === "etcd.watch_cancel") return { shape: "pill", rpc: "WatchCancel", response: false, label: "stop", text: gettext("cancel a watch") };
  if (kind === "etcd.watch_event") {
    const n = info.events;
    return { shape: "pill", rpc: "WatchEvent", response: true, label: "evt", text: typeof n === "number" ? interpolate(ngettext("watch event (%(n)s change)", "watch event (%(n)s changes)", n), { n }) : gettext("watch event") };
  }
  return null;
}

/** The legend of the marks above, for the panel's key (shape, label, response, outcome, text). */
export const GLYPH_LEGEND = [
  { shape: "circle", label: "V", text: gettext("vote") },
  { shape: "circle", label: "P", variant: "pre", text: gettext("pre-vote") },
  { shape: "square", label: "3", text: gettext("append 3 entries") },
  { shape: "circle", label: "♥", text: gettext("heartbeat") },
  { shape: "square", label: "S", variant: "snapshot", text: gettext("snapshot"), title: gettext("InstallSnapshot: the leader's store, for a follower whose entries it has compacted away") },
  { shape: "circle", label: "✓", response: true, outcome: "ok", text: gettext("yes"), title: gettext("a reply: vote granted, entries accepted") },
  { shape: "circle", label: "✕", response: true, outcome: "bad", text: gettext("no"), title: gettext("a reply: vote refused, entries rejected") },
  { shape: "pill", label: "put", text: gettext("client"), client: true, title: gettext("a client request (etcdctl, the API server) and its answer") },
];
