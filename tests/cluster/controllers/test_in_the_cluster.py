"""The controller-manager as the full cluster runs it (cluster/cluster.py): two replicas, one
leading through the Lease, the other standing by; a crash of the leader (a REST fault) hands
the loops over, and the demo Deployment keeps being reconciled."""

from cluster.cluster import Cluster, ClusterConfig
from cluster.controllers.base import plural
from cluster.kernel import SECOND
from dashboard import demo


def leaders(cluster):
    return [m.name for m in cluster.controller_managers if m.alive and m.elector.leading]


def test_two_replicas_one_leads_one_stands_by_and_the_standby_takes_over():
    cluster = Cluster(ClusterConfig(name="cm", seed=3))
    demo.seed(cluster)
    cluster.advance(30 * SECOND)
    names = [m.name for m in cluster.controller_managers]
    assert names == ["kube-controller-manager", "kube-controller-manager-2"]
    [leader] = leaders(cluster)
    standby = next(m for m in cluster.controller_managers if m.name != leader)
    view = standby.view()
    assert view["leading"] is False and view["leader"]["holder"] and view["leader"]["holder"].startswith(leader + "_")
    assert all(i["state"] == "idle" for i in view["informers"])  # a standby runs no informers

    mark = cluster.last_seq
    cluster.command({"type": "fault", "action": "crash", "target": leader})
    cluster.advance(25 * SECOND)
    assert leaders(cluster) == [standby.name]
    took = [e for e in cluster.events_since(mark) if e["kind"] == "controller.leader" and e["data"]["leading"]]
    assert [e["source"] for e in took] == [standby.name] and took[0]["data"]["transitions"] == 1
    # the new leader reconciles the demo Deployment: a scale to 4 is done by its loops
    cluster.command({"type": "kube", "verb": "patch", "group": "apps", "version": "v1", "resource": "deployments", "namespace": "default",
                     "name": "web", "patch_type": "merge", "body": {"spec": {"replicas": 4}}})
    mark = cluster.last_seq
    cluster.advance(10 * SECOND)
    creating = [e for e in cluster.events_since(mark) if e["kind"] == "controller.reconcile" and e["data"]["action"] == "create"
                and e["data"]["controller"] == "replicaset"]
    assert [e["source"] for e in creating] == [standby.name]
    assert creating[0]["summary"].endswith("want 4, have 3, creating 1 pod")


def test_sentences_say_plurals_right():
    assert [plural(1, "pod"), plural(3, "pod"), plural(2, "ready address"), plural(0, "match")] == ["1 pod", "3 pods", "2 ready addresses", "0 matches"]
