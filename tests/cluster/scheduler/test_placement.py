"""TaintToleration, NodeAffinity, NodeUnschedulable, NodeName, NodePorts and ImageLocality,
against worked expectations from Kubernetes' formulas."""

from cluster.scheduler.framework.types import normalized_image
from cluster.scheduler.plugins.imagelocality import calculate_priority

from .harness import cluster_of, node, only, pod, schedule, scores_of

MIB = 2**20
CONTROL_PLANE = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def rejection(result, name):
    status = result.diagnosis.statuses[name]
    return status.plugin, status.code, status.message


# --- TaintToleration ----------------------------------------------------------------------------
def test_untolerated_taints_reject_with_kubernetes_wording():
    cache = cluster_of([node("cp", taints=[CONTROL_PLANE]), node("gpu", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoExecute"}]), node("w")])
    result = schedule(cache, pod("p"), only(["TaintToleration"]))
    assert result.node == "w"
    assert rejection(result, "cp") == ("TaintToleration", "UnschedulableAndUnresolvable", "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }")
    assert rejection(result, "gpu")[2] == "node(s) had untolerated taint {dedicated: gpu}"


def test_tolerations_equal_exists_and_effects():
    cache = cluster_of([node("gpu", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}])])
    equal = [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]
    assert schedule(cache, pod("p", tolerations=equal), only(["TaintToleration"])).node == "gpu"
    wrong_value = [{"key": "dedicated", "operator": "Equal", "value": "tpu"}]
    assert schedule(cache, pod("p", tolerations=wrong_value), only(["TaintToleration"])).node is None
    exists_any_effect = [{"key": "dedicated", "operator": "Exists"}]
    assert schedule(cache, pod("p", tolerations=exists_any_effect), only(["TaintToleration"])).node == "gpu"
    other_effect = [{"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}]
    assert schedule(cache, pod("p", tolerations=other_effect), only(["TaintToleration"])).node is None
    everything = [{"operator": "Exists"}]
    assert schedule(cache, pod("p", tolerations=everything), only(["TaintToleration"])).node == "gpu"


def test_prefer_no_schedule_taints_score_reversed():
    # untolerated PreferNoSchedule taints: a 2, b 1, c 0 -> normalized 100 - 100*n/2: 0, 50, 100
    soft = lambda k: {"key": k, "effect": "PreferNoSchedule"}  # noqa: E731
    cache = cluster_of([node("a", taints=[soft("x"), soft("y")]), node("b", taints=[soft("x")]), node("c")])
    result = schedule(cache, pod("p"), only(["TaintToleration"]))
    assert scores_of(result, "TaintToleration") == {"a": (2, 0), "b": (1, 50), "c": (0, 100)}
    assert result.node == "c"
    # tolerating x (a toleration with no effect counts for scoring) leaves a with 1 and b with 0
    tolerant = schedule(cache, pod("p", tolerations=[{"key": "x", "operator": "Exists"}]), only(["TaintToleration"]))
    assert scores_of(tolerant, "TaintToleration") == {"a": (1, 0), "b": (0, 100), "c": (0, 100)}


# --- NodeAffinity --------------------------------------------------------------------------------
ZONES = [node("n1", labels={"zone": "a", "disk": "ssd"}), node("n2", labels={"zone": "a"}), node("n3", labels={"disk": "ssd", "cpus": "16"}), node("n4", labels={"cpus": "4"})]


def test_node_selector_and_required_terms():
    cache = cluster_of(ZONES)
    result = schedule(cache, pod("p", nodeSelector={"zone": "a", "disk": "ssd"}), only(["NodeAffinity"]))
    assert result.node == "n1"
    assert rejection(result, "n2") == ("NodeAffinity", "UnschedulableAndUnresolvable", "node(s) didn't match Pod's node affinity/selector")
    # terms are ORed, expressions within a term ANDed; Gt compares integers
    required = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}, {"key": "disk", "operator": "DoesNotExist"}]},
        {"matchExpressions": [{"key": "cpus", "operator": "Gt", "values": ["8"]}]},
    ]}}}
    result = schedule(cache, pod("p", affinity=required), only(["NodeAffinity"]))
    assert sorted(n.name for n in result.feasible) == ["n2", "n3"]


def test_match_fields_narrow_the_nodes_examined():
    pinned = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n3"]}]}]}}}
    result = schedule(cluster_of(ZONES), pod("ds", affinity=pinned, cpu="100"), only(["NodeAffinity", "NodeResourcesFit"]))
    assert [n.name for n in result.examined] == ["n3"]
    assert result.message == "0/4 nodes are available: 1 Insufficient cpu, 3 node(s) didn't satisfy plugin(s) [NodeAffinity]."


def test_preferred_terms_sum_weights_then_scale_to_the_best():
    preferred = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 20, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}},
        {"weight": 30, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}},
    ]}}
    result = schedule(cluster_of(ZONES), pod("p", affinity=preferred), only(["NodeAffinity"], {"NodeAffinity": 2}))
    # raw: n1 50, n2 20, n3 30, n4 0 -> normalized 100*raw/50
    assert scores_of(result, "NodeAffinity") == {"n1": (50, 100), "n2": (20, 40), "n3": (30, 60), "n4": (0, 0)}
    assert result.totals == [200, 80, 120, 0] and result.node == "n1"


# --- the small filters ------------------------------------------------------------------------------
def test_cordoned_nodes_take_no_pods_unless_tolerated():
    cache = cluster_of([node("a", unschedulable=True), node("b")])
    result = schedule(cache, pod("p"), only(["NodeUnschedulable"]))
    assert result.node == "b" and rejection(result, "a") == ("NodeUnschedulable", "UnschedulableAndUnresolvable", "node(s) were unschedulable")
    tolerant = pod("p", tolerations=[{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}])
    assert len(schedule(cache, tolerant, only(["NodeUnschedulable"])).feasible) == 2


def test_node_name_filter():
    cache = cluster_of([node("a"), node("b")])
    result = schedule(cache, pod("p", nodeName="b"), only(["NodeName"]))
    assert result.node == "b" and rejection(result, "a")[2] == "node(s) didn't match the requested node name"


def test_host_ports_conflict_by_protocol_port_and_ip():
    web = lambda name, ip=None, protocol="TCP", node=None: {  # noqa: E731
        **pod(name, node=node), "spec": {"nodeName": node, "containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80, "hostPort": 8080, "protocol": protocol, **({"hostIP": ip} if ip else {})}]}]}}
    cache = cluster_of([node("a"), node("b"), node("c")], [web("x", node="a"), web("y", ip="10.0.0.1", node="b"), web("z", protocol="UDP", node="c")])
    result = schedule(cache, web("new"), only(["NodePorts"]))
    assert sorted(result.diagnosis.statuses) == ["a", "b"] and result.node == "c"
    assert rejection(result, "a") == ("NodePorts", "Unschedulable", "node(s) didn't have free ports for the requested pod ports")
    other_ip = schedule(cache, web("new", ip="10.0.0.2"), only(["NodePorts"]))
    assert sorted(result.name for result in other_ip.feasible) == ["b", "c"]
    assert schedule(cache, pod("plain"), only(["NodePorts"])).skipped_filter == ["NodePorts"]


# --- ImageLocality -------------------------------------------------------------------------------
def test_image_locality_scales_by_spread():
    # nginx:latest (300 MiB) is on 2 of 3 nodes: each holder gets int(300 MiB * 2/3) = 200 MiB
    # (minus one byte of float rounding): 100 * (200 - 23) / (1000 - 23) = 18; the other node 0
    images = {"nginx:latest": 300 * MIB}
    cache = cluster_of([node("a", images=images), node("b", images=images), node("c")])
    result = schedule(cache, pod("p", image="nginx"), only(["ImageLocality"]))
    assert scores_of(result, "ImageLocality") == {"a": (18, 18), "b": (18, 18), "c": (0, 0)}
    assert normalized_image("nginx") == "nginx:latest" and normalized_image("repo:5000/app") == "repo:5000/app:latest"
    assert normalized_image("nginx:1.27") == "nginx:1.27"
    # thresholds: below 23 MiB nothing, at 1000 MiB per container the maximum; two containers halve it
    assert calculate_priority(10 * MIB, 1) == 0 and calculate_priority(2000 * MIB, 1) == 100 and calculate_priority(1000 * MIB, 2) == 49  # 100 * 977 / 1977
