"""The component as the kernel sees it: deterministic, picklable, a view for the dashboard,
and a restart that rebuilds the cache from etcd."""

import json
import pickle

from cluster.kernel import state_hash

from .harness import Harness, deployment, pod


def scenario(seed):
    h = Harness(seed=seed)
    w = h.watch("pods", namespace="default", query={"allowWatchBookmarks": True})
    for _ in range(3):
        h.create("pods", {"metadata": {"generateName": "gen-"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}, namespace="default")
    h.create("services", {"metadata": {"name": "svc"}, "spec": {"type": "NodePort", "ports": [{"port": 80}]}}, namespace="default")
    h.create("deployments", deployment("d"), namespace="default", group="apps")
    h.run(12)
    return h, w


def test_same_seed_same_event_log_and_state():
    a, _ = scenario(5)
    b, _ = scenario(5)
    assert a.sim.log.digest() == b.sim.log.digest()
    assert state_hash(a.server) == state_hash(b.server)
    names_a = [i["metadata"]["name"] for i in a.list("pods", namespace="default")["body"]["items"]]
    c, _ = scenario(6)
    names_c = [i["metadata"]["name"] for i in c.list("pods", namespace="default")["body"]["items"]]
    assert names_a != names_c  # uids and generated names come from the seeded stream


def test_checkpoint_mid_run_and_continue():
    h, w = scenario(3)
    blob = pickle.dumps(h)
    copy = pickle.loads(blob)
    h.create("pods", pod("after"), namespace="default")
    copy.create("pods", pod("after"), namespace="default")
    assert h.sim.log.digest() == copy.sim.log.digest()
    assert state_hash(h.server) == state_hash(copy.server)


def test_view_is_json_safe_and_useful():
    h, w = scenario(4)
    rid = h.client.request("list", "pods", namespace="default")
    h.sim.step()
    h.sim.step()
    view = h.server.view()
    json.dumps(view, allow_nan=False)
    assert view["phase"] == "ready"
    assert view["etcd_member"] in ("etcd-0", "etcd-1", "etcd-2")
    assert view["watches"] == {"pods": 1}
    assert view["cache"]["revision"] == h.server.cache.revision
    assert view["etcd_watch"]["state"] == "active"
    h.wait(rid)
    assert h.server.view()["requests"] == []


def test_in_flight_requests_show_their_stage():
    h = Harness()
    rid = h.client.request("create", "pods", namespace="default", body=pod("inflight"))
    h.run_until(lambda: h.server.view()["requests"], 5, step_ms=1)
    (request,) = h.server.view()["requests"]
    assert request["client"] == "client" and request["verb"] == "create" and request["stage"] == "etcd"
    h.wait(rid)


def test_apiserver_restart_relists_and_serves_again():
    h = Harness()
    h.create("configmaps", {"metadata": {"name": "survives"}}, namespace="default")
    h.sim.crash("kube-apiserver")
    h.run(0.5)
    h.sim.restart("kube-apiserver")
    h.run_until(lambda: h.server.phase == "ready", 10)
    assert h.get("configmaps", "survives", namespace="default")["code"] == 200
    assert [i["metadata"]["name"] for i in h.list("namespaces")["body"]["items"]] == ["default", "kube-node-lease", "kube-public", "kube-system"]
    assert not [e for e in h.sim.log.events if e["kind"] == "api.error"]


def test_requests_wait_for_the_cache_at_start():
    h = Harness(ready=False)
    rid = h.client.request("list", "namespaces")
    r = h.wait(rid, 30)
    assert r["code"] == 200 and len(r["body"]["items"]) == 4
    assert any(e["kind"] == "api.wait" for e in h.sim.log.events)


def test_service_addresses():
    h = Harness()
    a = h.create("services", {"metadata": {"name": "a"}, "spec": {"ports": [{"port": 80}], "selector": {"app": "a"}}}, namespace="default")["body"]
    assert a["spec"]["type"] == "ClusterIP" and a["spec"]["sessionAffinity"] == "None"
    ip = a["spec"]["clusterIP"]
    assert ip.startswith("10.") and a["spec"]["clusterIPs"] == [ip]
    assert a["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    n = h.create("services", {"metadata": {"name": "n"}, "spec": {"type": "NodePort", "ports": [{"port": 80}]}}, namespace="default")["body"]
    assert 30000 <= n["spec"]["ports"][0]["nodePort"] <= 32767 and n["spec"]["clusterIP"] != ip
    taken = h.create("services", {"metadata": {"name": "t"}, "spec": {"clusterIP": ip, "ports": [{"port": 80}]}}, namespace="default")
    assert taken["code"] == 422
    assert taken["body"]["details"]["causes"][0]["message"] == f'Invalid value: []string{{"{ip}"}}: failed to allocate IP {ip}: provided IP is already allocated'
    headless = h.create("services", {"metadata": {"name": "h"}, "spec": {"clusterIP": "None", "selector": {"app": "a"}}}, namespace="default")["body"]
    assert headless["spec"]["clusterIP"] == "None"
    # An update that leaves out the IP keeps it.
    body = {"metadata": {"name": "a"}, "spec": {"ports": [{"port": 81}], "selector": {"app": "a"}}}
    assert h.update("services", body, namespace="default")["body"]["spec"]["clusterIP"] == ip
