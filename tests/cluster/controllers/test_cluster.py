"""The controller-manager in a cluster: etcd, kube-apiserver, the controller-manager, fake
kubelets and a fake scheduler (tests/cluster/controllers/harness.py)."""

import pickle

from cluster.client import copy_json, meta_of, parse_time
from cluster.kernel import SECOND, state_hash

from .harness import ControllerHarness, deployment, pod_template, replicaset


def web(h, replicas=3, **kw):
    assert h.create("deployments", deployment("web", replicas, **kw), namespace="default")["code"] == 201
    h.run_until(lambda: len(h.ready_pods(app="web")) == replicas)


def test_a_deleted_pod_of_a_deployment_is_replaced_and_the_loop_says_so():
    h = ControllerHarness()
    web(h)
    victim = h.ready_pods(app="web")[0]["metadata"]["name"]
    mark = h.sim.log.last_seq
    h.delete("pods", victim, namespace="default")
    h.run_until(lambda: len(h.ready_pods(app="web")) == 3 and victim not in [p["metadata"]["name"] for p in h.pods(app="web")])
    rs_name = h.objects("replicasets", "default")[0]["metadata"]["name"]
    creating = [e for e in h.reconciles("replicaset", mark) if e["data"]["action"] == "create"]
    assert [e["summary"] for e in creating] == [f"ReplicaSet default/{rs_name}: want 3, have 2, creating 1 pod"]
    assert creating[0]["source"] == "kube-controller-manager" and creating[0]["data"]["key"] == f"default/{rs_name}"


def test_rolling_update_never_drops_below_replicas_minus_max_unavailable_ready_pods():
    h = ControllerHarness(nodes=3)
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}
    web(h, replicas=4, strategy=strategy)
    seen = {"min": 4, "max_pods": 4}

    def check():
        ready = len(h.ready_pods(app="web"))
        seen["min"] = min(seen["min"], ready)
        seen["max_pods"] = max(seen["max_pods"], len(h.live_pods(app="web")))
        assert ready >= 3, f"only {ready} ready pods at {h.now / SECOND} s"

    h.patch("deployments", "web", {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}}}}, namespace="default")

    def done():
        pods = h.live_pods(app="web")
        return len(pods) == 4 and all(p["spec"]["containers"][0]["image"] == "nginx:2" and p in h.ready_pods(app="web") for p in pods)

    h.run_until(done, 60, step_ms=10, check=check)
    assert seen["min"] == 3 and seen["max_pods"] == 5  # it used its whole budget, both ways
    h.run(2, check=check)
    status = h.get("deployments", "web", namespace="default", group="apps")["body"]["status"]
    assert (status["replicas"], status["updatedReplicas"], status["availableReplicas"], status["observedGeneration"]) == (4, 4, 4, 2)
    progressing = [c for c in status["conditions"] if c["type"] == "Progressing"][0]
    assert progressing["reason"] == "NewReplicaSetAvailable"
    revisions = sorted(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] for rs in h.objects("replicasets", "default"))
    assert revisions == ["1", "2"]


def test_recreate_never_runs_old_and_new_pods_together():
    h = ControllerHarness()
    web(h, replicas=2, strategy={"type": "Recreate"})

    def check():
        images = {p["spec"]["containers"][0]["image"] for p in h.pods(app="web")}
        assert len(images) <= 1, images

    h.patch("deployments", "web", {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}}}}, namespace="default")
    h.run_until(lambda: len(h.ready_pods(app="web")) == 2 and h.ready_pods(app="web")[0]["spec"]["containers"][0]["image"] == "nginx:2", 60, check=check)


def test_rollout_undo_as_kubectl_does_it_brings_back_the_old_template_as_a_new_revision():
    h = ControllerHarness()
    web(h, replicas=2)
    h.patch("deployments", "web", {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}}}}, namespace="default")
    h.run_until(lambda: {p["spec"]["containers"][0]["image"] for p in h.ready_pods(app="web")} == {"nginx:2"} and len(h.live_pods(app="web")) == 2)
    # kubectl 1.32's undo: the ReplicaSet of the previous revision, its template minus pod-template-hash.
    sets = {rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: rs for rs in h.objects("replicasets", "default")}
    template = copy_json(sets["1"]["spec"]["template"])  # (objects() are the API server's own: never change them)
    template["metadata"]["labels"].pop("pod-template-hash")
    r = h.patch("deployments", "web", [{"op": "replace", "path": "/spec/template", "value": template}, {"op": "replace", "path": "/metadata/annotations", "value": {}}],
                namespace="default", patch_type="json")
    assert r["code"] == 200
    h.run_until(lambda: {p["spec"]["containers"][0]["image"] for p in h.live_pods(app="web")} == {"nginx"} and len(h.ready_pods(app="web")) == 2)
    h.run(2)
    after = {rs["metadata"]["name"]: rs["metadata"]["annotations"] for rs in h.objects("replicasets", "default")}
    assert after[sets["1"]["metadata"]["name"]]["deployment.kubernetes.io/revision"] == "3"
    assert after[sets["1"]["metadata"]["name"]]["deployment.kubernetes.io/revision-history"] == "1"
    assert h.get("deployments", "web", namespace="default")["body"]["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "3"}


def test_scale_through_the_scale_subresource():
    h = ControllerHarness()
    web(h, replicas=2)
    h.call("patch", "deployments", namespace="default", name="web", subresource="scale", body={"spec": {"replicas": 5}}, patch_type="merge")
    h.run_until(lambda: len(h.ready_pods(app="web")) == 5)
    h.call("patch", "deployments", namespace="default", name="web", subresource="scale", body={"spec": {"replicas": 1}}, patch_type="merge")
    h.run_until(lambda: len(h.pods(app="web")) == 1)
    assert h.get("deployments", "web", namespace="default")["body"]["status"]["replicas"] == 1


def test_three_deletion_propagation_modes():
    h = ControllerHarness()
    for name in ("bg", "fg", "orphan"):
        h.create("replicasets", replicaset(name, 2), namespace="default")
    h.run_until(lambda: all(len(h.ready_pods(app=n)) == 2 for n in ("bg", "fg", "orphan")))
    mark = h.sim.log.last_seq
    # Background: the ReplicaSet goes at once; the garbage collector then deletes its dangling pods.
    h.delete("replicasets", "bg", namespace="default", query={"propagationPolicy": "Background"})
    assert h.get("replicasets", "bg", namespace="default")["code"] == 404
    h.run_until(lambda: not h.pods(app="bg"))
    # Foreground: the ReplicaSet stays (deletionTimestamp, finalizer) until its pods are gone.
    h.delete("replicasets", "fg", namespace="default", query={"propagationPolicy": "Foreground"})
    fg = h.get("replicasets", "fg", namespace="default")["body"]
    assert fg["metadata"]["finalizers"] == ["foregroundDeletion"] and fg["metadata"]["deletionTimestamp"]
    h.run_until(lambda: h.get("replicasets", "fg", namespace="default")["code"] == 404)
    assert not h.pods(app="fg")
    # Orphan: the pods stay, without their owner reference.
    h.delete("replicasets", "orphan", namespace="default", query={"propagationPolicy": "Orphan"})
    h.run_until(lambda: h.get("replicasets", "orphan", namespace="default")["code"] == 404)
    h.run(2)
    left = h.pods(app="orphan")
    assert len(left) == 2 and all(not meta_of(p).get("ownerReferences") for p in left)
    actions = {(e["data"]["action"], e["data"].get("kind")) for e in h.reconciles("garbagecollector", mark)}
    assert {("delete", "Pod"), ("finalize", "ReplicaSet"), ("orphan", "ReplicaSet")} <= actions


def test_namespace_deletion_empties_it_then_removes_it():
    h = ControllerHarness()
    assert h.create("namespaces", {"metadata": {"name": "shop"}})["code"] == 201
    h.create("deployments", deployment("cart", 2), namespace="shop")
    h.create("services", {"metadata": {"name": "cart"}, "spec": {"selector": {"app": "cart"}, "ports": [{"port": 80}]}}, namespace="shop")
    h.run_until(lambda: len(h.ready_pods("shop", app="cart")) == 2 and h.objects("endpointslices", "shop"))
    mark = h.sim.log.last_seq
    h.delete("namespaces", "shop")
    assert h.get("namespaces", "shop")["body"]["status"]["phase"] == "Terminating"
    h.run_until(lambda: h.get("namespaces", "shop")["code"] == 404, 60)
    for resource in ("pods", "deployments", "replicasets", "services", "endpoints", "endpointslices"):
        assert h.objects(resource, "shop") == [], resource
    actions = [e["data"]["action"] for e in h.reconciles("namespace", mark)]
    assert actions[0] == "delete" and actions[-1] == "finalize"


def test_a_node_failure_ends_with_its_pods_evicted_and_replaced():
    h = ControllerHarness(nodes=3, manager_options={"options": {"node_monitor_grace_period_s": 40}})
    tolerations = [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}]
    body = deployment("web", 3)
    body["spec"]["template"]["spec"]["tolerations"] = tolerations
    h.create("deployments", body, namespace="default")
    h.run_until(lambda: len(h.ready_pods(app="web")) == 3)
    doomed = sorted(p["metadata"]["name"] for p in h.live_pods(app="web") if p["spec"]["nodeName"] == "node-2")
    assert doomed
    failed_at = h.now
    h.sim.crash("fake-kubelet-node-2")
    node = lambda: next(n for n in h.objects("nodes") if n["metadata"]["name"] == "node-2")  # noqa: E731
    h.run_until(lambda: any(t["key"] == "node.kubernetes.io/unreachable" for t in (node().get("spec") or {}).get("taints") or []), 70)
    assert 40 * SECOND <= h.now - failed_at <= 60 * SECOND
    assert h.get("nodes", "node-2")["body"]["status"]["conditions"][0]["status"] == "Unknown"
    # The view counts down to each eviction: tolerationSeconds (30) after the taint was added.
    h.run_until(lambda: h.manager.loops["nodelifecycle"].evictions.get("node-2"), 10)
    view = h.manager.view()
    taint = next(t for t in node()["spec"]["taints"] if t["effect"] == "NoExecute")
    pending = next(n for n in view["nodes"] if n["name"] == "node-2")["evictions"]
    assert sorted(e["pod"] for e in pending) == [f"default/{n}" for n in doomed]
    assert {e["at"] for e in pending} == {parse_time(taint["timeAdded"]) / SECOND + 30}
    assert all(abs(e["in"] - (e["at"] - view["time"])) < 1e-6 for e in pending)
    h.run_until(lambda: all(meta_of(p).get("deletionTimestamp") for p in h.pods(app="web") if p["metadata"]["name"] in doomed), 40)
    h.run_until(lambda: len(h.ready_pods(app="web")) == 3)
    assert {p["spec"]["nodeName"] for p in h.ready_pods(app="web")} <= {"node-1", "node-3"}
    evicted = sorted(e["data"]["key"] for e in h.events("controller.evict"))
    assert evicted == [f"default/{n}" for n in doomed]
    view = {n["name"]: n for n in h.manager.view()["nodes"]}
    assert view["node-2"]["ready"] == "Unknown" and view["node-1"]["ready"] == "True" and 0 < view["node-1"]["unknown_in"] <= 40
    # The node comes back: Ready again, its taints go.
    mark = h.sim.log.last_seq
    h.sim.restart("fake-kubelet-node-2")
    h.run_until(lambda: not (node().get("spec") or {}).get("taints"), 30)
    assert [e["data"]["action"] for e in h.reconciles("nodelifecycle", mark)] == ["untaint"]


def test_level_based_recovery_after_the_controller_manager_was_down():
    h = ControllerHarness()
    web(h, replicas=3)
    h.sim.crash("kube-controller-manager")
    for p in h.live_pods(app="web")[:2]:
        h.delete("pods", p["metadata"]["name"], namespace="default")
    h.patch("deployments", "web", {"spec": {"replicas": 5}}, namespace="default")
    mark = h.sim.log.last_seq
    h.run(20)
    assert h.reconciles(since=mark) == []  # nothing reconciles while it is down
    assert len(h.live_pods(app="web")) == 1
    h.sim.restart("kube-controller-manager")
    h.run_until(lambda: len(h.ready_pods(app="web")) == 5, 60)
    leader = [e for e in h.events("controller.leader", mark) if e["data"]["leading"]]
    assert leader and leader[0]["data"]["transitions"] == 1  # a new identity took the old lease over


def test_a_lost_watch_event_is_repaired_by_a_relist():
    h = ControllerHarness()
    web(h, replicas=2)
    mark = h.sim.log.last_seq
    # Everything between the API server and the controller-manager is lost for a moment...
    h.sim.net.set_fault(loss=1.0, target="kube-controller-manager", peer="kube-apiserver")
    h.patch("deployments", "web", {"spec": {"replicas": 4}}, namespace="default")
    h.run(0.3)
    h.sim.net.set_fault(loss=0.0, target="kube-controller-manager", peer="kube-apiserver")
    # ... the deployments watch lost its MODIFIED event and the server dropped it.
    h.run_until(lambda: len(h.ready_pods(app="web")) == 4, 90)
    relists = [e for e in h.events("watch.relist", mark) if e["source"] == "kube-controller-manager"]
    assert "deployments" in {e["data"]["resource"] for e in relists}
    repaired = [e for e in h.events("watch.relisted", mark) if e["data"]["resource"] == "deployments"]
    assert repaired and repaired[0]["data"]["updated"] == 1


def test_two_replicas_one_leads_and_the_other_takes_over_when_it_fails():
    h = ControllerHarness(replicas=2, nodes=1)
    first, second = h.managers
    h.run(5)
    leaders = [m.name for m in h.managers if m.elector.leading]
    assert len(leaders) == 1
    leader = first if first.elector.leading else second
    standby = second if leader is first else first
    assert standby.api.informers["pods"].state == "idle"  # a follower runs no loops
    mark = h.sim.log.last_seq
    h.sim.crash(leader.name)
    h.run_until(lambda: standby.elector.leading, 30)
    waited = h.now - h.sim.log.since(mark)[0]["time"] * SECOND
    assert 13 * SECOND <= waited <= 20 * SECOND  # the lease (15 s) had to expire first
    lease = h.get("leases", "kube-controller-manager", namespace="kube-system")["body"]["spec"]
    assert lease["holderIdentity"] == standby.elector.identity and lease["leaseTransitions"] == 1
    h.create("replicasets", replicaset("after", 1), namespace="default")
    h.run_until(lambda: len(h.ready_pods(app="after")) == 1)
    assert {e["source"] for e in h.reconciles("replicaset", mark)} == {standby.name}


def test_daemonset_job_and_endpoints_in_a_cluster():
    h = ControllerHarness()
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
          "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": pod_template({"app": "agent"})}}
    h.create("daemonsets", ds, namespace="default")
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi"},
           "spec": {"completions": 3, "parallelism": 2, "template": {"metadata": {"labels": {"test/exit": "Succeeded", "test/seconds": "2"}},
                                                                    "spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": "perl"}]}}}}
    h.create("jobs", job, namespace="default")
    h.create("services", {"metadata": {"name": "agent"}, "spec": {"selector": {"app": "agent"}, "ports": [{"port": 80}]}}, namespace="default")
    h.run_until(lambda: len(h.ready_pods(app="agent")) == 3, 30)
    assert sorted(p["spec"]["nodeName"] for p in h.ready_pods(app="agent")) == ["node-1", "node-2", "node-3"]
    h.run_until(lambda: any(c["type"] == "Complete" for c in h.get("jobs", "pi", namespace="default")["body"].get("status", {}).get("conditions") or []), 30)
    assert h.get("jobs", "pi", namespace="default")["body"]["status"]["succeeded"] == 3
    h.run(1)
    ep = h.get("endpoints", "agent", namespace="default")["body"]
    assert sorted(a["ip"] for a in ep["subsets"][0]["addresses"]) == sorted(p["status"]["podIP"] for p in h.ready_pods(app="agent"))
    [slice_] = h.objects("endpointslices", "default")[:1] or [None]
    assert len(slice_["endpoints"]) == 3


def test_same_seed_same_run_and_the_cluster_pickles():
    def scenario(seed):
        h = ControllerHarness(seed=seed)
        web(h, replicas=2)
        return h

    a, b = scenario(4), scenario(4)
    assert a.sim.log.digest() == b.sim.log.digest()
    assert state_hash(a.manager) == state_hash(b.manager)
    copy = pickle.loads(pickle.dumps(a))
    for h in (a, copy):
        h.patch("deployments", "web", {"spec": {"replicas": 3}}, namespace="default")
        h.run(5)
    assert a.sim.log.digest() == copy.sim.log.digest()
    assert len(copy.ready_pods(app="web")) == 3


def test_the_view_lists_loops_queues_informers_leadership_nodes_and_the_owner_graph():
    import json

    h = ControllerHarness(nodes=2)
    web(h, replicas=2)
    view = h.manager.view()
    json.dumps(view, allow_nan=False)
    assert view["name"] == "kube-controller-manager" and view["leading"] is True
    assert view["leader"]["holder"] == view["leader"]["identity"] and view["leader"]["lease"] == "kube-system/kube-controller-manager"
    loops = {loop["name"]: loop for loop in view["loops"]}
    assert set(loops) == {"deployment", "replicaset", "daemonset", "job", "endpoints", "endpointslice", "namespace", "garbagecollector",
                          "nodelifecycle", "podgc", "eventgc"}
    assert loops["replicaset"]["label"] == "ReplicaSet" and loops["replicaset"]["depth"] == 0 and loops["replicaset"]["reconciles"] > 0
    assert loops["replicaset"]["last"]["summary"].startswith("ReplicaSet default/web-")
    informers = {i["resource"]: i for i in view["informers"]}
    assert informers["pods"]["synced"] and informers["pods"]["objects"] == 2 and informers["pods"]["state"] == "watching"
    assert [n["name"] for n in view["nodes"]] == ["node-1", "node-2"]
    graph = view["owner_graph"]
    kinds = sorted(n["kind"] for n in graph["nodes"])
    assert kinds.count("Pod") == 2 and "ReplicaSet" in kinds and "Deployment" in kinds
    uids = {n["kind"]: n["uid"] for n in graph["nodes"]}
    assert {"dependent": uids["ReplicaSet"], "owner": uids["Deployment"], "block": True, "owner_kind": "Deployment", "owner_name": "web"} in graph["edges"]
    assert view["time"] == h.now / SECOND
    node = view["nodes"][0]  # the countdown to Unknown as a virtual time, so a page can tick it with its own clock
    assert node["unknown_at"] == node["last_heartbeat"] + view["node_monitor_grace_period"]
    assert abs(node["unknown_in"] - (node["unknown_at"] - view["time"])) < 1e-6


def test_daemonset_rolling_update_replaces_one_node_at_a_time():
    h = ControllerHarness()
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
          "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": pod_template({"app": "agent"})}}
    h.create("daemonsets", ds, namespace="default")
    h.run_until(lambda: len(h.ready_pods(app="agent")) == 3, 30)

    def check():
        assert len(h.ready_pods(app="agent")) >= 2  # maxUnavailable 1

    h.patch("daemonsets", "agent", {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "agent:2"}]}}}}, namespace="default")
    h.run_until(lambda: sorted(p["spec"]["containers"][0]["image"] for p in h.ready_pods(app="agent")) == ["agent:2"] * 3, 60, check=check)
    assert sorted(p["spec"]["nodeName"] for p in h.ready_pods(app="agent")) == ["node-1", "node-2", "node-3"]


def test_revision_history_limit_keeps_only_that_many_old_replicasets():
    h = ControllerHarness(nodes=2)
    body = deployment("web", 1)
    body["spec"]["revisionHistoryLimit"] = 1
    h.create("deployments", body, namespace="default")
    h.run_until(lambda: len(h.ready_pods(app="web")) == 1)
    for image in ("nginx:2", "nginx:3", "nginx:4"):
        h.patch("deployments", "web", {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}, namespace="default")
        h.run_until(lambda image=image: [p["spec"]["containers"][0]["image"] for p in h.ready_pods(app="web")] == [image] and len(h.live_pods(app="web")) == 1)
    h.run(3)
    revisions = sorted(int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]) for rs in h.objects("replicasets", "default"))
    assert revisions == [3, 4]
