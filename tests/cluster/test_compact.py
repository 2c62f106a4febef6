"""A large cluster's snapshot: compact node-level views, full detail for the nodes asked for
(cluster/compact.py), and a small cluster's snapshot unchanged."""

import json

import pytest

from cluster import compact
from cluster.cluster import Cluster, ClusterConfig
from cluster.kernel import SECOND

DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
    "spec": {"replicas": 70, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}},
}


@pytest.fixture(scope="module")
def large():
    cluster = Cluster(ClusterConfig(name="large", seed=2, etcd_members=1, nodes=compact.COMPACT_FROM, profile="realistic"))
    cluster.command({"type": "kube", "verb": "create", "group": "apps", "version": "v1", "resource": "deployments", "namespace": "default", "body": DEPLOYMENT})
    cluster.advance(40 * SECOND)
    return cluster


def by_name(state):
    return {v["name"]: v for v in state["components"]}


def test_a_large_cluster_has_compact_node_views_and_counts(large):
    state = large.snapshot(detail=[])
    views = by_name(state)
    scale = state["scale"]
    assert scale["compact"] and scale["nodes"] == compact.COMPACT_FROM and scale["detail"] == []
    kubelets = [v for v in views.values() if v["kind"] == "kubelet"]
    assert len(kubelets) == compact.COMPACT_FROM
    assert all(v["compact"] and "pods" not in v and "client" not in v for v in kubelets)
    # the pods are still counted: per node by the kubelet's step, in total in `scale`
    counted = sum(sum(v["pod_steps"].values()) for v in kubelets)
    assert counted == scale["pods"] == 70
    assert sum(v["pod_steps"].get("ready", 0) for v in kubelets) > 0
    assert sum(v["requested"]["cpu_m"] for v in kubelets) == 100 * sum(v["requested"]["pods"] for v in kubelets)
    runtime = views["node-1/containerd"]
    assert runtime["compact"] and set(runtime) == {"name", "kind", "alive", "node", "compact", "containers"}
    assert views["node-1/kube-proxy"]["compact"] and "rules" in views["node-1/kube-proxy"]
    assert state["nodes"] == []
    # the control plane's own views are whole
    assert "compact" not in views["kube-scheduler"] and "queue" in views["kube-scheduler"]
    assert len(state["network"]["in_flight"]) <= compact.MAX_IN_FLIGHT


def test_detail_nodes_are_whole_and_match_the_full_views(large):
    state = large.snapshot(detail=["node-3", "node-7", "no-such-node"])
    assert state["scale"]["detail"] == ["node-3", "node-7"]
    views = by_name(state)
    whole = large.sim.components["node-3/kubelet"].view()
    assert views["node-3/kubelet"] == whole and "compact" not in views["node-3/kubelet"]
    assert views["node-7/containerd"] == large.sim.components["node-7/containerd"].view()
    assert views["node-4/kubelet"]["compact"]
    assert [n["node"] for n in state["nodes"]] == ["node-3", "node-7"]
    # the compact view is the whole view without the pods' detail
    small = large.sim.components["node-3/kubelet"].compact_view()
    assert {k: whole[k] for k in small} == small


def test_compact_is_much_smaller(large):
    node_level = [c for c in large.sim.components.values() if c.kind in ("kubelet", "runtime", "kube-proxy")]
    full = len(json.dumps([c.view() for c in node_level]))
    shown = [v for v in large.snapshot(detail=[])["components"] if v["kind"] in ("kubelet", "runtime", "kube-proxy")]
    assert len(shown) == len(node_level) and len(json.dumps(shown)) < full / 3


def test_the_streams_snapshot_leaves_the_node_views_to_rest(large):
    state = large.snapshot()  # what the WebSocket sends: one message, under daphne's 1 MiB
    assert state["scale"]["stream"] == "partial" and state["scale"]["nodes"] == compact.COMPACT_FROM
    assert not [v for v in state["components"] if v["kind"] in compact.NODE_LEVEL]
    assert state["nodes"] == [] and state["proxy"]["nodes"] == []
    assert all(len(value) <= compact.MAX_STREAM_LIST for v in state["components"] for value in v.values() if isinstance(value, list))
    assert "kube-scheduler" in by_name(state) and len(state["network"]["in_flight"]) <= compact.MAX_STREAM_LIST
    assert len(json.dumps(large.snapshot(detail=[]))) > len(json.dumps(state)) + 50_000  # the node views


def test_a_small_cluster_is_unchanged():
    cluster = Cluster(ClusterConfig(name="small", seed=1, etcd_members=1, nodes=3, profile="realistic"))
    cluster.advance(5 * SECOND)
    state = cluster.snapshot(detail=["node-1"])
    assert state["scale"] == {"compact": False, "nodes": 3, "pods": 0, "detail": []}
    assert cluster.snapshot() == state
    views = by_name(state)
    assert views["node-2/kubelet"] == cluster.sim.components["node-2/kubelet"].view() and "pods" in views["node-2/kubelet"]
    assert len(state["nodes"]) == 3
