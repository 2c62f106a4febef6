"""A component that raises does not stop the simulation: the failure is an event, the component
is crashed and restarted a virtual second later, the others go on, and the run is deterministic."""

import pytest

from cluster.cluster import ClusterConfig
from cluster.kernel import SECOND
from cluster.kernel.sim import COMPONENT_RESTART_US, Simulation

from .pingers import PingCluster, Pinger


class Faulty(Pinger):
    """Raises on its third ping received (each life), like a bug that an input triggers."""

    def on_message(self, msg):
        if msg.kind == "ping" and len(self.received) == 2:
            raise ValueError(f"bad ping {msg.payload['n']}")
        super().on_message(msg)


class FaultyCluster(PingCluster):
    def _build(self):
        names = ("a", "b", "c")
        for name in names:
            kind = Faulty if name == "a" else Pinger
            self.sim.add(kind(self.sim, name, [p for p in names if p != name]))


@pytest.fixture(autouse=True)
def supervised(monkeypatch):
    """The supervision under test (the rest of the suite lets components raise)."""
    monkeypatch.setattr(Simulation, "supervise_components", True)


def test_without_supervision_the_error_propagates(monkeypatch):
    monkeypatch.setattr(Simulation, "supervise_components", False)
    with pytest.raises(ValueError, match="bad ping"):
        build().run_until(20 * SECOND)


def build(seed=5):
    return FaultyCluster(ClusterConfig(name="k", seed=seed, nodes=0)).sim


def test_a_raising_component_is_reported_restarted_and_the_cluster_goes_on():
    sim = build()
    sim.run_until(20 * SECOND)
    failures = [e for e in sim.log.since(0, 1_000_000) if e["kind"] == "component.error"]
    assert failures and sim.component_failures == len(failures)
    first = failures[0]
    assert first["source"] == "a" and first["data"]["during"] == "deliver" and first["data"]["error"].startswith("ValueError: bad ping")
    restarts = [e for e in sim.log.since(0, 1_000_000) if e["kind"] == "net.restart" and e["source"] == "a"]
    assert restarts and restarts[0]["time"] == first["time"] + COMPONENT_RESTART_US / SECOND
    # the others kept working past the failures, and the restarted one pings them again
    received = sim.components["b"].received + sim.components["c"].received
    assert max(t for t, _source, _kind, _n in received) > failures[-1]["time"] * SECOND
    assert any(t > restarts[0]["time"] * SECOND and source == "a" and kind == "ping" for t, source, kind, _n in received)


def test_the_same_seed_gives_the_same_failures():
    one, two = build(), build()
    one.run_until(20 * SECOND)
    two.run_until(20 * SECOND)
    assert one.log.since(0, 1_000_000) == two.log.since(0, 1_000_000)
