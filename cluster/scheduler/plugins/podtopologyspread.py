"""PodTopologySpread: spread matching pods evenly over topology domains (zones, nodes...).

For a constraint (maxSkew, topologyKey, labelSelector) the pods counted in a domain are the
pods on its nodes in the pod's namespace that match the selector and are not terminating.
Nodes count only when they carry every constraint's topologyKey and, by default
(nodeAffinityPolicy Honor, nodeTaintsPolicy Ignore), match the pod's nodeSelector and
required node affinity.

Filter (whenUnsatisfiable: DoNotSchedule):
    skew = count(domain of the node) + (1 if the pod matches the selector) − min over domains
    (min is 0 while there are fewer domains than minDomains)
    skew > maxSkew  →  "node(s) didn't match pod topology spread constraints"
    node without the key  →  "node(s) didn't match pod topology spread constraints (missing required label)"
Score (ScheduleAnyway):
    raw  = round(Σ over constraints the node has: count × log(domains + 2) + (maxSkew − 1))
           (per-node count for kubernetes.io/hostname; domains = eligible feasible nodes there)
    normalized = 100 × (max + min − raw) / max     (100 for every node when max is 0; 0 for
                 nodes lacking a required key)
With no constraints of its own, a pod gets the system defaults (hostname maxSkew 3, zone
maxSkew 5, both ScheduleAnyway) over the labels of the Services and the ReplicaSet or
StatefulSet that select it (no such selector: no spreading).

One deliberate difference: kube-scheduler keeps only the two smallest domain counts
("critical paths") and can go stale when a what-if (preemption, nominated pods) raises a
count; this simulation takes the true minimum every time.
"""

import math

from ..framework import labels as lb
from ..framework import status as st
from ..framework.interface import Plugin
from ..framework.status import Status
from ..framework.types import HOSTNAME, ZONE, SpreadConstraint

REASON = "node(s) didn't match pod topology spread constraints"
REASON_LABEL = REASON + " (missing required label)"
MAX_INT32 = 2**31 - 1
SYSTEM_DEFAULTS = ((3, HOSTNAME), (5, ZONE))


def count_matching(pods: dict, selector, namespace: str) -> int:
    """countPodsMatchSelector: an empty selector counts nothing; terminating pods never count."""
    if not selector:
        return 0
    count = 0
    for pod in pods.values():
        if pod.terminating or pod.namespace != namespace:
            continue
        if lb.matches(selector, pod.labels):
            count += 1
    return count


def required_node_match(pod, node) -> bool:
    """nodeaffinity.GetRequiredNodeAffinity(pod).Match(node): nodeSelector and required terms."""
    labels = node.labels
    for key, value in pod.node_selector.items():
        if labels.get(key) != value:
            return False
    terms = pod.required_node_terms
    return terms is None or lb.any_term_matches(terms, node.name, labels)


def included(constraint: SpreadConstraint, pod, node) -> bool:
    """matchNodeInclusionPolicies."""
    if constraint.honor_affinity and not required_node_match(pod, node):
        return False
    if constraint.honor_taints:
        for taint in node.hard_taints:
            if not lb.tolerated(pod.tolerations, taint):
                return False
    return True


class SpreadFilterState:
    def __init__(self, constraints: list, counts: dict):
        self.constraints = constraints
        self.counts = counts  # (topology key, value) -> matching pods

    def clone(self) -> "SpreadFilterState":
        return SpreadFilterState(self.constraints, dict(self.counts))

    def min_match(self, key: str, min_domains: int) -> int:
        values = [n for (k, _v), n in self.counts.items() if k == key]
        if len(values) < min_domains:
            return 0
        return min(values) if values else MAX_INT32


class PodTopologySpread(Plugin):
    NAME = "PodTopologySpread"
    EVENTS = ("AssignedPodAdd", "AssignedPodLabel", "AssignedPodDelete", "NodeAdd", "NodeDelete", "NodeLabel", "NodeTaint", "PodUpdate")

    def __init__(self, handle, args=None):
        super().__init__(handle, args)
        self.system_defaulted = self.args.get("defaultingType", "System") == "System"
        if self.system_defaulted:
            self.defaults = [SpreadConstraint(skew, key, False, None) for skew, key in SYSTEM_DEFAULTS]
        else:
            self.defaults = [SpreadConstraint.parse(dict(c, labelSelector={}), {}) for c in self.args.get("defaultConstraints") or []]

    def constraints(self, pod, hard: bool) -> list:
        if pod.spread:
            return [c for c in pod.spread if c.hard == hard]
        defaults = [c for c in self.defaults if c.hard == hard]
        if not defaults:
            return []
        selector = self.handle.snapshot.default_selector(pod)
        if not selector:
            return []
        return [SpreadConstraint(c.max_skew, c.topology_key, c.hard, selector, c.min_domains, True, False) for c in defaults]

    # --- Filter ----------------------------------------------------------------------------------
    def pre_filter(self, state, pod):
        constraints = self.constraints(pod, hard=True)
        if not constraints:
            return Status.skip()
        counts: dict = {}
        keys = [c.topology_key for c in constraints]
        for node in self.handle.snapshot.node_list():
            labels = node.labels
            if not all(k in labels for k in keys):
                continue
            per_node: dict = {}
            for c in constraints:
                if not included(c, pod, node):
                    continue
                per_node[(c.topology_key, labels[c.topology_key])] = count_matching(node.pods, c.selector, pod.namespace)
            for pair, n in per_node.items():
                counts[pair] = counts.get(pair, 0) + n
        state[self.NAME] = SpreadFilterState(constraints, counts)
        return Status.success()

    def filter(self, state, pod, node):
        s = state[self.NAME]
        for c in s.constraints:
            value = node.labels.get(c.topology_key)
            if value is None:
                return Status(st.UNRESOLVABLE, (REASON_LABEL,), self.NAME)
            least = s.min_match(c.topology_key, c.min_domains)
            own = 1 if lb.matches(c.selector, pod.labels) else 0
            if s.counts.get((c.topology_key, value), 0) + own - least > c.max_skew:
                return Status(st.UNSCHEDULABLE, (REASON,), self.NAME)
        return None

    def add_pod(self, state, pod, other, node) -> None:
        self._update(state, pod, other, node, 1)

    def remove_pod(self, state, pod, other, node) -> None:
        self._update(state, pod, other, node, -1)

    def _update(self, state, pod, other, node, delta: int) -> None:
        s = state.get(self.NAME)
        if s is None or other.namespace != pod.namespace:
            return
        if not all(c.topology_key in node.labels for c in s.constraints):
            return
        for c in s.constraints:
            if not lb.matches(c.selector, other.labels) or not included(c, pod, node):
                continue
            pair = (c.topology_key, node.labels[c.topology_key])
            s.counts[pair] = s.counts.get(pair, 0) + delta

    # --- Score -----------------------------------------------------------------------------------
    def pre_score(self, state, pod, nodes) -> Status:
        constraints = self.constraints(pod, hard=False)
        if not constraints:
            return Status.skip()
        require_all = bool(pod.spread) or not self.system_defaulted
        ignored = set()
        counts = [dict() for _ in constraints]
        sizes = [0] * len(constraints)
        for node in nodes:
            if require_all and not all(c.topology_key in node.labels for c in constraints):
                ignored.add(node.name)
                continue
            for i, c in enumerate(constraints):
                if c.topology_key == HOSTNAME:
                    continue
                value = node.labels.get(c.topology_key, "")
                if value not in counts[i]:
                    counts[i][value] = 0
                    sizes[i] += 1
        for node in self.handle.snapshot.node_list():
            if require_all and not all(c.topology_key in node.labels for c in constraints):
                continue
            for i, c in enumerate(constraints):
                if not included(c, pod, node):
                    continue
                value = node.labels.get(c.topology_key, "")
                if value not in counts[i]:
                    continue
                counts[i][value] += count_matching(node.pods, c.selector, pod.namespace)
        weights = []
        for i, c in enumerate(constraints):
            size = len(nodes) - len(ignored) if c.topology_key == HOSTNAME else sizes[i]
            weights.append(math.log(size + 2))
        state[self.NAME + "/score"] = {"constraints": constraints, "counts": counts, "weights": weights, "ignored": ignored, "names": [n.name for n in nodes]}
        return Status.success()

    def score(self, state, pod, node) -> int:
        s = state[self.NAME + "/score"]
        if node.name in s["ignored"]:
            return 0
        total = 0.0
        for i, c in enumerate(s["constraints"]):
            value = node.labels.get(c.topology_key)
            if value is None:
                continue
            if c.topology_key == HOSTNAME:
                count = count_matching(node.pods, c.selector, pod.namespace)
            else:
                count = s["counts"][i][value]
            total += count * s["weights"][i] + (c.max_skew - 1)
        return _go_round(total)

    def normalize(self, state, pod, scores: list) -> list:
        s = state[self.NAME + "/score"]
        ignored = s["ignored"]
        names = s["names"]
        low, high = None, 0
        for name, score in zip(names, scores, strict=True):
            if name in ignored:
                continue
            low = score if low is None or score < low else low
            high = score if score > high else high
        out = []
        for name, score in zip(names, scores, strict=True):
            if name in ignored:
                out.append(0)
            elif high == 0:
                out.append(100)
            else:
                out.append(100 * (high + low - score) // high)
        return out


def _go_round(x: float) -> int:
    whole = math.floor(abs(x))
    if abs(x) - whole >= 0.5:
        whole += 1
    return int(whole) if x >= 0 else -int(whole)
