"""The node: registration, Lease heartbeats, NodeStatus, node faults (crash, restart, partition,
a kubelet alone falling), node-pressure eviction, and adding and removing nodes in a Cluster."""

import pytest

from cluster.apiserver.meta import parse_time
from cluster.kernel import SECOND

from .harness import NodeHarness, container_pod


def lease(h, node):
    r = h.get("leases", node, namespace="kube-node-lease", group="coordination.k8s.io")
    return r["body"] if r["code"] == 200 else None


def test_the_kubelet_registers_its_node():
    h = NodeHarness(nodes=2, node_options={"labels": {"zone": "a"}})
    node = h.get("nodes", "node-2")["body"]
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "node-2" and node["metadata"]["labels"]["zone"] == "a"
    assert node["spec"]["podCIDR"] == "10.244.2.0/24"
    status = node["status"]
    assert status["capacity"]["cpu"] == "4" and status["capacity"]["memory"] == f"{8 * 1024 * 1024}Ki" and status["capacity"]["pods"] == "110"
    assert status["allocatable"]["memory"] == f"{(8 * 1024 - 100) * 1024}Ki"  # less the 100Mi hard eviction threshold
    assert {"type": "InternalIP", "address": "172.18.0.3"} in status["addresses"]
    info = status["nodeInfo"]
    assert info["kubeletVersion"] == "v1.32.0" and info["containerRuntimeVersion"] == "containerd://1.7.24" and info["operatingSystem"] == "linux"
    conditions = {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}
    assert conditions == {"MemoryPressure": ("False", "KubeletHasSufficientMemory"), "DiskPressure": ("False", "KubeletHasNoDiskPressure"),
                          "PIDPressure": ("False", "KubeletHasSufficientPID"), "Ready": ("True", "KubeletReady")}
    table = h.list("nodes", as_table=True)["body"]["rows"]
    assert [row["cells"][:2] for row in table] == [["node-1", "Ready"], ["node-2", "Ready"]]


def test_the_lease_is_renewed_every_ten_seconds():
    h = NodeHarness(nodes=1)
    first = lease(h, "node-1")
    assert first["spec"]["holderIdentity"] == "node-1" and first["spec"]["leaseDurationSeconds"] == 40
    h.run(30)
    renewals = [e["time"] for e in h.events("kubelet.heartbeat")]
    gaps = {round(b - a) for a, b in zip(renewals, renewals[1:], strict=False)}
    assert gaps == {10}
    later = lease(h, "node-1")
    assert parse_time(later["spec"]["renewTime"]) > parse_time(first["spec"]["renewTime"])


def test_a_node_crash_stops_heartbeats_and_its_containers_come_back_after_restart():
    h = NodeHarness(nodes=1)
    h.run_pod(container_pod("web", image="nginx:1.27"))
    h.run_pod(container_pod("once", image="busybox", container={"command": ["sleep", "3600"]}, restartPolicy="Never"))
    h.wait_for(lambda: h.condition("web", "Ready") == "True" and h.pod_phase("once") == "Running")
    ip_before = h.pod("web")["status"]["podIP"]
    for name in ("node-1/kubelet", "node-1/containerd"):
        h.sim.crash(name)
    crashed_at = h.sim.now
    h.run(60)
    # No heartbeat since the crash: the Lease is stale (renewTime more than 40 s ago).
    renew = parse_time(lease(h, "node-1")["spec"]["renewTime"])
    assert renew <= crashed_at and h.sim.now - renew > 40 * SECOND
    assert [e for e in h.events("kubelet.heartbeat") if e["time"] * SECOND > crashed_at] == []
    # The pods still say Running: nobody has told the API server otherwise (the node
    # lifecycle controller would mark the node NotReady and the pods not ready).
    assert h.pod_phase("web") == "Running"
    for name in ("node-1/containerd", "node-1/kubelet"):
        h.sim.restart(name)
    h.wait_for(lambda: (h.container_status("web") or {}).get("restartCount") == 1 and h.condition("web", "Ready") == "True", 60)
    web = h.container_status("web")
    assert web["lastState"]["terminated"]["exitCode"] == 255 and web["lastState"]["terminated"]["reason"] == "Unknown"
    assert h.pod("web")["status"]["podIP"] != ip_before or True  # a new sandbox (the address may be reused)
    # restartPolicy Never: the container that died with the node is not started again.
    h.wait_for(lambda: h.pod_phase("once") == "Failed", 30)
    assert [e for e in h.events("kubelet.heartbeat") if e["time"] * SECOND > crashed_at]


def test_a_kubelet_restart_alone_adopts_the_running_containers():
    h = NodeHarness(nodes=1)
    h.run_pod(container_pod("web", image="nginx:1.27"))
    h.wait_for(lambda: h.condition("web", "Ready") == "True")
    container = h.container_status("web")["containerID"]
    h.sim.crash("node-1/kubelet")
    h.run(5)
    h.sim.restart("node-1/kubelet")
    h.run(10)
    assert h.container_status("web")["containerID"] == container and h.container_status("web")["restartCount"] == 0
    assert h.condition("web", "Ready") == "True"
    assert [e for e in h.events("kubelet.adopt")][0]["data"]["pod"] == "default/web"
    assert sum(1 for e in h.events("runtime.started")) == 1  # nothing started twice


def test_a_partitioned_node_keeps_its_pods_running_but_its_status_goes_stale():
    h = NodeHarness(nodes=2)
    h.run_pod(container_pod("web", image="nginx:1.27"), node="node-1")
    h.wait_for(lambda: h.condition("web", "Ready") == "True")
    h.sim.net.partition([["node-1"], [n for n in h.sim.hosts() if n != "node-1"]])
    cut = h.sim.now
    h.run(50)
    assert h.sim.now - parse_time(lease(h, "node-1")["spec"]["renewTime"]) > 40 * SECOND
    assert h.sim.now - parse_time(lease(h, "node-2")["spec"]["renewTime"]) <= 10 * SECOND
    # The container runs on: containerd is on the node's side of the cut.
    assert h.runtimes["node-1"].view()["containers"][0]["state"] == "CONTAINER_RUNNING"
    h.sim.net.heal()
    h.wait_for(lambda: h.sim.now - parse_time(lease(h, "node-1")["spec"]["renewTime"]) < 5 * SECOND, 30)
    assert h.container_status("web")["restartCount"] == 0 and cut < h.sim.now


def test_memory_pressure_evicts_the_pod_that_exceeds_its_request():
    h = NodeHarness(nodes=1, node_options={"memory": "1Gi"})
    h.run_pod(container_pod("calm", image="nginx:1.27", container={"resources": {"requests": {"memory": "64Mi"}}}))
    # 10Mi a second: the eviction manager (every 10 s) sees the node below its 100Mi threshold
    # before the kernel runs out of memory (a faster hog would be OOM-killed first, as on real nodes).
    h.run_pod(container_pod("hog", image="clusterscope/memhog", container={"args": ["--rate=10Mi"]}))
    h.wait_for(lambda: h.pod_phase("hog") == "Failed", 150)
    status = h.pod("hog")["status"]
    assert status["reason"] == "Evicted" and status["message"].startswith("The node was low on resource: memory. Threshold quantity: 100Mi")
    assert h.pod_phase("calm") == "Running"
    assert h.events("kubelet.evict")[0]["data"]["pod"] == "default/hog"
    node = h.get("nodes", "node-1")["body"]
    assert any(c["type"] == "MemoryPressure" for c in node["status"]["conditions"])


@pytest.mark.parametrize("profile", ["teaching", "realistic"])
def test_a_cluster_builds_its_nodes_and_adds_and_removes_them(profile):
    from cluster.cluster import Cluster, ClusterConfig
    from cluster.commands import CommandError

    cluster = Cluster(ClusterConfig(name="n", seed=2, nodes=2, profile=profile))
    cluster.advance(40 * SECOND)
    nodes = cluster.snapshot()["nodes"]
    assert [n["node"] for n in nodes] == ["node-1", "node-2"] and all(n["ready"] for n in nodes)
    assert nodes[0]["runtime"]["name"] == "node-1/containerd" and nodes[0]["allocatable"]["cpu_m"] == 4000
    added = cluster.command({"type": "node", "action": "add", "name": "gpu-1", "cpu": "8000m", "memory": "16Gi", "labels": {"gpu": "yes"},
                             "taints": [{"key": "gpu", "value": "true", "effect": "NoSchedule"}]})
    assert added["node"]["pod_cidr"] == "10.244.3.0/24" and added["node"]["cpu"] == "8"
    with pytest.raises(CommandError) as exists:
        cluster.command({"type": "node", "action": "add", "name": "gpu-1"})
    assert exists.value.status == 409
    cluster.advance(10 * SECOND)
    kubelet = cluster.sim.components["gpu-1/kubelet"]
    assert kubelet.registered
    cluster.command({"type": "node", "action": "remove", "name": "node-2"})
    with pytest.raises(CommandError) as gone:
        cluster.command({"type": "fault", "action": "restart", "target": "node-2"})
    assert gone.value.status == 404
    cluster.advance(10 * SECOND)
    assert [n["node"] for n in cluster.snapshot()["nodes"]] == ["gpu-1", "node-1"]
    rid = cluster.command({"type": "kube", "verb": "list", "group": "", "version": "v1", "resource": "nodes"})["id"]
    cluster.advance(10 * SECOND)
    items = cluster.sim.components["kubectl"].result(rid)["body"]["items"]
    assert [i["metadata"]["name"] for i in items] == ["gpu-1", "node-1"]
    gpu = items[0]
    assert gpu["spec"]["taints"] == [{"key": "gpu", "value": "true", "effect": "NoSchedule"}] and gpu["metadata"]["labels"]["gpu"] == "yes"
    # The same name can come back as a new machine.
    cluster.command({"type": "node", "action": "add", "name": "node-2"})
    cluster.advance(10 * SECOND)
    assert cluster.sim.components["node-2/kubelet"].registered
    replayed = Cluster.replay(cluster.config, cluster.command_log, until_us=cluster.now)
    assert replayed.event_digest() == cluster.event_digest() and replayed.state_hash() == cluster.state_hash()


def test_node_command_validation():
    from cluster.cluster import Cluster, ClusterConfig
    from cluster.commands import CommandError

    cluster = Cluster(ClusterConfig(name="v", nodes=1, etcd_members=1))
    bad = [
        ({"action": "add", "name": "Node_1"}, "name"),
        ({"action": "add", "name": "n", "cpu": "lots"}, "cpu"),
        ({"action": "add", "name": "n", "memory": "1Mi"}, "memory"),
        ({"action": "add", "name": "n", "labels": {"bad key!": "x"}}, "labels"),
        ({"action": "add", "name": "n", "taints": [{"key": "k", "effect": "Sometimes"}]}, "taints"),
        ({"action": "add", "name": "kube-apiserver"}, "name"),
        ({"action": "remove", "name": "node-9"}, "name"),
        ({"action": "explode", "name": "node-1"}, "action"),
        ({"action": "add", "name": "n", "extra": 1}, "extra"),
    ]
    for cmd, field in bad:
        with pytest.raises(CommandError) as err:
            cluster.command({"type": "node", **cmd})
        assert err.value.field == field, cmd
    assert cluster.command_log == []


def test_a_node_crash_end_to_end_not_ready_eviction_and_replacement_elsewhere():
    from cluster.controllers import build_controller_manager
    from cluster.scheduler.component import build_scheduler

    from ..apiserver.harness import FAST, deployment

    h = NodeHarness(nodes=2)
    build_controller_manager(h.sim, profile=FAST)
    build_scheduler(h.sim, FAST)
    body = deployment("web", replicas=2, image="nginx:1.27")
    # Tolerate an unreachable node for 20 s instead of the API server's default 300 s.
    body["spec"]["template"]["spec"]["tolerations"] = [
        {"key": f"node.kubernetes.io/{taint}", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 20} for taint in ("unreachable", "not-ready")]
    assert h.create("deployments", body, namespace="default", group="apps")["code"] == 201

    def pods():
        items = h.list("pods", namespace="default")["body"]["items"]
        return sorted((p["spec"].get("nodeName"), p["status"].get("phase"), bool(p["metadata"].get("deletionTimestamp")), p["metadata"]["name"]) for p in items)

    h.wait_for(lambda: sorted(p[:3] for p in pods()) == [("node-1", "Running", False), ("node-2", "Running", False)], 60)
    lost = next(p[3] for p in pods() if p[0] == "node-1")
    h.sim.crash("node-1/kubelet")
    h.sim.crash("node-1/containerd")
    # The node lifecycle controller sees no heartbeat for 40 s: Ready becomes Unknown (NotReady).
    h.wait_for(lambda: {c["type"]: c["status"] for c in h.get("nodes", "node-1")["body"]["status"]["conditions"]}["Ready"] == "Unknown", 60)
    assert h.list("nodes", as_table=True)["body"]["rows"][0]["cells"][1] == "Unknown"
    # 20 s later the pod is evicted (Terminating: nobody on node-1 confirms) and replaced on node-2.
    h.wait_for(lambda: [p[:3] for p in pods()] == [("node-1", "Running", True), ("node-2", "Running", False), ("node-2", "Running", False)], 60)
    # The node comes back: its kubelet finishes the evicted pod's deletion.
    h.sim.restart("node-1/containerd")
    h.sim.restart("node-1/kubelet")
    h.wait_for(lambda: lost not in [p[3] for p in pods()], 60)
    assert [p[:3] for p in pods()] == [("node-2", "Running", False), ("node-2", "Running", False)]


def test_containerd_restarting_alone_is_noticed_and_the_pod_rebuilt():
    h = NodeHarness(nodes=1)
    h.run_pod(container_pod("web", image="nginx:1.27"))
    h.wait_for(lambda: h.condition("web", "Ready") == "True")
    h.sim.crash("node-1/containerd")
    h.run(12)
    node = h.get("nodes", "node-1")["body"]
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False" and ready["reason"] == "KubeletNotReady"
    h.sim.restart("node-1/containerd")
    h.wait_for(lambda: (h.container_status("web") or {}).get("restartCount") == 1 and h.condition("web", "Ready") == "True", 60)
    assert h.container_status("web")["lastState"]["terminated"]["exitCode"] == 255
    assert h.runtime_calls("node-1")[-4:] == ["RunPodSandbox", "ImageStatus", "CreateContainer", "StartContainer"]
