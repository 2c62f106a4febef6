"""A long-running cluster keeps its history in bounded windows (issue 12 item 4): the event log,
the watch cache's window, the scheduler's decision records, the API server's request records,
the user's kubectl answers and the etcd MVCC history (compacted by the API server) hold at most
their window however long the cluster runs. Counted in entries, with the windows made small so
that two virtual minutes of churn go past every one of them."""

import copy

from cluster.apiserver import records
from cluster.clients import kubectl
from cluster.cluster import Cluster, ClusterConfig
from cluster.kernel import SECOND
from dashboard import demo

EVENT_WINDOW = 1500
CACHE_WINDOW = 100
DECISION_PODS = 6


def scale(cluster: Cluster, replicas: int) -> None:
    cluster.command({"type": "kube", "verb": "patch", "group": "apps", "version": "v1", "resource": "deployments", "namespace": "default", "name": "web",
                     "patch_type": "merge", "body": {"spec": {"replicas": replicas}}})


def test_history_stays_in_its_windows_while_the_cluster_churns(monkeypatch):
    monkeypatch.setattr(kubectl, "KEEP_FINISHED", 40)
    monkeypatch.setattr(records, "KEEP_HTTP_RECORDS", 30)
    monkeypatch.setattr(records, "KEEP_RECORDS", 60)
    cluster = Cluster(ClusterConfig(name="bounded", seed=2, profile="realistic"))
    cluster.sim.log.window = EVENT_WINDOW
    server = cluster.apiserver
    server.cache_capacity = server.cache.capacity = CACHE_WINDOW
    cluster.scheduler.records.max_pods = DECISION_PODS
    deployment = copy.deepcopy(demo.DEPLOYMENT)
    deployment["spec"]["replicas"] = 4
    cluster.command({"type": "kube", "verb": "create", "group": "apps", "version": "v1", "resource": "deployments", "namespace": "default", "body": deployment})
    client = cluster.sim.components[kubectl.ENDPOINT]
    peaks = {"events": 0, "cache": 0, "decisions": 0, "records": 0, "http_records": 0, "kubectl": 0}
    for minute in range(2):
        for second in range(0, 60, 2):
            if (minute, second) == (0, 20):
                server._compact_tick()  # what the 5-minute timer does: note the revision to compact to next time
            scale(cluster, 2 + (minute * 30 + second) % 7)  # pods come and go: new names, new decisions
            cluster.command({"type": "kube", "verb": "list", "group": "", "version": "v1", "resource": "pods", "namespace": "default"})
            cluster.advance(2 * SECOND)
            peaks["events"] = max(peaks["events"], len(cluster.sim.log.events))
            peaks["cache"] = max(peaks["cache"], len(server.cache.events))
            peaks["decisions"] = max(peaks["decisions"], len(cluster.scheduler.records.pods))
            peaks["records"] = max(peaks["records"], len(server.records))
            peaks["http_records"] = max(peaks["http_records"], len(server.http_records))
            peaks["kubectl"] = max(peaks["kubectl"], len(client.requests), len(client.answers))

    # every window was gone past, not merely never reached
    assert cluster.last_seq > 5 * EVENT_WINDOW
    assert server.cache.revision > 5 * CACHE_WINDOW
    assert cluster.scheduler.counters["bound"] > 5 * DECISION_PODS
    assert server.counters["requests"] > 5 * records.KEEP_RECORDS
    assert len(cluster.command_log) > kubectl.KEEP_FINISHED + records.KEEP_HTTP_RECORDS

    assert peaks["events"] <= EVENT_WINDOW and cluster.sim.log.first_seq > cluster.last_seq - EVENT_WINDOW
    assert peaks["cache"] <= CACHE_WINDOW + CACHE_WINDOW // 4
    assert peaks["decisions"] <= DECISION_PODS
    assert peaks["records"] <= records.KEEP_RECORDS
    assert peaks["http_records"] <= records.KEEP_HTTP_RECORDS
    assert peaks["kubectl"] <= kubectl.KEEP_FINISHED + 2  # the finished ones kept, plus what is in flight

    # etcd's MVCC history is compacted by the API server to the revision it noted last time (every
    # 5 virtual minutes, as the real one), even when its watch cache's window has moved past it
    mark = server.compact_mark
    assert server.cache.floor > mark
    server._compact_tick()
    cluster.advance(2 * SECOND)
    for member in cluster.etcd_members:
        assert member.store.compact_revision == mark
