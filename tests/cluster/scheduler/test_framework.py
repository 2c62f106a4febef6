"""The framework: percentageOfNodesToScore, the FailedScheduling message, profiles, the
queue, preemption's choices, decision records and their bounds."""

import pickle

import pytest

from cluster.kernel import SECOND, state_hash
from cluster.scheduler.framework import PodInfo, Profile, ProfileError, nodes_to_find
from cluster.scheduler.plugins.defaultpreemption import DefaultPreemption
from cluster.scheduler.queue import SchedulingQueue
from cluster.scheduler.records import DecisionRecords, attempt_record, summary_rows

from .harness import cluster_of, framework, node, only, pod, schedule

CONTROL_PLANE = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


@pytest.mark.parametrize("total, expected", [(50, (50, 100)), (99, (99, 100)), (100, (100, 50)), (500, (230, 46)), (1000, (420, 42)), (5000, (500, 10)), (6000, (300, 5)), (1500, (570, 38))])
def test_adaptive_percentage_of_nodes_to_score(total, expected):
    assert nodes_to_find(None, total) == expected


def test_configured_percentage_and_its_floor():
    assert nodes_to_find(20, 5000) == (1000, 20)
    assert nodes_to_find(1, 5000) == (100, 1)  # never fewer than 100
    assert nodes_to_find(100, 5000) == (5000, 100)


def test_the_search_stops_early_and_rotates():
    cache = cluster_of([node(f"n{i:03}") for i in range(500)])
    fw = framework(cache)
    first = fw.schedule(PodInfo.from_pod(pod("a")), start=0)
    assert (first.to_find, len(first.examined), len(first.feasible), first.next_start) == (230, 230, 230, 230)
    assert first.examined[0].name == "n000"
    second = fw.schedule(PodInfo.from_pod(pod("b")), start=first.next_start)
    assert second.examined[0].name == "n230" and second.next_start == 460
    third = fw.schedule(PodInfo.from_pod(pod("c")), start=second.next_start)
    assert [n.name for n in third.examined[39:41]] == ["n499", "n000"]  # wraps around


def test_failed_scheduling_message_has_kubernetes_form():
    nodes = [node("node-1", cpu="4", taints=[CONTROL_PLANE]), node("node-2", cpu="2"), node("node-3", cpu="2")]
    running = [pod("a", cpu="1500m", node="node-2"), pod("b", cpu="1500m", node="node-3")]
    cache = cluster_of(nodes, running)
    fw = framework(cache)
    result = fw.schedule(PodInfo.from_pod(pod("web", cpu="1")))
    assert result.message == "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu."
    fw.post_filter(result)
    assert result.message == ("0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. "
                              "preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod..")
    assert result.diagnosis.plugins == {"TaintToleration", "NodeResourcesFit"}


def test_histogram_sorts_counts_as_strings():
    nodes = [node(f"n{i}", cpu="1") for i in range(10)] + [node("t1", taints=[CONTROL_PLANE]), node("t2", taints=[CONTROL_PLANE])]
    result = schedule(cluster_of(nodes), pod("p", cpu="2"), only(["TaintToleration", "NodeResourcesFit"]))
    # "10 Insufficient cpu" sorts before "2 node(s)...", as Go's sort.Strings has it
    assert result.message == "0/12 nodes are available: 10 Insufficient cpu, 2 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }."


def test_no_nodes_is_an_error():
    result = schedule(cluster_of([]), pod("p"))
    assert result.status.code == "Error" and result.message == "no nodes available to schedule pods"


def test_ties_are_broken_by_the_seeded_stream():
    cache = cluster_of([node(f"n{i}") for i in range(8)])
    picks = {schedule(cache, pod("p"), seed=seed).node for seed in range(40)}
    assert len(picks) > 3  # equal nodes: the stream spreads the choice
    assert {schedule(cache, pod("p"), seed=7).node for _ in range(5)} == {schedule(cache, pod("p"), seed=7).node}


# --- profiles -----------------------------------------------------------------------------------------
def test_default_profile_points_and_weights():
    profile = Profile.build()
    assert profile.enabled("filter") == ["NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity", "NodePorts", "NodeResourcesFit", "PodTopologySpread", "InterPodAffinity"]
    assert profile.points["score"] == [["TaintToleration", 3], ["NodeAffinity", 2], ["NodeResourcesFit", 1], ["PodTopologySpread", 2], ["InterPodAffinity", 2],
                                       ["NodeResourcesBalancedAllocation", 1], ["ImageLocality", 1]]
    assert profile.enabled("postFilter") == ["DefaultPreemption"] and profile.enabled("bind") == ["DefaultBinder"]


def test_profile_overrides_like_kube_scheduler_configuration():
    config = {"plugins": {"multiPoint": {"enabled": Profile.build().config["plugins"]["multiPoint"]["enabled"]},
                          "score": {"enabled": [{"name": "ImageLocality", "weight": 5}], "disabled": [{"name": "NodeResourcesBalancedAllocation"}]},
                          "postFilter": {"disabled": [{"name": "*"}]}},
              "pluginConfig": [{"name": "NodeResourcesFit", "args": {"scoringStrategy": {"type": "MostAllocated"}}}], "percentageOfNodesToScore": 30}
    profile = Profile.build(config)
    assert profile.weight("ImageLocality") == 5 and "NodeResourcesBalancedAllocation" not in profile.enabled("score")
    assert profile.enabled("postFilter") == [] and profile.percentage == 30
    assert profile.args["NodeResourcesFit"]["scoringStrategy"] == {"type": "MostAllocated", "resources": [{"name": "cpu", "weight": 1}, {"name": "memory", "weight": 1}]}
    with pytest.raises(ProfileError):
        Profile.build({"plugins": {"multiPoint": {"enabled": [{"name": "NoSuchPlugin"}]}}})
    with pytest.raises(ProfileError):
        Profile.build({"plugins": {"multiPoint": {"enabled": [{"name": "PrioritySort"}]}}})  # no binder


# --- the queue ------------------------------------------------------------------------------------------
def test_queue_orders_by_priority_then_time_and_backs_off():
    q = SchedulingQueue()
    q.add("low", 0, False, 0)
    q.add("high", 100, False, 5)
    q.add("low2", 0, False, 3)
    assert [q.pop(), q.pop(), q.pop()] == ["high", "low", "low2"]
    assert q.failed("high", ["NodeResourcesFit"], 10 * SECOND) == "unschedulable"
    assert q.failed("low", [], 10 * SECOND) == "backoff"  # an error: straight to back-off
    assert q.move({"TaintToleration"}, 10 * SECOND) == []  # nobody cares
    assert q.move({"NodeResourcesFit"}, 10 * SECOND + 1) == ["high"] and q.where("high") == "backoff"  # still backing off (1 s)
    assert q.flush(11 * SECOND) == ["low", "high"] and q.pop() == "high"  # back-off ends in time order; activeQ sorts by priority
    assert [q.backoff_duration(n) for n in range(1, 7)] == [SECOND, 2 * SECOND, 4 * SECOND, 8 * SECOND, 10 * SECOND, 10 * SECOND]


def test_queue_gates_updates_and_leftovers():
    q = SchedulingQueue()
    assert q.add("gated", 0, True, 0) == "gated" and not q.has_active()
    assert q.update("gated", 0, False, 1, changed=True) == "active"
    q.pop()
    q.failed("gated", ["NodeAffinity"], 2 * SECOND)
    assert q.update("gated", 0, False, 3 * SECOND, changed=False) == "unschedulable"  # a status-only change
    assert q.update("gated", 0, False, 4 * SECOND, changed=True) == "active"  # its spec changed: try again
    q.pop()
    q.failed("gated", ["NodeAffinity"], 5 * SECOND)
    assert q.flush_leftover(5 * SECOND + 301 * SECOND) == ["gated"]
    view = q.view()
    assert view["counts"]["active"] == 1 and view["active"][0]["pod"] == "gated"
    assert pickle.loads(pickle.dumps(q)).view() == view


# --- preemption's choices -----------------------------------------------------------------------------------
def test_preemption_picks_the_cheapest_node_and_reprieves_what_it_can():
    nodes = [node("n1", cpu="2"), node("n2", cpu="2")]
    running = [pod("low", cpu="1", node="n1", priority=0), pod("mid", cpu="1", node="n1", priority=5), pod("other", cpu="2", node="n2", priority=3)]
    cache = cluster_of(nodes, running)
    fw = framework(cache)
    result = fw.schedule(PodInfo.from_pod(pod("high", cpu="1", priority=10)))
    status = fw.post_filter(result)
    # n1: evicting low alone makes room (mid is reprieved); n2: only "other" (priority 3).
    # The lowest highest-victim priority wins: n1 (0 < 3).
    assert status.ok and result.nominated_node == "n1" and [v.key for v in result.victims] == ["default/low"]
    assert result.message == "0/2 nodes are available: 2 Insufficient cpu."


def test_preemption_respects_policy_and_budgets():
    cache = cluster_of([node("n1", cpu="1")], [pod("low", cpu="1", node="n1", priority=0, labels={"app": "db"})])
    never = framework(cache).schedule(PodInfo.from_pod(pod("p", cpu="1", priority=10, preemptionPolicy="Never")))
    fw = framework(cache)
    status = fw.post_filter(never)
    assert status.message == "preemption: not eligible due to preemptionPolicy=Never."
    assert never.message.endswith("preemption: not eligible due to preemptionPolicy=Never..")
    protected = [pod(f"db{i}", labels={"app": "db"}, priority=1) for i in range(2)]
    violating, fine = DefaultPreemption.split_by_pdb([PodInfo.from_pod(p) for p in protected],
                                                     [{"namespace": "default", "selector": (("app", "in", frozenset({"db"})),), "allowed": 1, "disrupted": frozenset()}])
    assert [p.name for p in violating] == ["db1"] and [p.name for p in fine] == ["db0"]


# --- decision records ---------------------------------------------------------------------------------------
def test_records_are_bounded_and_plain_data():
    records = DecisionRecords(per_pod=3, max_pods=2, row_limit=5)
    cache = cluster_of([node(f"n{i}") for i in range(12)] + [node("t", taints=[CONTROL_PLANE])])
    fw = framework(cache)
    for i in range(5):
        result = fw.schedule(PodInfo.from_pod(pod("a")))
        records.add("default/a", "uid-a", attempt_record(result, i * SECOND, attempt=i + 1, cycle=i, row_limit=records.row_limit))
    attempts = records.get("default/a")["attempts"]
    assert [a["attempt"] for a in attempts] == [3, 4, 5]
    last = attempts[-1]
    assert len(last["nodes"]) == 5 and last["rows_omitted"] == 8
    assert last["node"] in {r["name"] for r in last["nodes"]}  # the winner is always kept
    assert "t" in {r["name"] for r in last["nodes"]}  # and one node of each rejection
    assert set(last) >= {"time", "result", "node", "nodes", "nominated_node", "victims", "examined", "total_nodes"}
    row = next(r for r in last["nodes"] if r["name"] == last["node"])
    assert set(row) == {"name", "filters", "scores", "total"} and set(row["scores"][0]) == {"plugin", "raw", "normalized", "weight"}
    assert set(row["filters"][0]) == {"plugin", "status", "reason"}
    compact = records.last("default/a")
    assert summary_rows(compact, 3)[0]["name"] == last["node"] and "nodes" not in compact  # stored compact, expanded on reading
    records.add("default/b", "uid-b", compact)
    records.add("default/c", "uid-c", compact)
    assert records.get("default/a") is None and records.get("default/c") is not None  # least recently touched goes
    state_hash(records)
    assert pickle.loads(pickle.dumps(records)).get("default/c") == records.get("default/c")


# --- extension points beyond filter and score ------------------------------------------------------------
def test_reserve_permit_and_bind_points_with_custom_plugins():
    from cluster.kernel.rng import Stream
    from cluster.scheduler.framework import Framework, Plugin, Status
    from cluster.scheduler.plugins import IN_TREE

    calls = []

    class Ledger(Plugin):
        NAME = "Ledger"

        def reserve(self, state, pod, node):
            calls.append(("reserve", node))
            return Status.success()

        def unreserve(self, state, pod, node):
            calls.append(("unreserve", node))

    class Gatekeeper(Plugin):
        NAME = "Gatekeeper"

        def permit(self, state, pod, node):
            return Status.unschedulable("not today", plugin=self.NAME) if pod.labels.get("deny") else Status.success()

    registry = {**IN_TREE, "Ledger": Ledger, "Gatekeeper": Gatekeeper}
    profile = Profile.build({"plugins": {"multiPoint": {"enabled": [{"name": "PrioritySort"}, {"name": "NodeResourcesFit"}, {"name": "Ledger"},
                                                                    {"name": "Gatekeeper"}, {"name": "DefaultBinder"}]}}}, registry)
    assert profile.enabled("reserve") == ["Ledger"] and profile.enabled("permit") == ["Gatekeeper"]
    cache = cluster_of([node("n1")])
    fw = Framework(profile, cache, stream=Stream.from_seed(1), registry=registry)
    for labels, expected in (({}, True), ({"deny": "yes"}, False)):
        info = PodInfo.from_pod(pod("p", labels=labels))
        result = fw.schedule(info)
        assert fw.reserve(result.state, info, result.node).ok
        permit = fw.permit(result.state, info, result.node)
        assert permit.ok is expected
        if not permit.ok:
            assert (permit.plugin, permit.message) == ("Gatekeeper", "not today")
            fw.unreserve(result.state, info, result.node)
        else:
            request = fw.bind(result.state, info, result.node)
            assert request["subresource"] == "binding" and request["body"]["target"] == {"apiVersion": "v1", "kind": "Node", "name": "n1"}
    assert calls == [("reserve", "n1"), ("reserve", "n1"), ("unreserve", "n1")]
