"""Pods: binding, graceful deletion (the kubelet's confirmation), eviction with
PodDisruptionBudgets, logs; deletion propagation and finalizers."""

from cluster.kernel import SECOND

from .harness import Harness, deployment, pod


def bind(h, name, node, namespace="default"):
    body = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name}, "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
    return h.call("create", "pods", namespace=namespace, name=name, subresource="binding", body=body, user={"name": "system:kube-scheduler", "groups": []})


def make_ready(h, name, namespace="default"):
    p = h.get("pods", name, namespace=namespace)["body"]
    p["status"]["phase"] = "Running"
    p["status"]["conditions"] = (p["status"].get("conditions") or []) + [{"type": "Ready", "status": "True"}]
    r = h.call("update", "pods", namespace=namespace, name=name, subresource="status", body=p)
    assert r["code"] == 200, r
    return r["body"]


def test_binding_sets_the_node_once():
    h = Harness()
    h.create("pods", pod("b"), namespace="default")
    r = bind(h, "b", "node-1")
    assert r["code"] == 201
    assert r["body"] == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
    p = h.get("pods", "b", namespace="default")["body"]
    assert p["spec"]["nodeName"] == "node-1"
    assert {"type": "PodScheduled", "status": "True"}.items() <= p["status"]["conditions"][0].items()
    again = bind(h, "b", "node-2")
    assert again["code"] == 409
    assert again["body"]["message"] == 'Operation cannot be fulfilled on pods/binding "b": pod b is already assigned to node "node-1"'
    assert bind(h, "missing", "node-1")["code"] == 404


def test_unbound_pods_are_deleted_at_once():
    h = Harness()
    h.create("pods", pod("u"), namespace="default")
    r = h.delete("pods", "u", namespace="default")
    assert r["code"] == 200
    assert h.get("pods", "u", namespace="default")["code"] == 404


def test_bound_pods_wait_for_the_kubelet():
    h = Harness()
    h.create("pods", pod("g", terminationGracePeriodSeconds=20), namespace="default")
    bind(h, "g", "node-1")
    w = h.watch("pods", namespace="default", rv=h.server.cache.revision)
    r = h.delete("pods", "g", namespace="default", body={"propagationPolicy": "Background"})
    assert r["code"] == 200
    meta = r["body"]["metadata"]
    assert meta["deletionGracePeriodSeconds"] == 20 and meta["deletionTimestamp"]
    assert h.get("pods", "g", namespace="default")["code"] == 200
    table = h.get("pods", "g", namespace="default", as_table=True)["body"]
    assert table["rows"][0]["cells"][2] == "Terminating"
    # A shorter grace period shortens it; the kubelet confirms with 0.
    assert h.delete("pods", "g", namespace="default", query={"gracePeriodSeconds": 5})["body"]["metadata"]["deletionGracePeriodSeconds"] == 5
    kubelet = {"name": "system:node:node-1", "groups": ["system:nodes"]}
    done = h.call("delete", "pods", namespace="default", name="g", body={"gracePeriodSeconds": 0}, user=kubelet)
    assert done["code"] == 200
    assert h.get("pods", "g", namespace="default")["code"] == 404
    h.run(0.2)
    assert [e["type"] for e in h.client.events[w]] == ["MODIFIED", "MODIFIED", "DELETED"]


def test_finalizers_hold_deletion_until_removed():
    h = Harness()
    h.create("configmaps", {"metadata": {"name": "f", "finalizers": ["example.com/hold"]}}, namespace="default")
    r = h.delete("configmaps", "f", namespace="default")
    assert r["code"] == 200 and r["body"]["metadata"]["deletionTimestamp"]
    assert r["body"]["metadata"]["deletionGracePeriodSeconds"] == 0
    still = h.get("configmaps", "f", namespace="default")["body"]
    bad = h.patch("configmaps", "f", {"metadata": {"finalizers": ["example.com/hold", "example.com/more"]}}, namespace="default")
    assert bad["code"] == 422
    gone = h.patch("configmaps", "f", {"metadata": {"finalizers": None}}, namespace="default")
    assert gone["code"] == 200
    assert h.get("configmaps", "f", namespace="default")["code"] == 404
    assert still["metadata"]["finalizers"] == ["example.com/hold"]


def test_propagation_policies_record_finalizers():
    h = Harness()
    h.create("deployments", deployment("orphan"), namespace="default", group="apps")
    h.create("deployments", deployment("fg"), namespace="default", group="apps")
    h.create("deployments", deployment("bg"), namespace="default", group="apps")
    o = h.call("delete", "deployments", group="apps", namespace="default", name="orphan", body={"propagationPolicy": "Orphan"})
    assert o["body"]["metadata"]["finalizers"] == ["orphan"] and o["body"]["metadata"]["generation"] == 2
    f = h.call("delete", "deployments", group="apps", namespace="default", name="fg", query={"propagationPolicy": "Foreground"})
    assert f["body"]["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert h.get("deployments", "fg", namespace="default", group="apps")["body"]["metadata"]["deletionTimestamp"]
    b = h.call("delete", "deployments", group="apps", namespace="default", name="bg", body={"propagationPolicy": "Background"})
    assert b["code"] == 200
    assert h.get("deployments", "bg", namespace="default", group="apps")["code"] == 404


def test_delete_collection():
    h = Harness()
    for i in range(3):
        h.create("configmaps", {"metadata": {"name": f"dc{i}", "labels": {"group": "a" if i < 2 else "b"}}}, namespace="default")
    r = h.call("deletecollection", "configmaps", namespace="default", query={"labelSelector": "group=a"})
    assert r["code"] == 200
    assert [i["metadata"]["name"] for i in r["body"]["items"]] == ["dc0", "dc1"]
    h.run(0.2)
    assert [i["metadata"]["name"] for i in h.list("configmaps", namespace="default")["body"]["items"]] == ["dc2"]


def test_eviction_honours_pod_disruption_budgets():
    h = Harness()
    for i in range(3):
        h.create("pods", pod(f"e{i}", labels={"app": "web"}), namespace="default")
        bind(h, f"e{i}", "node-1")
        make_ready(h, f"e{i}")
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web-pdb"},
           "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}}
    assert h.create("poddisruptionbudgets", pdb, namespace="default", group="policy")["code"] == 201
    h.run(0.2)

    def evict(name):
        body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": "default"}, "deleteOptions": {}}
        return h.call("create", "pods", namespace="default", name=name, subresource="eviction", body=body)

    first = evict("e0")
    assert first["code"] == 201
    assert first["body"] == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
    assert h.get("pods", "e0", namespace="default")["body"]["metadata"]["deletionTimestamp"]
    h.run(0.2)
    second = evict("e1")
    assert second["code"] == 429
    assert second["body"] == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "Cannot evict pod as it would violate the pod's disruption budget.", "reason": "TooManyRequests",
        "details": {"causes": [{"reason": "DisruptionBudget", "message": "The disruption budget web-pdb needs 2 healthy pods and has 2 currently"}]},
        "code": 429,
    }
    assert "deletionTimestamp" not in h.get("pods", "e1", namespace="default")["body"]["metadata"]
    # An unbound pod of another app is evicted (deleted) at once.
    h.create("pods", pod("lonely"), namespace="default")
    assert evict("lonely")["code"] == 201
    assert h.get("pods", "lonely", namespace="default")["code"] == 404
    assert evict("ghost")["code"] == 404


def test_concurrent_evictions_do_not_both_pass():
    h = Harness()
    for i in range(3):
        h.create("pods", pod(f"c{i}", labels={"app": "db"}), namespace="default")
        bind(h, f"c{i}", "node-1")
        make_ready(h, f"c{i}")
    pdb = {"metadata": {"name": "db"}, "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "db"}}}}
    h.create("poddisruptionbudgets", pdb, namespace="default", group="policy")
    h.run(0.2)
    rids = [h.client.request("create", "pods", namespace="default", name=f"c{i}", subresource="eviction", body={"metadata": {"name": f"c{i}"}}) for i in range(3)]
    h.run_until(lambda: all(r in h.client.responses for r in rids))
    assert sorted(h.client.responses[r]["code"] for r in rids) == [201, 429, 429]


def test_logs_without_a_kubelet():
    h = Harness()
    h.create("pods", pod("l"), namespace="default")
    r = h.call("get", "pods", namespace="default", name="l", subresource="log")
    assert r["code"] == 400 and r["body"]["message"] == "pod l does not have a host assigned"
    bind(h, "l", "node-1")
    r = h.call("get", "pods", namespace="default", name="l", subresource="log")
    assert r["code"] == 400 and r["body"]["message"] == 'container "c" in pod "l" is waiting to start: ContainerCreating'
    r = h.call("get", "pods", namespace="default", name="l", subresource="log", query={"container": "other"})
    assert r["body"]["message"] == "container other is not valid for pod l"
    two = pod("two")
    two["spec"]["containers"].append({"name": "d", "image": "busybox"})
    h.create("pods", two, namespace="default")
    r = h.call("get", "pods", namespace="default", name="two", subresource="log")
    assert r["body"]["message"] == "a container name must be specified for pod two, choose one of: [c d]"


def running_on_node_1(kubelet_class, name):
    """A harness whose node-1 kubelet is `kubelet_class`, with pod `name` running there."""
    h = Harness(kubelet_endpoint="kubelet-{node}")
    h.sim.add(kubelet_class(h.sim, "kubelet-node-1"))
    h.create("pods", pod(name), namespace="default")
    bind(h, name, "node-1")
    p = h.get("pods", name, namespace="default")["body"]
    p["status"]["containerStatuses"] = [{"name": "c", "state": {"running": {}}, "ready": True, "restartCount": 0, "image": "nginx", "imageID": ""}]
    h.call("update", "pods", namespace="default", name=name, subresource="status", body=p)
    return h


def test_logs_from_a_kubelet_endpoint():
    from cluster.kernel import Component

    class FakeKubelet(Component):
        def on_message(self, msg):
            p = msg.payload
            if msg.kind == "kubelet.log":
                if p.get("follow"):
                    self.send(msg.source, "kubelet.log_response", {"id": p["id"], "code": 200, "text": "line 1\n", "stream": True})
                    self.send(msg.source, "kubelet.log_chunk", {"id": p["id"], "text": "line 2\n"})
                    self.send(msg.source, "kubelet.log_end", {"id": p["id"]})
                else:
                    self.send(msg.source, "kubelet.log_response", {"id": p["id"], "code": 200, "text": f"hello from {p['pod']}/{p['container']}\n"})

    h = running_on_node_1(FakeKubelet, "lk")
    r = h.call("get", "pods", namespace="default", name="lk", subresource="log")
    assert r == {"id": r["id"], "code": 200, "text": "hello from lk/c\n"}
    rid = h.client.request("get", "pods", namespace="default", name="lk", subresource="log", query={"follow": True})
    r = h.wait(rid)
    h.run(0.2)
    assert r["watch"] is True and r["text"] == "line 1\n"
    assert h.client.chunks[rid] == ["line 2\n"] and rid in h.client.ended


def test_a_log_request_to_a_node_that_is_down_fails_at_once():
    from cluster.kernel import Component

    class SilentKubelet(Component):
        pass

    h = running_on_node_1(SilentKubelet, "far")
    h.sim.crash("kubelet-node-1")
    sent = h.sim.now
    rid = h.client.request("get", "pods", namespace="default", name="far", subresource="log")
    r = h.wait(rid)
    assert r["code"] == 503 and r["body"]["reason"] == "ServiceUnavailable"
    assert r["body"]["message"] == 'Get "https://node-1:10250/containerLogs/default/far/c": dial tcp node-1:10250: connect: connection refused'
    assert h.sim.now - sent < SECOND  # a network round trip, not the 60 s request timeout
    assert not h.server.ops  # nothing left waiting for the kubelet
