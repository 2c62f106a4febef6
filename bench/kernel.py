"""Kernel throughput: simulated actions per wall-second against a bare heap loop.

The workload: pingers that message random peers through the simulated network (each
message is a send event, a heap entry, a delivery event and a handler call). The
reference is the cheapest loop that does the same heap traffic with no simulation at
all, so the ratio shows what the kernel's bookkeeping (events, network, streams) costs.
"""

import heapq
import time

from cluster.cluster import Cluster, ClusterConfig
from cluster.kernel import SECOND, Component

from .table import Row


class Pinger(Component):
    kind = "pinger"

    def __init__(self, sim, name, peers):
        super().__init__(sim, name)
        self.peers = peers

    def on_start(self):
        self.set_timer(1000, "ping")

    def on_timer(self, tag, data):
        self.send(self.stream("peer").choice(self.peers), "ping", None)
        self.set_timer(self.stream("gap").randint(500, 5000), "ping")

    def on_message(self, msg):
        if msg.kind == "ping":
            self.send(msg.source, "pong", None)


class PingCluster(Cluster):
    def _build(self):
        names = [f"p{i}" for i in range(20)]
        for name in names:
            self.sim.add(Pinger(self.sim, name, [p for p in names if p != name]))


def kernel_rate(virtual_seconds: float) -> tuple[float, int, float]:
    cluster = PingCluster(ClusterConfig(name="bench", seed=1, nodes=0, profile="realistic"))
    start = time.perf_counter()
    cluster.advance(int(virtual_seconds * SECOND))
    wall = time.perf_counter() - start
    return cluster.sim.processed / wall, cluster.last_seq, wall


def bare_heap_rate(actions: int) -> float:
    heap, seq, t = [], 0, 0
    for i in range(20):
        heapq.heappush(heap, (1000, 0, i, ("timer", i)))
        seq += 1
    start = time.perf_counter()
    done = 0
    while done < actions:
        t, _, _, action = heapq.heappop(heap)
        seq += 1
        heapq.heappush(heap, (t + 1000 + (seq % 4000), 0, seq, action))
        done += 1
    return actions / (time.perf_counter() - start)


def run() -> list[Row]:
    rate, events, wall = kernel_rate(20.0)
    bare = bare_heap_rate(500_000)
    return [
        Row("kernel: events and actions (heap pops) per wall-second (20 pingers, realistic net)", f"{events / wall:,.0f} events/s, {rate:,.0f} actions/s",
            f"bare heap loop {bare:,.0f} pops+pushes/s", f"{rate / bare:.3f}", f"{events:,} events in {wall:.2f}s; the bare loop pops one and pushes one per action, as the kernel does on average"),
    ]
