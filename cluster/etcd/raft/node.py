"""`Raft`: one node of the Raft consensus algorithm, as a pure state machine.

Inputs:  step(message)    a message from a peer (or a local one: Propose, ReadIndex)
         tick(now_us)     time passes; due deadlines fire (election, heartbeat, check quorum)
         propose(data)    a client write; read_index(ctx) a linearizable read
         force_timeout()  act as if the election timer had fired (a teacher's button)
Outputs: ready() -> Ready, collected since the last advance():
         messages     to send, in order
         entries      to persist (a contiguous run that may replace a stored suffix)
         hard_state   {"term", "vote"} to persist, or None when unchanged
         committed    entries to apply, in index order, each exactly once
         read_states  [{"ctx", "index"}]: the read `ctx` may be served once the
                      state machine has applied `index`
         snapshot     None, or a snapshot received from the leader: persist it (it
                      replaces the whole log) and restore the state machine from it
                      before applying `committed`
         notes        what happened, for narration: ("role", role, term, leader),
                      ("leader", leader, term), ("vote", candidate, term),
                      ("timeout", term, role), ("truncate", from_index, count),
                      ("step_down", term, reason), ("drop", what, reason),
                      ("send_snapshot", peer, index, needed), ("restore", index, term, leader)
         advance(ready) acknowledges a Ready once it has been handled: persist
         entries and hard state first, then send messages, then apply.

Time is stored as deadlines (RaftScope's `electionAlarm`), not counted ticks: the node
keeps `election_deadline` and, as leader, `heartbeat_deadline`; `next_deadline()`
says when it next needs a tick. A tick that comes early changes nothing, so the
driver may set a timer for every deadline it sees and ignore stale ones.

Roles, and what moves a node between them:

      start, restart
            │
            v        election timeout         pre-votes from a quorum
      ┌──────────┐   (pre-vote on)    ┌───────────────┐   (term + 1)    ┌───────────┐
  ┌──>│ follower │──────────────────> │ pre-candidate │───────────────> │ candidate │<─┐
  │   └──────────┘                    └───────────────┘                 └───────────┘  │ timeout
  │        │     election timeout (pre-vote off): term + 1, vote for itself ^   │  └────┘ (pre-vote off;
  │        └────────────────────────────────────────────────────────────────┘   │         on: pre-candidate)
  │                                                                 votes from  │
  │                                                                 a quorum    v
  │  a higher term; an AppendEntries or Heartbeat of the current term;    ┌────────┐
  └──a lost (pre-)election; or, as leader, no answer from a quorum  <─────│ leader │
     within an election timeout (check quorum)                            └────────┘

The rules the paper states and where they live:
- election safety: one vote per term (`vote`, persisted before the answer is sent);
  a vote only for a log at least as up to date (`_on_vote_request`);
- pre-vote (thesis 9.6): a pre-candidate asks "would you vote for me at term + 1?"
  without changing any term; a node says yes only if the log is up to date and it has
  not heard from a leader within the minimum election timeout (`_in_lease`). A node
  cut off by a partition therefore keeps its term and cannot depose a healthy leader
  when it returns;
- log matching: AppendEntries carries the index and term of the entry before its
  entries; a follower whose log disagrees rejects it with a hint (messages.py) and
  the leader backs off by a term at a time, not an entry at a time;
- commitment (Figure 8): a leader advances the commit index only to an index that a
  quorum holds and whose entry is of the current term (`_maybe_commit`); a new leader
  appends an empty entry at once so that earlier entries commit without waiting for a
  client;
- ReadIndex: the leader records its commit index for a read, confirms that it is still
  leader with a heartbeat round a quorum answers, and only then hands the index out;
  a leader that has not yet committed an entry of its own term waits for that first.

Log compaction (etcd's snapshots; the paper's section 7): the driver takes a snapshot of
its state machine at the applied index and calls `compact(snapshot, index)` to forget the
log up to `index` (at or before the snapshot, keeping a tail for slow followers). The log
then starts after `offset`, whose term (`offset_term`) is kept for the log matching check.
A follower whose next needed entry is at or before the leader's `offset` gets the snapshot
(InstallSnapshot, etcd's MsgSnap); it drops its log, restores from the snapshot and goes
on from the snapshot's index.

Randomness (the election timeout, uniform in [election_min_us, election_max_us)) comes
only from the `rng` stream passed in, drawn at each role change as etcd does.
"""

from dataclasses import dataclass

from .messages import (
    APPEND,
    APPEND_RESP,
    HEARTBEAT,
    HEARTBEAT_RESP,
    LOCAL_TYPES,
    PRE_VOTE,
    PRE_VOTE_RESP,
    PROPOSE,
    READ_INDEX,
    READ_INDEX_RESP,
    SNAPSHOT,
    VOTE,
    VOTE_RESP,
)
from .progress import PROBE, REPLICATE, Progress
from .progress import SNAPSHOT as SNAPSHOT_STATE
from .storage import Storage

FOLLOWER = "follower"
PRE_CANDIDATE = "pre-candidate"
CANDIDATE = "candidate"
LEADER = "leader"
ROLES = (FOLLOWER, PRE_CANDIDATE, CANDIDATE, LEADER)

# A proposal may be forwarded this many times (follower -> leader -> new leader ...).
MAX_PROPOSAL_HOPS = 3

NO_LEADER = "no leader"


@dataclass(slots=True)
class Ready:
    messages: list
    entries: list
    hard_state: dict | None
    committed: list
    read_states: list
    notes: list
    snapshot: dict | None = None


class Raft:
    def __init__(
        self,
        node_id: str,
        peers,
        storage: Storage,
        rng,
        *,
        heartbeat_us: int,
        election_min_us: int,
        election_max_us: int,
        pre_vote: bool = True,
        check_quorum: bool = True,
        max_entries_per_message: int = 64,
        now: int = 0,
    ):
        peers = sorted(set(peers))
        if node_id not in peers:
            raise ValueError(f"raft: {node_id!r} is not among its peers {peers}")
        if not 0 < heartbeat_us < election_min_us < election_max_us:
            raise ValueError("raft: need 0 < heartbeat < election minimum < election maximum")
        if max_entries_per_message < 1:
            raise ValueError("raft: max_entries_per_message must be at least 1")
        self.id = node_id
        self.peers = peers
        self.others = [p for p in peers if p != node_id]
        self.quorum = len(peers) // 2 + 1
        self.rng = rng
        self.heartbeat_us = heartbeat_us
        self.election_min_us = election_min_us
        self.election_max_us = election_max_us
        self.pre_vote = pre_vote
        self.check_quorum = check_quorum
        self.max_entries = max_entries_per_message
        self.now = now

        # Persistent state, loaded from the disk; changes leave through Ready.
        self.term = storage.term
        self.vote = storage.vote
        self.log: list[dict] = list(storage.entries)  # log[i] holds index offset + i + 1
        self.offset = storage.offset  # the compaction point: the index just before log[0]
        self.offset_term = storage.offset_term
        self.snapshot: dict | None = storage.snapshot  # the newest, sent to followers that need it
        self.pending_snapshot: dict | None = None  # received, to hand out in the next Ready
        self._hard = (self.term, self.vote)  # the hard state last handed out
        self.unstable_from = self.offset + len(self.log) + 1  # first index not yet handed out to persist

        # Volatile state. A snapshot holds only committed entries, applied to its state.
        self.commit = self.applied = self.snapshot["index"] if self.snapshot else 0
        self.role = FOLLOWER
        self.leader: str | None = None
        self.leader_contact: int | None = None  # when the current leader was last heard
        self.election_timeout = 0
        self.election_deadline = 0
        self.heartbeat_deadline: int | None = None
        self.votes: dict = {}  # (pre-)candidate: peer -> granted
        self.progress: dict = {}  # leader: peer -> Progress
        self.read_only: list = []  # leader: reads awaiting a heartbeat quorum, oldest first
        self.reads_before_commit: list = []  # leader: (ctx, requester) until its first commit
        self.msgs: list = []
        self.read_states: list = []
        self.notes: list = []
        self._reset_role_state()
        self.notes.append(("role", FOLLOWER, self.term, None))

    # --- reading ----------------------------------------------------------------------
    @property
    def last_index(self) -> int:
        return self.offset + len(self.log)

    @property
    def last_term(self) -> int:
        return self.log[-1]["term"] if self.log else self.offset_term

    def term_at(self, index: int) -> int | None:
        """The term of the entry at `index`, or None: compacted away, or not there yet."""
        offset = self.offset
        if index == offset:
            return self.offset_term
        if offset < index <= offset + len(self.log):
            return self.log[index - offset - 1]["term"]
        return None

    def next_deadline(self) -> int:
        """The next virtual time at which `tick` may change something."""
        if self.role == LEADER:
            return min(self.heartbeat_deadline, self.election_deadline)
        return self.election_deadline

    # --- inputs -------------------------------------------------------------------------
    def tick(self, now: int) -> None:
        if now < self.now:
            raise ValueError(f"raft: time went backwards ({now} < {self.now})")
        self.now = now
        if self.role == LEADER:
            if now >= self.heartbeat_deadline:
                self.heartbeat_deadline = now + self.heartbeat_us
                self._bcast_heartbeat()
            if now >= self.election_deadline:
                self.election_deadline = now + self.election_min_us
                if self.check_quorum:
                    active = 1
                    for pr in self.progress.values():
                        if pr.recent_active:
                            active += 1
                        pr.recent_active = False
                    if active < self.quorum:
                        self.notes.append(("step_down", self.term, f"heard from only {active} of {len(self.peers)} members in an election timeout"))
                        self._become_follower(self.term, None)
        elif now >= self.election_deadline:
            self.notes.append(("timeout", self.term, self.role))
            self._hup()

    def force_timeout(self) -> bool:
        """Start an election now, as if the election timer had fired. Leaders ignore it."""
        if self.role == LEADER:
            return False
        self.notes.append(("timeout", self.term, self.role))
        self._hup()
        return True

    def propose(self, data) -> str | None:
        """Propose a new log entry. None when accepted here (the leader appended it, or
        a follower forwarded it to its leader: it may still be lost), or the reason it
        certainly was not proposed."""
        if self.role == LEADER:
            self._append_entries([data])
            return None
        if self.leader is None:
            return NO_LEADER
        self.msgs.append({"type": PROPOSE, "from": self.id, "to": self.leader, "term": 0, "entries": [data], "hops": 1})
        return None

    def read_index(self, ctx) -> str | None:
        """Ask for a linearizable read index; it comes back as a read state with `ctx`
        (or never, if messages are lost: the caller retries with a new ctx). Returns
        the reason it cannot be asked now, or None."""
        if self.role == LEADER:
            self._leader_read(ctx, self.id)
            return None
        if self.leader is None:
            return NO_LEADER
        self.msgs.append({"type": READ_INDEX, "from": self.id, "to": self.leader, "term": 0, "ctx": ctx})
        return None

    def step(self, m: dict) -> None:
        mtype = m["type"]
        mterm = m["term"]
        if mterm == 0 or mtype in LOCAL_TYPES:
            pass
        elif mterm > self.term:
            if mtype == PRE_VOTE or (mtype == PRE_VOTE_RESP and not m["reject"]):
                # A pre-vote request for term + 1 (or a grant of ours) changes no term:
                # that is the point of pre-voting.
                pass
            else:
                self._become_follower(mterm, m["from"] if mtype in (APPEND, HEARTBEAT, SNAPSHOT) else None)
        elif mterm < self.term:
            self._answer_stale(m)
            return
        if mtype == VOTE or mtype == PRE_VOTE:
            self._on_vote_request(m)
            return
        self._STEP[self.role](self, m)

    # --- outputs ------------------------------------------------------------------------
    def has_ready(self) -> bool:
        return bool(
            self.msgs
            or self.notes
            or self.read_states
            or self.unstable_from <= self.offset + len(self.log)
            or self.applied < self.commit
            or self.pending_snapshot is not None
            or self.term != self._hard[0]
            or self.vote != self._hard[1]
        )

    def ready(self) -> Ready:
        log = self.log
        hard = None
        if self.term != self._hard[0] or self.vote != self._hard[1]:
            hard = {"term": self.term, "vote": self.vote}
        offset = self.offset
        entries = log[self.unstable_from - offset - 1 :] if self.unstable_from <= offset + len(log) else []
        # After a restore `applied` is still below the snapshot, which covers those entries.
        start = max(self.applied, offset)
        committed = log[start - offset : self.commit - offset] if start < self.commit else []
        rd = Ready(self.msgs, entries, hard, committed, self.read_states, self.notes, self.pending_snapshot)
        self.pending_snapshot = None
        self.msgs = []
        self.read_states = []
        self.notes = []
        return rd

    def advance(self, rd: Ready) -> None:
        if rd.hard_state is not None:
            self._hard = (rd.hard_state["term"], rd.hard_state["vote"])
        if rd.entries:
            self.unstable_from = min(rd.entries[-1]["index"], self.last_index) + 1
        if rd.snapshot is not None:
            self.applied = max(self.applied, rd.snapshot["index"])
        if rd.committed:
            self.applied = rd.committed[-1]["index"]

    # --- role changes -------------------------------------------------------------------
    def _reset_role_state(self) -> None:
        self.election_timeout = self.rng.randint(self.election_min_us, self.election_max_us - 1)
        self.election_deadline = self.now + self.election_timeout
        self.heartbeat_deadline = None
        self.votes = {}
        self.progress = {}
        self.read_only = []
        self.reads_before_commit = []

    def _become_follower(self, term: int, leader: str | None) -> None:
        changed = self.role != FOLLOWER or term != self.term or leader != self.leader
        if term != self.term:
            self.term = term
            self.vote = None
        self.role = FOLLOWER
        self._reset_role_state()
        self.leader = leader
        self.leader_contact = self.now if leader is not None else None
        if changed:
            self.notes.append(("role", FOLLOWER, term, leader))

    def _become_leader(self) -> None:
        self.role = LEADER
        self._reset_role_state()
        self.leader = self.id
        self.leader_contact = None
        next_index = self.last_index + 1
        self.progress = {peer: Progress(next_index) for peer in self.others}
        self.heartbeat_deadline = self.now + self.heartbeat_us
        self.election_deadline = self.now + self.election_min_us
        self.notes.append(("role", LEADER, self.term, self.id))
        # The empty entry of the new term: committing it commits everything before it.
        self._append_entries([None])

    def _hup(self) -> None:
        if self.role != LEADER:
            self._campaign(pre=self.pre_vote)

    def _campaign(self, pre: bool) -> None:
        if pre:
            self.role = PRE_CANDIDATE
            self._reset_role_state()
            self.leader = None
            self.leader_contact = None
            term, mtype = self.term + 1, PRE_VOTE
            self.notes.append(("role", PRE_CANDIDATE, self.term, None))
        else:
            self.term += 1
            self.vote = self.id
            self.role = CANDIDATE
            self._reset_role_state()
            self.leader = None
            self.leader_contact = None
            term, mtype = self.term, VOTE
            self.notes.append(("role", CANDIDATE, self.term, None))
        self.votes = {self.id: True}
        if self.quorum == 1:
            if pre:
                self._campaign(pre=False)
            else:
                self._become_leader()
            return
        last_index, last_term = self.last_index, self.last_term
        for peer in self.others:
            self.msgs.append({"type": mtype, "from": self.id, "to": peer, "term": term, "index": last_index, "log_term": last_term})

    def _poll(self, m: dict) -> None:
        voter = m["from"]
        if voter in self.votes or voter not in self.peers:
            return
        self.votes[voter] = not m["reject"]
        granted = sum(1 for v in self.votes.values() if v)
        rejected = len(self.votes) - granted
        if granted >= self.quorum:
            if self.role == PRE_CANDIDATE:
                self._campaign(pre=False)
            else:
                self._become_leader()
        elif len(self.peers) - rejected < self.quorum:
            self._become_follower(self.term, None)

    # --- messages, by role --------------------------------------------------------------
    def _answer_stale(self, m: dict) -> None:
        """A message from an older term. Requests get our term back, so that a stale
        leader or candidate learns it is out of date; stale responses are dropped."""
        mtype = m["type"]
        if mtype == APPEND or mtype == HEARTBEAT or mtype == SNAPSHOT:
            self.msgs.append(
                {
                    "type": APPEND_RESP,
                    "from": self.id,
                    "to": m["from"],
                    "term": self.term,
                    "reject": True,
                    "index": m.get("index", 0),
                    "hint_index": 0,
                    "hint_term": None,
                }
            )
        elif mtype == VOTE or mtype == PRE_VOTE:
            rtype = VOTE_RESP if mtype == VOTE else PRE_VOTE_RESP
            self.msgs.append({"type": rtype, "from": self.id, "to": m["from"], "term": self.term, "reject": True})

    def _in_lease(self) -> bool:
        """True while this node believes in a live leader (it is one, or heard from one
        within the minimum election timeout): it then refuses pre-votes."""
        if self.role == LEADER:
            return True
        return self.leader is not None and self.leader_contact is not None and self.now - self.leader_contact < self.election_min_us

    def _on_vote_request(self, m: dict) -> None:
        pre = m["type"] == PRE_VOTE
        candidate = m["from"]
        last_index, last_term = self.last_index, self.last_term
        up_to_date = m["log_term"] > last_term or (m["log_term"] == last_term and m["index"] >= last_index)
        if pre:
            can_vote = m["term"] > self.term and not self._in_lease()
        else:
            can_vote = self.vote == candidate or (self.vote is None and self.leader is None)
        rtype = PRE_VOTE_RESP if pre else VOTE_RESP
        if can_vote and up_to_date and candidate in self.peers:
            if pre:
                term = m["term"]
            else:
                term = self.term
                self.vote = candidate
                self.election_deadline = self.now + self.election_timeout
                self.notes.append(("vote", candidate, self.term))
            self.msgs.append({"type": rtype, "from": self.id, "to": candidate, "term": term, "reject": False})
        else:
            self.msgs.append({"type": rtype, "from": self.id, "to": candidate, "term": self.term, "reject": True})

    def _step_follower(self, m: dict) -> None:
        mtype = m["type"]
        if mtype == APPEND:
            self._heard_from_leader(m["from"])
            self._on_append(m)
        elif mtype == SNAPSHOT:
            self._heard_from_leader(m["from"])
            self._on_snapshot(m)
        elif mtype == HEARTBEAT:
            self._heard_from_leader(m["from"])
            self._commit_to(m["commit"])
            self.msgs.append({"type": HEARTBEAT_RESP, "from": self.id, "to": m["from"], "term": self.term, "ctx": m["ctx"]})
        elif mtype == PROPOSE:
            self._forward_proposal(m)
        elif mtype == READ_INDEX_RESP:
            # The leader that sent it confirmed its leadership after the read began,
            # so the index stays valid whoever leads now.
            self.read_states.append({"ctx": m["ctx"], "index": m["index"]})
        elif mtype == READ_INDEX:
            self.notes.append(("drop", "read index request", "not the leader"))

    def _step_candidate(self, m: dict) -> None:
        mtype = m["type"]
        if mtype == APPEND or mtype == HEARTBEAT or mtype == SNAPSHOT:
            # Someone won this term: follow it.
            self._become_follower(self.term, m["from"])
            self._step_follower(m)
        elif mtype == (PRE_VOTE_RESP if self.role == PRE_CANDIDATE else VOTE_RESP):
            self._poll(m)
        elif mtype == PROPOSE:
            self.notes.append(("drop", "proposal", NO_LEADER))
        elif mtype == READ_INDEX_RESP:
            self.read_states.append({"ctx": m["ctx"], "index": m["index"]})
        elif mtype == READ_INDEX:
            self.notes.append(("drop", "read index request", "not the leader"))

    def _step_leader(self, m: dict) -> None:
        mtype = m["type"]
        if mtype == APPEND_RESP:
            self._on_append_resp(m)
        elif mtype == HEARTBEAT_RESP:
            self._on_heartbeat_resp(m)
        elif mtype == PROPOSE:
            self._append_entries(m["entries"])
        elif mtype == READ_INDEX:
            self._leader_read(m["ctx"], m["from"])
        # Vote responses of a finished election and messages of our own term from other
        # roles carry nothing for a leader.

    _STEP: dict = {}

    # --- follower -----------------------------------------------------------------------
    def _heard_from_leader(self, leader: str) -> None:
        if self.leader != leader:
            self.leader = leader
            self.notes.append(("leader", leader, self.term))
        self.leader_contact = self.now
        self.election_deadline = self.now + self.election_timeout

    def _forward_proposal(self, m: dict) -> None:
        if self.leader is None or self.leader == self.id:
            self.notes.append(("drop", "proposal", NO_LEADER))
        elif m["hops"] >= MAX_PROPOSAL_HOPS:
            self.notes.append(("drop", "proposal", "forwarded too many times"))
        else:
            self.msgs.append({"type": PROPOSE, "from": self.id, "to": self.leader, "term": 0, "entries": m["entries"], "hops": m["hops"] + 1})

    def _commit_to(self, index: int) -> None:
        if index > self.commit:
            self.commit = min(index, self.offset + len(self.log))

    def _on_append(self, m: dict) -> None:
        prev = m["index"]
        leader = m["from"]
        log = self.log
        offset = self.offset  # at most commit, so every index used below is in the log
        last = offset + len(log)
        if prev < self.commit:
            # Everything up to our commit index is already what the leader has.
            self._append_resp(leader, False, self.commit)
            return
        if prev > last or (prev > offset and log[prev - offset - 1]["term"] != m["log_term"]):
            if prev > last:
                hint_index, hint_term = last, None
            else:
                hint_term = log[prev - offset - 1]["term"]
                hint_index = prev
                floor = self.commit + 1  # entries up to commit agree with any leader
                while hint_index > floor and log[hint_index - offset - 2]["term"] == hint_term:
                    hint_index -= 1
            self.msgs.append(
                {
                    "type": APPEND_RESP,
                    "from": self.id,
                    "to": leader,
                    "term": self.term,
                    "reject": True,
                    "index": prev,
                    "hint_index": hint_index,
                    "hint_term": hint_term,
                }
            )
            return
        entries = m["entries"]
        new_last = prev + len(entries)
        if entries:
            k, n = 0, len(entries)
            while k < n:
                index = entries[k]["index"]
                if index > last:
                    break
                if log[index - offset - 1]["term"] != entries[k]["term"]:
                    if index <= self.commit:
                        raise RuntimeError(f"raft {self.id}: entry {index} conflicts with a committed entry (commit {self.commit})")
                    self.notes.append(("truncate", index, last - index + 1))
                    del log[index - offset - 1 :]
                    break
                k += 1
            if k < n:
                first = entries[k]["index"]
                log.extend(entries[k:] if k else entries)
                if first < self.unstable_from:
                    self.unstable_from = first
        self._commit_to(min(m["commit"], new_last))
        self._append_resp(leader, False, new_last)

    def _on_snapshot(self, m: dict) -> None:
        """InstallSnapshot (etcd's handleSnapshot and restore)."""
        leader = m["from"]
        snap = m["snapshot"]
        index, term = snap["index"], snap["term"]
        if index <= self.commit:
            # Nothing new (a duplicate, or entries arrived first): say how far we are.
            self._append_resp(leader, False, self.commit)
            return
        if self.term_at(index) == term:
            # Our log holds the snapshot's last entry: it is committed, and so is everything
            # before it. Keep the log (entries after it may be the leader's too).
            self.commit = index
            self._append_resp(leader, False, index)
            return
        self.log = []
        self.offset, self.offset_term = index, term
        self.snapshot = self.pending_snapshot = snap
        self.commit = index
        self.unstable_from = index + 1
        self.notes.append(("restore", index, term, leader))
        self._append_resp(leader, False, index)

    def _append_resp(self, to: str, reject: bool, index: int) -> None:
        self.msgs.append(
            {"type": APPEND_RESP, "from": self.id, "to": to, "term": self.term, "reject": reject, "index": index, "hint_index": 0, "hint_term": None}
        )

    # --- leader -------------------------------------------------------------------------
    def _append_entries(self, datas: list) -> None:
        log = self.log
        index = self.offset + len(log)
        term = self.term
        for data in datas:
            index += 1
            log.append({"index": index, "term": term, "data": data})
        self._maybe_commit()
        for peer in self.others:
            self._send_append(peer)

    def _send_append(self, to: str, send_if_empty: bool = True) -> None:
        pr = self.progress[to]
        if (pr.state == PROBE and pr.probe_sent) or pr.state == SNAPSHOT_STATE:
            return
        log = self.log
        prev = pr.next - 1
        offset = self.offset
        if prev < offset:
            self._send_snapshot(to, pr)
            return
        entries = log[prev - offset : prev - offset + self.max_entries] if prev < offset + len(log) else []
        if not entries and not send_if_empty:
            return
        if pr.state == REPLICATE:
            if entries:
                pr.next = entries[-1]["index"] + 1
        else:
            pr.probe_sent = True
        self.msgs.append(
            {
                "type": APPEND,
                "from": self.id,
                "to": to,
                "term": self.term,
                "index": prev,
                "log_term": log[prev - offset - 1]["term"] if prev > offset else self.offset_term,
                "entries": entries,
                "commit": self.commit,
            }
        )

    def _send_snapshot(self, to: str, pr: Progress) -> None:
        """The entries `to` needs are compacted away: send the snapshot, and nothing else
        until it is answered (or reported lost: `snapshot_lost`)."""
        snap = self.snapshot
        self.notes.append(("send_snapshot", to, snap["index"], pr.next))
        pr.state = SNAPSHOT_STATE
        pr.pending_snapshot = snap["index"]
        pr.probe_sent = False
        self.msgs.append({"type": SNAPSHOT, "from": self.id, "to": to, "term": self.term, "snapshot": snap})

    def snapshot_lost(self, to: str) -> None:
        """The network could not deliver a snapshot to `to` (etcd's ReportSnapshot with
        failure): probe again from its match, at its next heartbeat response."""
        pr = self.progress.get(to) if self.role == LEADER else None
        if pr is not None and pr.state == SNAPSHOT_STATE:
            pr.state = PROBE
            pr.pending_snapshot = 0
            pr.next = pr.match + 1
            pr.probe_sent = True

    def compact(self, snapshot: dict, index: int) -> None:
        """The driver took `snapshot` of its state machine (at an applied index): keep it
        for followers that need it and forget the log up to `index` (at most the
        snapshot's index; the entries between stay for followers a little behind)."""
        if snapshot["index"] > self.applied or not self.offset <= index <= snapshot["index"]:
            raise ValueError(f"raft: cannot compact to {index} with a snapshot at {snapshot['index']} (applied {self.applied}, offset {self.offset})")
        self.snapshot = snapshot
        if index > self.offset:
            self.offset_term = self.term_at(index)
            del self.log[: index - self.offset]
            self.offset = index

    def _on_append_resp(self, m: dict) -> None:
        peer = m["from"]
        pr = self.progress.get(peer)
        if pr is None:
            return
        pr.recent_active = True
        index = m["index"]
        if m["reject"]:
            # A rejection that answers an older request than the one that matters now
            # says nothing new.
            if pr.state == REPLICATE:
                if index <= pr.match:
                    return
            elif pr.state == SNAPSHOT_STATE or index != pr.next - 1:
                return
            hint_index, hint_term = m["hint_index"], m["hint_term"]
            if hint_term is None:
                next_index = hint_index + 1
            else:
                last_of_term = self._last_index_of_term(hint_term, min(index, self.last_index))
                next_index = last_of_term + 1 if last_of_term else hint_index
            pr.next = max(pr.match + 1, min(next_index, index))
            pr.state = PROBE
            pr.probe_sent = False
            self._send_append(peer)
            return
        advanced = index > pr.match
        if advanced:
            pr.match = index
        if pr.next <= index:
            pr.next = index + 1
        if pr.state == PROBE or (pr.state == SNAPSHOT_STATE and pr.match >= pr.pending_snapshot):
            pr.state = REPLICATE
            pr.probe_sent = False
            pr.pending_snapshot = 0
            pr.next = pr.match + 1
        if advanced and self._maybe_commit():
            for other in self.others:
                self._send_append(other)
        elif pr.next <= self.last_index:
            self._send_append(peer, send_if_empty=False)

    def _last_index_of_term(self, term: int, start: int) -> int:
        """The last index at or before `start` whose entry has `term` (0: none known). At the
        compaction point it gives up: the follower then gets entries from there or a snapshot."""
        log = self.log
        offset = self.offset
        index = start
        while index > offset and log[index - offset - 1]["term"] > term:
            index -= 1
        return index if index > 0 and self.term_at(index) == term else 0

    def _maybe_commit(self) -> bool:
        last = self.offset + len(self.log)
        if self.progress:
            matches = [pr.match for pr in self.progress.values()]
            matches.append(last)
            matches.sort(reverse=True)
            candidate = matches[self.quorum - 1]
        else:
            candidate = last
        # Figure 8: count replicas only for an entry of the current term.
        if candidate > self.commit and self.log[candidate - self.offset - 1]["term"] == self.term:
            self.commit = candidate
            if self.reads_before_commit:
                waiting, self.reads_before_commit = self.reads_before_commit, []
                for ctx, requester in waiting:
                    self._leader_read(ctx, requester)
            return True
        return False

    def _bcast_heartbeat(self) -> None:
        ctx = self.read_only[-1]["ctx"] if self.read_only else None
        commit, term, me = self.commit, self.term, self.id
        msgs = self.msgs
        for peer, pr in self.progress.items():
            msgs.append({"type": HEARTBEAT, "from": me, "to": peer, "term": term, "commit": min(pr.match, commit), "ctx": ctx})

    def _on_heartbeat_resp(self, m: dict) -> None:
        peer = m["from"]
        pr = self.progress.get(peer)
        if pr is None:
            return
        pr.recent_active = True
        pr.probe_sent = False
        if pr.match < self.last_index:
            self._send_append(peer)
        ctx = m["ctx"]
        if ctx is not None and self.read_only:
            self._ack_read(peer, ctx)

    def _leader_read(self, ctx, requester: str) -> None:
        if self.commit == 0 or self.term_at(self.commit) != self.term:
            # Until an entry of this term commits, the leader's commit index may lag
            # behind entries its predecessor committed.
            self.reads_before_commit.append((ctx, requester))
            return
        if not self.others:
            self._release_read(ctx, requester, self.commit)
            return
        self.read_only.append({"ctx": ctx, "index": self.commit, "from": requester, "acks": []})
        self._bcast_heartbeat()

    def _ack_read(self, peer: str, ctx) -> None:
        pending = self.read_only
        for i, read in enumerate(pending):
            if read["ctx"] == ctx:
                if peer not in read["acks"]:
                    read["acks"].append(peer)
                if len(read["acks"]) + 1 >= self.quorum:
                    # A quorum answered a heartbeat sent after this read (and every
                    # earlier one) was recorded: leadership at that moment is confirmed.
                    done = pending[: i + 1]
                    del pending[: i + 1]
                    for read_done in done:
                        self._release_read(read_done["ctx"], read_done["from"], read_done["index"])
                return

    def _release_read(self, ctx, requester: str, index: int) -> None:
        if requester == self.id:
            self.read_states.append({"ctx": ctx, "index": index})
        else:
            self.msgs.append({"type": READ_INDEX_RESP, "from": self.id, "to": requester, "term": self.term, "ctx": ctx, "index": index})


Raft._STEP = {FOLLOWER: Raft._step_follower, PRE_CANDIDATE: Raft._step_candidate, CANDIDATE: Raft._step_candidate, LEADER: Raft._step_leader}
