"""The other loops against the recorded fake API server: the exact requests each one makes."""

from cluster.apiserver.meta import rfc3339

from .fakeapi import fake_cluster, run, typed


def node(name, ready="True", taints=None, heartbeat="2026-01-01T00:00:00Z"):
    body = typed("nodes", {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
                           "status": {"conditions": [{"type": "Ready", "status": ready, "lastHeartbeatTime": heartbeat, "lastTransitionTime": heartbeat}]}})
    if taints:
        body["spec"] = {"taints": taints}
    return body


def pod(name, labels=None, node_name=None, ip=None, ready=False, phase="Running", owner=None, tolerations=None, deleting=False):
    meta = {"name": name, "namespace": "default", "labels": labels or {}}
    if owner:
        meta["ownerReferences"] = [dict(owner, controller=True, blockOwnerDeletion=True)]
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    body = typed("pods", {"metadata": meta, "spec": {"containers": [{"name": "c", "image": "x", "ports": [{"name": "http", "containerPort": 8080}]}]},
                          "status": {"phase": phase}})
    if node_name:
        body["spec"]["nodeName"] = node_name
    if ip:
        body["status"]["podIP"] = ip
    if ready:
        body["status"]["conditions"] = [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]
    if tolerations is not None:
        body["spec"]["tolerations"] = tolerations
    return body


def service(name="web", selector=None, target="http"):
    return typed("services", {"metadata": {"name": name, "namespace": "default", "uid": f"svc-{name}"},
                              "spec": {"selector": selector if selector is not None else {"app": "web"}, "ports": [{"name": "web", "port": 80, "targetPort": target, "protocol": "TCP"}]}})


# --- DaemonSet -----------------------------------------------------------------------------------
def test_daemonset_creates_one_pod_per_eligible_node_pinned_by_node_affinity():
    ds = typed("daemonsets", {"metadata": {"name": "agent", "namespace": "default", "uid": "ds-1", "generation": 1},
                              "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {"metadata": {"labels": {"app": "agent"}},
                                                                                                    "spec": {"containers": [{"name": "a", "image": "agent"}]}}}})
    tainted = node("node-3", taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}])
    sim, fake, _m = fake_cluster(["daemonset"], [ds, node("node-1"), node("node-2"), tainted])
    run(sim, 0.5)
    creates = [a[4] for a in fake.actions() if a[0] == "create"]
    assert [c["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] for c in creates] == [
        {"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [n]}]}]} for n in ("node-1", "node-2")]
    assert all("nodeName" not in c["spec"] for c in creates)  # the scheduler binds them
    assert {t["key"] for t in creates[0]["spec"]["tolerations"]} >= {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable", "node.kubernetes.io/unschedulable"}
    assert creates[0]["metadata"]["labels"]["app"] == "agent" and "controller-revision-hash" in creates[0]["metadata"]["labels"]
    status = [a[4]["status"] for a in fake.actions() if a[1] == "daemonsets/status"][-1]
    assert status["desiredNumberScheduled"] == 2


# --- Job -----------------------------------------------------------------------------------------
def test_job_runs_parallelism_pods_and_completes_at_completions():
    job = typed("jobs", {"metadata": {"name": "pi", "namespace": "default", "uid": "job-1"},
                         "spec": {"completions": 3, "parallelism": 2, "backoffLimit": 6, "template": {"metadata": {"labels": {"job-name": "pi"}},
                                                                                                      "spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": "perl"}]}}}})
    sim, fake, _m = fake_cluster(["job"], [job])
    run(sim, 0.5)
    assert [(a[1], a[4]["metadata"]["generateName"]) for a in fake.actions() if a[0] == "create"] == [("pods", "pi-")] * 2
    owner = {"apiVersion": "batch/v1", "kind": "Job", "name": "pi", "uid": "job-1"}
    run(sim, 5)  # let the key settle (the fake never shows the created pods)
    for i in range(3):
        fake.put(pod(f"pi-{i}", owner=owner, phase="Succeeded"))
    fake.clear()
    run(sim, 0.5)
    status = [a[4]["status"] for a in fake.actions() if a[1] == "jobs/status"][-1]
    assert status["succeeded"] == 3 and [c["type"] for c in status["conditions"]] == ["Complete"] and "completionTime" in status
    assert [a for a in fake.actions() if a[0] == "create"] == []


# --- Endpoints and EndpointSlices ------------------------------------------------------------------
def test_endpoints_lists_ready_and_not_ready_addresses_with_resolved_ports():
    objects = [service(), pod("a", {"app": "web"}, "node-1", "10.0.0.2", ready=True), pod("b", {"app": "web"}, "node-2", "10.0.0.1"),
               pod("c", {"app": "web"}, "node-1", "10.0.0.3", ready=True, deleting=True), pod("d", {"app": "other"}, "node-1", "10.0.0.4", ready=True),
               pod("e", {"app": "web"})]
    sim, fake, _m = fake_cluster(["endpoints"], objects)
    run(sim, 0.5)
    uid = {n: fake.get("pods", f"default/{n}")["metadata"]["uid"] for n in "ab"}
    assert fake.actions() == [("create", "endpoints", "default", None, {
        "apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web", "namespace": "default", "labels": {}},
        "subsets": [{"addresses": [{"ip": "10.0.0.2", "targetRef": {"kind": "Pod", "namespace": "default", "name": "a", "uid": uid["a"]}, "nodeName": "node-1"}],
                     "notReadyAddresses": [{"ip": "10.0.0.1", "targetRef": {"kind": "Pod", "namespace": "default", "name": "b", "uid": uid["b"]}, "nodeName": "node-2"}],
                     "ports": [{"port": 8080, "protocol": "TCP", "name": "web"}]}]})]


def test_endpointslices_keep_terminating_pods_with_their_conditions_and_are_owned_by_the_service():
    objects = [service(), pod("a", {"app": "web"}, "node-1", "10.0.0.2", ready=True), pod("c", {"app": "web"}, "node-1", "10.0.0.3", ready=True, deleting=True)]
    sim, fake, _m = fake_cluster(["endpointslice"], objects)
    run(sim, 0.5)
    [(verb, what, ns, name, body)] = fake.actions()
    assert (verb, what, body["metadata"]["generateName"]) == ("create", "endpointslices", "web-")
    assert body["metadata"]["labels"] == {"kubernetes.io/service-name": "web", "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}
    assert body["metadata"]["ownerReferences"][0]["uid"] == "svc-web"
    assert [(e["addresses"], e["conditions"]) for e in body["endpoints"]] == [
        (["10.0.0.2"], {"ready": True, "serving": True, "terminating": False}), (["10.0.0.3"], {"ready": False, "serving": True, "terminating": True})]
    assert body["ports"] == [{"port": 8080, "protocol": "TCP", "name": "web"}] and body["addressType"] == "IPv4"


# --- Namespace -----------------------------------------------------------------------------------
def test_namespace_deletion_lists_everything_deletes_what_is_left_then_finalizes():
    ns = typed("namespaces", {"metadata": {"name": "shop", "deletionTimestamp": "2026-01-01T00:00:00Z"}, "spec": {"finalizers": ["kubernetes"]},
                              "status": {"phase": "Terminating"}})
    cm = typed("configmaps", {"metadata": {"name": "cfg", "namespace": "shop"}})
    sim, fake, _m = fake_cluster(["namespace"], [ns, cm])
    run(sim, 0.5)
    assert [a[:3] for a in fake.actions()] == [("deletecollection", "configmaps", "shop")]
    lists = sorted({p["resource"] for p in fake.requests if p["verb"] == "list" and p.get("namespace") == "shop"})
    assert "pods" in lists and "deployments" in lists and "configmaps" in lists
    fake.remove("configmaps", "shop/cfg")
    fake.clear()
    run(sim, 2.5)
    assert fake.actions() == [("update", "namespaces/finalize", None, "shop",
                               {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}, "spec": {"finalizers": []}})]


# --- Garbage collector --------------------------------------------------------------------------------
RS_REF = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "rs-1"}


def test_gc_confirms_a_missing_owner_with_a_get_then_deletes_the_dangling_dependent():
    sim, fake, _m = fake_cluster(["garbagecollector"], [pod("p", owner=RS_REF)])
    run(sim, 0.5)
    gets = [(p["resource"], p["namespace"], p["name"]) for p in fake.requests if p["verb"] == "get" and p["resource"] != "leases"]
    assert gets == [("replicasets", "default", "web")]
    uid = fake.get("pods", "default/p")["metadata"]["uid"]
    assert fake.actions() == [("delete", "pods", "default", "p", {"propagationPolicy": "Background", "preconditions": {"uid": uid}})]


def test_gc_orphan_releases_dependents_then_removes_the_orphan_finalizer():
    owner = typed("replicasets", {"metadata": {"name": "web", "namespace": "default", "uid": "rs-1", "deletionTimestamp": "2026-01-01T00:00:00Z",
                                               "finalizers": ["orphan"]}, "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}}})
    sim, fake, _m = fake_cluster(["garbagecollector"], [owner, pod("p", owner=RS_REF)])
    run(sim, 0.5)
    rv_pod = fake.get("pods", "default/p")["metadata"]["resourceVersion"]
    rv_owner = fake.get("replicasets", "default/web")["metadata"]["resourceVersion"]
    assert fake.actions() == [
        ("patch", "pods", "default", "p", {"metadata": {"ownerReferences": None, "resourceVersion": rv_pod}}),
        ("patch", "replicasets", "default", "web", {"metadata": {"finalizers": None, "resourceVersion": rv_owner}}),
    ]


def test_gc_foreground_deletes_blocking_dependents_and_waits_for_them():
    owner = typed("replicasets", {"metadata": {"name": "web", "namespace": "default", "uid": "rs-1", "deletionTimestamp": "2026-01-01T00:00:00Z",
                                               "finalizers": ["foregroundDeletion"]}, "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}}})
    sim, fake, _m = fake_cluster(["garbagecollector"], [owner, pod("p", owner=RS_REF)])
    run(sim, 0.5)
    uid = fake.get("pods", "default/p")["metadata"]["uid"]
    # (The fake never marks the pod, so a second pass may delete it again: deletes are idempotent.)
    assert {repr(a) for a in fake.actions()} == {repr(("delete", "pods", "default", "p", {"propagationPolicy": "Background", "preconditions": {"uid": uid}}))}
    fake.remove("pods", "default/p")
    fake.clear()
    run(sim, 0.5)
    rv_owner = fake.get("replicasets", "default/web")["metadata"]["resourceVersion"]
    assert fake.actions() == [("patch", "replicasets", "default", "web", {"metadata": {"finalizers": None, "resourceVersion": rv_owner}})]


# --- Node lifecycle -----------------------------------------------------------------------------------
def test_node_lifecycle_marks_a_silent_node_unknown_taints_it_and_evicts_after_toleration_seconds():
    short = [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}]
    objects = [node("node-1"), pod("patient", node_name="node-1", ready=True, tolerations=short),
               pod("forever", node_name="node-1", ready=True, tolerations=[{"operator": "Exists"}]), pod("impatient", node_name="node-1", ready=True, tolerations=[])]
    sim, fake, manager = fake_cluster(["nodelifecycle"], objects, options={"node_monitor_grace_period_s": 40})
    run(sim, 44)
    assert fake.actions() == []
    run(sim, 2)  # 45 s: the 5 s monitor sees 40 s of silence
    [update] = [a for a in fake.actions() if a[1] == "nodes/status"]
    assert [(c["type"], c["status"], c["reason"]) for c in update[4]["status"]["conditions"]] == [("Ready", "Unknown", "NodeStatusUnknown")]
    assert sorted(a[3] for a in fake.actions() if a[1] == "pods/status") == ["forever", "impatient", "patient"]
    # The API server would now show the node Unknown; the loop taints it.
    fake.put(node("node-1", ready="Unknown"))
    fake.clear()
    run(sim, 1)
    [taint] = [a[4] for a in fake.actions() if a[:2] == ("patch", "nodes")]
    stamp = rfc3339(sim.now - 1_000_000)
    assert [(t["key"], t["effect"]) for t in taint["spec"]["taints"]] == [("node.kubernetes.io/unreachable", "NoSchedule"), ("node.kubernetes.io/unreachable", "NoExecute")]
    tainted_at = taint["spec"]["taints"][1]["timeAdded"]
    assert tainted_at >= stamp
    fake.put(node("node-1", ready="Unknown", taints=taint["spec"]["taints"]))
    fake.clear()
    run(sim, 1)
    assert [a[3] for a in fake.actions() if a[:2] == ("delete", "pods")] == ["impatient"]
    view = {n["name"]: n for n in manager.view()["nodes"]}["node-1"]
    assert view["ready"] == "Unknown" and [e["pod"] for e in view["evictions"]] == ["default/patient"] and 27 <= view["evictions"][0]["in"] <= 30
    fake.put(pod("impatient", node_name="node-1", ready=True, tolerations=[], deleting=True))  # what the delete did
    fake.clear()
    run(sim, 30)
    assert [a[3] for a in fake.actions() if a[:2] == ("delete", "pods")] == ["patient"]


# --- Pod GC and event GC ----------------------------------------------------------------------------
def test_pod_gc_force_deletes_pods_of_vanished_nodes_and_terminated_pods_over_the_threshold():
    objects = [node("node-1"), pod("ghost", node_name="node-9"), pod("done-1", node_name="node-1", phase="Succeeded"),
               pod("done-2", node_name="node-1", phase="Failed"), pod("live", node_name="node-1")]
    sim, fake, _m = fake_cluster(["podgc"], objects, options={"terminated_pod_gc_threshold": 1, "pod_gc_period_s": 20})
    run(sim, 20.5)
    assert [(a[3], a[0]) for a in fake.actions()] == [("done-1", "delete")]  # the ghost's node may yet appear: one pass of quarantine
    fake.clear()
    run(sim, 20)
    deletes = [(p["name"], (p.get("query") or {}).get("gracePeriodSeconds")) for p in fake.requests if p["verb"] == "delete"]
    assert deletes == [("done-1", None), ("ghost", 0)]


def test_event_gc_deletes_events_older_than_the_ttl():
    old = typed("events", {"metadata": {"name": "old", "namespace": "default"}, "lastTimestamp": "2025-12-31T23:00:00Z"})
    new = typed("events", {"metadata": {"name": "new", "namespace": "default"}, "lastTimestamp": "2026-01-01T00:00:00Z"})
    sim, fake, _m = fake_cluster(["eventgc"], [old, new], options={"event_ttl_s": 600, "event_gc_period_s": 60})
    run(sim, 60.5)
    assert fake.actions() == [("delete", "events", "default", "old", None)]
