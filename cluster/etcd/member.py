"""`EtcdMember`: one etcd server in the simulation: a Raft node, its disk and an MVCC store.

It glues the pure Raft state machine (cluster/etcd/raft) to the kernel: Raft messages
travel over the simulated network (so partitions, loss and latency apply to them), the
Raft deadlines become kernel timers, committed entries are applied to the MVCC store
(cluster/etcd/mvcc), and clients talk to it with network messages.

    member = EtcdMember(sim, "etcd-0", ["etcd-0", "etcd-1", "etcd-2"], heartbeat_us=..., ...)
    sim.add(member)            # or build_members(sim, 3, profile) in cluster/etcd/members.py

Each kernel action runs the same loop (see cluster/etcd/raft/__init__.py): feed Raft
one input, then while it has a Ready: save hard state and entries to `disk`, narrate
(raft.* events), send its messages, apply its committed entries, serve reads whose index
is applied, advance; finally set a timer for Raft's next deadline.

Client protocol (messages; `id` is the caller's and comes back unchanged):

    "etcd.request"  {"id", "op", "key", "value", "expected", "prefix", "revision",
                     "limit", "compare", "success", "failure", "consistency"}
        op get | range          read; consistency "linearizable" (default, ReadIndex)
                                or "serializable" (this member's store, maybe stale)
        op put | delete | cas   write through Raft; cas: put `value` if the key's value
                                is `expected` (null: if the key is absent)
        op txn                  {"compare", "success", "failure"} as the MVCC store takes
        op compact              {"revision"} through Raft
    "etcd.response" {"id", "ok", "revision", ...}
        get: "value", "mod_revision", "create_revision", "version" (null when absent)
        range (or get with prefix): "kvs", "count", "more"
        put: -   delete: "deleted"   cas: "succeeded"   txn: "succeeded", "responses"
        compact: "compact_revision"
        errors: "ok": false, "error", "outcome": "failed" (it certainly did not take
        effect: rejected before it was proposed, or applied as an error) or "unknown"
        (proposed, then timed out here: it may yet commit)

A write is answered when the member that received it applies it, whichever member
leads; a follower forwards the proposal to its leader. No known leader: "no leader",
outcome failed. Unanswered within `request_timeout_us`: "request timed out", outcome
unknown for writes (failed for reads, which change nothing).

Watches (a stream per watch, like etcd's gRPC watch stream):

    "etcd.watch"          {"watch_id", "key", "prefix", "start_revision"}
    "etcd.watch_cancel"   {"watch_id"}
    "etcd.watch_progress" {"watch_id"}: is the watch still there, and how far is it?
  answered with "etcd.watch_event" messages, each with "seq" (1, 2, ... per watch stream)
  and "stream" (this member's number for it):
    {"watch_id", "created": true, "events": [], "revision"}      registered
    {"watch_id", "events": [...], "revision"}                    changes; the events of
        one transaction are always in one message; messages are ordered by revision,
        without gaps or duplicates; "revision" is that of the last event included
    {"watch_id", "progress": true, "events": [], "revision"}     everything up to
        revision has been sent
    {"watch_id", "canceled": true, "events": [], "error"?, "compact_revision"?}
        the watch is over: asked for ("error" absent), "compacted" (start revision at
        or below "compact_revision": relist, then watch from a fresh revision), a
        malformed request, "unknown watch" (a progress request for a watch this member
        no longer has, e.g. after a restart), or "stream broken" (a message could not be
        delivered: resume from the last revision seen, as after a crash). Refusals of a
        watch that never started ("compacted", malformed, "unknown watch") have no seq.
The network may lose a message in flight, so a watcher checks that `seq` grows by one;
a skipped number means a lost message: it watches again from its last revision + 1
(etcd gets the same from TCP underneath gRPC).
A member that crashes loses every watch; its watchers notice (no answer to a progress
request) and watch again from their last revision + 1 on another member, which sends
the missed events from its history (or waits for them, if it is behind).

Persistence: term, vote, the newest snapshot and the log after it (`disk`, a
raft.Storage) survive a crash. The store, the watches, pending requests and every
volatile Raft field are lost; after a restart the store is the snapshot's (empty before
the first one) and the entries after it are applied again as the commit index becomes
known.

Snapshots (etcd's --snapshot-count and catch-up entries): once `snapshot_count` entries
have been applied since the last snapshot, the member snapshots its store at the applied
index and compacts its log, keeping the last `snapshot_catchup` entries before the
snapshot so that a follower a little behind still gets entries. A leader asked for an
entry it no longer has sends its snapshot instead (InstallSnapshot); the follower
replaces its log and its store with it, catches its watches up from the new store and
goes on from the snapshot's index. Events:

    raft.snapshot       {index, term, revision, compacted, kept}   a snapshot taken and
                        the log compacted up to `compacted`; `kept` entries remain
    raft.send_snapshot  {index, needed}, target   the leader sends its snapshot: the
                        follower needs entry `needed`, compacted away
    raft.restore        {index, term, revision}, target (the leader)   a follower
                        restored its log and store from the leader's snapshot
"""

from ..kernel import SECOND, Component
from .mvcc import Compacted, Store, WatchHub, cas_request, event_revision
from .raft import (
    APPEND,
    APPEND_RESP,
    HEARTBEAT,
    HEARTBEAT_RESP,
    LEADER,
    PRE_VOTE,
    PRE_VOTE_RESP,
    PROPOSE,
    READ_INDEX,
    READ_INDEX_RESP,
    SNAPSHOT,
    VOTE,
    VOTE_RESP,
    Raft,
    Storage,
)

READ_OPS = ("get", "range")
WRITE_OPS = ("put", "delete", "cas", "txn", "compact")
STORE_EVENT_OF = {"put": "etcd.put", "delete": "etcd.delete", "cas": "etcd.txn", "txn": "etcd.txn", "compact": "etcd.compact"}

VIEW_LOG_LIMIT = 100  # entries of the log shown in view() (the newest)
WATCH_BATCH = 100  # events per watch message when sending history (never splitting a revision)


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


class EtcdMember(Component):
    kind = "etcd"

    def __init__(
        self,
        sim,
        name: str,
        peers,
        *,
        heartbeat_us: int,
        election_min_us: int,
        election_max_us: int,
        pre_vote: bool = True,
        check_quorum: bool = True,
        request_timeout_us: int | None = None,
        read_retry_us: int | None = None,
        max_entries_per_message: int = 64,
        snapshot_count: int = 10_000,
        snapshot_catchup: int = 5_000,
    ):
        super().__init__(sim, name)
        if not 0 <= snapshot_catchup < snapshot_count:
            raise ValueError("etcd: need 0 <= snapshot catch-up entries < snapshot count")
        self.peers = sorted(peers)
        self.heartbeat_us = heartbeat_us
        self.election_min_us = election_min_us
        self.election_max_us = election_max_us
        self.pre_vote = pre_vote
        self.check_quorum = check_quorum
        # etcd answers "request timed out" after 5 s + 2 election timeouts; scaled here.
        self.request_timeout_us = request_timeout_us or 2 * election_max_us + 5 * heartbeat_us
        # etcd retries an unanswered ReadIndex every 500 ms (half its 1 s election timeout).
        self.read_retry_us = read_retry_us or election_min_us // 2
        self.max_entries_per_message = max_entries_per_message
        self.snapshot_count = snapshot_count  # entries applied between two snapshots
        self.snapshot_catchup = snapshot_catchup  # entries kept before a snapshot
        self.disk = Storage()  # survives crashes
        self._boot()

    # --- life cycle -----------------------------------------------------------------------
    def _boot(self) -> None:
        """Create every volatile part from the disk (at start and after a restart)."""
        self.raft: Raft | None = Raft(
            self.name,
            self.peers,
            self.disk,
            self.stream("raft"),
            heartbeat_us=self.heartbeat_us,
            election_min_us=self.election_min_us,
            election_max_us=self.election_max_us,
            pre_vote=self.pre_vote,
            check_quorum=self.check_quorum,
            max_entries_per_message=self.max_entries_per_message,
            now=self.now,
        )
        snap = self.disk.snapshot
        self.store: Store | None = snap["data"].clone() if snap is not None else Store()
        self.watch_hub: WatchHub | None = WatchHub()
        self.watchers: dict = {}  # local watch id -> [client, client's watch id]
        self.watch_ids: dict = {}  # (client, client's watch id) -> local watch id
        self.next_watch = 1
        self.seq = 0  # request ids, unique per epoch: f"{name}:{epoch}:{seq}"
        self.pending: dict = {}  # request id -> the request, until answered
        self.reads_waiting: list = []  # linearizable reads not yet covered by a ReadIndex
        self.read_request: dict | None = None  # {"ctx", "rids"}: the ReadIndex in flight
        self.reads_ready: list = []  # [index, rids]: waiting until applied >= index
        self.timer_times: list = []  # virtual times of the Raft timers set (fire or not)
        self.last_commit = 0

    def on_start(self) -> None:
        self._drive()

    def on_crash(self) -> None:
        self.raft = None
        self.store = None
        self.watch_hub = None
        self.watchers = {}
        self.watch_ids = {}
        self.pending = {}
        self.reads_waiting = []
        self.read_request = None
        self.reads_ready = []
        self.timer_times = []
        self.last_commit = 0

    def on_restart(self) -> None:
        self._boot()
        disk = self.disk
        entries = _plural(len(disk.entries), "log entry", "log entries")
        if disk.snapshot is None:
            self.emit(
                "raft.restart",
                f"{self.name} restarts from its disk: term {disk.term}, {entries}; its store is rebuilt from the log as commits become known",
                term=disk.term,
                log=len(disk.entries),
            )
        else:
            self.emit(
                "raft.restart",
                f"{self.name} restarts from its disk: term {disk.term}, the snapshot at index {disk.snapshot_index} (revision {self.store.revision}) and {entries} after {disk.offset}; the entries after the snapshot are applied again as commits become known",
                term=disk.term,
                log=len(disk.entries),
                snapshot_index=disk.snapshot_index,
            )
        self._drive()

    # --- kernel entries ---------------------------------------------------------------------
    def on_message(self, msg) -> None:
        kind = msg.kind
        if kind.startswith("raft."):
            if msg.source not in self.peers:
                return  # only members speak Raft
            raft = self.raft
            raft.tick(self.now)
            raft.step(msg.payload)
            self._drive()
        elif kind == "etcd.request":
            self._on_request(msg.source, msg.payload if isinstance(msg.payload, dict) else {})
        elif kind == "etcd.watch":
            self._on_watch(msg.source, msg.payload if isinstance(msg.payload, dict) else {})
        elif kind == "etcd.watch_cancel":
            self._on_watch_cancel(msg.source, msg.payload if isinstance(msg.payload, dict) else {})
        elif kind == "etcd.watch_progress":
            self._on_watch_progress(msg.source, msg.payload if isinstance(msg.payload, dict) else {})

    def on_timer(self, tag: str, data) -> None:
        if tag == "raft":
            if self.now in self.timer_times:
                self.timer_times.remove(self.now)
            self.raft.tick(self.now)
            self._drive()
        elif tag == "request":
            self._on_request_timeout(data)
        elif tag == "read":
            read = self.read_request
            if read is not None and read["ctx"] == data:
                # No answer to this ReadIndex (a lost message, a leader change): ask again.
                self.reads_waiting = read["rids"] + self.reads_waiting
                self.read_request = None
                self._request_read_index()
                self._drive()

    def on_undeliverable(self, msg, reason: str) -> None:
        if msg.kind == "raft." + SNAPSHOT:
            if self.raft is not None:
                self.raft.snapshot_lost(msg.target)  # probe again at the next heartbeat answer
            return
        if msg.kind != "etcd.watch_event":
            return
        local = msg.payload.get("stream")
        watcher = self.watchers.get(local)
        if watcher is None or watcher[0] != msg.target:
            return
        # A watch stream must not go on past a lost message: end it. The watcher sees
        # the gap in `seq` (or this notice) and resumes from the last revision it has.
        watch_id = watcher[1]
        self.emit(
            "etcd.watch_broken",
            f"{self.name} ends watch {watch_id} of {msg.target}: a message could not be delivered ({reason})",
            target=msg.target,
            watch_id=watch_id,
            reason=reason,
        )
        self._end_watch(local, {"canceled": True, "events": [], "error": "stream broken"}, f"watch {watch_id} broken")

    # --- the Raft loop ----------------------------------------------------------------------
    def _drive(self) -> None:
        raft = self.raft
        while raft.has_ready():
            rd = raft.ready()
            if rd.snapshot is not None:
                self.disk.save_snapshot(rd.snapshot)
            if rd.hard_state is not None or rd.entries:
                self.disk.save(rd.hard_state, rd.entries)
            for note in rd.notes:
                self._narrate(note)
            if rd.entries:
                first, last = rd.entries[0], rd.entries[-1]
                span = f"entry {first['index']}: {describe(first['data'])}" if first is last else f"entries {first['index']}–{last['index']}"
                self.emit("raft.append", f"{self.name} appends {span} (term {last['term']})", first=first["index"], last=last["index"], term=last["term"])
            for m in rd.messages:
                self._send_raft(m)
            if raft.commit != self.last_commit:
                self.last_commit = raft.commit
                self.emit("raft.commit", f"{self.name} learns that entries up to {raft.commit} are committed", commit=raft.commit, term=raft.term)
            if rd.snapshot is not None:
                self._restore(rd.snapshot)
            if rd.committed:
                self._apply(rd.committed)
            raft.advance(rd)
            if raft.applied - self.disk.snapshot_index >= self.snapshot_count:
                self._take_snapshot()
            if rd.read_states:
                self._on_read_states(rd.read_states)
            if self.reads_ready:
                self._serve_ready_reads()
        deadline = raft.next_deadline()
        times = self.timer_times
        if not times or min(times) > deadline:
            self.set_timer(deadline - self.now, "raft")
            times.append(deadline)

    def _take_snapshot(self) -> None:
        """Snapshot the store at the applied index and compact the log behind it, keeping
        `snapshot_catchup` entries (etcd's raft storage Compact(snapshot index - catch-up))."""
        raft = self.raft
        index = raft.applied
        term = raft.term_at(index)
        snap = {"index": index, "term": term, "data": self.store.clone()}
        compact_to = max(index - self.snapshot_catchup, self.disk.offset)
        compact_term = raft.term_at(compact_to)
        self.disk.compact(snap, compact_to, compact_term)
        raft.compact(snap, compact_to)
        kept = len(self.disk.entries)
        self.emit(
            "raft.snapshot",
            f"{self.name} takes a snapshot at index {index} (term {term}, revision {self.store.revision}) and compacts its log up to index {compact_to}: {_plural(kept, 'entry', 'entries')} kept",
            index=index,
            term=term,
            revision=self.store.revision,
            compacted=compact_to,
            kept=kept,
        )

    def _restore(self, snap: dict) -> None:
        """A snapshot from the leader: it replaces the store (the log is already replaced);
        watchers get the history they missed from the new store."""
        self.store = snap["data"].clone()
        leader = self.raft.leader
        self.emit(
            "raft.restore",
            f"{self.name} restores from {leader}'s snapshot at index {snap['index']} (term {snap['term']}): its log now starts after {snap['index']}, its store is at revision {self.store.revision}",
            target=leader,
            index=snap["index"],
            term=snap["term"],
            revision=self.store.revision,
        )
        routed, compacted = self.watch_hub.catch_up(self.store)
        for local, compact_revision in compacted:
            watcher = self.watchers.pop(local)
            self.watch_ids.pop((watcher[0], watcher[1]), None)
            self._watch_send(
                local,
                {"canceled": True, "events": [], "error": "compacted", "compact_revision": compact_revision},
                f"watch {watcher[1]}: the snapshot's history is compacted up to {compact_revision}",
                watcher=watcher,
            )
        for local, events in routed:
            self._send_history(local, events)

    def _narrate(self, note: tuple) -> None:
        what = note[0]
        me = self.name
        if what == "role":
            _, role, term, leader = note
            if role == LEADER:
                summary = f"{me} became leader (term {term})"
            elif role == "candidate":
                summary = f"{me} became candidate (term {term}) and votes for itself"
            elif role == "pre-candidate":
                summary = f"{me} became pre-candidate: would the others vote for it in term {term + 1}?"
            else:
                summary = f"{me} is a follower (term {term}" + (f", leader {leader})" if leader else ")")
            # The new timer too (the view cannot guess a fresh random timeout between snapshots).
            raft = self.raft
            timer = {} if raft is None else {"election_deadline": None if role == LEADER else raft.election_deadline / SECOND, "election_timeout": raft.election_timeout / SECOND}
            self.emit("raft.role", summary, role=role, term=term, leader=leader, **timer)
        elif what == "leader":
            _, leader, term = note
            self.emit("raft.leader", f"{me} follows leader {leader} (term {term})", leader=leader, term=term)
        elif what == "vote":
            _, candidate, term = note
            self.emit("raft.vote", f"{me} votes for {candidate} (term {term})", target=candidate, term=term)
        elif what == "timeout":
            _, term, role = note
            action = "starts a pre-vote" if self.pre_vote else "starts an election"
            self.emit("raft.timeout", f"{me}'s election timer fired as {role} (term {term}): it {action}", term=term, role=role)
        elif what == "truncate":
            _, index, count = note
            self.emit(
                "raft.truncate",
                f"{me} drops {_plural(count, 'uncommitted entry', 'uncommitted entries')} from index {index}: they conflict with the leader's log",
                index=index,
                count=count,
            )
        elif what == "step_down":
            _, term, reason = note
            self.emit("raft.step_down", f"{me} steps down as leader (term {term}): {reason}", term=term, reason=reason)
        elif what == "drop":
            _, thing, reason = note
            self.emit("raft.drop", f"{me} drops a {thing}: {reason}", what=thing, reason=reason)
        elif what == "send_snapshot":
            _, peer, index, needed = note
            self.emit(
                "raft.send_snapshot",
                f"{me} sends {peer} its snapshot at index {index}: {peer} needs entry {needed}, which is compacted away",
                target=peer,
                index=index,
                needed=needed,
            )

    def _send_raft(self, m: dict) -> None:
        mtype = m["type"]
        me, to, term = self.name, m["to"], m["term"]
        if mtype == APPEND:
            n = len(m["entries"])
            summary = f"{me} → {to}: AppendEntries {_plural(n, 'entry', 'entries')} (term {term}, commit {m['commit']})"
            info = {"rpc": "AppendEntries", "term": term, "entries": n, "index": m["index"], "commit": m["commit"]}
        elif mtype == SNAPSHOT:
            snap = m["snapshot"]
            store = snap["data"]
            summary = f"{me} → {to}: InstallSnapshot at index {snap['index']} (term {term}; store at revision {store.revision}, {_plural(store.key_count, 'key', 'keys')})"
            info = {"rpc": "InstallSnapshot", "term": term, "index": snap["index"], "snapshot_term": snap["term"], "revision": store.revision}
        elif mtype == HEARTBEAT:
            summary = f"{me} → {to}: heartbeat (term {term}, commit {m['commit']})"
            info = {"rpc": "Heartbeat", "term": term, "commit": m["commit"], "read": m["ctx"] is not None}
        elif mtype == APPEND_RESP:
            if not m["reject"]:
                summary = f"{me} accepts {to}'s entries: its log matches up to {m['index']} (term {term})"
            elif m["hint_term"] is not None:
                summary = f"{me} rejects {to}'s AppendEntries at {m['index']}: its entry there is from term {m['hint_term']} (since index {m['hint_index']})"
            elif m["hint_index"] or m["index"]:
                summary = f"{me} rejects {to}'s AppendEntries at {m['index']}: its log ends at {m['hint_index']} (term {term})"
            else:
                summary = f"{me} rejects {to}'s AppendEntries: {to} is behind, the term is {term}"
            info = {"rpc": "AppendEntriesResponse", "term": term, "success": not m["reject"], "index": m["index"]}
        elif mtype == HEARTBEAT_RESP:
            summary = f"{me} → {to}: heartbeat ack (term {term})"
            info = {"rpc": "HeartbeatResponse", "term": term, "success": True}
        elif mtype == VOTE:
            summary = f"{me} asks {to} for its vote (term {term})"
            info = {"rpc": "RequestVote", "term": term, "last_index": m["index"], "last_term": m["log_term"]}
        elif mtype == VOTE_RESP:
            summary = f"{me} refuses {to} its vote (term {term})" if m["reject"] else f"{me} votes for {to} (term {term})"
            info = {"rpc": "RequestVoteResponse", "term": term, "granted": not m["reject"]}
        elif mtype == PRE_VOTE:
            summary = f"{me} asks {to} for a pre-vote (for term {term})"
            info = {"rpc": "PreVote", "term": term, "last_index": m["index"], "last_term": m["log_term"]}
        elif mtype == PRE_VOTE_RESP:
            summary = f"{me} refuses {to} a pre-vote (term {term})" if m["reject"] else f"{me} grants {to} a pre-vote (for term {term})"
            info = {"rpc": "PreVoteResponse", "term": term, "granted": not m["reject"]}
        elif mtype == PROPOSE:
            summary = f"{me} forwards a proposal to leader {to}"
            info = {"rpc": "Propose", "entries": len(m["entries"])}
        elif mtype == READ_INDEX:
            summary = f"{me} asks leader {to} for a read index"
            info = {"rpc": "ReadIndex"}
        elif mtype == READ_INDEX_RESP:
            summary = f"{me} → {to}: read index {m['index']} confirmed (term {term})"
            info = {"rpc": "ReadIndexResponse", "term": term, "index": m["index"]}
        else:  # pragma: no cover - every type is listed above
            summary, info = f"{me} → {to}: {mtype}", {"rpc": mtype}
        self.send(to, "raft." + mtype, m, summary=summary, info=info)

    # --- applying committed entries ---------------------------------------------------------------
    def _apply(self, entries: list) -> None:
        store = self.store
        hub = self.watch_hub
        pending = self.pending
        for entry in entries:
            data = entry["data"]
            if data is None:
                continue  # a new leader's empty entry
            try:
                result = store.apply(data["req"])
                error = None
            except ValueError as exc:  # Compacted is a ValueError too
                result, error = None, exc
            if result is not None and result["events"] and hub:
                self._dispatch(hub.dispatch(result["events"]))
            request = pending.pop(data["rid"], None)
            if request is not None:
                self._answer_write(request, result, error, entry["index"])

    def _answer_write(self, request: dict, result: dict | None, error, index: int) -> None:
        op, key = request["op"], request.get("key")
        if error is not None:
            payload = {"id": request["id"], "ok": False, "error": str(error), "outcome": "failed", "revision": self.store.revision}
            if isinstance(error, Compacted):
                payload["compact_revision"] = error.compact_revision
            self._respond(request["source"], payload, f"{op} failed: {error}")
            return
        payload = {"id": request["id"], "ok": True, "revision": result["revision"]}
        if op in ("cas", "txn"):
            payload["succeeded"] = result["succeeded"]
            if op == "txn":
                payload["responses"] = result["responses"]
            outcome = "succeeded" if result["succeeded"] else "compare failed"
            summary = f"{self.name} applied {op} on {key or 'keys'} (entry {index}): {outcome}, revision {result['revision']}"
        elif op == "delete":
            payload["deleted"] = result["deleted"]
            summary = f"{self.name} applied delete {key}{'*' if request.get('prefix') else ''} (entry {index}): {result['deleted']} deleted, revision {result['revision']}"
        elif op == "compact":
            payload["compact_revision"] = result["compact_revision"]
            summary = f"{self.name} compacted history up to revision {result['compact_revision']} (entry {index})"
        else:
            summary = f"{self.name} applied put {key}={request.get('value')} (entry {index}): revision {result['revision']}"
        self.emit(
            STORE_EVENT_OF[op],
            summary,
            target=request["source"],
            op=op,
            key=key,
            revision=result["revision"],
            index=index,
            request=request["id"],
            succeeded=payload.get("succeeded"),
        )
        self.send(
            request["source"],
            "etcd.response",
            payload,
            summary=f"{self.name} → {request['source']}: {op} ok (revision {result['revision']})",
            info={"rpc": "ClientResponse", "ok": True, "op": op},
        )

    def _respond(self, source: str, payload: dict, why: str) -> None:
        """An error answer: also an event, so that nothing fails quietly."""
        self.emit(
            "etcd.error", f"{self.name} → {source}: {why}", target=source, request=payload.get("id"), error=payload.get("error"), outcome=payload.get("outcome")
        )
        self.send(
            source,
            "etcd.response",
            payload,
            summary=f"{self.name} → {source}: error: {payload.get('error')}",
            info={"rpc": "ClientResponse", "ok": False, "outcome": payload.get("outcome")},
        )

    # --- client requests ----------------------------------------------------------------------
    def _on_request(self, source: str, p: dict) -> None:
        op = p.get("op")
        if op in READ_OPS:
            consistency = p.get("consistency") or "linearizable"
            if consistency == "serializable":
                self._serve_read(source, p, None)
            elif consistency == "linearizable":
                rid = self._new_rid()
                self.pending[rid] = {"source": source, "id": p.get("id"), "op": op, "key": p.get("key"), "read": p}
                self.set_timer(self.request_timeout_us, "request", rid)
                self.reads_waiting.append(rid)
                if self.read_request is None:
                    self._request_read_index()
                self._drive()
            else:
                self._respond(
                    source,
                    {"id": p.get("id"), "ok": False, "error": "consistency must be linearizable or serializable", "outcome": "failed"},
                    "bad consistency",
                )
            return
        if op not in WRITE_OPS:
            self._respond(source, {"id": p.get("id"), "ok": False, "error": f"unknown op {op!r}", "outcome": "failed"}, f"unknown op {op!r}")
            return
        request, problem = _store_request(p)
        if problem:
            self._respond(source, {"id": p.get("id"), "ok": False, "error": problem, "outcome": "failed"}, problem)
            return
        rid = self._new_rid()
        refused = self.raft.propose({"rid": rid, "req": request})
        if refused:
            self._respond(source, {"id": p.get("id"), "ok": False, "error": refused, "outcome": "failed"}, f"{op} refused: {refused}")
            self._drive()
            return
        self.pending[rid] = {"source": source, "id": p.get("id"), "op": op, "key": p.get("key"), "value": p.get("value"), "prefix": bool(p.get("prefix"))}
        self.set_timer(self.request_timeout_us, "request", rid)
        self._drive()

    def _new_rid(self) -> str:
        self.seq += 1
        return f"{self.name}:{self.epoch}:{self.seq}"

    def _on_request_timeout(self, rid: str) -> None:
        request = self.pending.pop(rid, None)
        if request is None:
            return
        seconds = self.request_timeout_us / SECOND
        if "read" in request:
            payload = {"id": request["id"], "ok": False, "error": f"request timed out after {seconds:g} s: no leader confirmed the read", "outcome": "failed"}
        else:
            payload = {
                "id": request["id"],
                "ok": False,
                "error": f"request timed out after {seconds:g} s: the write was proposed but is not known to be committed",
                "outcome": "unknown",
            }
        self._respond(request["source"], payload, f"{request['op']} {request.get('key')}: timed out")

    # --- reads ------------------------------------------------------------------------------
    def _request_read_index(self) -> None:
        """Ask Raft for one read index covering every read waiting now (etcd batches
        concurrent linearizable reads the same way)."""
        rids = [rid for rid in self.reads_waiting if rid in self.pending]
        self.reads_waiting = []
        if not rids:
            return
        self.seq += 1
        ctx = f"{self.name}:{self.epoch}:read{self.seq}"
        refused = self.raft.read_index(ctx)
        if refused:
            for rid in rids:
                request = self.pending.pop(rid)
                self._respond(
                    request["source"],
                    {"id": request["id"], "ok": False, "error": refused, "outcome": "failed"},
                    f"read {request.get('key')} refused: {refused}",
                )
            return
        self.read_request = {"ctx": ctx, "rids": rids}
        self.set_timer(self.read_retry_us, "read", ctx)

    def _on_read_states(self, states: list) -> None:
        for state in states:
            read = self.read_request
            if read is not None and state["ctx"] == read["ctx"]:
                self.reads_ready.append([state["index"], read["rids"]])
                self.read_request = None
        if self.read_request is None and self.reads_waiting:
            self._request_read_index()

    def _serve_ready_reads(self) -> None:
        applied = self.raft.applied
        waiting = []
        for index, rids in self.reads_ready:
            if index > applied:
                waiting.append([index, rids])
                continue
            for rid in rids:
                request = self.pending.pop(rid, None)
                if request is not None:
                    self._serve_read(request["source"], request["read"], index)
        self.reads_ready = waiting

    def _serve_read(self, source: str, p: dict, read_index: int | None) -> None:
        op = p.get("op")
        key = p.get("key")
        prefix = p.get("prefix") is True
        use_range = op == "range" or prefix
        consistency = "serializable" if read_index is None else "linearizable"
        request = {"op": "range", "key": key, "prefix": prefix} if use_range else {"op": "get", "key": key}
        if p.get("revision"):
            request["revision"] = p["revision"]
        if use_range and p.get("limit"):
            request["limit"] = p["limit"]
        try:
            result = self.store.apply(request)
        except ValueError as exc:
            payload = {"id": p.get("id"), "ok": False, "error": str(exc), "outcome": "failed"}
            if isinstance(exc, Compacted):
                payload["compact_revision"] = exc.compact_revision
            self._respond(source, payload, f"read {key} failed: {exc}")
            return
        payload = {"id": p.get("id"), "ok": True, "revision": result["revision"]}
        if use_range:
            payload.update(kvs=result["kvs"], count=result["count"], more=result["more"])
            found = f"{_plural(result['count'], 'key', 'keys')}"
        else:
            kv = result["kv"] or {}
            payload.update(value=kv.get("value"), mod_revision=kv.get("mod_revision"), create_revision=kv.get("create_revision"), version=kv.get("version"))
            found = f"{kv['value']!r} (mod revision {kv['mod_revision']})" if kv else "absent"
        how = "its own store, maybe stale" if read_index is None else f"read index {read_index}"
        self.emit(
            "etcd.read",
            f"{self.name} serves {op} {key}{'*' if prefix else ''} to {source} ({consistency}, {how}): {found} at revision {result['revision']}",
            target=source,
            key=key,
            consistency=consistency,
            read_index=read_index,
            revision=result["revision"],
            request=p.get("id"),
        )
        self.send(
            source, "etcd.response", payload, summary=f"{self.name} → {source}: {op} {key}: {found}", info={"rpc": "ClientResponse", "ok": True, "op": op}
        )

    # --- watches ------------------------------------------------------------------------------
    def _on_watch(self, source: str, p: dict) -> None:
        watch_id = p.get("watch_id")
        key = p.get("key")
        prefix = p.get("prefix", False)
        start = p.get("start_revision") or 0
        old = self.watch_ids.get((source, watch_id))
        if old is not None:
            self._end_watch(old)
        local = self.next_watch
        try:
            backlog = self.watch_hub.add(local, key, prefix, start, self.store)
        except Compacted as exc:
            self.emit(
                "etcd.watch_compacted",
                f"{self.name} cannot watch {key} for {source} from revision {start}: compacted up to {exc.compact_revision}",
                target=source,
                watch_id=watch_id,
                compact_revision=exc.compact_revision,
            )
            self.send(
                source,
                "etcd.watch_event",
                {"watch_id": watch_id, "canceled": True, "events": [], "error": "compacted", "compact_revision": exc.compact_revision},
                summary=f"{self.name} → {source}: watch {watch_id}: revision {start} is compacted",
            )
            return
        except ValueError as exc:
            self.send(
                source,
                "etcd.watch_event",
                {"watch_id": watch_id, "canceled": True, "events": [], "error": str(exc)},
                summary=f"{self.name} → {source}: watch {watch_id} refused: {exc}",
            )
            return
        self.next_watch += 1
        self.watchers[local] = [source, watch_id, 0]  # client, its watch id, messages sent
        self.watch_ids[(source, watch_id)] = local
        where = f"{key}*" if prefix else key
        since = f"from revision {start}" if start else "from now"
        self.emit(
            "etcd.watch",
            f"{source} watches {where} on {self.name} {since} ({_plural(len(backlog), 'event', 'events')} of history to send)",
            target=source,
            watch_id=watch_id,
            key=key,
            prefix=prefix,
            start_revision=start,
        )
        self._watch_send(local, {"created": True, "events": [], "revision": self.store.revision}, f"watch {watch_id} on {where} created")
        self._send_history(local, backlog)

    def _send_history(self, local: int, backlog: list) -> None:
        """Past events in batches, never splitting the events of one revision."""
        batch: list = []
        for i, event in enumerate(backlog):
            batch.append(event)
            last_of_revision = i + 1 == len(backlog) or event_revision(backlog[i + 1]) != event_revision(event)
            if last_of_revision and (len(batch) >= WATCH_BATCH or i + 1 == len(backlog)):
                if local not in self.watchers:
                    break  # the stream broke on the way
                self._send_watch_events(local, batch)
                batch = []

    def _dispatch(self, routed: list) -> None:
        for local, events in routed:
            if local in self.watchers:
                self._send_watch_events(local, events)

    def _send_watch_events(self, local: int, events: list) -> None:
        revision = event_revision(events[-1])
        what = ", ".join(f"{e['type']} {e['kv']['key']}" for e in events[:3]) + (" …" if len(events) > 3 else "")
        watch_id = self.watchers[local][1]
        self._watch_send(
            local,
            {"events": events, "revision": revision},
            f"watch {watch_id}: {what} (revision {revision})",
            {"rpc": "WatchEvent", "events": len(events), "revision": revision},
        )

    def _watch_send(self, local: int, payload: dict, what: str, info: dict | None = None, watcher: list | None = None) -> None:
        """Send one message of a watch stream, numbered: `seq` counts a stream's messages
        from 1, so a watcher that sees a number skipped knows it missed one (the network
        lost it) and watches again from its last revision + 1. `stream` names this
        member's stream, so that a late drop report cannot end a newer stream."""
        if watcher is None:
            watcher = self.watchers[local]
        watcher[2] += 1
        payload["watch_id"] = watcher[1]
        payload["seq"] = watcher[2]
        payload["stream"] = local
        self.send(watcher[0], "etcd.watch_event", payload, summary=f"{self.name} → {watcher[0]}: {what}", info=info)

    def _end_watch(self, local: int, last: dict | None = None, what: str = "") -> None:
        """Forget a watch; `last`, if given, is the stream's final message (sent after
        forgetting, so that a report of its own loss finds nothing to end)."""
        watcher = self.watchers.pop(local)
        self.watch_ids.pop((watcher[0], watcher[1]), None)
        self.watch_hub.cancel(local)
        if last is not None:
            self._watch_send(local, last, what, watcher=watcher)

    def _on_watch_cancel(self, source: str, p: dict) -> None:
        watch_id = p.get("watch_id")
        local = self.watch_ids.get((source, watch_id))
        if local is None:
            return
        self.emit("etcd.watch_cancel", f"{source} cancels watch {watch_id} on {self.name}", target=source, watch_id=watch_id)
        self._end_watch(local, {"canceled": True, "events": []}, f"watch {watch_id} canceled")

    def _on_watch_progress(self, source: str, p: dict) -> None:
        watch_id = p.get("watch_id")
        local = self.watch_ids.get((source, watch_id))
        if local is not None:
            revision = self.store.revision
            self._watch_send(local, {"progress": True, "events": [], "revision": revision}, f"watch {watch_id} is up to date at revision {revision}")
        else:
            self.send(
                source,
                "etcd.watch_event",
                {"watch_id": watch_id, "canceled": True, "events": [], "error": "unknown watch"},
                summary=f"{self.name} → {source}: no watch {watch_id} here",
            )

    # --- commands from the dashboard ------------------------------------------------------------
    def force_timeout(self) -> bool:
        """Let this member's election timer fire now (the panel's button). With pre-vote
        on, the others may still refuse while they hear from a leader."""
        if not self.alive or self.raft is None:
            return False
        self.raft.tick(self.now)
        started = self.raft.force_timeout()
        self._drive()
        return started

    # --- views ------------------------------------------------------------------------------
    def view(self) -> dict:
        raft = self.raft if self.alive else None
        log = raft.log if raft is not None else self.disk.entries
        start = max(0, len(log) - VIEW_LOG_LIMIT)
        snap = raft.snapshot if raft is not None else self.disk.snapshot
        offset = raft.offset if raft is not None else self.disk.offset
        out = {
            "name": self.name,
            "kind": self.kind,
            "id": self.name,
            "alive": self.alive,
            "pre_vote": self.pre_vote,
            "check_quorum": self.check_quorum,
            "log": [{"index": e["index"], "term": e["term"]} for e in log[start:]],
            "log_length": offset + len(log),  # the last index (the log's length, had it never been compacted)
            "log_offset": offset,  # the compaction point: entries after it are kept
            "log_kept": len(log),
            "snapshot_index": snap["index"] if snap else 0,
            "snapshot_term": snap["term"] if snap else 0,
        }
        if raft is None:
            out.update(
                role="down",
                term=self.disk.term,
                vote=self.disk.vote,
                commit=0,
                applied=0,
                leader=None,
                election_deadline=None,
                election_timeout=None,
                heartbeat_deadline=None,
                revision=None,
                compact_revision=None,
                watches=0,
                pending=0,
            )
            return out
        leader = raft.role == LEADER
        out.update(
            role=raft.role,
            term=raft.term,
            vote=raft.vote,
            commit=raft.commit,
            applied=raft.applied,
            leader=raft.leader,
            election_deadline=None if leader else raft.election_deadline / SECOND,
            election_timeout=raft.election_timeout / SECOND,
            heartbeat_deadline=raft.heartbeat_deadline / SECOND if leader else None,
            revision=self.store.revision,
            compact_revision=self.store.compact_revision,
            watches=len(self.watch_hub),
            pending=len(self.pending),
        )
        if leader:
            out["progress"] = {peer: {"match": pr.match, "next": pr.next, "state": pr.state} for peer, pr in raft.progress.items()}
        return out

    def keyspace(self, prefix: str = "", limit: int | None = None) -> list[dict]:
        """The keys in this member's store now (for the key-space browser), sorted."""
        if self.store is None:
            return []
        return self.store.range(prefix, prefix=True, limit=limit)

    def watch_view(self) -> list[dict]:
        """The watches this member serves: [{"client", "watch_id", "key", "prefix", "next_revision"}]."""
        if self.watch_hub is None:
            return []
        out = []
        for watcher in self.watch_hub.watchers():
            source, watch_id, _ = self.watchers[watcher["id"]]
            out.append({"client": source, "watch_id": watch_id, "key": watcher["key"], "prefix": watcher["prefix"], "next_revision": watcher["next_revision"]})
        return out


def describe(data) -> str:
    """A log entry's data in a few words, for narration."""
    if data is None:
        return "the new leader's empty entry"
    req = data["req"]
    op = req["op"]
    if op == "put":
        value = req["value"] if len(req["value"]) <= 24 else req["value"][:21] + "…"
        return f"put {req['key']}={value}"
    if op == "delete":
        return f"delete {req['key']}{'*' if req.get('prefix') else ''}"
    if op == "compact":
        return f"compact up to revision {req['revision']}"
    keys = sorted({c.get("key") for c in req.get("compare", []) if isinstance(c, dict) and isinstance(c.get("key"), str)})
    return "txn" + (f" on {', '.join(keys[:3])}" if keys else "")


def _store_request(p: dict) -> tuple[dict | None, str | None]:
    """The MVCC request for a client write, or a reason to refuse it before proposing."""
    op = p["op"]
    if op == "compact":
        revision = p.get("revision")
        if isinstance(revision, bool) or not isinstance(revision, int) or revision < 1:
            return None, "compact: revision must be a positive integer"
        return {"op": "compact", "revision": revision}, None
    if op == "txn":
        for field in ("compare", "success", "failure"):
            if not isinstance(p.get(field, []), list):
                return None, f"txn: {field} must be a list"
        return {"op": "txn", "compare": p.get("compare", []), "success": p.get("success", []), "failure": p.get("failure", [])}, None
    key = p.get("key")
    prefix = p.get("prefix", False)
    if not isinstance(key, str) or (not key and not (op == "delete" and prefix is True)):
        return None, f"{op}: key must be a non-empty string"
    if op == "delete":
        if not isinstance(prefix, bool):
            return None, "delete: prefix must be true or false"
        return {"op": "delete", "key": key, "prefix": prefix}, None
    value = p.get("value")
    if not isinstance(value, str):
        return None, f"{op}: value must be a string"
    if op == "put":
        return {"op": "put", "key": key, "value": value}, None
    expected = p.get("expected")
    if expected is not None and not isinstance(expected, str):
        return None, "cas: expected must be a string or null"
    return cas_request(key, expected, value), None
