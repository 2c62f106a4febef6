"""kube-scheduler in a simulated cluster: etcd, kube-apiserver and the scheduler, with a
scripted client that creates Node objects through the API server (no kubelets here)."""

from cluster.kernel import state_hash

from .harness import SimHarness, node, pod

CONTROL_PLANE = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
KUBELET = {"name": "system:node:node-1", "groups": ["system:nodes"]}


def condition(p, kind="PodScheduled"):
    return next((c for c in p["status"].get("conditions") or [] if c["type"] == kind), None)


def test_a_pod_short_of_cpu_waits_and_fits_once_a_node_is_added():
    h = SimHarness()
    h.create_node(node("node-1", cpu="2"))
    h.create_pod(pod("small", cpu="1"))
    assert h.wait_bound("small") == "node-1"
    h.create_pod(pod("big", cpu="1500m"))
    h.run(3)
    p = h.get_pod("big")
    assert p["spec"].get("nodeName") is None and p["status"]["phase"] == "Pending"
    message = "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.."
    assert {k: condition(p)[k] for k in ("status", "reason", "message")} == {"status": "False", "reason": "Unschedulable", "message": message}
    events = h.events_for("big")
    assert [(e["type"], e["reason"], e["message"]) for e in events] == [("Warning", "FailedScheduling", message)]
    assert events[0]["source"]["component"] == "default-scheduler"
    assert h.scheduler.view()["queue"]["unschedulable"][0]["pod"] == "default/big"
    h.create_node(node("node-2", cpu="4"))
    assert h.wait_bound("big") == "node-2"
    bound = h.get_pod("big")
    assert condition(bound)["status"] == "True"
    h.run(0.5)
    assert [e["reason"] for e in h.events_for("big")] == ["FailedScheduling", "Scheduled"]
    assert h.events_for("big")[1]["message"] == "Successfully assigned default/big to node-2"
    decisions = h.scheduler.pod_decisions("default", "big")
    assert [a["result"] for a in decisions["attempts"]] == ["unschedulable", "scheduled"]
    assert decisions["attempts"][-1]["binding"] == "bound" and decisions["attempts"][-1]["node"] == "node-2"
    kinds = [e["kind"] for e in h.sim.log.events if e["kind"].startswith("scheduler.")]
    assert "scheduler.move" in kinds and kinds.count("scheduler.bound") == 2


def test_taints_keep_pods_off_the_control_plane():
    h = SimHarness()
    h.create_node(node("control-plane", taints=[CONTROL_PLANE]))
    h.create_node(node("worker"))
    for i in range(3):
        h.create_pod(pod(f"app-{i}", cpu="100m"))
    h.create_pod(pod("agent", cpu="100m", nodeSelector={"kubernetes.io/hostname": "control-plane"},
                     tolerations=[{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}]))
    assert {h.wait_bound(f"app-{i}") for i in range(3)} == {"worker"}
    assert h.wait_bound("agent") == "control-plane"
    row = next(r for r in h.scheduler.pod_decisions("default", "app-0")["attempts"][0]["nodes"] if r["name"] == "control-plane")
    assert row["filters"][-1] == {"plugin": "TaintToleration", "status": "UnschedulableAndUnresolvable",
                                  "reason": "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"}


def test_node_affinity_and_anti_affinity_spread_replicas():
    h = SimHarness()
    for i, zone in enumerate(["a", "a", "b", "c"], start=1):
        h.create_node(node(f"node-{i}", labels={"zone": zone, "disk": "ssd" if i != 2 else "hdd"}))
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "zone"}]},
            "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}]}}}
    for i in range(4):
        h.create_pod(pod(f"web-{i}", cpu="100m", labels={"app": "web"}, affinity=anti))
    h.run_until(lambda: sum(1 for i in range(3) if h.scheduler.pods.get(f"default/web-{i}")["spec"].get("nodeName")) + (
        1 if h.scheduler.pods.get("default/web-3")["spec"].get("nodeName") else 0) >= 3 and h.scheduler.records.get("default/web-3") is not None, 30)
    h.run(2)
    placed = {h.node_of(f"web-{i}") for i in range(4)}
    zones = {"node-1": "a", "node-2": "a", "node-3": "b", "node-4": "c"}
    assert None in placed and len(placed - {None}) == 3 and {zones[n] for n in placed - {None}} == {"a", "b", "c"}
    assert "node-2" not in placed  # hdd: node affinity keeps it out
    pending = next(f"web-{i}" for i in range(4) if h.node_of(f"web-{i}") is None)
    message = condition(h.get_pod(pending))["message"]
    assert message.startswith("0/4 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 3 node(s) didn't match pod anti-affinity rules.")


def test_topology_spread_evens_out_zones():
    h = SimHarness()
    for i, zone in enumerate(["a", "a", "b", "b", "c", "c"], start=1):
        h.create_node(node(f"node-{i}", labels={"zone": zone}))
    constraint = [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "api"}}}]
    for i in range(6):
        h.create_pod(pod(f"api-{i}", cpu="100m", labels={"app": "api"}, topologySpreadConstraints=constraint))
    nodes = [h.wait_bound(f"api-{i}") for i in range(6)]
    per_zone = {}
    for name in nodes:
        zone = "abc"[(int(name.split("-")[1]) - 1) // 2]
        per_zone[zone] = per_zone.get(zone, 0) + 1
    assert per_zone == {"a": 2, "b": 2, "c": 2}


def test_preemption_evicts_the_lower_priority_pod_through_the_api_server():
    h = SimHarness()
    h.create_node(node("node-1", cpu="2"))
    h.create_pod(pod("low", cpu="1500m", priority=0))
    assert h.wait_bound("low") == "node-1"
    h.create_pod(pod("high", cpu="1500m", priority=1000))
    h.run_until(lambda: (h.scheduler.pods.get("default/low") or {}).get("metadata", {}).get("deletionTimestamp"), 10)
    low = h.get_pod("low")
    assert condition(low, "DisruptionTarget")["reason"] == "PreemptionByScheduler"
    assert low["metadata"]["deletionGracePeriodSeconds"] == 30  # a graceful delete: the kubelet must confirm
    high = h.get_pod("high")
    assert high["status"]["nominatedNodeName"] == "node-1" and not high["spec"].get("nodeName")
    attempt = h.scheduler.pod_decisions("default", "high")["attempts"][0]
    assert attempt["nominated_node"] == "node-1" and attempt["victims"] == ["default/low"]
    assert attempt["message"] == "0/1 nodes are available: 1 Insufficient cpu."
    assert any(e["reason"] == "Preempted" for e in h.events_for("low"))
    # the kubelet's part: the container has stopped, confirm the deletion
    assert h.call("delete", "pods", namespace="default", name="low", body={"gracePeriodSeconds": 0}, user=KUBELET)["code"] == 200
    assert h.wait_bound("high") == "node-1"
    assert h.scheduler.pod_decisions("default", "high")["attempts"][-1]["scoring"] == "nominated node"


def test_the_scheduler_survives_a_crash():
    h = SimHarness()
    h.create_node(node("node-1"))
    h.sim.crash("kube-scheduler")
    h.create_pod(pod("while-down", cpu="100m"))
    h.run(1)
    assert h.node_of("while-down") is None
    h.sim.restart("kube-scheduler")
    assert h.wait_bound("while-down") == "node-1"


def scenario(seed):
    h = SimHarness(seed=seed)
    for i in range(1, 5):
        h.create_node(node(f"node-{i}", cpu="4", labels={"zone": "ab"[i % 2]}))
    for i in range(12):
        h.create_pod(pod(f"p-{i}", cpu="500m", labels={"app": "x"}))
    h.run_until(lambda: all(h.scheduler.pods.get(f"default/p-{i}")["spec"].get("nodeName") for i in range(12)), 30)
    h.run(1)
    decisions = {i: h.scheduler.pod_decisions("default", f"p-{i}")["attempts"] for i in range(12)}
    return decisions, h.sim.log.digest(), state_hash(h.scheduler.records)


def test_decisions_are_identical_across_runs_with_one_seed():
    first, second = scenario(5), scenario(5)
    assert first == second
    spread = {a[-1]["node"] for a in first[0].values()}
    assert len(spread) == 4  # equal nodes: least-allocated scoring spreads the pods


def test_every_cluster_has_a_scheduler_that_places_pods_on_real_nodes():
    import json

    from cluster.cluster import Cluster, ClusterConfig
    from cluster.kernel import SECOND

    cluster = Cluster(ClusterConfig(name="s", seed=3, nodes=2, etcd_members=1, profile="realistic"))
    cluster.advance(15 * SECOND)
    for i in range(3):
        body = {"metadata": {"name": f"web-{i}"}, "spec": {"containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": "500m"}}}]}}
        cluster.command({"type": "kube", "verb": "create", "group": "", "version": "v1", "resource": "pods", "namespace": "default", "body": body})
    cluster.advance(SECOND // 10)
    restored = Cluster.restore(cluster.checkpoint())  # mid-flight: pods queued, bindings to come
    cluster.advance(15 * SECOND)
    restored.advance(15 * SECOND)
    assert restored.event_digest() == cluster.event_digest() and restored.state_hash() == cluster.state_hash()
    scheduler = cluster.sim.components["kube-scheduler"]
    placed = [scheduler.pod_decisions("default", f"web-{i}")["attempts"][-1] for i in range(3)]
    assert all(a["binding"] == "bound" for a in placed) and {a["node"] for a in placed} == {"node-1", "node-2"}
    view = next(c for c in json.loads(json.dumps(cluster.snapshot(), allow_nan=False))["components"] if c["name"] == "kube-scheduler")
    assert view["phase"] == "ready" and view["counters"]["bound"] == 3 and view["cycle"]["pod"].startswith("default/web-")
    assert set(view["queue"]) == {"active", "backoff", "unschedulable", "gated", "in_flight", "counts"}
    replayed = Cluster.replay(cluster.config, cluster.command_log, until_us=cluster.now)
    assert replayed.event_digest() == cluster.event_digest()


def test_a_pod_waiting_for_affinity_follows_once_its_partner_is_bound():
    h = SimHarness()
    h.create_node(node("node-1", labels={"zone": "a"}))
    h.create_node(node("node-2", labels={"zone": "b"}))
    near_cache = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": "zone"}]}}
    h.create_pod(pod("web", cpu="100m", labels={"app": "web"}, affinity=near_cache))
    h.run_until(lambda: h.scheduler.queue.where("default/web") == "unschedulable", 10)
    assert h.scheduler.view()["queue"]["unschedulable"][0]["plugins"] == ["InterPodAffinity"]
    h.create_pod(pod("cache", cpu="100m", labels={"app": "cache"}))
    cache_node = h.wait_bound("cache")
    assert h.wait_bound("web", seconds=5) == cache_node  # moved by the AssignedPodAdd event, not the 5-minute flush


def test_a_deleted_pod_or_a_changed_node_sends_unschedulable_pods_back():
    h = SimHarness()
    h.create_node(node("node-1", cpu="2"))
    h.create_node(node("node-2", cpu="8", unschedulable=True))  # cordoned
    h.create_pod(pod("first", cpu="1500m"))
    assert h.wait_bound("first") == "node-1"
    h.create_pod(pod("second", cpu="1500m"))  # same priority: no preemption
    h.create_pod(pod("third", cpu="1", nodeSelector={"kubernetes.io/hostname": "node-2"}))
    h.run(2)
    pool = {e["pod"]: e["plugins"] for e in h.scheduler.view()["queue"]["unschedulable"]}
    # node-2 is cordoned (NodeUnschedulable runs first), node-1 is not the one "third" selects
    assert pool == {"default/second": ["NodeResourcesFit", "NodeUnschedulable"], "default/third": ["NodeAffinity", "NodeUnschedulable"]}
    # a pod deleted from node-1 frees its cpu: "second" leaves the pool and takes its place
    assert h.call("delete", "pods", namespace="default", name="first", body={"gracePeriodSeconds": 0}, user=KUBELET)["code"] == 200
    assert h.wait_bound("second") == "node-1"
    moves = [e["data"] for e in h.sim.log.events if e["kind"] == "scheduler.move"]
    assert moves and moves[0]["event"] == "AssignedPodDelete" and "default/second" in moves[0]["pods"]
    assert h.scheduler.view()["queue"]["unschedulable"][0]["pod"] == "default/third"
    # uncordoning node-2 (a node update) lets "third" through: its selector names node-2
    assert h.call("patch", "nodes", name="node-2", body={"spec": {"unschedulable": False}}, patch_type="merge")["code"] == 200
    assert h.wait_bound("third") == "node-2"
    assert [a["result"] for a in h.scheduler.pod_decisions("default", "third")["attempts"]] == ["unschedulable", "scheduled"]


def test_every_attempt_goes_on_the_stream_with_a_compact_table():
    h = SimHarness()
    h.create_node(node("control-plane", taints=[CONTROL_PLANE]))
    for name, cpu in (("small", "1"), ("large", "4")):
        h.create_node(node(name, cpu=cpu))
    h.create_pod(pod("web", cpu="500m"))
    h.create_pod(pod("huge", cpu="6"))
    assert h.wait_bound("web") == "large"  # LeastAllocated: the bigger node has more room left
    h.run(1)
    events = {e["data"]["pod"]: e for e in h.sim.log.events if e["kind"] == "scheduler.attempt"}
    web = events["default/web"]["data"]
    record = h.scheduler.pod_decisions("default", "web")["attempts"][0]
    totals = {r["name"]: r["total"] for r in record["nodes"]}
    assert {k: web[k] for k in ("attempt", "result", "node", "examined", "total_nodes", "feasible", "nominated_node", "victims")} == {
        "attempt": 1, "result": "scheduled", "node": "large", "examined": 3, "total_nodes": 3, "feasible": 2, "nominated_node": None, "victims": []}
    assert web["table"] == [
        {"name": "large", "fit": "pass", "total": totals["large"]},
        {"name": "small", "fit": "pass", "total": totals["small"]},
        {"name": "control-plane", "fit": "TaintToleration: node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }", "total": None},
    ]
    assert totals["large"] > totals["small"]
    huge = events["default/huge"]["data"]
    assert (huge["result"], huge["node"], huge["feasible"]) == ("unschedulable", None, 0)
    assert {r["fit"] for r in huge["table"]} == {"NodeResourcesFit: Insufficient cpu", "TaintToleration: node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"}
    assert events["default/web"]["seq"] < next(e["seq"] for e in h.sim.log.events if e["kind"] == "scheduler.bind" and e["data"]["pod"] == "default/web")
