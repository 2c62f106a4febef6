"""Building etcd members on the bare kernel for tests, a scripted client, and the Raft
safety invariants checked after every step of a run.

    sim, members = make_etcd(3, seed=4)
    client = add_client(sim)
    checker = Invariants(members)
    run(sim, 5 * SECOND, checker)            # step by step, checking after each
    rid = client.request("etcd-0", "put", key="a", value="1")
    run(sim, 6 * SECOND, checker)
    assert client.responses[rid]["ok"]
"""

from cluster.etcd import build_members, find_leader
from cluster.kernel import MILLISECOND, SECOND, Component, Simulation
from cluster.net import Network
from cluster.profiles import PROFILES, Profile

# Fast timings for randomized runs: elections in a few hundred milliseconds.
FAST = Profile(
    name="fast",
    net_latency_us=5 * MILLISECOND,
    net_jitter_us=10 * MILLISECOND,
    raft_heartbeat_us=50 * MILLISECOND,
    raft_election_min_us=300 * MILLISECOND,
    raft_election_max_us=600 * MILLISECOND,
)


def make_etcd(count=3, *, seed=1, profile=FAST, fifo=True, latency_us=None, jitter_us=None, **options):
    profile = PROFILES[profile] if isinstance(profile, str) else profile
    sim = Simulation(seed=seed)
    sim.net = Network(
        sim,
        base_latency_us=profile.net_latency_us if latency_us is None else latency_us,
        jitter_us=profile.net_jitter_us if jitter_us is None else jitter_us,
        fifo=fifo,
    )
    members = build_members(sim, count, profile, **options)
    return sim, members


class Client(Component):
    """Sends etcd requests and watches, and records every answer with its arrival time."""

    kind = "test-client"

    def __init__(self, sim, name="client"):
        super().__init__(sim, name)
        self.next_id = 0
        self.sent = {}  # id -> (time, member, payload)
        self.responses = {}  # id -> payload
        self.answered_at = {}  # id -> time
        self.watch_events = []  # every etcd.watch_event payload, in arrival order, with the member
        self.undeliverable = []

    def request(self, member, op, **fields):
        self.next_id += 1
        payload = {"id": self.next_id, "op": op, **fields}
        self.sent[self.next_id] = (self.now, member, payload)
        self.send(member, "etcd.request", payload)
        return self.next_id

    def request_with(self, member, op, fields):
        """`request` for a scheduled call (the kernel passes positional arguments)."""
        return self.request(member, op, **fields)

    def watch(self, member, watch_id, key, prefix=False, start_revision=0):
        self.send(member, "etcd.watch", {"watch_id": watch_id, "key": key, "prefix": prefix, "start_revision": start_revision})

    def on_message(self, msg):
        if msg.kind == "etcd.response":
            self.responses[msg.payload["id"]] = msg.payload
            self.answered_at[msg.payload["id"]] = self.now
        elif msg.kind == "etcd.watch_event":
            self.watch_events.append((msg.source, msg.payload))

    def on_undeliverable(self, msg, reason):
        self.undeliverable.append((msg.kind, msg.payload, reason))


class ResumingWatcher(Component):
    """A watcher that survives member crashes, partitions and lost messages the way a
    Kubernetes reflector does: it watches a prefix from its last revision + 1, checks
    that each stream's `seq` grows by one, asks for progress when a stream goes quiet,
    and on any sign of trouble (a gap, a cancel, no answer) watches again elsewhere."""

    kind = "test-watcher"

    def __init__(self, sim, members, prefix, name="watcher", check_us=200 * MILLISECOND):
        super().__init__(sim, name)
        self.members = [m.name for m in members]
        self.prefix = prefix
        self.check_us = check_us
        self.events = []
        self.last_revision = 0
        self.streams = 0
        self.current = None  # {"member", "watch_id", "seq", "heard", "asked"}
        self.reconnects = []  # (time, why)

    def on_start(self):
        self._connect("start")
        self.set_timer(self.check_us, "check")

    def _connect(self, why):
        if self.current is not None:
            self.send(self.current["member"], "etcd.watch_cancel", {"watch_id": self.current["watch_id"]})
        self.streams += 1
        member = self.stream("member").choice(self.members)
        self.current = {"member": member, "watch_id": self.streams, "seq": 0, "heard": self.now, "asked": None}
        self.reconnects.append((self.now, why))
        self.send(member, "etcd.watch", {"watch_id": self.streams, "key": self.prefix, "prefix": True, "start_revision": self.last_revision + 1})

    def on_message(self, msg):
        current = self.current
        p = msg.payload
        if msg.kind != "etcd.watch_event" or current is None or p["watch_id"] != current["watch_id"] or msg.source != current["member"]:
            return  # an old stream's leftovers
        if "seq" not in p:
            return self._connect(p.get("error", "refused"))
        if p["seq"] != current["seq"] + 1:
            return self._connect("gap")
        current["seq"] = p["seq"]
        current["heard"] = self.now
        current["asked"] = None
        for event in p["events"]:
            revision = event["kv"]["mod_revision"]
            assert revision >= self.last_revision, f"watch went back from {self.last_revision} to {revision}"
            self.events.append(event)
        if p["events"]:
            self.last_revision = p["revision"]
        if p.get("canceled"):
            self._connect(p.get("error", "canceled"))

    def on_timer(self, tag, data):
        current = self.current
        if current["asked"] is not None and self.now - current["asked"] >= self.check_us:
            self._connect("no answer")
        elif current["asked"] is None and self.now - current["heard"] >= self.check_us:
            current["asked"] = self.now
            self.send(current["member"], "etcd.watch_progress", {"watch_id": current["watch_id"]})
        self.set_timer(self.check_us, "check")


def add_client(sim, name="client"):
    return sim.add(Client(sim, name))


def leader_of(members):
    member = find_leader(members)
    return member.name if member else None


def run(sim, until_us, checker=None):
    """Run to `until_us`, checking the invariants after every action when given."""
    if checker is None:
        sim.run_until(until_us)
        return
    while True:
        nxt = sim.next_time()
        if nxt is None or nxt > until_us:
            break
        sim.step()
        checker.check()
    sim.run_until(until_us)


def run_until_leader(sim, members, limit_us, checker=None, step_us=10 * MILLISECOND):
    """Run until a live leader exists that a quorum of live members follow; its name."""
    while sim.now < limit_us:
        run(sim, min(limit_us, sim.now + step_us), checker)
        name = leader_of(members)
        if name is not None:
            term = find_leader(members).raft.term
            followers = sum(1 for m in members if m.alive and m.raft.term == term and m.raft.leader == name)
            if followers >= len(members) // 2 + 1:
                return name
    return None


class Invariants:
    """The Raft safety properties, checked incrementally after each step:

    - election safety: at most one leader per term, ever;
    - log matching: an entry's (index, term) determines its data and the term of the
      entry before it, hence the whole prefix;
    - leader completeness: a leader of term T holds every entry committed in a term <= T;
    - state machine safety: every member applies the same entry at each index, and its
      store has the same revision after it;
    - monotonic commit: a member's commit index never decreases while it is up, and a
      committed index never changes its entry.

    A member's log may start after a compaction point (`raft.offset`): entries before it
    are checked while some member still holds them, and through the stores after that.
    """

    def __init__(self, members):
        self.members = list(members)
        self.leader_of_term = {}  # term -> leader name
        self.entry_at = {}  # (index, term) -> (previous term, data)
        self.checked_logs = {}  # name -> list of entries already checked
        self.committed = {}  # index -> (term, data, term in which it was seen committed)
        self.recorded = 0  # the highest committed index recorded
        self.verified = {}  # (leader, term) -> how many committed entries are checked in its log
        self.applied_at = {}  # index -> (term, data, store revision after it)
        self.applied_seen = {}  # name -> (epoch, applied index checked)
        self.commit_seen = {}  # name -> (epoch, commit)
        self.checks = 0

    def check(self):
        self.checks += 1
        for member in self.members:
            if not member.alive:
                continue
            raft = member.raft
            name = member.name
            # election safety
            if raft.role == "leader":
                other = self.leader_of_term.setdefault(raft.term, name)
                assert other == name, f"two leaders in term {raft.term}: {other} and {name}"
            self._check_log(name, raft)
            # monotonic commit
            epoch, commit = self.commit_seen.get(name, (member.epoch, 0))
            if epoch == member.epoch:
                assert raft.commit >= commit, f"{name}: commit went from {commit} back to {raft.commit}"
            self.commit_seen[name] = (member.epoch, raft.commit)
            self._record_commits(raft)
            self._check_applied(member)
        for member in self.members:
            if member.alive and member.raft.role == "leader":
                self._check_leader(member.name, member.raft)

    def _check_log(self, name, raft):
        log, offset = raft.log, raft.offset
        previous = self.checked_logs.get(name, [])
        if len(previous) == len(log) and (not log or log[-1] is previous[-1]):
            return
        start = min(len(previous), len(log))
        while start > 0 and log[start - 1] is not previous[start - 1]:
            start -= 1
        entry_at = self.entry_at
        for i in range(start, len(log)):
            entry = log[i]
            assert entry["index"] == offset + i + 1, f"{name}: entry {entry['index']} at position {offset + i + 1}"
            prev_term = log[i - 1]["term"] if i else raft.offset_term
            assert prev_term <= entry["term"], f"{name}: terms decrease at index {offset + i + 1}"
            key = (offset + i + 1, entry["term"])
            seen = entry_at.get(key)
            if seen is None:
                entry_at[key] = (prev_term, entry["data"])
            else:
                assert seen == (prev_term, entry["data"]), f"log matching broken at {key} on {name}: {seen} vs {(prev_term, entry['data'])}"
        self.checked_logs[name] = list(log)

    def _record_commits(self, raft):
        committed = self.committed
        for index in range(max(raft.offset, self.recorded) + 1, raft.commit + 1):
            entry = _entry(raft, index)
            committed[index] = (entry["term"], entry["data"], raft.term)
        self.recorded = max(self.recorded, raft.commit)
        # Entries recorded already: check the newest this member commits (log matching
        # covers the prefix before it).
        seen = committed.get(raft.commit)
        entry = _entry(raft, raft.commit)
        if seen is not None and entry is not None:
            assert seen[:2] == (entry["term"], entry["data"]), f"committed entry {raft.commit} differs on {raft.id}"

    def _check_leader(self, name, raft):
        key = (name, raft.term)
        done = self.verified.get(key, 0)
        top = self.recorded
        for index in range(max(done, raft.offset) + 1, top + 1):
            seen = self.committed.get(index)
            if seen is None or seen[2] > raft.term:
                continue
            entry = _entry(raft, index)
            assert entry is not None and (entry["term"], entry["data"]) == seen[:2], f"leader {name} (term {raft.term}) lacks committed entry {index}"
        self.verified[key] = top

    def _check_applied(self, member):
        raft = member.raft
        epoch, done = self.applied_seen.get(member.name, (member.epoch, 0))
        if epoch != member.epoch:
            done = 0
        if raft.applied > done:
            for index in range(max(done, raft.offset) + 1, raft.applied + 1):
                entry = _entry(raft, index)
                seen = self.applied_at.get(index)
                if seen is None or seen[0] is None:  # (None: only a restored store's revision known)
                    self.applied_at[index] = (entry["term"], entry["data"], seen[2] if seen else None)
                else:
                    assert seen[:2] == (entry["term"], entry["data"]), f"{member.name} applied a different entry at {index}"
            revision = member.store.revision
            # (A store restored from a snapshot stands for entries this member never held.)
            seen = self.applied_at.setdefault(raft.applied, (None, None, None))
            if seen[2] is None:
                self.applied_at[raft.applied] = (seen[0], seen[1], revision)
            else:
                assert seen[2] == revision, f"{member.name}: store revision {revision} after applying {raft.applied}, another member had {seen[2]}"
        self.applied_seen[member.name] = (member.epoch, raft.applied)


def _entry(raft, index):
    """The entry at `index` in a Raft node's log (None: compacted away, or not there)."""
    if raft.offset < index <= raft.last_index:
        return raft.log[index - raft.offset - 1]
    return None


__all__ = ["Client", "FAST", "Invariants", "ResumingWatcher", "MILLISECOND", "SECOND", "add_client", "leader_of", "make_etcd", "run", "run_until_leader"]
