"""NodeResourcesFit (filter and its three scoring strategies) and BalancedAllocation,
against worked numbers from Kubernetes' formulas (noderesources/*.go)."""

import pytest

from cluster.scheduler.framework.resources import milli, pod_requests, value
from cluster.scheduler.plugins.noderesources import strategies as sg

from .harness import cluster_of, node, only, pod, schedule, scores_of

GI = 2**30


def test_quantities_are_exact_and_round_up():
    assert milli("250m") == 250 and milli("2") == 2000 and milli("0.5") == 500 and milli("1.0001") == 1001
    assert value("1Gi") == GI and value("128M") == 128_000_000 and value("1e3") == 1000 and value("0.5") == 1
    assert value("5E") == 5 * 10**18 and milli(3) == 3000


def test_pod_requests_sum_containers_and_take_the_largest_init_container():
    spec = {"containers": [{"resources": {"requests": {"cpu": "200m", "memory": "100Mi"}}}, {"resources": {"limits": {"cpu": "300m"}}}],
            "initContainers": [{"resources": {"requests": {"cpu": "1", "memory": "10Mi"}}}], "overhead": {"cpu": "10m"}}
    # containers: 200m + 300m (limit as request) = 500m; the init container's 1000m is larger; + 10m overhead
    assert pod_requests(spec) == (1010, 100 * 2**20)
    # non-zero: the second container asks for no memory: 200Mi counts for it
    assert pod_requests(spec, (100, 200 * 2**20)) == (1010, 300 * 2**20)
    # a sidecar (restartPolicy Always) adds to the sum and to every later init container
    sidecar = {"containers": [{"resources": {"requests": {"cpu": "100m"}}}],
               "initContainers": [{"restartPolicy": "Always", "resources": {"requests": {"cpu": "50m"}}}, {"resources": {"requests": {"cpu": "120m"}}}]}
    assert pod_requests(sidecar)[0] == 170  # max(100 + 50, 120 + 50)


# A node with 4 cpu / 8Gi, already running 1 cpu / 2Gi; the pod asks 1 cpu / 1Gi:
# requested after placing = 2000m of 4000m, 3Gi of 8Gi.
BUSY = [node("node-1", cpu="4", memory="8Gi"), node("node-2", cpu="4", memory="8Gi")]
EXISTING = [pod("old", cpu="1", memory="2Gi", node="node-1")]


def fit_scores(strategy_args):
    config = only(["NodeResourcesFit"])
    config["pluginConfig"] = [{"name": "NodeResourcesFit", "args": {"scoringStrategy": strategy_args}}]
    result = schedule(cluster_of(BUSY, EXISTING), pod("new", cpu="1", memory="1Gi"), config)
    return scores_of(result, "NodeResourcesFit")


def test_least_allocated():
    # cpu (4000-2000)*100/4000 = 50, memory (8-3)*100/8 = 62 (62.5 truncated); (50+62)/2 = 56
    # empty node-2: cpu (4000-1000)*100/4000 = 75, memory 7*100/8 = 87; (75+87)/2 = 81
    assert fit_scores({"type": "LeastAllocated"}) == {"node-1": (56, 56), "node-2": (81, 81)}


def test_least_allocated_resource_weights():
    # weights cpu 3, memory 1: (50*3 + 62*1) / 4 = 53
    assert fit_scores({"type": "LeastAllocated", "resources": [{"name": "cpu", "weight": 3}, {"name": "memory", "weight": 1}]})["node-1"] == (53, 53)


def test_most_allocated():
    # cpu 2000*100/4000 = 50, memory 3*100/8 = 37; (50+37)/2 = 43;  node-2: 25, 12 -> 18
    assert fit_scores({"type": "MostAllocated"}) == {"node-1": (43, 43), "node-2": (18, 18)}


def test_requested_to_capacity_ratio():
    # shape (0, 0) -> (100, 10), scores x10: f(50) = 50, f(37) = 37; round((50+37)/2) = round(43.5) = 44
    # node-2: utilization 25 and 12: round(18.5) = 19
    shape = {"shape": [{"utilization": 0, "score": 0}, {"utilization": 100, "score": 10}]}
    assert fit_scores({"type": "RequestedToCapacityRatio", "requestedToCapacityRatio": shape}) == {"node-1": (44, 44), "node-2": (19, 19)}


def test_broken_linear_function_truncates_toward_zero_like_go():
    f = sg.broken_linear([(0, 100), (100, 0)])
    assert [f(0), f(33), f(50), f(100), f(120)] == [100, 67, 50, 0, 0]  # 100 + (-100*33)/100 = 100 - 33
    g = sg.broken_linear([(10, 0), (30, 50), (100, 100)])
    assert [g(0), g(10), g(20), g(31), g(100)] == [0, 0, 25, 50, 100]  # 50 + 50*1/70 = 50


def test_balanced_allocation_uses_real_requests():
    # requested incl. the pod: 2000m/4000m = 0.5, 3Gi/8Gi = 0.375: std = 0.0625 -> int(93.75) = 93
    # node-2: 0.25 and 0.125: std 0.0625 -> 93 as well
    result = schedule(cluster_of(BUSY, EXISTING), pod("new", cpu="1", memory="1Gi"), only(["NodeResourcesBalancedAllocation"]))
    assert scores_of(result, "NodeResourcesBalancedAllocation") == {"node-1": (93, 93), "node-2": (93, 93)}
    # more than two resources: population standard deviation
    assert sg.balanced([1, 2, 3], [4, 4, 4]) == int((1 - (((0.25 - 0.5) ** 2 + 0 + (0.75 - 0.5) ** 2) / 3) ** 0.5) * 100)


def test_pods_without_requests_score_with_the_non_zero_defaults():
    # 100m of 4000m -> (3900*100)/4000 = 97; 200Mi of 8Gi -> 97 (97.5 truncated)
    result = schedule(cluster_of([node("a"), node("b")]), pod("p"), only(["NodeResourcesFit"]))
    assert scores_of(result, "NodeResourcesFit")["a"] == (97, 97)


@pytest.mark.parametrize("request_cpu, expected", [("1", None), ("3", "Insufficient cpu")])
def test_fit_filter(request_cpu, expected):
    cache = cluster_of([node("n", cpu="4")], [pod("old", cpu="2", node="n")])
    result = schedule(cache, pod("new", cpu=request_cpu), only(["NodeResourcesFit"]))
    if expected is None:
        assert result.node == "n"
    else:
        status = result.diagnosis.statuses["n"]
        assert status.reasons == (expected,) and status.code == "Unschedulable" and status.plugin == "NodeResourcesFit"


def test_fit_lists_every_shortage_and_knows_when_eviction_cannot_help():
    cache = cluster_of([node("n", cpu="2", memory="1Gi", pods="1")], [pod("old", cpu="1", memory="512Mi", node="n")])
    status = schedule(cache, pod("new", cpu="1500m", memory="1Gi"), only(["NodeResourcesFit"])).diagnosis.statuses["n"]
    assert status.reasons == ("Too many pods", "Insufficient cpu", "Insufficient memory") and status.code == "Unschedulable"
    bigger_than_node = schedule(cache, pod("huge", cpu="3"), only(["NodeResourcesFit"])).diagnosis.statuses["n"]
    assert bigger_than_node.code == "UnschedulableAndUnresolvable"
