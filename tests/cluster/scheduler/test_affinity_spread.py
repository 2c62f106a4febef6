"""InterPodAffinity and PodTopologySpread against worked expectations."""

import math

from .harness import cluster_of, node, only, pod, schedule, scores_of


def zone_nodes():
    return [node("node-1", labels={"zone": "a"}), node("node-2", labels={"zone": "a"}), node("node-3", labels={"zone": "b"}), node("node-4", labels={"zone": "c"})]


def term(labels, key, **extra):
    return {"labelSelector": {"matchLabels": labels}, "topologyKey": key, **extra}


# --- InterPodAffinity: Filter ---------------------------------------------------------------------
def test_required_anti_affinity_keeps_replicas_apart():
    cache = cluster_of(zone_nodes(), [pod("web-1", labels={"app": "web"}, node="node-1")])
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term({"app": "web"}, "kubernetes.io/hostname")]}}
    result = schedule(cache, pod("web-2", labels={"app": "web"}, affinity=anti), only(["InterPodAffinity"]))
    status = result.diagnosis.statuses["node-1"]
    assert (status.code, status.message) == ("Unschedulable", "node(s) didn't match pod anti-affinity rules")
    assert sorted(n.name for n in result.feasible) == ["node-2", "node-3", "node-4"]
    # by zone: the whole of zone a is out
    by_zone = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term({"app": "web"}, "zone")]}}
    assert sorted(n.name for n in schedule(cache, pod("web-2", labels={"app": "web"}, affinity=by_zone), only(["InterPodAffinity"])).feasible) == ["node-3", "node-4"]


def test_existing_pods_anti_affinity_protects_them():
    loner = pod("loner", labels={"app": "db"}, node="node-3",
                affinity={"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term({"app": "web"}, "zone")]}})
    result = schedule(cluster_of(zone_nodes(), [loner]), pod("web", labels={"app": "web"}), only(["InterPodAffinity"]))
    assert result.diagnosis.statuses["node-3"].message == "node(s) didn't satisfy existing pods anti-affinity rules"
    assert len(result.feasible) == 3


def test_required_affinity_and_the_first_pod_of_a_group():
    near_cache = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term({"app": "cache"}, "zone")]}}
    cache = cluster_of(zone_nodes(), [pod("cache-1", labels={"app": "cache"}, node="node-3")])
    result = schedule(cache, pod("web", labels={"app": "web"}, affinity=near_cache), only(["InterPodAffinity"]))
    assert [n.name for n in result.feasible] == ["node-3"]
    assert result.diagnosis.statuses["node-1"].message == "node(s) didn't match pod affinity rules"
    assert result.diagnosis.statuses["node-1"].code == "UnschedulableAndUnresolvable"
    # no cache pod anywhere, and the pod does not match its own term: nowhere
    assert schedule(cluster_of(zone_nodes()), pod("web", labels={"app": "web"}, affinity=near_cache), only(["InterPodAffinity"])).node is None
    # a pod with affinity to its own kind may start the group anywhere
    self_affine = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term({"app": "cache"}, "zone")]}}
    assert len(schedule(cluster_of(zone_nodes()), pod("cache-1", labels={"app": "cache"}, affinity=self_affine), only(["InterPodAffinity"])).feasible) == 4


def test_terms_look_in_their_namespaces_only():
    cache = cluster_of(zone_nodes(), [pod("web-1", labels={"app": "web"}, node="node-1", namespace="other")])
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term({"app": "web"}, "kubernetes.io/hostname")]}}
    assert len(schedule(cache, pod("w", labels={"app": "web"}, affinity=anti), only(["InterPodAffinity"])).feasible) == 4
    everywhere = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term({"app": "web"}, "kubernetes.io/hostname", namespaceSelector={})]}}
    assert len(schedule(cache, pod("w", labels={"app": "web"}, affinity=everywhere), only(["InterPodAffinity"])).feasible) == 3


# --- InterPodAffinity: Score -----------------------------------------------------------------------
def test_preferred_affinity_score():
    # +10 per app=cache pod in the zone, -5 per app=web pod on the host:
    # zone a holds cache-1 (node-1): node-1 10, node-2 10 - 5 (web on node-2) = 5, node-3 0, node-4 -5
    # normalized int(100 * (s - min) / (max - min)) with min -5, max 10: 100, 66, 33, 0
    existing = [pod("cache-1", labels={"app": "cache"}, node="node-1"), pod("web-1", labels={"app": "web"}, node="node-2"), pod("web-2", labels={"app": "web"}, node="node-4")]
    affinity = {
        "podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 10, "podAffinityTerm": term({"app": "cache"}, "zone")}]},
        "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 5, "podAffinityTerm": term({"app": "web"}, "kubernetes.io/hostname")}]},
    }
    result = schedule(cluster_of(zone_nodes(), existing), pod("web-3", labels={"app": "web"}, affinity=affinity), only(["InterPodAffinity"]))
    assert scores_of(result, "InterPodAffinity") == {"node-1": (10, 100), "node-2": (5, 66), "node-3": (0, 33), "node-4": (-5, 0)}


def test_existing_pods_required_affinity_attracts_with_hard_weight():
    # an existing pod requiring app=web in its zone adds hardPodAffinityWeight (1) there
    wants_web = pod("fan", labels={"app": "fan"}, node="node-3",
                    affinity={"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term({"app": "web"}, "zone")]}})
    result = schedule(cluster_of(zone_nodes(), [wants_web]), pod("web", labels={"app": "web"}), only(["InterPodAffinity"]))
    assert scores_of(result, "InterPodAffinity") == {"node-1": (0, 0), "node-2": (0, 0), "node-3": (1, 100), "node-4": (0, 0)}
    assert result.node == "node-3"


# --- PodTopologySpread ---------------------------------------------------------------------------------
def spread(skew, key, hard=True, **extra):
    return {"maxSkew": skew, "topologyKey": key, "whenUnsatisfiable": "DoNotSchedule" if hard else "ScheduleAnyway", "labelSelector": {"matchLabels": {"app": "web"}}, **extra}


def test_spread_filter_skew():
    # zone a: 2 web pods, zone b: 1, zone c: 0. For a new web pod: skew = count + 1 - min(=0):
    # a 3, b 2, c 1 -> only zone c is within maxSkew 1
    existing = [pod("w1", labels={"app": "web"}, node="node-1"), pod("w2", labels={"app": "web"}, node="node-2"), pod("w3", labels={"app": "web"}, node="node-3")]
    result = schedule(cluster_of(zone_nodes(), existing), pod("w4", labels={"app": "web"}, topologySpreadConstraints=[spread(1, "zone")]), only(["PodTopologySpread"]))
    assert [n.name for n in result.feasible] == ["node-4"]
    status = result.diagnosis.statuses["node-3"]
    assert (status.code, status.message) == ("Unschedulable", "node(s) didn't match pod topology spread constraints")
    # maxSkew 2 lets zone b in too
    wider = schedule(cluster_of(zone_nodes(), existing), pod("w4", labels={"app": "web"}, topologySpreadConstraints=[spread(2, "zone")]), only(["PodTopologySpread"]))
    assert [n.name for n in wider.feasible] == ["node-3", "node-4"]


def test_spread_needs_the_label_and_honors_min_domains():
    nodes = zone_nodes()[:3] + [node("bare")]
    result = schedule(cluster_of(nodes), pod("w", labels={"app": "web"}, topologySpreadConstraints=[spread(1, "zone")]), only(["PodTopologySpread"]))
    assert result.diagnosis.statuses["bare"].message == "node(s) didn't match pod topology spread constraints (missing required label)"
    assert result.diagnosis.statuses["bare"].code == "UnschedulableAndUnresolvable"
    # two zones with one web pod each: min is 1, so any zone has skew 1. With minDomains 3 the
    # global minimum counts as 0 (fewer domains than wanted): skew 2 > 1 everywhere.
    existing = [pod("w1", labels={"app": "web"}, node="node-1"), pod("w3", labels={"app": "web"}, node="node-3")]
    two_zones = cluster_of(zone_nodes()[:3], existing)
    assert len(schedule(two_zones, pod("w", labels={"app": "web"}, topologySpreadConstraints=[spread(1, "zone")]), only(["PodTopologySpread"])).feasible) == 3
    assert schedule(two_zones, pod("w", labels={"app": "web"}, topologySpreadConstraints=[spread(1, "zone", minDomains=3)]), only(["PodTopologySpread"])).feasible == []


def test_spread_score():
    # hostname, ScheduleAnyway, maxSkew 1, 3 nodes: weight log(3 + 2); web pods: n1 2, n2 1, n3 0
    # raw round(count * log 5 + 0): 3, 2, 0; normalized 100 * (max + min - raw) / max: 0, 33, 100
    nodes = [node("n1"), node("n2"), node("n3")]
    existing = [pod("a", labels={"app": "web"}, node="n1"), pod("b", labels={"app": "web"}, node="n1"), pod("c", labels={"app": "web"}, node="n2")]
    result = schedule(cluster_of(nodes, existing), pod("d", labels={"app": "web"}, topologySpreadConstraints=[spread(1, "kubernetes.io/hostname", hard=False)]),
                      only(["PodTopologySpread"]))
    assert round(2 * math.log(5)) == 3
    assert scores_of(result, "PodTopologySpread") == {"n1": (3, 0), "n2": (2, 33), "n3": (0, 100)}


def test_system_default_spreading_follows_services():
    # no constraints of its own: hostname maxSkew 3 and zone maxSkew 5, over the Service's labels
    nodes = [node("n1"), node("n2")]
    existing = [pod("a", labels={"app": "web"}, node="n1"), pod("b", labels={"app": "web"}, node="n1")]
    cache = cluster_of(nodes, existing)
    assert schedule(cache, pod("c", labels={"app": "web"}), only(["PodTopologySpread"])).skipped_score == ["PodTopologySpread"]
    cache.set_service("default/web", {"app": "web"})
    result = schedule(cache, pod("c", labels={"app": "web"}), only(["PodTopologySpread"]))
    # hostname: n1 2 * log(4) + 2 = 4.77 -> 5, n2 0 + 2 = 2; the zone constraint: no node has
    # the zone label, all share the domain "" but none scores it -> normalized 100*(5+2-raw)/5
    assert scores_of(result, "PodTopologySpread") == {"n1": (5, 40), "n2": (2, 100)}
