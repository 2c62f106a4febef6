"""A tiny component used to exercise the kernel: it pings random peers at random
intervals and answers pings, counting what it sees."""

from cluster.cluster import Cluster, ClusterConfig
from cluster.kernel import Component


class Pinger(Component):
    kind = "pinger"

    def __init__(self, sim, name, peers):
        super().__init__(sim, name)
        self.peers = list(peers)
        self.sent = 0
        self.received = []  # (time, source, kind, n)

    def on_start(self):
        self.set_timer(100_000, "ping")

    def on_timer(self, tag, data):
        self.sent += 1
        self.send(self.stream("peer").choice(self.peers), "ping", {"n": self.sent})
        self.set_timer(self.stream("interval").randint(50_000, 500_000), "ping")

    def on_message(self, msg):
        self.received.append((msg.arrives, msg.source, msg.kind, msg.payload["n"]))
        if msg.kind == "ping":
            self.send(msg.source, "pong", msg.payload)

    def on_crash(self):
        self.received = []

    def on_restart(self):
        self.set_timer(100_000, "ping")


def add_pingers(cluster, names=("a", "b", "c")):
    for name in names:
        cluster.sim.add(Pinger(cluster.sim, name, [p for p in names if p != name]))


class PingCluster(Cluster):
    """A cluster whose only components are pingers (names from ping_names)."""

    ping_names = ("a", "b", "c", "d")

    def _build(self):
        add_pingers(self, self.ping_names)


def ping_cluster(names=("a", "b", "c"), **config) -> PingCluster:
    """A PingCluster with just these pingers."""
    klass = type("PingClusterOf", (PingCluster,), {"ping_names": tuple(names)})
    return klass(ClusterConfig(**{"name": "k", "seed": 1, "nodes": 0, **config}))
