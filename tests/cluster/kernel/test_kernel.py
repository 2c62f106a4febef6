import pickle

import pytest

from cluster.cluster import Cluster, ClusterConfig
from cluster.commands import CommandError
from cluster.kernel import SECOND, Component, Simulation, state_hash
from cluster.net import Network

from .pingers import PingCluster, Pinger, ping_cluster


class Recorder(Component):
    def __init__(self, sim, name, seen):
        super().__init__(sim, name)
        self.seen = seen

    def on_timer(self, tag, data):
        self.seen.append((self.now, tag))


def make_sim(seed=1):
    sim = Simulation(seed=seed)
    sim.net = Network(sim, base_latency_us=1000, jitter_us=0)
    return sim


def test_equal_times_leave_by_priority_then_insertion_order():
    sim = make_sim()
    seen = []
    sim.add(Recorder(sim, "r", seen))
    for tag in ("first", "second", "third"):
        sim.schedule_timer("r", 500, tag)
    sim.schedule_timer("r", 100, "earlier")
    sim.run_until(1000)
    assert seen == [(100, "earlier"), (500, "first"), (500, "second"), (500, "third")]
    assert sim.now == 1000 and sim.processed == 4


def test_run_until_with_max_actions_stops_early_and_resumes_exactly():
    sim = make_sim()
    seen = []
    sim.add(Recorder(sim, "r", seen))
    for i in range(10):
        sim.schedule_timer("r", 10 * (i + 1), str(i))
    assert sim.run_until(1000, max_actions=3) is False
    assert sim.now == 30 and len(seen) == 3
    assert sim.run_until(1000, max_actions=100) is True
    assert sim.now == 1000 and len(seen) == 10


def test_timers_from_before_a_crash_never_fire():
    sim = make_sim()
    seen = []
    sim.add(Recorder(sim, "r", seen))
    sim.schedule_timer("r", 100, "old")
    sim.crash("r")
    sim.restart("r")
    sim.schedule_timer("r", 200, "new")
    sim.run_until(1000)
    assert seen == [(200, "new")]
    kinds = [e["kind"] for e in sim.log.since(0)]
    assert kinds == ["net.crash", "net.restart"]


def test_scheduling_in_the_past_is_refused():
    sim = make_sim()
    sim.run_until(100)
    with pytest.raises(ValueError):
        sim.schedule_delivery(50, None)


def run_with_faults(seed, *, checkpoint_at=None):
    """A long run with crashes, partitions, loss and latency, driven by commands."""
    cluster = PingCluster(ClusterConfig(name="k", seed=seed, etcd_members=1, nodes=0))
    script = [
        (20, {"type": "fault", "action": "crash", "target": "b"}),
        (35, {"type": "fault", "action": "loss", "target": "c", "percent": 30}),
        (50, {"type": "fault", "action": "partition", "groups": [["a", "c"], ["b", "d"]]}),
        (60, {"type": "fault", "action": "restart", "target": "b"}),
        (80, {"type": "fault", "action": "latency", "target": "a", "peer": "d", "ms": 900}),
        (95, {"type": "fault", "action": "heal"}),
        (120, {"type": "fault", "action": "isolate", "target": "d"}),
        (150, {"type": "fault", "action": "heal"}),
    ]
    blob = None
    for at, cmd in script:
        cluster.advance_to(at * SECOND)
        cluster.command(cmd)
        if checkpoint_at == at:
            blob = cluster.checkpoint()
    cluster.advance_to(400 * SECOND)
    return cluster, blob


def test_same_seed_and_commands_give_a_byte_identical_event_log():
    one, _ = run_with_faults(seed=11)
    two, _ = run_with_faults(seed=11)
    assert one.last_seq > 10_000
    assert one.event_digest() == two.event_digest()
    assert one.state_hash() == two.state_hash()
    other, _ = run_with_faults(seed=12)
    assert other.event_digest() != one.event_digest()


def test_replay_from_the_command_log_rebuilds_the_run_exactly():
    live, _ = run_with_faults(seed=5)
    replayed = PingCluster.replay(live.config, live.command_log, until_us=400 * SECOND)
    assert replayed.event_digest() == live.event_digest()
    assert replayed.state_hash() == live.state_hash()


def test_replay_lands_between_two_actions_due_at_the_same_time():
    # A user single-steps into the middle of simultaneous actions, then acts.
    live = PingCluster(ClusterConfig(name="k", seed=3, nodes=0))
    # Every pinger's first timer is due at 0.1 s: step into the middle of them.
    live.advance_to(100_000 - 1)
    live.step()
    live.step()
    assert live.now == 100_000 and live.sim.next_time() == 100_000
    live.command({"type": "fault", "action": "crash", "target": "a"})
    live.advance_to(10 * SECOND)
    replayed = PingCluster.replay(live.config, live.command_log, until_us=10 * SECOND)
    assert replayed.event_digest() == live.event_digest()


def test_checkpoint_restores_an_identical_future():
    full, blob = run_with_faults(seed=8, checkpoint_at=80)
    restored = Cluster.restore(blob)
    # Continue the restored copy with the rest of the same script.
    for at, cmd in [(95, {"type": "fault", "action": "heal"}), (120, {"type": "fault", "action": "isolate", "target": "d"}), (150, {"type": "fault", "action": "heal"})]:
        restored.advance_to(at * SECOND)
        restored.command(cmd)
    restored.advance_to(400 * SECOND)
    assert restored.event_digest() == full.event_digest()
    assert restored.state_hash() == full.state_hash()


def test_state_hash_ignores_dict_order_but_sees_every_value():
    a = {"x": 1, "y": [1, 2]}
    b = {"y": [1, 2], "x": 1}
    assert state_hash(a) == state_hash(b)
    assert state_hash(a) != state_hash({"x": 1, "y": [2, 1]})
    sim = make_sim()
    sim.add(Pinger(sim, "a", ["b"]))
    before = state_hash(sim)
    assert state_hash(pickle.loads(pickle.dumps(sim))) == before
    sim.run_until(SECOND)
    assert state_hash(sim) != before


def test_partition_blocks_across_groups_only():
    cluster = ping_cluster(("a", "b", "c"), seed=1)
    cluster.command({"type": "fault", "action": "partition", "groups": [["a"], ["b", "c"]]})
    start = cluster.now
    cluster.advance(60 * SECOND)
    comps = cluster.sim.components
    assert all(src in ("b", "c") for t, src, *_ in comps["b"].received + comps["c"].received if t > start)
    assert comps["a"].received == [r for r in comps["a"].received if r[0] <= start]
    drops = [e for e in cluster.events_since(0) if e["kind"] == "net.drop"]
    assert drops and all(e["data"]["reason"] == "partition" for e in drops)
    cluster.command({"type": "fault", "action": "heal"})
    cluster.advance(60 * SECOND)
    assert any(src in ("b", "c") for _, src, *_ in comps["a"].received)


def test_loss_drops_about_the_configured_share():
    cluster = ping_cluster(("a", "b"), seed=4)
    cluster.command({"type": "fault", "action": "loss", "target": "a", "peer": "b", "percent": 25})
    cluster.advance(2000 * SECOND)
    events = cluster.events_since(0)
    sends = sum(1 for e in events if e["kind"] == "net.send")
    lost = sum(1 for e in events if e["kind"] == "net.drop" and e["data"]["reason"] == "loss")
    assert sends > 10_000
    assert 0.22 < lost / sends < 0.28


def test_latency_fault_delays_messages_and_links_stay_fifo():
    cluster = ping_cluster(("a", "b"), seed=4, profile="realistic")
    cluster.command({"type": "fault", "action": "latency", "target": "b", "ms": 500})
    cluster.advance(100 * SECOND)
    sends = [e for e in cluster.events_since(0) if e["kind"] == "net.send"]
    assert sends and all(e["data"]["arrives"] - e["time"] >= 0.5 for e in sends)
    arrivals = {}
    for e in sends:
        link = (e["source"], e["target"])
        assert e["data"]["arrives"] >= arrivals.get(link, 0)
        arrivals[link] = e["data"]["arrives"]


def test_crashed_endpoint_receives_nothing_and_messages_in_flight_are_dropped():
    cluster = ping_cluster(("a", "b"), seed=6)
    cluster.advance(30 * SECOND)
    in_flight_to_b = [m for m in cluster.sim.net.in_flight.values() if m.target == "b"]
    cluster.command({"type": "fault", "action": "crash", "target": "b"})
    crash_time = cluster.now
    cluster.advance(30 * SECOND)
    assert cluster.sim.components["b"].received == []
    dropped = {e["data"]["msg"] for e in cluster.events_since(0) if e["kind"] == "net.drop" and e["time"] * SECOND >= crash_time}
    assert {m.id for m in in_flight_to_b} <= dropped


@pytest.mark.parametrize(
    "cmd, field",
    [
        ({"type": "fault", "action": "explode", "target": "a"}, "action"),
        ({"type": "fault", "action": "crash"}, "target"),
        ({"type": "fault", "action": "crash", "target": "zz"}, "target"),
        ({"type": "fault", "action": "loss", "target": "a", "percent": 101}, "percent"),
        ({"type": "fault", "action": "loss", "target": "a", "percent": float("nan")}, "percent"),
        ({"type": "fault", "action": "partition", "groups": [["a"], ["a", "b"]]}, "groups"),
        ({"type": "fault", "action": "partition", "groups": "a,b"}, "groups"),
        ({"type": "fault", "action": "crash", "target": "a", "bogus": 1}, "bogus"),
        ({"type": "teleport"}, "type"),
    ],
)
def test_bad_commands_are_refused_and_change_nothing(cmd, field):
    cluster = ping_cluster(("a", "b"), seed=1)
    before = cluster.state_hash()
    with pytest.raises(CommandError) as info:
        cluster.command(cmd)
    assert info.value.field == field
    assert cluster.state_hash() == before and cluster.command_log == []


class HostedCluster(PingCluster):
    """Two 'nodes', each with two components, plus a lone pinger."""

    def _build(self):
        names = ("n1-a", "n1-b", "n2-a", "n2-b", "solo")
        for name in names:
            host = name.split("-")[0] if name != "solo" else None
            self.sim.add(Pinger(self.sim, name, [p for p in names if p != name]))
            self.sim.components[name].host = host or name


def test_hosts_fall_and_get_partitioned_together():
    cluster = HostedCluster(ClusterConfig(name="k", seed=2, nodes=0))
    assert cluster.sim.hosts() == {"n1": ["n1-a", "n1-b"], "n2": ["n2-a", "n2-b"], "solo": ["solo"]}
    cluster.command({"type": "fault", "action": "crash", "target": "n1"})
    assert [c.alive for c in cluster.sim.components.values()] == [False, False, True, True, True]
    cluster.command({"type": "fault", "action": "restart", "target": "n1"})
    cluster.command({"type": "fault", "action": "isolate", "target": "n2-a"})
    assert cluster.sim.net.partitions == [["n2"], ["n1", "solo"]]
    net = cluster.sim.net
    assert net.connected("n2-a", "n2-b") and not net.connected("n2-a", "solo") and net.connected("n1-a", "solo")
    start = cluster.now
    cluster.advance(30 * SECOND)
    sends = [e for e in cluster.events_since(0) if e["kind"] == "net.send" and e["time"] * SECOND >= start]
    same_host = [e for e in sends if e["source"][:2] == e["target"][:2] == "n2"]
    assert same_host and all(round((e["data"]["arrives"] - e["time"]) * SECOND) == net.base_latency_us // 20 for e in same_host)
    delivered_across = [e for e in cluster.events_since(0) if e["kind"] == "net.deliver" and e["time"] * SECOND >= start and ("n2" in e["source"]) != ("n2" in e["target"])]
    assert delivered_across == []


def test_faults_on_a_host_apply_to_its_components_but_not_loopback():
    cluster = HostedCluster(ClusterConfig(name="k", seed=2, nodes=0))
    cluster.command({"type": "fault", "action": "loss", "target": "n1", "percent": 100})
    start = cluster.now
    cluster.advance(30 * SECOND)
    events = [e for e in cluster.events_since(0) if e["time"] * SECOND >= start]
    lost = [e for e in events if e["kind"] == "net.drop" and e["data"]["reason"] == "loss"]
    assert lost and all("n1" in e["source"] + e["target"] for e in lost)
    loopback = [e for e in events if e["kind"] == "net.deliver" and e["source"][:2] == e["target"][:2] == "n1"]
    assert loopback  # n1-a and n1-b still talk to each other


def test_adding_a_component_does_not_change_other_links_timing():
    def arrivals(names):
        cluster = ping_cluster(names, seed=9)
        cluster.advance(20 * SECOND)
        return [(e["time"], e["data"]["arrives"]) for e in cluster.events_since(0) if e["kind"] == "net.send" and {e["source"], e["target"]} <= {"a", "b"}]

    # With a third pinger the a<->b messages are fewer (pings also go to c) but each
    # message's flight time on a given link comes from that link's own stream.
    two = ping_cluster(("a", "b"), seed=9).sim.net.link_stream("a", "b").next64()
    three = ping_cluster(("a", "b", "c"), seed=9).sim.net.link_stream("a", "b").next64()
    assert two == three
    assert arrivals(("a", "b"))  # messages flew
