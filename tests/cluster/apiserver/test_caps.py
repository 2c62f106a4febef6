"""Cluster-wide caps on pods and objects (ClusterConfig.max_pods, max_objects): a create past
one is refused as ResourceQuota refuses one, 403 Forbidden "exceeded quota"; every client
(kubectl, controllers) meets the same cap, and the cluster goes on."""

import pytest

from cluster.cluster import Cluster, ClusterConfig
from cluster.commands import CommandError
from cluster.kernel import SECOND
from dashboard import demo

from .harness import Harness, pod


def configmap(name):
    return {"metadata": {"name": name}, "data": {"k": "v"}}


def capped(**caps) -> Harness:
    h = Harness()
    for field, value in caps.items():
        setattr(h.server, field, value)  # as Cluster sets them from its config
    return h


def test_pods_past_the_cap_are_forbidden_until_one_goes():
    h = capped(max_pods=2)
    assert [h.create("pods", pod(n), namespace="default")["code"] for n in ("a", "b")] == [201, 201]
    r = h.create("pods", pod("c"), namespace="default")
    assert r["code"] == 403 and r["body"]["reason"] == "Forbidden"
    assert r["body"]["message"] == 'pods "c" is forbidden: exceeded quota: cluster-limits, requested: pods=1, used: pods=2, limited: pods=2'
    assert r["body"]["details"] == {"name": "c", "kind": "pods"}
    assert h.create("configmaps", configmap("other"), namespace="default")["code"] == 201  # objects are not capped here
    assert h.get("pods", "c", namespace="default")["code"] == 404  # nothing was written
    assert h.delete("pods", "a", namespace="default")["code"] == 200  # unbound: removed at once
    h.run(0.5)
    assert h.create("pods", pod("c"), namespace="default")["code"] == 201


def test_creates_in_flight_together_cannot_all_take_the_last_place():
    h = capped(max_pods=3)
    ids = [h.client.request("create", "pods", namespace="default", body=pod(f"p{i}")) for i in range(6)]
    codes = sorted(h.wait(rid)["code"] for rid in ids)
    assert codes == [201, 201, 201, 403, 403, 403]
    h.run(0.5)
    assert len(h.list("pods", namespace="default")["body"]["items"]) == 3


def test_objects_of_every_kind_count_and_a_dry_run_is_not_charged():
    h = Harness()
    h.run(0.5)
    existing = sum(h.server.cache.count(p) for p in h.server.cache.objects)  # namespaces, roles, the kubernetes Service, ...
    h.server.max_objects = existing + 2
    assert h.create("configmaps", configmap("one"), namespace="default")["code"] == 201
    assert h.create("configmaps", configmap("dry"), namespace="default", query={"dryRun": "All"})["code"] == 201
    assert h.create("namespaces", {"metadata": {"name": "two"}})["code"] == 201
    r = h.create("secrets", {"metadata": {"name": "three"}}, namespace="default")
    assert r["code"] == 403
    assert r["body"]["message"] == f'secrets "three" is forbidden: exceeded quota: cluster-limits, requested: objects=1, used: objects={existing + 2}, limited: objects={existing + 2}'
    # updates are not creates: an object at the cap can still change
    assert h.patch("configmaps", "one", {"data": {"k": "w"}}, namespace="default")["code"] == 200


def test_a_deployment_past_the_pod_cap_runs_what_fits_and_the_cluster_goes_on():
    cluster = Cluster(ClusterConfig(name="capped", seed=2, max_pods=2))
    demo.seed(cluster)  # the demo Deployment wants 3 replicas
    cluster.advance(40 * SECOND)
    pods = cluster.apiserver.cache.items("pods")
    assert len(pods) == 2
    refused = [e for e in cluster.events_since(0) if e["kind"] == "api.response" and e["data"].get("code") == 403]
    assert refused and all(e["target"].startswith("kube-controller-manager") and e["data"]["rejected_by"] == "admission" for e in refused)  # the ReplicaSet controller met the cap
    quota = [e for e in cluster.events_since(0) if e["kind"] == "api.admission" and not e["data"]["ok"]]
    assert quota and all("exceeded quota: cluster-limits" in e["summary"] and "pods=2" in e["summary"] for e in quota)
    assert not [e for e in cluster.events_since(0) if e["kind"] == "component.error"]
    running = [p for _k, p in pods if p.get("status", {}).get("phase") == "Running"]
    assert len(running) == 2
    # deterministic: the same config gives the same history
    again = Cluster(ClusterConfig(name="capped", seed=2, max_pods=2))
    demo.seed(again)
    again.advance(40 * SECOND)
    assert again.state_hash() == cluster.state_hash()


@pytest.mark.parametrize("field, value", [("max_pods", 0), ("max_objects", -1), ("max_pods", True), ("max_objects", 2.5)])
def test_caps_must_be_positive_whole_numbers(field, value):
    with pytest.raises(CommandError) as err:
        Cluster(ClusterConfig(name="bad", **{field: value}))
    assert err.value.field == field
