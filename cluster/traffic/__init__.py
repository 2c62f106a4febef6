"""Traffic (issue 8): clients sending requests to Services, and what happened to each.

    from cluster.traffic import commands, traffic_view
    cluster.command({"type": "traffic", "namespace": "default", "service": "web", "rate": 20, "seconds": 10, "source": "client"})
    traffic_view(cluster.sim)   # {"services": [...], "generators": [...]}

Module map:
    commands.py    validation and application of the `traffic` command
    generator.py   the `traffic-N` component: requests at a rate, decided by the rules of the
                   node where they start, carried over the network, answered or timed out;
                   the sampling knob DETAIL_RATE
    events.py      traffic.request / traffic.response (the browser's contract)
    stats.py       counters and latency histograms; p50 / p99

Events: traffic.start, traffic.request, traffic.response, traffic.tick (every virtual second
while a generator runs: counters per pod and the expected share), traffic.done.
"""

from . import commands
from . import stats as st
from .generator import DETAIL_RATE, TIMEOUT_US, TrafficGenerator


def generators(sim) -> list[TrafficGenerator]:
    found = [c for c in sim.components.values() if isinstance(c, TrafficGenerator)]
    return sorted(found, key=lambda g: int(g.name.rsplit("-", 1)[-1]))


def traffic_view(sim) -> dict:
    """Per service (every generator's counters added up) in the shape shared/DESIGN.md gives,
    with per-pod and per-node detail; and each generator."""
    merged: dict = {}
    for gen in generators(sim):
        merged.setdefault(gen.service, st.new_stats())
        st.merge_stats(merged[gen.service], gen.stats)
    services = []
    for key in sorted(merged):
        namespace, name = key.split("/", 1)
        services.append({"namespace": namespace, "name": name, **st.summary(merged[key])})
    return {"services": services, "generators": [g.view() for g in generators(sim)]}


__all__ = ["DETAIL_RATE", "TIMEOUT_US", "TrafficGenerator", "commands", "generators", "traffic_view"]
