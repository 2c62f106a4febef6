"""ReplicaSet controller against the recorded fake API server: the exact requests it makes."""

from .fakeapi import fake_cluster, run, typed


def rs(name="web", replicas=3, labels=None, uid=None):
    labels = labels or {"app": "web"}
    body = typed("replicasets", {"metadata": {"name": name, "namespace": "default", "generation": 1},
                                 "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                                          "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    if uid:
        body["metadata"]["uid"] = uid
    return body


def pod(name, owner_uid=None, labels=None, node=None, ready=False, created="2026-01-01T00:00:00Z", phase="Running"):
    meta = {"name": name, "namespace": "default", "labels": labels or {"app": "web"}, "creationTimestamp": created}
    if owner_uid:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": owner_uid, "controller": True, "blockOwnerDeletion": True}]
    body = typed("pods", {"metadata": meta, "spec": {"containers": [{"name": "c", "image": "nginx"}]}, "status": {"phase": phase}})
    if node:
        body["spec"]["nodeName"] = node
    if ready:
        body["status"]["conditions"] = [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]
    return body


OWNER = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "rs-1", "controller": True, "blockOwnerDeletion": True}


def test_creates_the_missing_pods_from_the_template_and_reports_status():
    sim, fake, manager = fake_cluster(["replicaset"], [rs(uid="rs-1"), pod("web-a", "rs-1", node="node-1", ready=True)])
    run(sim, 0.5)
    creates = [a for a in fake.actions() if a[0] == "create"]
    assert creates == [("create", "pods", "default", None, {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"generateName": "web-", "namespace": "default", "labels": {"app": "web"}, "ownerReferences": [OWNER]},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}})] * 2
    status = [a for a in fake.actions() if a[1] == "replicasets/status"]
    assert status[0][4]["status"] == {"replicas": 1, "fullyLabeledReplicas": 1, "readyReplicas": 1, "availableReplicas": 1, "observedGeneration": 1}
    reconcile = [e for e in sim.log.events if e["kind"] == "controller.reconcile"]
    assert reconcile[0]["summary"] == "ReplicaSet default/web: want 3, have 1, creating 2 pods"
    assert reconcile[0]["data"] == {"controller": "replicaset", "key": "default/web", "action": "create", "want": 3, "have": 1, "count": 2}


def test_expectations_hold_back_a_second_round_until_the_creates_are_seen():
    sim, fake, manager = fake_cluster(["replicaset"])
    fake.put(rs(uid="rs-1", replicas=2))
    run(sim, 0.5)
    assert len([a for a in fake.actions() if a[0] == "create"]) == 2
    # The fake never shows the created pods: the key settles (waits for its writes to show)
    # for at most 5 s; after that only the expectations hold it back.
    run(sim, 5)
    fake.put(rs(uid="rs-1", replicas=2) | {"status": {"replicas": 0}})  # a status change wakes the loop
    run(sim, 0.5)
    assert len([a for a in fake.actions() if a[0] == "create"]) == 2
    assert [e["data"]["action"] for e in sim.log.events if e["kind"] == "controller.reconcile"][-1] == "wait"
    fake.put(pod("web-00001", "rs-1"))
    fake.put(pod("web-00002", "rs-1"))
    run(sim, 0.5)
    assert len([a for a in fake.actions() if a[0] == "create"]) == 2
    assert [e["data"]["action"] for e in sim.log.events if e["kind"] == "controller.reconcile"][-1] == "none"


def test_deletes_the_pods_that_matter_least_with_uid_preconditions():
    sim, fake, manager = fake_cluster(["replicaset"], [
        rs(uid="rs-1", replicas=1), pod("ready-old", "rs-1", node="n1", ready=True, created="2026-01-01T00:00:01Z"),
        pod("ready-new", "rs-1", node="n1", ready=True, created="2026-01-01T00:00:09Z"), pod("unready", "rs-1", node="n1", ready=False),
        pod("unscheduled", "rs-1", phase="Pending")])
    run(sim, 0.5)
    deletes = [(a[3], a[4]) for a in fake.actions() if a[0] == "delete"]
    uid = {name: fake.get("pods", f"default/{name}")["metadata"]["uid"] for name in ("unscheduled", "unready", "ready-new")}
    assert deletes == [(n, {"preconditions": {"uid": uid[n]}}) for n in ("unscheduled", "unready", "ready-new")]


def test_adopts_matching_orphans_and_releases_pods_that_stopped_matching():
    sim, fake, manager = fake_cluster(["replicaset"], [rs(uid="rs-1", replicas=2), pod("orphan"), pod("strayed", "rs-1", labels={"app": "other"}), pod("mine", "rs-1")])
    orphan, strayed = fake.get("pods", "default/orphan"), fake.get("pods", "default/strayed")
    run(sim, 0.5)
    patches = [(a[3], a[4]) for a in fake.actions() if a[0] == "patch"]
    assert patches == [
        ("orphan", {"metadata": {"ownerReferences": [OWNER], "resourceVersion": orphan["metadata"]["resourceVersion"]}}),
        ("strayed", {"metadata": {"ownerReferences": None, "resourceVersion": strayed["metadata"]["resourceVersion"]}}),
    ]
    assert [a for a in fake.actions() if a[0] in ("create", "delete")] == []  # adopted + mine = 2 = replicas


def test_nothing_happens_before_the_caches_have_synced_or_while_not_leading():
    sim, fake, manager = fake_cluster(["replicaset"])
    manager.stop_loops()
    fake.put(rs(uid="rs-1", replicas=2))
    run(sim, 0.5)
    assert fake.actions() == []
    manager.start_loops()
    run(sim, 0.5)
    assert len([a for a in fake.actions() if a[0] == "create"]) == 2
