"""Cluster.state_hash is memoized per state (GET /api/clusters/<name> shows it; a large cluster
took 37 s to hash): a memo must never outlive the state it was computed for."""

import pickle

import cluster.cluster as cluster_module
from cluster.cluster import Cluster, ClusterConfig
from cluster.kernel import SECOND, state_hash


def fresh(cluster: Cluster) -> str:
    return state_hash(cluster.sim)


def counting(monkeypatch) -> list:
    calls = []
    real = cluster_module.state_hash

    def spy(obj):
        calls.append(obj)
        return real(obj)

    monkeypatch.setattr(cluster_module, "state_hash", spy)
    return calls


def test_the_memo_follows_every_change_of_state():
    cluster = Cluster(ClusterConfig(name="memo", seed=3, etcd_members=3, nodes=2))
    cluster.advance(2 * SECOND)
    seen = set()

    def check(what):
        got = cluster.state_hash()
        assert got == fresh(cluster), what
        seen.add(got)

    check("after advancing")
    cluster.snapshot()  # reading changes nothing
    check("after a snapshot")
    cluster.command({"type": "fault", "action": "crash", "target": "etcd-1"})  # applied at once, no time passes
    check("after a command")
    cluster.step()
    check("after one action")
    cluster.advance(SECOND // 2)
    check("after half a second")
    cluster.command({"type": "fault", "action": "restart", "target": "etcd-1"})
    check("after a restart")
    cluster.advance(0)
    check("after advancing by nothing")
    assert len(seen) >= 4  # the state did change: the memo was not simply returned each time


def test_an_unchanged_state_is_hashed_once(monkeypatch):
    cluster = Cluster(ClusterConfig(name="memo", seed=4, etcd_members=1, nodes=1))
    cluster.advance(SECOND)
    calls = counting(monkeypatch)
    first = cluster.state_hash()
    assert cluster.state_hash() == first
    assert len(calls) == 1
    cluster.advance(SECOND)
    assert cluster.state_hash() != first
    assert len(calls) == 2


def test_the_memo_is_not_part_of_the_state_and_a_copy_rehashes():
    cluster = Cluster(ClusterConfig(name="memo", seed=5, etcd_members=1, nodes=1))
    cluster.advance(SECOND)
    before = fresh(cluster)
    assert cluster.state_hash() == before
    assert fresh(cluster) == before  # holding the memo does not change the hash
    clone = pickle.loads(pickle.dumps(cluster))
    assert clone.state_hash() == before
    clone.advance(SECOND)
    assert clone.state_hash() == fresh(clone) != before
    assert cluster.state_hash() == before  # the original did not move
