"""A hand-driven network of pure Raft nodes (no kernel, no clock unless ticked).

Like etcd-io/raft's test `network`: messages go into one FIFO queue and are delivered
only when the test says so, through cut links and crashed nodes as it chooses, so a
test can build exact interleavings (Figure 8) that timing would make unlikely.

    net = RaftNet(3)
    net.campaign("n1")                 # force a timeout on n1, deliver until quiet
    net.propose("n1", "x")
    assert net.nodes["n2"].commit == 2
"""

from collections import deque

from cluster.etcd.raft import Raft, Storage
from cluster.kernel import Stream

HEARTBEAT_US = 100_000
ELECTION_MIN_US = 1_000_000
ELECTION_MAX_US = 2_000_000


def make_log(terms, tag=""):
    """Entries with the given terms at indexes 1.., data naming index, term and tag."""
    return [{"index": i + 1, "term": t, "data": f"{i + 1}@{t}{tag}"} for i, t in enumerate(terms)]


class RaftNet:
    def __init__(self, size=3, *, pre_vote=False, check_quorum=False, seed=1, max_entries=64, logs=None, terms=None):
        self.names = [f"n{i}" for i in range(1, size + 1)]
        logs = logs or {}
        terms = terms or {}
        self.disks = {}
        for name in self.names:
            entries = logs.get(name, [])
            self.disks[name] = Storage(term=terms.get(name, max((e["term"] for e in entries), default=0)), entries=entries)
        self.root = Stream.from_seed(seed)
        self.options = {"pre_vote": pre_vote, "check_quorum": check_quorum, "max_entries_per_message": max_entries}
        self.now = 0
        self.queue = deque()
        self.cut = set()  # frozenset({a, b}): no messages either way
        self.down = set()
        self.delivered = []  # every message delivered, in order
        self.dropped = []
        self.applied = {name: [] for name in self.names}  # data of applied entries, in order
        self.read_states = {name: [] for name in self.names}
        self.nodes = {name: self._new_node(name) for name in self.names}
        for name in self.names:
            self.pump(name)

    def _new_node(self, name):
        return Raft(
            name,
            self.names,
            self.disks[name],
            self.root.derive(name),
            heartbeat_us=HEARTBEAT_US,
            election_min_us=ELECTION_MIN_US,
            election_max_us=ELECTION_MAX_US,
            now=self.now,
            **self.options,
        )

    # --- driving ---------------------------------------------------------------------
    def pump(self, name):
        """Handle every Ready of one node: persist, queue messages, record applies."""
        node = self.nodes[name]
        while node.has_ready():
            rd = node.ready()
            self.disks[name].save(rd.hard_state, rd.entries)
            self.queue.extend(rd.messages)
            self.applied[name].extend(e["data"] for e in rd.committed if e["data"] is not None)
            self.read_states[name].extend(rd.read_states)
            node.advance(rd)

    def blocked(self, m):
        return m["from"] in self.down or m["to"] in self.down or frozenset((m["from"], m["to"])) in self.cut

    def deliver(self, limit=100_000, keep=None):
        """Deliver queued messages (and the ones they cause) until the queue is empty.
        `keep(m)` False drops a message (a one-off loss)."""
        for _ in range(limit):
            if not self.queue:
                return
            m = self.queue.popleft()
            if self.blocked(m) or (keep is not None and not keep(m)):
                self.dropped.append(m)
                continue
            self.delivered.append(m)
            self.nodes[m["to"]].step(m)
            self.pump(m["to"])
        raise AssertionError("messages kept flowing")

    def tick(self, now):
        self.now = now
        for name in self.names:
            if name not in self.down:
                self.nodes[name].tick(now)
                self.pump(name)

    def campaign(self, name, deliver=True):
        self.nodes[name].force_timeout()
        self.pump(name)
        if deliver:
            self.deliver()

    def propose(self, name, data, deliver=True):
        refused = self.nodes[name].propose(data)
        self.pump(name)
        if deliver:
            self.deliver()
        return refused

    def heartbeat(self, name, deliver=True):
        """Make the leader's heartbeat deadline fire now."""
        node = self.nodes[name]
        node.heartbeat_deadline = self.now
        node.tick(self.now)
        self.pump(name)
        if deliver:
            self.deliver()

    # --- faults ------------------------------------------------------------------------
    def isolate(self, name):
        for other in self.names:
            if other != name:
                self.cut.add(frozenset((name, other)))

    def cut_link(self, a, b):
        self.cut.add(frozenset((a, b)))

    def heal(self):
        self.cut.clear()

    def crash(self, name):
        self.down.add(name)
        self.nodes[name] = None

    def restart(self, name):
        self.down.discard(name)
        self.applied[name] = []
        self.nodes[name] = self._new_node(name)
        self.pump(name)

    # --- reading ------------------------------------------------------------------------
    def terms(self, name):
        node = self.nodes[name]
        log = node.log if node is not None else self.disks[name].entries
        return [e["term"] for e in log]

    def leaders(self):
        return [n for n in self.names if self.nodes[n] is not None and self.nodes[n].role == "leader"]
