"""Deployment controller against the recorded fake API server: ReplicaSets, rolling steps, undo."""

from cluster.controllers.deployment import template_hash

from .fakeapi import fake_cluster, run, typed

TEMPLATE = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}


def deploy(replicas=4, image="nginx:1", generation=1, strategy=None, revision=None):
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": image}]}}
    body = typed("deployments", {"metadata": {"name": "web", "namespace": "default", "uid": "d-1", "generation": generation},
                                 "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}, "template": template,
                                          "strategy": strategy or {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                                          "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600}})
    if revision:
        body["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": str(revision)}
    return body


def replica_set(image, replicas, available, revision, created="2026-01-01T00:00:00Z"):
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": image}]}}
    digest = template_hash(template)
    template["metadata"]["labels"]["pod-template-hash"] = digest
    return typed("replicasets", {
        "metadata": {"name": f"web-{digest}", "namespace": "default", "uid": f"rs-{image}", "generation": 1, "creationTimestamp": created,
                     "labels": {"app": "web", "pod-template-hash": digest}, "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d-1", "controller": True, "blockOwnerDeletion": True}]},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web", "pod-template-hash": digest}}, "template": template},
        "status": {"replicas": replicas, "readyReplicas": available, "availableReplicas": available, "observedGeneration": 1}})


def writes(fake):
    return [(verb, what, name) for verb, what, _ns, name, _body in fake.actions()]


def test_a_new_deployment_gets_a_replicaset_named_by_its_template_hash():
    sim, fake, _m = fake_cluster(["deployment"], [deploy(replicas=3)])
    run(sim, 0.5)
    digest = template_hash(TEMPLATE)
    creates = [a for a in fake.actions() if a[0] == "create"]
    assert len(creates) == 1
    body = creates[0][4]
    assert body["metadata"] == {
        "name": f"web-{digest}", "namespace": "default", "labels": {"app": "web", "pod-template-hash": digest},
        "annotations": {"deployment.kubernetes.io/revision": "1", "deployment.kubernetes.io/desired-replicas": "3", "deployment.kubernetes.io/max-replicas": "4"},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d-1", "controller": True, "blockOwnerDeletion": True}]}
    assert body["spec"]["replicas"] == 3
    assert body["spec"]["selector"] == {"matchLabels": {"app": "web", "pod-template-hash": digest}}
    assert body["spec"]["template"]["metadata"]["labels"] == {"app": "web", "pod-template-hash": digest}
    patch = [a for a in fake.actions() if a[0] == "patch"]
    assert patch == [("patch", "deployments", "default", "web", {"metadata": {"annotations": {"deployment.kubernetes.io/revision": "1"}}})]


def test_rolling_update_first_surges_a_new_replicaset_then_trades_old_for_new():
    old = replica_set("nginx:1", replicas=4, available=4, revision=1)
    sim, fake, _m = fake_cluster(["deployment"], [deploy(image="nginx:2", generation=2, revision=1), old])
    run(sim, 0.5)
    # 4 replicas, maxSurge 1: the new ReplicaSet starts with 1 pod (5 in all).
    creates = [a[4] for a in fake.actions() if a[0] == "create"]
    assert [(c["metadata"]["annotations"]["deployment.kubernetes.io/revision"], c["spec"]["replicas"]) for c in creates] == [("2", 1)]
    assert ("patch", "deployments", "web") in writes(fake)  # its revision annotation: 2
    fake.put(deploy(image="nginx:2", generation=2, revision=2))
    new = fake.put(typed("replicasets", dict(creates[0], status={"replicas": 1, "observedGeneration": 1})) | {"metadata": dict(creates[0]["metadata"], uid="rs-new", creationTimestamp="2026-01-01T00:00:05Z")})
    fake.clear()
    run(sim, 0.5)
    # maxUnavailable 1: 4 available, 3 must stay: one old pod may go.
    updates = [(a[3], a[4]["spec"]["replicas"]) for a in fake.actions() if a[:2] == ("update", "replicasets")]
    assert updates == [(old["metadata"]["name"], 3)]
    events = [e["summary"] for e in sim.log.events if e["kind"] == "controller.reconcile"]
    assert events[-1] == f"Deployment default/web: rolling update, 4 available (at least 3 must stay); scaling down {old['metadata']['name']} 4 → 3"
    # The old one at 3, the new one at 1 with nothing available yet: 4 pods, 3 available: wait.
    fake.put(replica_set("nginx:1", replicas=3, available=3, revision=1))
    fake.clear()
    run(sim, 6)
    scaled = [(a[3], a[4]["spec"]["replicas"]) for a in fake.actions() if a[:2] == ("update", "replicasets")]
    assert scaled == [(new["metadata"]["name"], 2)]  # room for one more new pod (5 in all)


def test_undo_makes_the_old_replicaset_new_again_with_the_next_revision():
    one = replica_set("nginx:1", replicas=0, available=0, revision=1)
    two = replica_set("nginx:2", replicas=4, available=4, revision=2, created="2026-01-01T00:00:05Z")
    # kubectl rollout undo has put revision 1's template back into the Deployment.
    sim, fake, _m = fake_cluster(["deployment"], [deploy(image="nginx:1", generation=3, revision=2), one, two])
    run(sim, 0.5)
    update = [a[4] for a in fake.actions() if a[:2] == ("update", "replicasets")][0]
    assert update["metadata"]["name"] == one["metadata"]["name"]
    assert update["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert update["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    assert ("patch", "deployments", "web") in writes(fake)


def test_recreate_scales_old_to_zero_before_creating_the_new_replicaset():
    old = replica_set("nginx:1", replicas=3, available=3, revision=1)
    sim, fake, _m = fake_cluster(["deployment"], [deploy(replicas=3, image="nginx:2", generation=2, strategy={"type": "Recreate"}, revision=1), old])
    run(sim, 0.5)
    assert [(a[3], a[4]["spec"]["replicas"]) for a in fake.actions() if a[:2] == ("update", "replicasets")] == [(old["metadata"]["name"], 0)]
    assert [a for a in fake.actions() if a[0] == "create"] == []
