"""The watch index (cluster/apiserver/watchindex.py) delivers exactly what walking every watcher
delivers: the same events in the same order, and the same resourceVersion for every watcher."""

import copy

from cluster.apiserver.server import APIServer
from cluster.cluster import Cluster, ClusterConfig
from cluster.kernel import SECOND
from dashboard import demo


def walk_every_watcher(self, event: tuple) -> None:
    """The fan-out before the index: every watcher, in key order, each one's rv moved eagerly."""
    rev, plural, _kind, key, _obj, _prev = event
    for wkey in sorted(self.watchers):
        w = self.watchers.get(wkey)
        if w is None or w["plural"] != plural or not key.startswith(w["prefix"]) or rev <= self.watch_index.settle(w):
            continue
        seen = self._watch_view(w, event)
        if seen is not None:
            self._deliver(w, seen[0], seen[1], rev)
        else:
            w["rv"] = rev
    # every watcher settled above; keep the groups' counts moving as the index does
    self.watch_index.passed([g for prefix, g in self.watch_index.groups.get(plural, {}).items() if key.startswith(prefix)], rev)


def busy_cluster() -> Cluster:
    """Kubelets on 8 nodes watching their pods, kube-proxies, controllers, a namespace of its own
    (a namespaced watch), pods moving between nodes when one fails."""
    cluster = Cluster(ClusterConfig(name="idx", seed=3, nodes=8, profile="realistic"))
    deployment = copy.deepcopy(demo.DEPLOYMENT)
    deployment["spec"]["replicas"] = 24
    for group, resource, body in (("apps", "deployments", deployment), ("", "services", demo.SERVICE)):
        cluster.command({"type": "kube", "verb": "create", "group": group, "version": "v1", "resource": resource, "namespace": "default", "body": body})
    cluster.command({"type": "kube", "verb": "create", "group": "", "version": "v1", "resource": "namespaces", "body": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "lab"}}})
    cluster.advance(10 * SECOND)
    cluster.command({"type": "kube", "verb": "watch", "group": "", "version": "v1", "resource": "pods", "namespace": "lab"})
    cluster.command({"type": "kube", "verb": "watch", "group": "", "version": "v1", "resource": "pods", "namespace": "default", "query": {"fieldSelector": "spec.nodeName=node-2"}})
    cluster.command({"type": "kube", "verb": "create", "group": "", "version": "v1", "resource": "pods", "namespace": "lab",
                     "body": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "solo"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}})
    cluster.advance(5 * SECOND)
    cluster.command({"type": "fault", "action": "crash", "target": "node-2"})
    cluster.command({"type": "kube", "verb": "patch", "group": "apps", "version": "v1", "resource": "deployments", "namespace": "default", "name": "web",
                     "patch_type": "merge", "body": {"spec": {"replicas": 10}}})
    cluster.advance(70 * SECOND)
    return cluster


def watcher_rvs(cluster: Cluster) -> dict:
    server = cluster.apiserver
    return {key: server.watch_index.current_rv(w) for key, w in server.watchers.items()}


def test_index_delivers_what_walking_every_watcher_delivers(monkeypatch):
    indexed = busy_cluster()
    monkeypatch.setattr(APIServer, "_fan_out", walk_every_watcher)
    walked = busy_cluster()
    assert indexed.apiserver.counters["watch_events"] > 1000  # a real workload, not an idle one
    assert sum(1 for w in indexed.apiserver.watchers.values() if indexed.apiserver.watch_index._node_of(w)) >= 8  # kubelets indexed by node
    assert indexed.last_seq == walked.last_seq
    assert indexed.event_digest() == walked.event_digest()
    assert watcher_rvs(indexed) == watcher_rvs(walked)
    assert indexed.apiserver.view()["watchers"] == walked.apiserver.view()["watchers"]
