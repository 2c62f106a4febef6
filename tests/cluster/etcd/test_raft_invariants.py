"""Raft safety under random faults: many seeds, crashes, restarts, partitions, loss and
reordering, with the invariants (etcd_harness.Invariants) checked after every single
step. At the end every fault is repaired, and the cluster must converge: one leader,
identical logs and stores, and every acknowledged write in place."""

import pytest

from cluster.etcd import find_leader
from cluster.kernel import Component

from .etcd_harness import MILLISECOND, SECOND, Invariants, ResumingWatcher, add_client, leader_of, make_etcd, run, run_until_leader


class Chaos(Component):
    """Injects a random fault now and then, and sends random client requests."""

    kind = "chaos"

    def __init__(self, sim, members, client, fault_every_us=(200 * MILLISECOND, 1200 * MILLISECOND), request_every_us=(20 * MILLISECOND, 120 * MILLISECOND)):
        super().__init__(sim, "chaos")
        self.names = [m.name for m in members]
        self.client = client
        self.fault_every_us = fault_every_us
        self.request_every_us = request_every_us
        self.faults = []
        self.active = True

    def on_start(self):
        self.set_timer(self.stream("t").randint(*self.fault_every_us), "fault")
        self.set_timer(self.stream("t").randint(*self.request_every_us), "request")

    def on_timer(self, tag, data):
        if not self.active:
            return
        rng = self.stream(tag)
        if tag == "fault":
            self._fault(rng)
            self.set_timer(rng.randint(*self.fault_every_us), "fault")
        else:
            self._request(rng)
            self.set_timer(rng.randint(*self.request_every_us), "request")

    def _fault(self, rng):
        sim, net, names = self.sim, self.sim.net, self.names
        action = rng.choice(["crash", "crash", "restart", "restart", "restart", "partition", "heal", "loss", "latency"])
        target = rng.choice(names)
        if action == "crash":
            sim.crash(target)
        elif action == "restart":
            down = [n for n in names if not sim.components[n].alive]
            if down:
                target = rng.choice(down)
                sim.restart(target)
        elif action == "partition":
            if len(names) > 1:
                shuffled = list(names)
                rng.shuffle(shuffled)
                cut = rng.randint(1, len(names) - 1)
                net.partition([shuffled[:cut], shuffled[cut:] + ["client"]])
        elif action == "heal":
            net.heal()
        elif action == "loss":
            net.set_fault(loss=rng.choice([0.0, 0.1, 0.3]), target=target)
        else:
            peers = [n for n in names if n != target]
            net.set_fault(latency_us=rng.choice([0, 20 * MILLISECOND, 100 * MILLISECOND]), target=target, peer=rng.choice(peers) if peers else None)
        self.faults.append((sim.now, action, target))

    def _request(self, rng):
        member = rng.choice(self.names)
        key = rng.choice(["a", "b", "c"])
        value = str(rng.randint(0, 999))
        op = rng.choice(["put", "put", "cas", "get", "get", "serializable", "delete"])
        if op == "serializable":
            self.client.request(member, "get", key=key, consistency="serializable")
        elif op == "cas":
            self.client.request(member, "cas", key=key, expected=rng.choice([None, value]), value=value)
        elif op == "delete":
            self.client.request(member, "delete", key=key)
        elif op == "put":
            self.client.request(member, "put", key=key, value=value)
        else:
            self.client.request(member, "get", key=key)


def chaos_run(seed, size, *, fifo, pre_vote=True, check_quorum=True, chaos_us=20 * SECOND, fault_every_us=(200 * MILLISECOND, 1200 * MILLISECOND), **options):
    sim, members = make_etcd(size, seed=seed, fifo=fifo, jitter_us=30 * MILLISECOND if not fifo else None, pre_vote=pre_vote, check_quorum=check_quorum, **options)
    client = add_client(sim)
    chaos = sim.add(Chaos(sim, members, client, fault_every_us=fault_every_us))
    chaos.watcher = sim.add(ResumingWatcher(sim, members, ""))
    checker = Invariants(members)
    run(sim, chaos_us, checker)
    # Repair everything, then the cluster must converge.
    chaos.active = False
    sim.net.heal()
    for m in members:
        sim.restart(m.name)
    # One more write through the leader commits everything before it everywhere. (Without
    # pre-vote, a member that campaigned while cut off may depose the first leader after
    # the heal: then try again.)
    for _attempt in range(5):
        leader = run_until_leader(sim, members, sim.now + 10 * SECOND, checker)
        assert leader is not None, f"no leader after healing (seed {seed})"
        rid = client.request(leader, "put", key="final", value="x")
        run(sim, sim.now + 3 * SECOND, checker)
        if client.responses.get(rid, {}).get("ok"):
            break
    assert client.responses.get(rid, {}).get("ok"), client.responses.get(rid)
    return sim, members, client, chaos, checker


def assert_watched_everything(members, watcher):
    """The resuming watcher saw every change exactly once, in order, transactions whole."""
    store = find_leader(members).store
    assert watcher.last_revision == store.revision, (watcher.last_revision, store.revision)
    assert watcher.events == store.events_since(1, "", prefix=True)


def assert_converged(members, client):
    logs = {m.name: [(e["index"], e["term"]) for e in m.raft.log] for m in members}
    first = next(iter(logs.values()))
    assert all(log == first for log in logs.values()), logs
    assert len({m.raft.applied for m in members}) == 1
    assert len({m.store.digest() for m in members}) == 1
    # Nothing acknowledged is lost: every acknowledged put is in the history at its revision.
    store = members[0].store
    for rid, response in client.responses.items():
        _, _, request = client.sent[rid]
        if response.get("ok") and request["op"] == "put":
            kv = store.get(request["key"], revision=response["revision"])
            assert kv is not None and kv["value"] == request["value"] and kv["mod_revision"] == response["revision"], (request, response)


SEEDS = range(1, 13)


@pytest.mark.parametrize("seed", SEEDS)
def test_three_members_stay_safe_under_faults(seed):
    sim, members, client, chaos, checker = chaos_run(seed, 3, fifo=True)
    assert_converged(members, client)
    assert_watched_everything(members, chaos.watcher)
    assert checker.checks > 1000 and len(chaos.faults) > 10
    assert sum(1 for r in client.responses.values() if r["ok"]) > 20


@pytest.mark.parametrize("seed", SEEDS)
def test_five_members_stay_safe_with_reordering(seed):
    sim, members, client, chaos, checker = chaos_run(100 + seed, 5, fifo=False)
    assert_converged(members, client)
    assert_watched_everything(members, chaos.watcher)


@pytest.mark.parametrize("seed", range(1, 7))
def test_safe_without_pre_vote_and_check_quorum(seed):
    sim, members, client, chaos, checker = chaos_run(200 + seed, 4, fifo=False, pre_vote=False, check_quorum=False)
    assert_converged(members, client)


@pytest.mark.parametrize("seed", range(1, 7))
def test_safe_under_a_storm_of_faults(seed):
    # A fault every 50-400 ms: leaders rarely last, watches break constantly.
    sim, members, client, chaos, checker = chaos_run(400 + seed, 5, fifo=False, fault_every_us=(50 * MILLISECOND, 400 * MILLISECOND), chaos_us=30 * SECOND)
    assert_converged(members, client)
    assert_watched_everything(members, chaos.watcher)
    assert len(chaos.faults) > 100


@pytest.mark.parametrize("size", [1, 2, 6, 7])
def test_other_sizes_stay_safe(size):
    sim, members, client, chaos, checker = chaos_run(300 + size, size, fifo=False, chaos_us=10 * SECOND)
    assert_converged(members, client)
    assert leader_of(members) is not None
